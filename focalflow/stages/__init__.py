"""One module per pipeline stage, each with ``run(ctx: StageContext) -> dict``."""
