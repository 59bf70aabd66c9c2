"""Stage 4's rules: which model and weights the config names, and how the network's calls
become ``polarities.csv`` rows (station reversals, the analyst policy, the agreement report).

Parameters that decide the rows (:data:`PARAMS`): the model, its weights, ``min_confidence``,
``analyst``, ``input_rate_hz``, ``shift_samples`` and the reversal table (file and
``stations.reversed``). ``device`` and ``batch_size`` are left out on purpose: they change
where and in how large batches the network runs, not its calls (on some CPUs a window's
probabilities differ in their last float32 bits with the rest of its batch, ~1e-7, but not
its call), so changing them recomputes nothing. ``cache_dir`` only says
where the weights lie; the weights file's own digest stands for its content.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.reversals import reversed_mask
from focalflow.polarity.predict import analyst_polarity
from focalflow.tables import COLUMNS

log = logging.getLogger("focalflow.polarity.policy")

PARAMS = ["polarity.model", "polarity.weights", "polarity.min_confidence", "polarity.analyst",
          "polarity.input_rate_hz", "polarity.shift_samples", "stations.reversals_file",
          "stations.reversed"]
EXTRA_COLUMNS = ["recorded_polarity", "analyst_polarity", "reversed", "snr"]
SORT_KEYS = ["event_id", "network", "station", "location", "channel"]


def weights_path(polarity_config) -> Path:
    """The weights file the config names (a known model's shipped or cached file, downloaded
    once; ``weights``; or ``model`` as a path). Raises a clear error when it is missing, also
    when nothing else would need it."""
    from models.base import WeightsError
    from models.registry import REGISTRY, known_models, weights_file

    cfg = polarity_config
    entry = REGISTRY.get(cfg.model)
    if entry is not None:
        path = Path(cfg.weights).expanduser() if cfg.weights is not None \
            else weights_file(entry, cfg.cache_dir)
    else:
        path = Path(cfg.model).expanduser()
        if not path.suffix and not path.exists():
            raise WeightsError(f"unknown model name {cfg.model!r}; known names: "
                               f"{', '.join(known_models())}, or give the path of a weights file")
    if not path.is_file():
        raise InputError(path, "weights file not found (polarity.model / polarity.weights)")
    return path


def load_configured_model(polarity_config, quiet: bool = True):
    """The model named by the ``polarity`` config section, ready to classify (TensorFlow's
    start-up messages hidden when ``quiet``)."""
    from models.registry import load_model

    cfg = polarity_config
    return load_model(cfg.model, cfg.weights, cfg.cache_dir, cfg.device, cfg.input_rate_hz,
                      reuse=True, quiet=quiet)


def model_label(polarity_config) -> str:
    """What polarities.csv's ``model`` column says: the registry name, or the weights file name."""
    from models.registry import REGISTRY

    cfg = polarity_config
    name = cfg.model if cfg.model in REGISTRY else f"file:{cfg.model.rsplit('/', 1)[-1]}"
    if cfg.weights is not None:
        name += f":{cfg.weights.name}"
    return name if cfg.input_rate_hz is None else f"{name}@{cfg.input_rate_hz:g}Hz"


def polarity_rows(calls: pd.DataFrame, reversals: pd.DataFrame | None, analyst: str,
                  label: str) -> tuple[pd.DataFrame, dict]:
    """polarities.csv rows from :func:`~focalflow.polarity.predict.classify_p_windows`'s calls.

    ``recorded_polarity`` is the network's call on the recorded trace, ``p_polarity`` the true
    ground motion (flipped where ``reversals`` says the station was reversed at the pick time).
    ``analyst``: ``keep`` uses the analyst's polarity where there is one (``model`` says
    ``analyst``), ``replace`` ignores it, ``compare`` ignores it and reports the agreement.
    Rows of unusable windows are dropped (unless the analyst's polarity is kept). Returns the
    rows sorted by event and channel, and a summary of counts.
    """
    frame = calls.copy()
    frame["analyst_polarity"] = analyst_polarity(frame["analyst_code"])
    frame["reversed"] = reversed_mask(reversals, frame["network"], frame["station"], frame["time"])
    flip = np.where(frame["reversed"], -1, 1)
    frame["recorded_polarity"] = np.where(frame["valid"], frame["polarity"], 0)
    frame["model"] = label
    frame["p_polarity"] = frame["recorded_polarity"] * flip
    summary = {"picks": len(frame), "predicted": int(frame["valid"].sum())}
    if analyst == "keep":
        use_analyst = frame["analyst_polarity"] != 0
        frame.loc[use_analyst, "p_polarity"] = (frame["analyst_polarity"] * flip)[use_analyst]
        frame.loc[use_analyst, "model"] = "analyst"
        summary["analyst_kept"] = int(use_analyst.sum())
    keep = frame["valid"] | (frame["model"] == "analyst")
    if analyst == "compare":
        summary.update(agreement(frame[keep]))
    rows = frame.loc[keep, COLUMNS["polarities"] + EXTRA_COLUMNS]
    summary.update(up=int((rows["p_polarity"] > 0).sum()), down=int((rows["p_polarity"] < 0).sum()),
                   undecided=int((rows["p_polarity"] == 0).sum()))
    return rows.sort_values(SORT_KEYS, kind="stable").reset_index(drop=True), summary


def agreement(frame: pd.DataFrame) -> dict:
    """CNN vs analyst on the recorded trace, where both decide: counts and a log line."""
    both = (frame["recorded_polarity"] != 0) & (frame["analyst_polarity"] != 0)
    agree = int((frame.loc[both, "recorded_polarity"] == frame.loc[both, "analyst_polarity"]).sum())
    labelled = int((frame["analyst_polarity"] != 0).sum())
    if labelled:
        log.info("analyst comparison: %d labelled picks, both decide on %d, agree on %d (%.1f %%)",
                 labelled, int(both.sum()), agree, 100.0 * agree / max(int(both.sum()), 1))
    return {"analyst_labelled": labelled, "analyst_both": int(both.sum()), "analyst_agree": agree}
