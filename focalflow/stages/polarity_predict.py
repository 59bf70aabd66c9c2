"""Stage 4: first-motion polarity of every P pick with a CNN (polarity.model in the config).

Reads picks.csv and the vertical P windows cut by stage 3 (cut/<event_id>/*.P.sac), classifies
them in batches (GPU when present and polarity.device allows; a second thread reads and
preprocesses the next windows while the network runs), and writes polarities.csv:
p_polarity (+1 up / -1 down / 0 undecided, true ground motion after the station reversal table
stations.reversals_file), the probabilities, clarity (I/E/x) and the model name, plus
recorded_polarity (the CNN call on the recorded trace), analyst_polarity (picks.csv U/D as
recorded), reversed and snr. polarity.min_confidence turns weak calls into 0;
polarity.analyst decides whether analyst polarities are kept (keep), ignored (replace) or
compared (compare: CNN used, agreement logged). Events already in polarities.csv are skipped
unless --overwrite.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from focalflow.cli import StageContext
from focalflow.errors import FocalflowError
from focalflow.formats.reversals import read_reversals, reversed_mask
from focalflow.polarity.predict import analyst_polarity, classify_p_windows
from focalflow.tables import COLUMNS, read_table, write_table

log = logging.getLogger("focalflow.4_polarity_predict")

EXTRA_COLUMNS = ["recorded_polarity", "analyst_polarity", "reversed", "snr"]
SORT_KEYS = ["event_id", "network", "station", "location", "channel"]


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.polarity
    picks = read_table(ctx.workdir.picks_csv, "picks")
    picks = picks[picks["phase"].str.upper() == "P"]
    if ctx.events is not None:
        picks = picks[picks["event_id"].isin(ctx.events)]
    picks = picks.drop_duplicates(["event_id", "network", "station", "location"])

    old = None
    if ctx.workdir.polarities_csv.is_file():
        old = read_table(ctx.workdir.polarities_csv, "polarities")
        if not ctx.overwrite:
            done = set(old["event_id"])
            skipped = picks["event_id"].isin(done)
            if skipped.any():
                log.info("%d events already in %s (use --overwrite to redo)",
                         picks.loc[skipped, "event_id"].nunique(), ctx.workdir.polarities_csv.name)
            picks = picks[~skipped]
        old = old[~old["event_id"].isin(set(picks["event_id"]))]
    if picks.empty:
        log.info("no P picks to classify")
        return {"picks": 0, "predicted": 0}

    reversals = configured_reversals(ctx.config)
    model = load_configured_model(ctx.config)
    started = time.perf_counter()
    frame = classify_p_windows(model, ctx.workdir, picks, cfg.batch_size, cfg.min_confidence,
                               tuple(cfg.shift_samples))
    elapsed = time.perf_counter() - started
    reasons = frame.pop("reason").to_numpy()
    frame["analyst_polarity"] = analyst_polarity(frame["analyst_code"])
    for i in np.flatnonzero(reasons != ""):
        station = f"{frame.at[i, 'network']}.{frame.at[i, 'station']}"
        ctx.failures.add(frame.at[i, "event_id"], station, reasons[i])

    frame["reversed"] = reversed_mask(reversals, frame["network"], frame["station"],
                                      frame["time"])
    flip = np.where(frame["reversed"], -1, 1)
    frame["recorded_polarity"] = np.where(frame["valid"], frame["polarity"], 0)
    frame["model"] = model_label(ctx.config)
    frame["p_polarity"] = frame["recorded_polarity"] * flip
    summary = {"picks": len(frame), "predicted": int(frame["valid"].sum())}
    if cfg.analyst == "keep":
        use_analyst = frame["analyst_polarity"] != 0
        frame.loc[use_analyst, "p_polarity"] = (frame["analyst_polarity"] * flip)[use_analyst]
        frame.loc[use_analyst, "model"] = "analyst"
        summary["analyst_kept"] = int(use_analyst.sum())
    keep = frame["valid"] | (frame["model"] == "analyst")
    if cfg.analyst == "compare":
        summary.update(agreement(frame[keep]))

    out = frame.loc[keep, COLUMNS["polarities"] + EXTRA_COLUMNS]
    if old is not None and len(old):
        out = pd.concat([old, out], ignore_index=True)
    out = out.sort_values(SORT_KEYS, kind="stable").reset_index(drop=True)
    write_table(out, ctx.workdir.polarities_csv, "polarities")
    rate = summary["picks"] / elapsed if elapsed > 0 else float("nan")
    log.info("classified %d P windows in %.2f s (%.0f per second) with %s",
             summary["picks"], elapsed, rate, model)
    summary.update(up=int((frame.loc[keep, "p_polarity"] > 0).sum()),
                   down=int((frame.loc[keep, "p_polarity"] < 0).sum()),
                   undecided=int((frame.loc[keep, "p_polarity"] == 0).sum()))
    return summary


def load_configured_model(config):
    """The model named by ``config.polarity`` (weights resolved, downloaded or refused)."""
    from models.registry import load_model

    cfg = config.polarity
    return load_model(cfg.model, cfg.weights, cfg.cache_dir, cfg.device, cfg.input_rate_hz,
                      reuse=True)


def model_label(config) -> str:
    """What polarities.csv's ``model`` column says: the registry name, or the weights file name."""
    from models.registry import REGISTRY

    cfg = config.polarity
    name = cfg.model if cfg.model in REGISTRY else f"file:{cfg.model.rsplit('/', 1)[-1]}"
    if cfg.weights is not None:
        name += f":{cfg.weights.name}"
    return name if cfg.input_rate_hz is None else f"{name}@{cfg.input_rate_hz:g}Hz"


def configured_reversals(config) -> pd.DataFrame | None:
    """The configured station reversal table (stations.reversals_file), or None."""
    path = config.stations.reversals_file
    if path is None:
        return None
    if not path.is_file():
        raise FocalflowError(f"{path}: reversal table not found (stations.reversals_file; "
                             "set it to null for none)")
    return read_reversals(path)


def agreement(frame: pd.DataFrame) -> dict:
    """CNN vs analyst on the recorded trace, where both decide: counts and a log line."""
    both = (frame["recorded_polarity"] != 0) & (frame["analyst_polarity"] != 0)
    agree = int((frame.loc[both, "recorded_polarity"] == frame.loc[both, "analyst_polarity"]).sum())
    labelled = int((frame["analyst_polarity"] != 0).sum())
    if labelled:
        log.info("analyst comparison: %d labelled picks, both decide on %d, agree on %d (%.1f %%)",
                 labelled, int(both.sum()), agree, 100.0 * agree / max(int(both.sum()), 1))
    return {"analyst_labelled": labelled, "analyst_both": int(both.sum()), "analyst_agree": agree}
