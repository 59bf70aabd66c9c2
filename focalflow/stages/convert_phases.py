"""Stage 3: the catalog's events and picks to events.csv / picks.csv, and P/S windows to cut/.

Reads ``catalog.phase_file`` (Hypoinverse-2000, QuakeML or CSV) and writes ``events.csv`` and
``picks.csv`` (in the catalog's order; picks as the analyst gave them; with ``--events`` only
those events' rows are replaced). Then, for each selected event, cuts windows around the picks
from its traces in the waveform store (``store/traces/<event_id>.h5``) into
``store/windows/<event_id>.h5`` (:mod:`focalflow.waveforms.windows`; lengths from ``phases``;
each window knows its pick, whether it is a predicted S and whether the station is reversed
then, by ``stations.reversals_file``); with ``sac.write_files`` also into
``cut/<event_id>/NET.STA.LOC.CHA.{P,S}.sac``. Events go through the ``parallel`` executor.

An event's windows are cut again when a ``phases.*`` setting, the reversal table, its catalog
entry, its picks or its traces changed (or a window file is gone); otherwise they are kept and
the event's failures reported again; windows that come out identical are left untouched (so
stage 4 keeps their polarities). ``--overwrite`` cuts and rewrites every selected event. A
missing or unreadable traces file and picks the waveform does not cover become rows of the
failures table.
"""
from __future__ import annotations

import logging

import pandas as pd

from focalflow.catalog import read_event_catalog
from focalflow.cli import StageContext
from focalflow.parallel import make_executor
from focalflow.stations import configured_reversals
from focalflow.provenance import (Ledger, RerunSummary, config_params, content_digest, file_digest,
                                  file_digests)
from focalflow.tables import picks_digests, read_table, update_event_rows, write_table
from focalflow.waveforms.windows import cut_event
from focalflow.workdir import locked

log = logging.getLogger("focalflow.convert_phases")
STAGE = "3_convert_phases"
PARAMS = ["phases", "stations.reversals_file"]


def run(ctx: StageContext) -> dict:
    workdir = ctx.workdir
    events, picks, problems = read_event_catalog(ctx.config.catalog)
    for problem in problems:
        ctx.failures.add(None, None, str(problem))
    write_catalog_tables(ctx, events, picks)
    for unknown in sorted((ctx.events or set()) - set(events["event_id"])):
        ctx.failures.add(unknown, None, "event given with --events is not in the catalog")

    ledger = Ledger(workdir, STAGE)
    params = config_params(ctx.config, PARAMS)
    reversals_file = ctx.config.stations.reversals_file
    reversals = configured_reversals(ctx.config.stations)
    shared = {"reversals": file_digest(reversals_file) if reversals_file else "none"}
    rerun = RerunSummary()
    counts = {"events": len(events), "picks": len(picks), "P_windows": 0, "S_windows": 0,
              "S_predicted": 0, "kept_existing": 0}
    by_event = {k: g for k, g in picks.groupby("event_id", sort=False)}
    digests = picks_digests(picks)
    ledger.prefetch(e for e in map(str, events["event_id"]) if ctx.selected(e))
    todo = []
    for event in events.to_dict("records"):
        event_id = event["event_id"]
        if not ctx.selected(event_id):
            continue
        event_picks = by_event.get(event_id)
        if event_picks is None or event_picks.empty:
            ctx.failures.add(event_id, None, "event has no picks; no windows cut")
            continue
        traces_file = workdir.event_traces_file(event_id)
        inputs = {**shared, **file_digests(workdir.root, [traces_file] if traces_file.is_file()
                                           else []),
                  "event": content_digest(event), "picks": digests[str(event_id)]}
        reason = ledger.why_redo(event_id, params, inputs, overwrite=ctx.overwrite)
        if reason is None:
            for station, problem in ledger.failures(event_id):
                ctx.failures.add(event_id, station, problem)
            counts["kept_existing"] += 1
            rerun.keep()
            continue
        todo.append((event, event_picks, inputs, reason))
    tasks = [(event, event_picks, workdir.event_traces_file(event["event_id"]),
              workdir.event_windows_file(event["event_id"]),
              workdir.event_cut_dir(event["event_id"]) if ctx.config.sac.write_files else None)
             for event, event_picks, _, _ in todo]
    with make_executor(ctx.config.parallel) as executor:
        results = executor.map(cut_task, tasks, ctx.config.phases, reversals, not ctx.overwrite)
        for (event, _, inputs, reason), (windows, error) in zip(todo, results):
            event_id = event["event_id"]
            if error:  # e.g. a full disk or an unreadable folder: next event
                ctx.failures.add(event_id, None, f"windows not cut: {error}")
                ledger.forget(event_id)
                continue
            for station, problem in windows.failures:
                ctx.failures.add(event_id, station, problem)
            outputs = [path.relative_to(workdir.root) for path in windows.written]
            ledger.record(event_id, params, inputs, outputs, windows.failures)
            rerun.redo(reason)
            counts["P_windows"] += windows.p_windows
            counts["S_windows"] += windows.s_windows
            counts["S_predicted"] += windows.s_predicted
    ledger.save()
    log.info("%s", rerun)
    return counts


def cut_task(task, phases, reversals, if_changed: bool):
    """One event's :func:`~focalflow.waveforms.windows.cut_event` (in any worker):
    (what it did, "" or the error that stopped it)."""
    event, picks, traces_file, windows_file, sac_dir = task
    try:
        return cut_event(traces_file, windows_file, event, picks, phases, reversals, sac_dir,
                         if_changed), ""
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def write_catalog_tables(ctx: StageContext, events: pd.DataFrame, picks: pd.DataFrame) -> None:
    """events.csv and picks.csv from the catalog: whole, or with ``--events`` the rows of those
    events (and of events the tables do not have yet), other events' rows kept as they are."""
    workdir = ctx.workdir
    tables = ((events, workdir.events_csv, "events"), (picks, workdir.picks_csv, "picks"))
    if ctx.events is None:
        for table, path, name in tables:
            with locked(path):
                write_table(table, path, name, if_changed=True)
    else:
        order = events["event_id"].tolist()
        for table, path, name in tables:
            # each table by itself: a run killed between the two writes left one without the rest
            present = set(read_table(path, name)["event_id"]) if path.is_file() else set()
            replaced = ctx.events | (set(events["event_id"]) - present)
            update_event_rows(path, table[table["event_id"].isin(replaced)], replaced, order, name)
    log.info("%d events and %d picks of %s in %s", len(events), len(picks),
             ctx.config.catalog.phase_file, workdir.root)
