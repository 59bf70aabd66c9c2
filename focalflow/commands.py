"""The ``focalflow`` command and the start of the six stage scripts.

    focalflow run [STAGE ...] [--config config.yaml] [--events ID[,ID...]] [--overwrite] [-v]
    focalflow demo [--out demo_data] [--seed N] [--own-data DIR]
    focalflow analyze CATALOG [options]       (python -m focalflow.products.analyze)
    focalflow review [--config config.yaml] [--port 8765] [--user NAME] [--open]
    focalflow evaluate [--config config.yaml] [options]   (python -m focalflow.polarity.evaluate)
    focalflow figures EVENT [EVENT ...] [--config config.yaml]   (python -m focalflow.figures)

STAGE is a number (``4``), a range (``3-6``) or a name (``4_polarity_predict``,
``polarity_predict``); without one, all six run in order and the run stops at the first stage
that fails. Only the standard library is imported before the arguments are parsed, so
``--help`` answers at once; TensorFlow's start-up messages are hidden unless ``-v``.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Callable, Sequence

STAGES = ("1_get_waveforms", "2_mseed2sac", "3_convert_phases", "4_polarity_predict",
          "5_convert_stations", "6_run_hash")
CLASSIC_STAGE = "6_run_hash"  # also runs HASH/SKHASH control files without a config
EXIT_USER_ERROR = 2


def stage_module(stage: str) -> str:
    """``focalflow.stages.<name>`` of a stage script name (``1_get_waveforms`` ->
    ``focalflow.stages.get_waveforms``)."""
    return "focalflow.stages." + stage.split("_", 1)[1]


def help_text(docstring: str) -> str:
    """A docstring as plain text for ``--help``: reST markup (````code````, ``:func:`x```)
    shown as the words themselves.

    >>> help_text("Writes ``events.csv`` (see :func:`focalflow.catalog.read_event_catalog`).")
    'Writes events.csv (see focalflow.catalog.read_event_catalog).'
    """
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", docstring)
    return re.sub(r"``([^`]+)``", r"\1", text)


def module_docstring(module: str) -> str:
    """The docstring of ``module`` read from its source, without importing it (and what it
    imports)."""
    spec = importlib.util.find_spec(module)
    source = Path(spec.origin).read_text()
    return help_text(ast.get_docstring(ast.parse(source)) or "")


def stage_main(stage: str, argv: Sequence[str] | None = None) -> int:
    """Run one stage script (``1_get_waveforms.py`` ... calls this); returns its exit status."""
    from focalflow.cli import main

    module = stage_module(stage)
    classic = _imported_late(module, "classic") if stage == CLASSIC_STAGE else None
    return main(stage, module_docstring(module), _stage_run(stage), argv, classic=classic)


def _stage_run(stage: str) -> Callable:
    """The stage's ``run(ctx)``, imported only when the stage runs (after parsing)."""
    def run(ctx):
        return importlib.import_module(stage_module(stage)).run(ctx)
    return run


def _imported_late(module: str, name: str) -> Callable:
    """``module.name``, imported when first called."""
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    return call


def parse_stages(words: Sequence[str]) -> list[str]:
    """Stage names from ``focalflow run`` words: numbers, ranges ``3-6`` and names.

    >>> parse_stages(["2", "4-6"])
    ['2_mseed2sac', '4_polarity_predict', '5_convert_stations', '6_run_hash']
    >>> parse_stages(["polarity_predict"])
    ['4_polarity_predict']
    """
    if not words:
        return list(STAGES)
    chosen: list[str] = []
    for word in words:
        match = re.fullmatch(r"([1-6])(?:-([1-6]))?", word)
        if match:
            first = int(match.group(1))
            last = int(match.group(2) or first)
            names = list(STAGES[first - 1:last]) if first <= last else []
        else:
            names = [s for s in STAGES if word in (s, s.split("_", 1)[1], f"{s}.py")]
        if not names:
            raise ValueError(f"unknown stage {word!r}; use 1-6, a range like 3-6, or a name "
                             f"({', '.join(STAGES)})")
        chosen += [n for n in names if n not in chosen]
    return sorted(chosen, key=STAGES.index)


