"""How well do the CNN polarities agree with analyst labels? A table and a figure; the curves
the model evaluations share (PR, ROC, learning curves).

    python -m focalflow.polarity.evaluate --config config.yaml                    # labels from picks.csv
    python -m focalflow.polarity.evaluate --config config.yaml --labels my.csv [--event ID]
    python -m focalflow.polarity.evaluate --history tuned.json [other.json ...] --out DIR

(several models on the same labelled traces: ``python -m focalflow.polarity.compare``).

Compares stage 4's ``recorded_polarity`` (the network's call on the recorded trace) with analyst
first motions on the recorded trace: picks.csv's U/D (stage 4 copies them into
``analyst_polarity``) or a labels CSV with columns ``station``, a polarity column
(``polarity``/``p_polarity``: U/D/+/-, +1/-1; anything else is unlabelled) and optionally
``network``, ``event_id`` (``--event`` assigns every label to one event). Both sides are as
recorded, so the station reversal table plays no part.

Writes into ``<workdir>/evaluation/`` (or ``--out``):

* ``polarity_evaluation.csv`` — one row per measure: the totals (labelled, predicted, right,
  wrong, undecided, accuracy where both decide, undecided rate), the confusion matrix
  (``confusion``, analyst U/D x CNN U/D/x), accuracy and undecided rate vs the confidence
  threshold max(prob_up, prob_down) (``threshold``), and vs SNR bins (``snr``);
* ``polarity_evaluation.png`` — the confusion matrix and both curves.

With ``--history``, the machine-readable model cards (``<name>.json``) written by
``models.train`` or ``focalflow.polarity.finetune`` give ``learning_curves.png`` (loss and
accuracy per epoch of the training and validation parts) in ``--out`` (default: the current
folder).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from focalflow.errors import FocalflowError, InputError
from focalflow.polarity.predict import analyst_polarity
from focalflow.tables import read_table, write_table
from focalflow.workdir import WorkDir, atomic_path

log = logging.getLogger("focalflow.polarity.evaluate")

THRESHOLDS = np.round(np.arange(0.5, 1.0, 0.05), 2)
SNR_EDGES = np.array([0.0, 2.0, 5.0, 10.0, 20.0, 50.0, np.inf])
KEYS = ["event_id", "network", "station"]


def score(predicted: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Counts for calls vs labels (+1/-1/0 each; rows with label 0 are ignored): ``labelled``,
    ``right``, ``wrong``, ``undecided`` (CNN 0), ``accuracy`` (right / (right + wrong)) and
    ``undecided_rate`` (undecided / labelled)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    labelled = labels != 0
    decided = labelled & (predicted != 0)
    right = int((decided & (predicted == labels)).sum())
    wrong = int(decided.sum()) - right
    n = int(labelled.sum())
    return {"labelled": n, "right": right, "wrong": wrong, "undecided": n - right - wrong,
            "accuracy": right / (right + wrong) if right + wrong else np.nan,
            "undecided_rate": (n - right - wrong) / n if n else np.nan}


def confusion(predicted: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Analyst U/D (rows) x CNN U/D/x (columns) counts."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    table = pd.DataFrame(0, index=["analyst U", "analyst D"], columns=["CNN U", "CNN D", "CNN x"])
    for row, label in (("analyst U", 1), ("analyst D", -1)):
        for column, call in (("CNN U", 1), ("CNN D", -1), ("CNN x", 0)):
            table.loc[row, column] = int(((labels == label) & (predicted == call)).sum())
    return table


def evaluation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of polarity_evaluation.csv from a frame with ``recorded_polarity``, ``label``,
    ``prob_up``, ``prob_down`` and ``snr``."""
    calls = frame["recorded_polarity"].to_numpy()
    labels = frame["label"].to_numpy()
    rows = [{"section": "total", "measure": k, "value": v} for k, v in score(calls, labels).items()]
    rows.append({"section": "total", "measure": "predicted", "value": len(frame)})
    for row, counts in confusion(calls, labels).iterrows():
        rows += [{"section": "confusion", "measure": f"{row} / {col}", "value": v}
                 for col, v in counts.items()]
    confidence = np.fmax(frame["prob_up"].to_numpy(), frame["prob_down"].to_numpy())
    for threshold in THRESHOLDS:
        s = score(np.where(confidence >= threshold, calls, 0), labels)
        rows += [{"section": "threshold", "bin": threshold, "measure": k, "value": s[k]}
                 for k in ("labelled", "right", "wrong", "accuracy", "undecided_rate")]
    snr = frame["snr"].to_numpy(dtype=float)
    for low, high in zip(SNR_EDGES[:-1], SNR_EDGES[1:]):
        inside = (snr >= low) & (snr < high)
        s = score(calls[inside], labels[inside])
        label = f"{low:g}-{high:g}" if np.isfinite(high) else f">={low:g}"
        rows += [{"section": "snr", "bin": label, "measure": k, "value": s[k]}
                 for k in ("labelled", "right", "wrong", "accuracy", "undecided_rate")]
    return pd.DataFrame(rows, columns=["section", "bin", "measure", "value"])


