"""Compare polarity models on the same analyst-labelled traces: one chart, PR and ROC curves.

    python -m focalflow.polarity.compare --labels labels.csv [--pick-header t1] --out DIR \
        --models focalflow-default diting-motion=DiTingMotionJul.hdf5 \
                 eqpolarity=eqpolarity.weights.h5 tuned:my_net.weights.h5 [--min-confidence 0.5]

Labels are a labels CSV as :mod:`focalflow.polarity.finetune` reads it (first motions on the
recorded trace, a ``file`` column or stage 3's windows of ``--config``). A model is
``[LABEL:]NAME_OR_FILE[=WEIGHTS][@RATE_HZ]``: a registry name or a weights file, an optional
weights file for the name, an optional input rate (``polarity.input_rate_hz``).

Every model classifies every labelled trace (:func:`focalflow.polarity.predict.classify_windows`,
``min_confidence`` applied). Writes into ``--out``:

* ``model_comparison.csv`` — one row per model: labelled, right, wrong, undecided, accuracy
  where the model decides, right of all labelled, ROC AUC, average precision (area under the
  PR curve) for up and for down, and the operating point at ``min_confidence`` (a ``note`` says
  why a model has no curves: it classified no trace of one of the labels);
* ``model_comparison.png`` — accuracy where decided, right of all labelled and decided
  fraction of each model, side by side;
* ``pr_curves.png`` — precision against recall of "up" (score ``prob_up``) and of "down"
  (score ``prob_down``) for each model; ``roc_curves.png`` — true against false positive rate
  of "up" (score ``prob_up``). The marker on each curve is the threshold ``min_confidence``:
  for models whose up and down probabilities sum to at most 1 (FocalflowNet's softmax,
  EQpolarity's sigmoid) and ``min_confidence >= 0.5`` it is exactly the model's "up" calls;
  traces a model could not classify are left out of its curves (they count as undecided in
  the table);
* ``per_trace.csv`` — each trace's label and every model's call and probabilities.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from focalflow.errors import FocalflowError
from focalflow.polarity.evaluate import (area_under_roc, average_precision,
                                         precision_recall_curve, rates_at, roc_curve, score)
from focalflow.workdir import atomic_path
from models.errors import ModelError

log = logging.getLogger("focalflow.polarity.compare")

DEFAULT_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class ModelSpec:
    """One model of a comparison: its label, registry name or file, weights and input rate."""

    label: str
    model: str
    weights: str | None = None
    input_rate_hz: float | None = None

    @classmethod
    def parse(cls, text: str) -> "ModelSpec":
        """``[LABEL:]NAME_OR_FILE[=WEIGHTS][@RATE_HZ]`` (see the module docstring)."""
        rest = text.strip()
        label = None
        if ":" in rest.split("=", 1)[0] and not rest.startswith(("/", ".")):
            label, rest = rest.split(":", 1)
        rate = None
        if "@" in rest:
            rest, _, rate_text = rest.rpartition("@")
            try:
                rate = float(rate_text)
            except ValueError:
                raise FocalflowError(f"model {text!r}: input rate {rate_text!r} after '@' is "
                                     "not a number (Hz)") from None
        model, _, weights = rest.partition("=")
        if not model:
            raise FocalflowError(f"model {text!r}: no model name or weights file")
        if label is None:
            label = Path(model).name if Path(model).suffix else model
            if rate is not None:
                label += f"@{rate:g}Hz"
        return cls(label, model, weights or None, rate)

    def load(self):
        from models.registry import load_model

        return load_model(self.model, self.weights, device="cpu", input_rate_hz=self.input_rate_hz)


def classify_all(specs: Sequence[ModelSpec], windows: list, labels: np.ndarray,
                 min_confidence: float, shifts=(0,)) -> pd.DataFrame:
    """One row per (model, trace): ``model``, ``trace``, ``label``, ``polarity`` (the call with
    ``min_confidence`` applied), ``prob_up``, ``prob_down``, ``valid``, ``snr``."""
    from focalflow.polarity.predict import classify_windows

    parts = []
    for spec in specs:
        table = classify_windows(spec.load(), windows, min_confidence=min_confidence,
                                 shifts=shifts)
        parts.append(pd.DataFrame({"model": spec.label, "trace": np.arange(len(windows)),
                                   "label": labels, "polarity": table["polarity"],
                                   "prob_up": table["prob_up"], "prob_down": table["prob_down"],
                                   "valid": table["valid"], "snr": table["snr"]}))
        log.info("%s: %s", spec.label, score(table["polarity"].to_numpy(), labels))
    return pd.concat(parts, ignore_index=True)


def summary_table(calls: pd.DataFrame, min_confidence: float) -> pd.DataFrame:
    """``model_comparison.csv`` (see the module docstring) from :func:`classify_all`'s rows."""
    rows = []
    for model, part in calls.groupby("model", sort=False):
        counts = score(part["polarity"].to_numpy(), part["label"].to_numpy())
        ok = part[part["valid"] & (part["label"] != 0)]
        up, down = ok["label"].to_numpy() > 0, ok["label"].to_numpy() < 0
        row = {"model": model, **{k: counts[k] for k in ("labelled", "right", "wrong",
                                                         "undecided", "accuracy")},
               "right_of_labelled": counts["right"] / counts["labelled"]
               if counts["labelled"] else np.nan, "classified": len(ok), "roc_auc": np.nan,
               "average_precision_up": np.nan, "average_precision_down": np.nan,
               "min_confidence": min_confidence, "precision_up_at_min_confidence": np.nan,
               "recall_up_at_min_confidence": np.nan, "fpr_up_at_min_confidence": np.nan,
               "note": ""}
        if up.any() and down.any():
            point = rates_at(up, ok["prob_up"].to_numpy(), min_confidence)
            row.update(roc_auc=area_under_roc(*roc_curve(up, ok["prob_up"].to_numpy())[:2]),
                       average_precision_up=average_precision(
                           *precision_recall_curve(up, ok["prob_up"].to_numpy())[:2]),
                       average_precision_down=average_precision(
                           *precision_recall_curve(down, ok["prob_down"].to_numpy())[:2]),
                       precision_up_at_min_confidence=point["precision"],
                       recall_up_at_min_confidence=point["recall"],
                       fpr_up_at_min_confidence=point["fpr"])
        else:
            row["note"] = "no curves: the model classified no trace of one of the two labels"
        rows.append(row)
    return pd.DataFrame(rows)


