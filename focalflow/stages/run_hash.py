"""Stage 6: focal mechanisms by HASH v1.2's method from polarities (and S/P amplitude ratios).

Reads events.csv, stations.csv, the polarities of ``hash.polarity_source`` (cnn:
polarities.csv; analyst: picks.csv with reversals.csv; combined: analyst where given, else
CNN), overrides.csv when present, the velocity models of ``hash.velocity_models`` and, with
``hash.use_sp_ratios``, S/P ratios measured from the cut/ windows into sp_ratios.csv. Writes
mechanisms.csv, mechanisms_acceptable.csv and polinfo.csv, then QuakeML, figures and report.

A rerun redoes exactly the events whose parameters or inputs changed
(:mod:`focalflow.mechanisms.rerun`) and keeps every other event's rows; ``--overwrite`` redoes
the selected events. ``--hash-inp``/``--skhash-control`` run HASH v1.2 and SKHASH control
files without a config (:mod:`focalflow.mechanisms.classic`).
"""
from __future__ import annotations

import logging
from typing import Optional, Sequence

import pandas as pd

from focalflow import cli
from focalflow.formats.velocity import read_velocity_model
from focalflow.mechanisms.classic import run_classic
from focalflow.mechanisms.observations import build_observations
from focalflow.mechanisms.overrides import read_overrides
from focalflow.mechanisms.solve import solve_catalog, velocity_tables
from focalflow.provenance import Ledger
from focalflow.tables import COLUMNS, read_table, update_event_rows

log = logging.getLogger("focalflow.6_run_hash")
STAGE = "6_run_hash"
RESULTS = {"mechanisms": "mechanisms_csv", "acceptable": "acceptable_csv",
           "polinfo": "polinfo_csv"}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of 6_run_hash.py (working directory, or a HASH/SKHASH control file)."""
    return cli.main(STAGE, __doc__, run, argv, classic=classic)


def classic(args, flags: dict):
    """``--hash-inp``/``--skhash-control``: a HASH v1.2 or SKHASH control file, no config."""
    return run_classic(args.hash_inp, args.driver, args.skhash_control, args.out, flags)


def run(ctx) -> dict:
    """Stage 6 on the working directory (see the module docstring)."""
    # here, not above: the classic modes start without ObsPy, SciPy, matplotlib and pydantic
    from focalflow.mechanisms.rerun import ItemRerun, mechanism_fingerprints, model_digests
    from focalflow.products.results import write_products

    cfg, wd = ctx.config.hash, ctx.workdir
    all_events = read_table(wd.events_csv, "events")
    order = list(all_events["event_id"])
    events = all_events[[ctx.selected(e) for e in order]].reset_index(drop=True)
    models = model_digests(cfg.velocity_models)
    for path in cfg.velocity_models:  # a bad model stops the stage before any S/P measurement
        read_velocity_model(path)
    ledger = Ledger(wd, STAGE)
    sp_ratios = _update_sp_ratios(ctx, ledger, events, order) if cfg.use_sp_ratios else None
    obs = build_observations(events, cfg.polarity_source, read_table(wd.stations_csv, "stations"),
                             ctx.failures.add, sp_ratios=sp_ratios, **_polarity_tables(ctx))
    rerun = ItemRerun(ledger, "mechanism", [p.name for p in _result_paths(wd).values()],
                      ctx.overwrite)
    redo = rerun.plan(mechanism_fingerprints(ctx.config, events, obs, models),
                      all_or_none="rng hash: one random stream for all events" if
                      cfg.rng == "hash" else "")
    log.info("mechanisms: %s", rerun.summary)
    for event_id, station, reason in rerun.kept_failures(redo):
        ctx.failures.add(event_id, station or None, reason)
    if redo:
        problems: dict[str, list] = {event_id: [] for event_id in redo}
        todo = events[events["event_id"].isin(redo)]
        results = solve_catalog(todo, obs[obs["event_id"].isin(redo)], cfg.params(),
                                cfg.policy(), velocity_tables(cfg.velocity_models),
                                lambda e, s, r: (problems[e].append((s or "", r)),
                                                 ctx.failures.add(e, s, r)), progress=True)
        for name, path in _result_paths(wd).items():
            update_event_rows(path, results[name], redo, order)
        for event_id in redo:
            rerun.record(event_id, problems[event_id])
    ledger.save()
    counts = write_products(ctx, ledger)
    mechanisms = read_table(wd.mechanisms_csv)
    mechanisms = mechanisms[mechanisms["event_id"].astype(str).isin(set(events["event_id"]))]
    letters = mechanisms.drop_duplicates("event_id")["quality"].value_counts().to_dict()
    return {"events": len(events), "computed": len(redo),
            "mechanisms": int(mechanisms["event_id"].nunique()),
            **{f"quality_{k}": int(v) for k, v in sorted(letters.items())}, **counts}


def _result_paths(wd) -> dict:
    return {name: getattr(wd, attribute) for name, attribute in RESULTS.items()}


def _polarity_tables(ctx) -> dict:
    """The tables :func:`build_observations` needs for ``hash.polarity_source``."""
    wd, source = ctx.workdir, ctx.config.hash.polarity_source
    tables = {"overrides": read_overrides(wd.overrides_csv) if wd.overrides_csv.is_file() else None}
    if source in ("analyst", "combined"):
        tables["picks"] = read_table(wd.picks_csv, "picks")
        tables["reversals"] = (read_table(wd.reversals_csv, "reversals")
                               if wd.reversals_csv.is_file() else None)
    if source in ("cnn", "combined"):
        tables["polarities"] = read_table(wd.polarities_csv, "polarities")
    return tables


def _update_sp_ratios(ctx, ledger: Ledger, events: pd.DataFrame, order: list) -> pd.DataFrame:
    """Measure the S/P ratios of the events whose windows or ``hash.sp_*`` settings changed
    (sp_ratios.csv keeps every other event's rows); returns the whole table."""
    from focalflow.mechanisms.amplitudes import (SpSettings, measure_event_sp,
                                                 read_sp_corrections)
    from focalflow.mechanisms.rerun import ItemRerun, sp_fingerprints

    wd, cfg = ctx.workdir, ctx.config.hash
    rerun = ItemRerun(ledger, "sp", [wd.sp_ratios_csv.name], ctx.overwrite)
    redo = rerun.plan(sp_fingerprints(ctx.config, wd, events["event_id"]))
    log.info("S/P ratios: %s", rerun.summary)
    for event_id, station, reason in rerun.kept_failures(redo):
        ctx.failures.add(event_id, station or None, reason)
    if redo:
        settings, corrections = SpSettings.from_config(cfg), read_sp_corrections(
            cfg.sp_corrections_file)
        tables = []
        for event_id in redo:
            folder = wd.event_cut_dir(event_id)
            table, problems = (measure_event_sp(folder, event_id, settings, corrections)
                               if folder.is_dir() else (None, []))
            tables += [table] if table is not None else []
            for station, reason in problems:
                ctx.failures.add(event_id, station, reason)
            rerun.record(event_id, problems)
        frame = (pd.concat(tables, ignore_index=True) if tables
                 else pd.DataFrame(columns=COLUMNS["sp_ratios"]))
        update_event_rows(wd.sp_ratios_csv, frame, redo, order, name="sp_ratios")
        ledger.save()
    return read_table(wd.sp_ratios_csv, "sp_ratios")
