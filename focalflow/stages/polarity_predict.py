"""Stage 4: first-motion polarity of every P pick with a CNN (polarity.model in the config).

Reads picks.csv and the vertical P windows cut by stage 3 (store/windows/<event_id>.h5), classifies
them in batches (:mod:`focalflow.polarity.predict`: GPU when present and polarity.device
allows; a second thread reads the next windows while the network runs), and writes
polarities.csv (:mod:`focalflow.polarity.policy`): p_polarity (+1 up / -1 down / 0 undecided,
true ground motion after the station reversal table stations.reversals_file), the
probabilities, clarity (I/E/x) and the model name, plus recorded_polarity (the CNN call on the
recorded trace), analyst_polarity (picks.csv U/D as recorded), reversed and snr.
polarity.min_confidence turns weak calls into 0; with ``parallel.scheduler`` (a Dask cluster) or
``parallel.executor: processes`` the windows go to the workers in shards that fill whole
batches, each worker loading the model once; polarity.analyst decides whether analyst
polarities are kept (keep), ignored (replace) or compared (compare: CNN used, agreement logged).

An event is classified again when a parameter that decides its rows changed (see
:data:`focalflow.polarity.policy.PARAMS`), the weights file, the reversal table, its P picks or
its P windows changed; otherwise its rows are kept. Only those events' rows of
polarities.csv are replaced; the model is loaded only when an event needs it. ``--overwrite``
redoes every selected event.
"""
from __future__ import annotations

import logging
import time

import pandas as pd

from focalflow.cli import StageContext
from focalflow.polarity.policy import (PARAMS, load_configured_model, model_label,
                                       polarity_rows, weights_path)
from focalflow.parallel import make_executor
from focalflow.polarity.predict import classify_p_windows, classify_shards
from focalflow.provenance import Ledger, RerunSummary, config_params, file_digest
from focalflow.stations import configured_reversals, reversals_path
from focalflow.tables import picks_digests, read_table, update_event_rows
from focalflow.waveforms.store import set_digest

log = logging.getLogger("focalflow.4_polarity_predict")
STAGE = "4_polarity_predict"


def run(ctx: StageContext) -> dict:
    workdir, cfg = ctx.workdir, ctx.config.polarity
    picks = read_table(workdir.picks_csv, "picks")
    picks = picks[picks["phase"].str.upper() == "P"]
    picks = picks.drop_duplicates(["event_id", "network", "station", "location"])
    order = sorted(set(picks["event_id"]))
    reversals = reversals_path(ctx.config.stations)
    reversal_table = configured_reversals(ctx.config.stations)  # a bad table stops us before the CNN
    shared_inputs = {"weights": file_digest(weights_path(cfg)),
                     "reversals": file_digest(reversals) if reversals else "none"}
    params = config_params(ctx.config, PARAMS)
    ledger = Ledger(workdir, STAGE)
    rerun = RerunSummary()
    selected = [e for e in order if ctx.selected(e)]
    digests = picks_digests(picks)
    ledger.prefetch(selected)
    redo: dict[str, dict] = {}
    for event_id in selected:
        inputs = {**shared_inputs, "picks": digests[event_id],
                  "P windows": set_digest(workdir.event_windows_file(event_id), "P")}
        reason = ledger.why_redo(event_id, params, inputs, overwrite=ctx.overwrite)
        if reason is None:
            rerun.keep()
        else:
            redo[event_id] = inputs
            rerun.redo(reason)
    summary, rows, failures = {"picks": 0, "predicted": 0}, None, []
    if redo:
        rows, failures, summary = classify(ctx, picks[picks["event_id"].isin(list(redo))],
                                           reversal_table)
    problems: dict[str, list[tuple[str, str]]] = {}
    for event_id, station, problem in failures:
        problems.setdefault(event_id, []).append((station, problem))
    for event_id in selected:
        if event_id in redo:
            ledger.record(event_id, params, redo[event_id], ["polarities.csv"],
                          problems.get(event_id, []))
        for station, problem in ledger.failures(event_id):
            ctx.failures.add(event_id, station, problem)
    gone = set() if ctx.events is not None else set(ledger.items()) - set(order)
    for event_id in gone:  # no longer in picks.csv: its rows go
        ledger.forget(event_id)
    if rows is not None:
        update_event_rows(workdir.polarities_csv, rows, set(redo) | gone, order, "polarities")
    elif gone and workdir.polarities_csv.is_file():
        update_event_rows(workdir.polarities_csv, pd.DataFrame(columns=["event_id"]), gone)
    ledger.save()
    log.info("%s", rerun)
    return summary


def classify(ctx: StageContext, picks: pd.DataFrame,
             reversals: pd.DataFrame | None) -> tuple[pd.DataFrame, list, dict]:
    """polarities.csv rows of ``picks`` (``reversals``: the station reversal table), the
    (event, station, reason) of unusable windows, and a summary of counts."""
    cfg, parallel = ctx.config.polarity, ctx.config.parallel
    started = time.perf_counter()
    if parallel.scheduler or parallel.executor == "processes":
        with make_executor(parallel) as executor:
            calls = classify_shards(executor, cfg, ctx.workdir, picks)
        model = f"{cfg.model} on {executor}"
    else:
        model = load_configured_model(cfg, quiet=not getattr(ctx.args, "verbose", False))
        calls = classify_p_windows(model, ctx.workdir, picks, cfg.batch_size, cfg.min_confidence,
                                   tuple(cfg.shift_samples))
    elapsed = time.perf_counter() - started
    log.info("classified %d P windows in %.2f s (%.0f per second) with %s", len(calls), elapsed,
             len(calls) / elapsed if elapsed > 0 else float("nan"), model)
    failures = [(row.event_id, f"{row.network}.{row.station}", row.reason)
                for row in calls[calls["reason"] != ""].itertuples()]
    rows, summary = polarity_rows(calls, reversals, cfg.analyst, model_label(cfg))
    return rows, failures, summary
