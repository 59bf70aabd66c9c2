"""Stage 4's pipeline side: P windows for the CNN models (``models/``), reversals, evaluation."""
