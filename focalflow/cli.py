"""The command line shared by the six stage scripts.

Every stage takes ``--config PATH`` (default ``config.yaml``), ``--events ID[,ID...]``,
``--overwrite`` and ``-v/--verbose``. A stage module provides ``run(ctx) -> dict`` (a summary of
counts); errors the user can fix (:class:`FocalflowError`) end the run with one clear line and
exit status 2 (1 when the stage could do nothing at all), never a traceback.

Flags that set a parameter (:data:`STAGE_FLAGS`, e.g. stage 6's ``--seed`` = ``hash.seed``) are
merged into the validated config once, before the stage runs, so a flag means the same as its
config key in every mode. Stage 6 also runs HASH and SKHASH control files without a config
(``--hash-inp``/``--skhash-control``, :func:`add_classic_arguments`), with the same flags.
"""
from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from focalflow.errors import ConfigError, FocalflowError, StageFailed
from focalflow.workdir import WorkDir, remove_stale_parts
from models.errors import ModelError
from hash_core.params import MISFIT_WEIGHTS, RANDOM_STREAMS

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
    """Run one stage: remove what killed runs left half-written, call ``run``, save the failures
    table, log a summary; return the summary."""
    ctx = make_context(stage, config, events, overwrite, args)
    leftovers = remove_stale_parts(ctx.workdir.root)
    if leftovers:
        log.info("removed %d temporary file(s) left by an interrupted run, e.g. %s",
                 len(leftovers), leftovers[0].relative_to(ctx.workdir.root))
    started = time.perf_counter()
    try:
        summary = run(ctx) or {}
    finally:
        ctx.failures.save()
    summary = {**summary, "skipped": len(ctx.failures)}
    log.info("%s done in %.1f s: %s", stage, time.perf_counter() - started,
             ", ".join(f"{k}={v}" for k, v in summary.items()))
    return summary


def require_some(usable: int, selected: int, what: str) -> None:
    """Raise :class:`StageFailed` (exit status 1) when events were selected and none of them
    gave ``what``: later stages would have nothing to work on, so ``run_pipeline.sh`` stops."""
    if selected and not usable:
        raise StageFailed(f"no {what} for any of the {selected} selected event(s); the reasons "
                          "are in logs/failures.csv")


@dataclass(frozen=True)
class ConfigFlag:
    """A command-line flag that sets one config key (dotted, e.g. ``hash.seed``)."""

    flag: str
    key: str
    help: str
    type: Callable[[str], Any] = str
    choices: Optional[tuple] = None


STAGE_FLAGS: dict[str, tuple[ConfigFlag, ...]] = {
    "6_run_hash": (
        ConfigFlag("--rng", "hash.rng", "random stream: numpy (seeded, one per event) or hash "
                   "(HASH v1.2's one stream, events in order)", choices=RANDOM_STREAMS),
        ConfigFlag("--seed", "hash.seed", "seed of the numpy stream", type=int),
        ConfigFlag("--threads", "hash.threads", "cores to use (0: all): events solved "
                   "concurrently with the numpy stream, else each grid search spread over them",
                   type=int),
        ConfigFlag("--misfit-weights", "hash.misfit_weights", "how misfits and station "
                   "distribution ratios are weighted (HASH control files: hash_v12)",
                   choices=MISFIT_WEIGHTS),
    ),
}


def flag_values(args: argparse.Namespace, flags: Sequence[ConfigFlag]) -> dict[str, Any]:
    """``{config key: value}`` of the flags given on the command line."""
    values = {flag.key: getattr(args, flag.key.split(".")[-1]) for flag in flags}
    return {key: value for key, value in values.items() if value is not None}


def merge_flags(config: Config, values: dict[str, Any]) -> Config:
    """Set the config keys of :func:`flag_values` (each checked like its config.yaml key)."""
    from pydantic import ValidationError

    for key, value in values.items():
        section, name = key.split(".")
        try:
            setattr(getattr(config, section), name, value)
        except ValidationError as exc:
            raise ConfigError(f"{key} = {value!r} (command line): "
                              f"{exc.errors()[0]['msg']}") from None
    return config


def add_classic_arguments(parser: argparse.ArgumentParser) -> None:
    """Stage 6's HASH/SKHASH inputs, run without config.yaml."""
    group = parser.add_argument_group("HASH / SKHASH inputs (no config.yaml needed)")
    group.add_argument("--hash-inp", type=Path, help="HASH v1.2 control file (exampleN.inp)")
    group.add_argument("--driver", type=int, choices=(1, 2, 3, 4, 5),
                       help="HASH driver whose control file and formats --hash-inp uses")
    group.add_argument("--skhash-control", type=Path, help="SKHASH control file")
    group.add_argument("--out", type=Path, help="mechanisms CSV written by the classic modes")


def main(stage: str, description: str, run: Callable[[StageContext], dict],
         argv: Sequence[str] | None = None,
         classic: Callable[[argparse.Namespace, dict], object] | None = None) -> int:
    """Entry point of a stage script; returns the process exit status.

    ``classic(args, flags)``, when given, runs ``--hash-inp``/``--skhash-control`` without a
    config; ``flags`` are the given parameter flags as ``{config key: value}``."""
    flags = STAGE_FLAGS.get(stage, ())
    parser = build_parser(stage, description)
    for flag in flags:
        parser.add_argument(flag.flag, dest=flag.key.split(".")[-1], type=flag.type,
                            choices=flag.choices, default=None,
                            help=f"{flag.help} (sets {flag.key})")
    if classic is not None:
        add_classic_arguments(parser)
    args = parser.parse_args(argv)
    from focalflow.log import setup_logging

    setup_logging(stage, verbose=args.verbose)
    given = flag_values(args, flags)
    if classic is not None and (args.hash_inp or args.skhash_control):
        if args.hash_inp and args.skhash_control:
            parser.error("give --hash-inp or --skhash-control, not both")
        return exit_status(lambda: classic(args, given))

    def load_and_run() -> None:
        from focalflow.config import load_config

        config = merge_flags(load_config(args.config), given)
        setup_logging(stage, WorkDir(config.workdir).logs_dir, verbose=args.verbose)
        run_stage(stage, run, config, parse_events(args.events), args.overwrite, args)

    return exit_status(load_and_run)


def exit_status(action: Callable[[], object]) -> int:
    """Run ``action``; a user error is logged as one line (status 2; 1 for a stage that could
    do nothing, :class:`~focalflow.errors.StageFailed`), never a traceback."""
    try:
        action()
    except (FocalflowError, ModelError) as exc:
        log.error("%s", exc)
        return getattr(exc, "exit_status", 2)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    return 0
