"""The command line shared by the six stage scripts.

Every stage takes ``--config PATH`` (default ``config.yaml``), ``--events ID[,ID...]``,
``--overwrite`` and ``-v/--verbose``. A stage module provides ``run(ctx) -> dict`` (a summary of
counts); errors the user can fix (:class:`FocalflowError`) end the run with one clear line and
exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from focalflow.errors import FocalflowError
from focalflow.workdir import WorkDir

if TYPE_CHECKING:  # pydantic and pandas are imported only when a stage runs, so that
    from focalflow.config import Config  # --help answers at once (and 6_run_hash.py's
    from focalflow.log import FailureLog  # classic modes start without a config)

log = logging.getLogger("focalflow")


@dataclass
class StageContext:
    """What a stage run gets: validated config, working directory, selection and failure log."""

    config: Config
    workdir: WorkDir
    failures: FailureLog
    events: Optional[set[str]] = None
    overwrite: bool = False
    args: argparse.Namespace = field(default_factory=argparse.Namespace)

    def selected(self, event_id: str) -> bool:
        """True if ``event_id`` is in the ``--events`` selection (or there is none)."""
        return self.events is None or str(event_id) in self.events


def build_parser(stage: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=stage, description=description)
    parser.add_argument("--config", default="config.yaml", type=Path,
                        help="configuration file (default: config.yaml)")
    parser.add_argument("--events", default=None,
                        help="comma-separated event ids to process (default: all)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo work whose outputs already exist")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug output on the terminal")
    return parser


def parse_events(text: str | None) -> set[str] | None:
    if text is None:
        return None
    events = {e.strip() for e in text.split(",") if e.strip()}
    if not events:
        raise FocalflowError("--events needs at least one event id")
    return events


def make_context(stage: str, config: Config, events: set[str] | None = None,
                 overwrite: bool = False, args: argparse.Namespace | None = None) -> StageContext:
    """A context for running ``stage`` from Python (tests, notebooks) as the scripts do."""
    from focalflow.log import FailureLog

    workdir = WorkDir(config.workdir).create()
    return StageContext(config=config, workdir=workdir,
                        failures=FailureLog(stage, workdir.failures_csv, events), events=events,
                        overwrite=overwrite, args=args or argparse.Namespace())


def run_stage(stage: str, run: Callable[[StageContext], dict], config: Config,
              events: set[str] | None = None, overwrite: bool = False,
              args: argparse.Namespace | None = None) -> dict:
    """Run one stage: call ``run``, save the failures table, log a summary; return the summary."""
    ctx = make_context(stage, config, events, overwrite, args)
    started = time.perf_counter()
    try:
        summary = run(ctx) or {}
    finally:
        ctx.failures.save()
    summary = {**summary, "skipped": len(ctx.failures)}
    log.info("%s done in %.1f s: %s", stage, time.perf_counter() - started,
             ", ".join(f"{k}={v}" for k, v in summary.items()))
    return summary


def main(stage: str, description: str, run: Callable[[StageContext], dict],
         argv: Sequence[str] | None = None,
         add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """Entry point of a stage script; returns the process exit status."""
    parser = build_parser(stage, description)
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    from focalflow.config import load_config
    from focalflow.log import setup_logging

    setup_logging(stage, verbose=args.verbose)

    def load_and_run() -> None:
        config = load_config(args.config)
        setup_logging(stage, WorkDir(config.workdir).logs_dir, verbose=args.verbose)
        run_stage(stage, run, config, parse_events(args.events), args.overwrite, args)

    return exit_status(load_and_run)


def exit_status(action: Callable[[], object]) -> int:
    """Run ``action``; a user error is logged as one line (status 2), never a traceback."""
    try:
        action()
    except FocalflowError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    return 0