def plot_comparison(summary: pd.DataFrame, title: str = ""):
    """Grouped bars: accuracy where decided, right of all labelled, decided fraction."""
    import matplotlib.pyplot as plt

    measures = (("accuracy", "accuracy where the model decides"),
                ("right_of_labelled", "right of all labelled"),
                ("decided", "decided fraction"))
    decided = (summary["right"] + summary["wrong"]) / summary["labelled"].where(
        summary["labelled"] > 0)
    values = {"accuracy": summary["accuracy"], "right_of_labelled": summary["right_of_labelled"],
              "decided": decided}
    fig, ax = plt.subplots(figsize=(max(6.0, 1.9 * len(summary) + 2), 4.6))
    x = np.arange(len(summary))
    width = 0.8 / len(measures)
    for k, (key, name) in enumerate(measures):
        bars = ax.bar(x + (k - 1) * width, values[key].to_numpy(float), width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    for i, row in enumerate(summary.itertuples()):
        ax.text(i, -0.13, f"{row.right}/{row.wrong}/{row.undecided}", ha="center", va="top",
                fontsize=8, transform=ax.get_xaxis_transform())
    ax.set_xticks(x, summary["model"], fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("fraction")
    ax.legend(loc="upper center", ncol=3, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    n = int(summary["labelled"].max()) if len(summary) else 0
    ax.set_title(title or f"{n} analyst-labelled traces (right/wrong/undecided under each model)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_curves(calls: pd.DataFrame, summary: pd.DataFrame, min_confidence: float):
    """The PR figure (up, down) and the ROC figure, one curve per model, the marker at
    ``min_confidence``."""
    import matplotlib.pyplot as plt

    pr_fig, pr_axes = plt.subplots(1, 2, figsize=(11, 4.6))
    roc_fig, roc_ax = plt.subplots(figsize=(5.6, 5.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3
    for colour, (model, part) in zip(colours, calls.groupby("model", sort=False)):
        row = summary.set_index("model").loc[model]
        ok = part[part["valid"] & (part["label"] != 0)]
        if row["note"]:
            continue
        for ax, sign, column, key in ((pr_axes[0], 1, "prob_up", "average_precision_up"),
                                      (pr_axes[1], -1, "prob_down", "average_precision_down")):
            positive = ok["label"].to_numpy() == sign
            precision, recall, _ = precision_recall_curve(positive, ok[column].to_numpy())
            ax.step(recall, precision, where="post", color=colour,
                    label=f"{model} (AP {row[key]:.3f})")
            point = rates_at(positive, ok[column].to_numpy(), min_confidence)
            ax.plot(point["recall"], point["precision"], "o", color=colour, mec="black")
        fpr, tpr, _ = roc_curve(ok["label"].to_numpy() > 0, ok["prob_up"].to_numpy())
        roc_ax.plot(fpr, tpr, color=colour, label=f"{model} (AUC {row['roc_auc']:.3f})")
        point = rates_at(ok["label"].to_numpy() > 0, ok["prob_up"].to_numpy(), min_confidence)
        roc_ax.plot(point["fpr"], point["recall"], "o", color=colour, mec="black")
    for ax, what in ((pr_axes[0], "up"), (pr_axes[1], "down")):
        ax.set_xlabel(f"recall of analyst '{what}'")
        ax.set_ylabel("precision")
        ax.set_title(f"Precision-recall, first motion {what} (score prob_{what})", fontsize=10)
        _finish(ax, "lower left")
    roc_ax.plot([0, 1], [0, 1], ":", color="0.6")
    roc_ax.set_xlabel("false positive rate (analyst down called up)")
    roc_ax.set_ylabel("true positive rate (analyst up called up)")
    roc_ax.set_title("ROC, first motion up (score prob_up)", fontsize=10)
    _finish(roc_ax, "lower right")
    for fig in (pr_fig, roc_fig):
        fig.text(0.99, 0.01, f"markers: threshold min_confidence = {min_confidence:g}",
                 ha="right", va="bottom", fontsize=7, color="0.3")
        fig.tight_layout()
    return pr_fig, roc_fig


def _finish(ax, legend_loc: str) -> None:
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc=legend_loc, fontsize=7)


def compare(specs: Sequence[ModelSpec], windows: list, labels: pd.DataFrame, out_dir: Path,
            min_confidence: float = DEFAULT_MIN_CONFIDENCE, shifts=(0,), title: str = ""
            ) -> pd.DataFrame:
    """Classify ``windows`` (labelled ``labels["polarity"]``) with every model and write the
    files of the module docstring into ``out_dir``; returns the summary table."""
    from focalflow.products.plots.style import save_figure, style

    out_dir = Path(out_dir)
    calls = classify_all(specs, windows, labels["polarity"].to_numpy(), min_confidence, shifts)
    summary = summary_table(calls, min_confidence)
    keys = labels[[c for c in ("event_id", "network", "station", "channel", "file")
                   if c in labels.columns]].reset_index(drop=True)
    wide = calls.pivot(index="trace", columns="model",
                       values=["polarity", "prob_up", "prob_down"])
    wide.columns = [f"{model}:{value}" for value, model in wide.columns]
    per_trace = pd.concat([keys, labels["polarity"].rename("label").reset_index(drop=True),
                           wide.reset_index(drop=True)], axis=1)
    for name, table in (("model_comparison.csv", summary), ("per_trace.csv", per_trace)):
        with atomic_path(out_dir / name) as tmp:
            table.to_csv(tmp, index=False, float_format="%.4f")
    with style():
        save_figure(plot_comparison(summary, title), out_dir / "model_comparison.png", 130)
        pr_fig, roc_fig = plot_curves(calls, summary, min_confidence)
        save_figure(pr_fig, out_dir / "pr_curves.png", 130)
        save_figure(roc_fig, out_dir / "roc_curves.png", 130)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    from focalflow.log import setup_logging
    from focalflow.polarity.finetune import labelled_windows, read_labels

    parser = argparse.ArgumentParser(prog="python -m focalflow.polarity.compare",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, required=True, help="labels CSV")
    parser.add_argument("--config", type=Path, help="config.yaml (stage 3's windows)")
    parser.add_argument("--pick-header", default="a", help="SAC header holding the pick time")
    parser.add_argument("--models", nargs="+", required=True,
                        help="[LABEL:]NAME_OR_FILE[=WEIGHTS][@RATE_HZ] ...")
    parser.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE)
    parser.add_argument("--shifts", type=int, nargs="+", default=[0],
                        help="test-time window shifts (samples at each model's rate)")
    parser.add_argument("--out", type=Path, default=Path("model_comparison"))
    args = parser.parse_args(argv)
    setup_logging("compare")
    try:
        workdir = None
        if args.config is not None:
            from focalflow.config import load_config
            from focalflow.workdir import WorkDir

            workdir = WorkDir(load_config(args.config).workdir)
        specs = [ModelSpec.parse(text) for text in args.models]
        labels, windows = labelled_windows(read_labels(args.labels), workdir, args.pick_header)
        if not len(labels):
            raise FocalflowError(f"{args.labels}: no usable labelled trace")
        summary = compare(specs, windows, labels, args.out, args.min_confidence, tuple(args.shifts))
    except (FocalflowError, ModelError) as exc:
        log.error("%s", exc)
        return 2
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
