"""``python -m focalflow.figures EVENT [EVENT ...]``: draw the per-event figures of any events
with a mechanism, on demand (stage 6 draws only those ``figures.events`` and ``--events``
choose; see :mod:`focalflow.products.figures`).

    python -m focalflow.figures [--config config.yaml] [--overwrite] EVENT [EVENT ...]

Writes ``figures/<event>/beachball.png`` and ``waveforms.png`` in the working directory of
the config; an event whose figures are up to date is left alone unless ``--overwrite``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalflow.figures",
                                     description="Draw the per-event figures of EVENTs.")
    parser.add_argument("events", nargs="+", metavar="EVENT", help="event ids")
    parser.add_argument("--config", default="config.yaml", type=Path,
                        help="configuration file (default: config.yaml)")
    parser.add_argument("--overwrite", action="store_true", help="redraw up-to-date figures")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug output")
    args = parser.parse_args(argv)
    from focalflow.cli import exit_status, make_context
    from focalflow.log import setup_logging

    setup_logging("figures", verbose=args.verbose)

    def draw() -> None:
        import logging

        from focalflow.config import load_config
        from focalflow.products.figures import draw_on_demand

        ctx = make_context("figures", load_config(args.config), overwrite=args.overwrite)
        drawn = draw_on_demand(ctx, [str(e) for e in args.events])
        logging.getLogger("focalflow.figures").info(
            "figures of %d event(s) drawn in %s", drawn, ctx.workdir.figures_dir)

    return exit_status(draw)


if __name__ == "__main__":
    sys.exit(main())
