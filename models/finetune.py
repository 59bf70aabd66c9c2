"""Fine-tune a polarity network on analyst-labelled traces (transfer learning): arrays in, a
trained network and its history out.

The pipeline's side — labels CSV, SAC files, stage 3's windows, the evaluation files and
figures — is ``python -m focalflow.polarity.finetune``; this module never reads a file.

A labelled trace is any object with ``data`` (1-D samples), ``sampling_rate_hz`` and
``pick_index`` (sample index of the pick, fractional allowed), e.g.
``focalflow.polarity.predict.TraceWindow``; labels are first motions **on the recorded trace**
(+1 up / -1 down).

Procedure (:func:`finetune`): the traces are split **by station** (no station in two parts,
seeded): a held-out test part, a validation part for early stopping and the training part.
Training starts from the base model's weights, augments each labelled window with shifts of up
to ``max_shift`` samples and with its sign-flipped copy (label flipped), optionally mixes in
synthetic onsets (so the model does not forget the general case), keeps the layers the model
names in ``frozen_when_finetuning`` (FocalflowNet's clarity head: analyst labels say nothing
about it) and stops when the validation loss has not improved for ``patience`` epochs (best
weights kept). The held-out part is scored before and after; the per-epoch history (loss and
accuracy of the training and validation parts) is returned for the learning curves.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from models.base import decide
from models.errors import ModelError


def prepare_inputs(model, traces: Sequence, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs of traces of mixed rates and lengths (grouped by both) and a valid mask."""
    inputs = np.zeros((len(traces), model.window_samples, model.input_channels), np.float32)
    valid = np.zeros(len(traces), bool)
    groups: dict[tuple[float, int], list[int]] = {}
    for i, trace in enumerate(traces):
        groups.setdefault((round(trace.sampling_rate_hz, 4), len(trace.data)), []).append(i)
    for (rate, _), index in groups.items():
        data = np.stack([traces[i].data for i in index])
        picks = np.array([traces[i].pick_index for i in index])
        x, ok, _ = model.preprocess(data, picks, rate, shift)
        inputs[index], valid[index] = x, ok
    return inputs, valid


def augmented(model, traces: Sequence, polarity: np.ndarray, max_shift: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Inputs for every shift in ``-max_shift..max_shift`` (model samples) and each window's
    sign-flipped copy (label flipped); invalid windows left out."""
    xs, ys = [], []
    for shift in range(-max_shift, max_shift + 1):
        x, ok = prepare_inputs(model, traces, shift)
        xs += [x[ok], -x[ok]]
        ys += [polarity[ok], -polarity[ok]]
    return np.concatenate(xs), np.concatenate(ys)


def split_by_station(stations: Sequence[str], test_fraction: float, val_fraction: float,
                     seed: int) -> np.ndarray:
    """"train" / "val" / "test" per row; every station's rows in one part (seeded shuffle)."""
    names = np.array(sorted(set(stations)))
    rng = np.random.default_rng(seed)
    rng.shuffle(names)
    n_test = max(1, int(round(test_fraction * len(names))))
    n_val = max(1, int(round(val_fraction * (len(names) - n_test)))) if val_fraction > 0 else 0
    if n_test + n_val >= len(names):
        raise ModelError(f"only {len(names)} labelled stations: too few to split into train, "
                         "validation and test parts")
    part = {s: "test" for s in names[:n_test]}
    part.update({s: "val" for s in names[n_test:n_test + n_val]})
    return np.array([part.get(s, "train") for s in stations])


def predict_traces(model, traces: Sequence, labels: np.ndarray, min_confidence: float = 0.0
                   ) -> pd.DataFrame:
    """Per-trace calls next to ``label``: ``polarity`` (+1/-1/0 on the recorded trace),
    ``prob_up``, ``prob_down``, ``prob_undecided``, ``valid``."""
    inputs, valid = prepare_inputs(model, traces)
    probs = model.predict_inputs(inputs)
    table = decide(probs, valid, [""] * len(traces), min_confidence)
    table.insert(0, "label", np.asarray(labels))
    return table.drop(columns=["clarity", "reason"])


def scores(predicted: np.ndarray, labels: np.ndarray) -> dict:
    """right / wrong / undecided against +1/-1 labels, accuracy where both decide, confusion."""
    decided = predicted != 0
    right = int(np.sum(decided & (predicted == labels)))
    wrong = int(np.sum(decided & (predicted != labels)))
    confusion = {f"label_{'up' if lab > 0 else 'down'}": {
        name: int(np.sum((labels == lab) & (predicted == code)))
        for name, code in (("up", 1), ("down", -1), ("undecided", 0))} for lab in (1, -1)}
    return {"n": int(len(labels)), "right": right, "wrong": wrong,
            "undecided": int(np.sum(~decided)),
            "accuracy_where_both_decide": right / (right + wrong) if right + wrong else float("nan"),
            "accuracy_of_all": right / len(labels) if len(labels) else float("nan"),
            "confusion": confusion}


def finetune(base, traces: Sequence, polarity: np.ndarray, stations: Sequence[str], *,
             seed: int = 0, test_fraction: float = 0.3, val_fraction: float = 0.2,
             epochs: int = 30, patience: int = 5, learning_rate: float = 3e-4,
             batch_size: int = 64, max_shift: int = 3, synthetic: int = 2000) -> dict:
    """Fine-tune ``base`` (a loaded model built in code: FocalflowNet, EQPolarity) in place on
    ``traces`` labelled ``polarity`` (+1/-1) at ``stations``; returns ``part`` (the split),
    ``before``/``after`` (:func:`predict_traces` on the held-out part), ``scores_before``/
    ``scores_after``, ``history`` and the numbers of training and validation inputs."""
    from models.synthetic import make_dataset, recipe_for
    from models.train import fit

    polarity = np.asarray(polarity)
    part = split_by_station(list(stations), test_fraction, val_fraction, seed)
    rows = {name: np.flatnonzero(part == name) for name in ("train", "val", "test")}
    pick = lambda name: [traces[i] for i in rows[name]]  # noqa: E731
    before = predict_traces(base, pick("test"), polarity[rows["test"]])

    train_x, train_y = augmented(base, pick("train"), polarity[rows["train"]], max_shift)
    val_x, val_y = augmented(base, pick("val"), polarity[rows["val"]], 0)
    if synthetic:
        extra = make_dataset(base, synthetic, seed=seed + 100, recipe=recipe_for(base))
        train_x = np.concatenate([train_x, extra["inputs"]])
        train_y = np.concatenate([train_y, extra["polarity"]])
    for name in base.frozen_when_finetuning:
        base.keras_model.get_layer(name).trainable = False
    history = fit(base, train_x, train_y, np.full(len(train_y), 2), val_x, val_y,
                  np.full(len(val_y), 2), epochs=epochs, batch_size=batch_size,
                  learning_rate=learning_rate, patience=patience, clarity_weight=0.0)
    after = predict_traces(base, pick("test"), polarity[rows["test"]])
    return {"part": part, "before": before, "after": after, "history": history,
            "scores_before": scores(before["polarity"].to_numpy(), polarity[rows["test"]]),
            "scores_after": scores(after["polarity"].to_numpy(), polarity[rows["test"]]),
            "n_train_inputs": int(len(train_x)), "n_val_inputs": int(len(val_x))}
