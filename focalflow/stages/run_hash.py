"""Stage 6: focal mechanisms by HASH v1.2's method from polarities (and S/P amplitude ratios).

Reads events.csv, stations.csv, the polarities of ``hash.polarity_source`` (cnn:
polarities.csv; analyst: picks.csv with reversals.csv; combined: both and
``hash.polarity_files``, one per pick by ``hash.consensus``) weighted by
``hash.polarity_weights``, overrides.csv when present, the velocity models of
``hash.velocity_models`` and, with
``hash.use_sp_ratios``, S/P ratios measured from the cut/ windows into sp_ratios.csv. Writes
mechanisms.csv, mechanisms_acceptable.csv and polinfo.csv, then QuakeML, figures and report.

A rerun redoes exactly the events whose parameters or inputs changed
(:mod:`focalflow.mechanisms.rerun`) and keeps every other event's rows; ``--overwrite`` redoes
the selected events. ``--hash-inp``/``--skhash-control`` run HASH v1.2 and SKHASH control
files without a config (:mod:`focalflow.mechanisms.classic`).
"""
from __future__ import annotations

from typing import Optional, Sequence

from focalflow import cli
from focalflow.mechanisms.classic import run_classic

STAGE = "6_run_hash"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of 6_run_hash.py (working directory, or a HASH/SKHASH control file)."""
    return cli.main(STAGE, __doc__, run, argv, classic=classic)


def classic(args, flags: dict):
    """``--hash-inp``/``--skhash-control``: a HASH v1.2 or SKHASH control file, no config."""
    return run_classic(args.hash_inp, args.driver, args.skhash_control, args.out, flags)


def run(ctx) -> dict:
    """Stage 6 on the working directory (see the module docstring)."""
    # here, not above: the classic modes start without ObsPy, SciPy, matplotlib and pydantic
    from focalflow.mechanisms.batch import run_catalog

    return run_catalog(ctx)