def run_command(args: argparse.Namespace) -> int:
    """``focalflow run``: the chosen stages in order, stopping at the first that fails."""
    try:
        stages = parse_stages(args.stages)
    except ValueError as exc:
        print(f"focalflow run: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    common = ["--config", str(args.config)]
    if args.events:
        common += ["--events", args.events]
    if args.overwrite:
        common.append("--overwrite")
    if args.verbose:
        common.append("-v")
    for stage in stages:
        print(f"=== {stage} ===", file=sys.stderr, flush=True)
        status = stage_main(stage, common)
        if status:
            print(f"focalflow run: stage {stage} failed; later stages not run", file=sys.stderr)
            return status
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """``focalflow demo``: the synthetic demo in ``--out`` and, unless one exists, a
    ``config.yaml`` beside it that runs the pipeline on it."""
    import time

    from focalflow.demo.generator import generate
    from focalflow.errors import FocalflowError

    started = time.perf_counter()
    try:
        out = generate(args.out, seed=args.seed)
        if args.own_data is not None:
            from focalflow.demo.own_data import write_own_data

            write_own_data(out, args.own_data)
    except FocalflowError as exc:
        print(f"focalflow demo: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"demo written to {out} in {time.perf_counter() - started:.1f} s")
    if args.own_data is not None:
        print(f"the demo as one miniSEED file per event, QuakeML and a station list: "
              f"{args.own_data} (examples/event_mseed_quakeml.yaml)")
    config = Path(args.config)
    if config.exists():
        print(f"{config} exists: left as it is")
    else:
        from focalflow.workdir import write_text_atomic

        write_text_atomic(config, demo_config_text(out, config.resolve().parent))
        print(f"wrote {config}: run the pipeline with 'focalflow run'")
    return 0


def demo_config_text(demo_dir: Path, config_dir: Path) -> str:
    """config.yaml text (every key with its default and description) whose inputs are the demo
    at ``demo_dir`` and whose velocity model is the shipped ``demo.txt``."""
    from focalflow.config import render_default_yaml
    from focalflow.resources import VELOCITY_DIR

    text = render_default_yaml()
    relative = Path(os.path.relpath(demo_dir, config_dir)).as_posix()
    text = text.replace("demo_data/", f"{relative}/")
    velocity = VELOCITY_DIR / "demo.txt"
    if velocity.resolve() != (config_dir / "velocity" / "demo.txt").resolve():
        text, found = re.subn(r"velocity_models: \[velocity/demo\.txt\]",
                              f"velocity_models: [{velocity.as_posix()}]", text)
        assert found == 1, "the schema's default velocity model moved"
    return ("# focalflow configuration written by 'focalflow demo': every key with its default.\n"
            "# Relative paths are relative to this file's folder. Units are in the key names.\n"
            + text + "\n")


def review_command(args: argparse.Namespace) -> int:
    """``focalflow review``: serve the review app on 127.0.0.1 until Ctrl-C."""
    from focalflow.cli import exit_status, make_context
    from focalflow.config import load_config
    from focalflow.log import setup_logging

    setup_logging("review", verbose=args.verbose)

    def serve() -> None:
        from focalflow.review.server import serve as serve_forever
        from focalflow.review.session import ReviewSession

        ctx = make_context("review", load_config(args.config))
        serve_forever(ReviewSession(ctx, user=args.user), port=args.port,
                      open_browser=args.open)

    return exit_status(serve)


def _delegate(module: str) -> Callable[[Sequence[str]], int]:
    def run(argv: Sequence[str]) -> int:
        return importlib.import_module(module).main(list(argv))
    return run


DELEGATED = {"analyze": ("focalflow.products.analyze",
                         "redraw catalog figures of an existing mechanism catalog"),
             "figures": ("focalflow.figures", "draw the per-event figures of events on demand"),
             "evaluate": ("focalflow.polarity.evaluate",
                          "compare CNN polarities with analyst labels")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="focalflow", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="From seismic waveforms to earthquake focal mechanisms.",
        epilog="Each subcommand has its own --help. The stage scripts 1_get_waveforms.py ... "
               "6_run_hash.py take the same options as 'focalflow run'.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run pipeline stages (all six by default)",
                              description="Run stages in order; stop at the first that fails.")
    run.add_argument("stages", nargs="*", metavar="STAGE",
                     help="1-6, a range like 3-6, or a name like polarity_predict")
    run.add_argument("--config", default="config.yaml", type=Path,
                     help="configuration file (default: config.yaml)")
    run.add_argument("--events", default=None,
                     help="comma-separated event ids to process (default: all)")
    run.add_argument("--overwrite", action="store_true", help="redo work whose outputs exist")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="debug output (and TensorFlow's own messages)")
    run.set_defaults(action=run_command)

    demo = commands.add_parser("demo", help="write the synthetic demo and a config.yaml",
                               description="Write the seeded synthetic demo (ten earthquakes, "
                               "thirty stations) and, unless it exists, a config.yaml that "
                               "runs the pipeline on it.")
    demo.add_argument("--out", default="demo_data", type=Path,
                      help="demo folder (default: demo_data)")
    demo.add_argument("--config", default="config.yaml", type=Path,
                      help="config file to write if absent (default: config.yaml)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--own-data", metavar="DIR", default=None, type=Path,
                      help="also write the demo as a user's own files to DIR: one miniSEED file "
                      "per event, QuakeML picks, a plain station list (e.g. demo_own_data)")
    demo.set_defaults(action=demo_command)

    review = commands.add_parser("review", help="review mechanisms in the browser",
                                 description="Serve the review app on 127.0.0.1: flip, drop "
                                 "or set polarities and see the mechanism recomputed; edits go "
                                 "to overrides.csv in the working directory, which stage 6 "
                                 "honours on every later run.")
    review.add_argument("--config", default="config.yaml", type=Path,
                        help="configuration file (default: config.yaml)")
    review.add_argument("--port", type=int, default=8765,
                        help="port on 127.0.0.1 (default 8765; 0: any free port)")
    review.add_argument("--user", default=None, help="reviewer name in overrides.csv "
                        "(default: your login name)")
    review.add_argument("--open", action="store_true", help="open the page in a browser")
    review.add_argument("-v", "--verbose", action="store_true", help="debug output")
    review.set_defaults(action=review_command)

    for name, (module, summary) in DELEGATED.items():
        commands.add_parser(name, help=f"{summary} (python -m {module})", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``focalflow`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return _delegate(DELEGATED[argv[0]][0])(argv[1:])
    args = build_parser().parse_args(argv)
    return args.action(args)


def _version() -> str:
    from focalflow import __version__

    return f"focalflow {__version__}"