def plot_evaluation(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Confusion matrix, accuracy/undecided vs threshold and vs SNR, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    conf = table[table["section"] == "confusion"]
    matrix = conf["value"].to_numpy(dtype=float).reshape(2, 3)
    axes[0].imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        axes[0].text(j, i, f"{v:g}", ha="center", va="center",
                     color="white" if v > matrix.max() / 2 else "black")
    axes[0].set_xticks(range(3), ["CNN U", "CNN D", "CNN x"])
    axes[0].set_yticks(range(2), ["analyst U", "analyst D"])
    axes[0].set_title("confusion (recorded trace)")
    for ax, section, xlabel in ((axes[1], "threshold", "min confidence max(P_up, P_down)"),
                                (axes[2], "snr", "SNR (RMS 0.5 s after / before pick)")):
        part = table[table["section"] == section]
        bins = list(dict.fromkeys(part["bin"]))
        x = np.arange(len(bins))
        for measure, style in (("accuracy", "o-"), ("undecided_rate", "s--")):
            values = part[part["measure"] == measure]["value"].to_numpy(dtype=float)
            ax.plot(x, values, style, label=measure.replace("_", " "))
        ax.set_xticks(x, [str(b) for b in bins], rotation=45)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


def roc_curve(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic: false and true positive rates when a row is called
    positive at ``score >= threshold``, for every distinct score (descending), starting at
    (0, 0); returns (fpr, tpr, thresholds) with ``thresholds[0] = inf``. Tied scores move both
    rates at once (a diagonal step)."""
    positive, scores = np.asarray(positive, bool), np.asarray(scores, float)
    thresholds, tp, fp = _counts_at_thresholds(positive, scores)
    n_pos, n_neg = max(int(positive.sum()), 1), max(int((~positive).sum()), 1)
    return (np.concatenate([[0.0], fp / n_neg]), np.concatenate([[0.0], tp / n_pos]),
            np.concatenate([[np.inf], thresholds]))


def precision_recall_curve(positive: np.ndarray, scores: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall when a row is called positive at ``score >= threshold``, for every
    distinct score (descending), starting at recall 0 with precision 1; returns (precision,
    recall, thresholds) with ``thresholds[0] = inf``."""
    positive, scores = np.asarray(positive, bool), np.asarray(scores, float)
    thresholds, tp, fp = _counts_at_thresholds(positive, scores)
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
    recall = tp / max(int(positive.sum()), 1)
    return (np.concatenate([[1.0], precision]), np.concatenate([[0.0], recall]),
            np.concatenate([[np.inf], thresholds]))


def _counts_at_thresholds(positive: np.ndarray, scores: np.ndarray):
    """Distinct scores (descending) and the true/false positives at or above each."""
    if not len(scores):
        return np.zeros(0), np.zeros(0), np.zeros(0)
    order = np.argsort(-scores, kind="stable")
    scores, positive = scores[order], positive[order]
    last = np.flatnonzero(np.r_[scores[1:] != scores[:-1], True])  # last row of each score
    tp = np.cumsum(positive)[last].astype(float)
    fp = np.cumsum(~positive)[last].astype(float)
    return scores[last], tp, fp


def area_under_roc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids; ties count half, as the Mann-Whitney U)."""
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision: the sum of the precision at
    each threshold times the recall gained there (no interpolation)."""
    return float(np.sum(np.diff(recall) * precision[1:]))


def rates_at(positive: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall (= true positive rate) and false positive rate of calling positive at
    ``score >= threshold``: the operating point of a confidence threshold on the curves."""
    positive, called = np.asarray(positive, bool), np.asarray(scores, float) >= threshold
    tp, fp = int((called & positive).sum()), int((called & ~positive).sum())
    return {"precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / max(int(positive.sum()), 1),
            "fpr": fp / max(int((~positive).sum()), 1)}


def plot_learning_curves(histories: dict[str, dict], path: Path) -> Path:
    """Loss and polarity accuracy per epoch of training runs (Keras histories, as in a model
    card's ``history``): training parts solid, validation parts dashed; one colour per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for colour, (name, history) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4,
                                       histories.items()):
        accuracy = next((k for k in history if k.endswith("accuracy")
                         and not k.startswith("val_")), None)
        for ax, key in ((axes[0], "loss"), (axes[1], accuracy)):
            if key is None or key not in history:
                continue
            epochs = np.arange(1, len(history[key]) + 1)
            ax.plot(epochs, history[key], "o-", color=colour, ms=3, label=f"{name}: training")
            if f"val_{key}" in history:
                ax.plot(epochs, history[f"val_{key}"], "s--", color=colour, ms=3,
                        label=f"{name}: validation")
    for ax, label in ((axes[0], "loss"), (axes[1], "polarity accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("Learning curves")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


def read_labels(path: Path | str, event: str | None = None) -> pd.DataFrame:
    """A labels CSV as (event_id, network, station, label +1/-1/0); see the module docstring."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"not a readable labels CSV: {exc}") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    column = next((c for c in ("polarity", "p_polarity", "label") if c in frame.columns), None)
    if "station" not in frame.columns or column is None:
        raise InputError(path, "a labels CSV needs a 'station' column and a 'polarity' or "
                               f"'p_polarity' column (found {', '.join(frame.columns)})")
    values = frame[column].str.strip()
    numeric = pd.to_numeric(values, errors="coerce")
    label = np.where(numeric.notna(), np.sign(numeric.fillna(0)).astype(int),
                     analyst_polarity(values))
    out = pd.DataFrame({"event_id": event if event is not None else frame.get("event_id", ""),
                        "network": frame.get("network", pd.Series([""] * len(frame))).str.strip(),
                        "station": frame["station"].str.strip(), "label": label.astype(int)})
    return out


def labelled_predictions(polarities: pd.DataFrame, labels: pd.DataFrame | None) -> pd.DataFrame:
    """``polarities`` with a ``label`` column: analyst_polarity, or the labels CSV matched on
    station and, where the labels give them, network and event_id."""
    frame = polarities.copy()
    if labels is None:
        frame["label"] = frame["analyst_polarity"].fillna(0).astype(int)
        return frame
    keys = [k for k in KEYS if (labels[k] != "").any()]
    labels = labels.drop_duplicates(keys)
    merged = frame.merge(labels[keys + ["label"]], on=keys, how="left")
    merged["label"] = merged["label"].fillna(0).astype(int)
    return merged


def evaluate_workdir(workdir: Path | str, labels_csv: Path | None = None, event: str | None = None,
                     out_dir: Path | None = None) -> tuple[pd.DataFrame, Path, Path]:
    """Write the evaluation table and figure for a working directory; returns (table, csv, png)."""
    workdir = WorkDir(workdir)
    polarities = read_table(workdir.polarities_csv, "polarities")
    needed = ["recorded_polarity", "analyst_polarity", "snr"]
    missing = [c for c in needed if c not in polarities.columns]
    if missing:
        raise InputError(workdir.polarities_csv, f"lacks column(s) {', '.join(missing)} "
                         "(written by an older stage 4? rerun 4_polarity_predict.py --overwrite)")
    polarities = polarities[polarities["model"] != "analyst"]
    labels = read_labels(labels_csv, event) if labels_csv is not None else None
    frame = labelled_predictions(polarities, labels)
    table = evaluation_table(frame)
    out_dir = Path(out_dir) if out_dir is not None else workdir.root / "evaluation"
    csv_path = write_table(table, out_dir / "polarity_evaluation.csv")
    models = ", ".join(sorted(set(polarities["model"]))) or "no predictions"
    png_path = plot_evaluation(table, out_dir / "polarity_evaluation.png", f"model: {models}")
    total = table[table["section"] == "total"].set_index("measure")["value"]
    log.info("labelled %d: right %d, wrong %d, undecided %d; accuracy where both decide %.3f; "
             "undecided rate %.3f", total["labelled"], total["right"], total["wrong"],
             total["undecided"], total["accuracy"], total["undecided_rate"])
    return table, csv_path, png_path


def main(argv: Sequence[str] | None = None) -> int:
    from focalflow.config import load_config
    from focalflow.log import setup_logging

    parser = argparse.ArgumentParser(prog="python -m focalflow.polarity.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--labels", type=Path, default=None,
                        help="labels CSV (first motion on the recorded trace); default picks.csv")
    parser.add_argument("--event", default=None, help="event id for every row of --labels")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default <workdir>/evaluation)")
    parser.add_argument("--history", type=Path, nargs="+",
                        help="model cards (.json) whose training history to draw")
    args = parser.parse_args(argv)
    setup_logging("evaluate")
    if args.history:
        return draw_histories(args.history, args.out or Path("."))
    try:
        config = load_config(args.config)
        _, csv_path, png_path = evaluate_workdir(config.workdir, args.labels, args.event, args.out)
    except FocalflowError as exc:
        log.error("%s", exc)
        return 2
    log.info("wrote %s and %s", csv_path, png_path)
    return 0


def draw_histories(cards: Sequence[Path], out_dir: Path) -> int:
    """``learning_curves.png`` of the ``history`` of model cards; 2 when one is unusable."""
    import json

    histories = {}
    for card in cards:
        try:
            history = json.loads(Path(card).read_text()).get("history")
        except (OSError, ValueError) as exc:
            log.error("%s: not a readable model card: %s", card, exc)
            return 2
        if not isinstance(history, dict) or "loss" not in history:
            log.error("%s: the model card has no training history", card)
            return 2
        histories[Path(card).stem] = history
    path = plot_learning_curves(histories, Path(out_dir) / "learning_curves.png")
    log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
