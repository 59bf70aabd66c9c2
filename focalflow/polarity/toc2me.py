"""The ToC2ME case study: a model's first motions against the 50 analyst labels of event
20161104064824.680 (Micro-EQpolarity data in ``../shared/data/toc2me``).

    python -m focalflow.polarity.toc2me [--model focalflow-default] [--shifts -2 0 2]
        [--write-labels CSV] [--eqpolarity] [--compare MODEL [MODEL ...] --out DIR]

Traces are the 500 Hz vertical components ``waveforms/<event>/5B.<sta>.DHZ.SAC`` with the
analyst P pick in SAC header ``t1`` (``t3`` is only a theoretical time and is never used); the
labels (``manual/<event>.pol.csv``) are first motions **on the recorded trace**, i.e. the same
convention as the network's output, so they are compared directly (no reversal applied).
``--eqpolarity`` also counts agreement with EQpolarity's automatic calls (``eqpolarity_auto/``)
on all three events (not ground truth: a second opinion). ``--write-labels`` writes a labels
CSV in :mod:`models.finetune`'s format (``file`` column) for the transfer-learning
demonstration. ``--compare`` runs :mod:`focalflow.polarity.compare` on the 50 labels (one
chart, PR and ROC curves) for the models given (``[LABEL:]NAME_OR_FILE[=WEIGHTS][@RATE_HZ]``).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.errors import FocalflowError, InputError
from focalflow.polarity.predict import TraceWindow
from models.errors import ModelError

EVENT = "20161104064824.680"


def shared_root() -> Path:
    return Path(os.environ.get("FOCALFLOW_SHARED",
                               Path(__file__).resolve().parents[3] / "shared"))


def read_labels(toc2me_dir: Path, event: str = EVENT) -> pd.DataFrame:
    """The analyst labels of ``event``: network, station, location, channel, polarity (+1/-1 on
    the recorded trace) and ``file``, the vertical-component SAC file."""
    labels = pd.read_csv(toc2me_dir / "manual" / f"{event}.pol.csv", skipinitialspace=True,
                         dtype=str)
    labels.columns = [c.strip() for c in labels.columns]
    waveforms = toc2me_dir / "waveforms" / event
    return pd.DataFrame({
        "event_id": event, "network": labels["network"].str.strip(),
        "station": labels["station"].str.strip(), "location": "",
        "channel": labels["channel"].str.strip(),
        "polarity": labels["p_polarity"].astype(float).astype(int),
        "file": [str(waveforms / f"{n.strip()}.{s.strip()}.{c.strip()}.SAC")
                 for n, s, c in zip(labels["network"], labels["station"], labels["channel"])]})


def read_eqpolarity(toc2me_dir: Path, event: str) -> pd.DataFrame:
    """EQpolarity's automatic calls for ``event`` in :func:`read_labels`'s layout: the raw output's
    last column is the probability that the *recorded* first motion is down, so ``polarity`` is
    -1 above 0.5 and +1 below (on the recorded trace, like the manual labels)."""
    raw = pd.read_csv(toc2me_dir / "eqpolarity_auto" / f"{event}.polarity", sep=r"\s+",
                      header=None, dtype={0: str})
    waveforms = toc2me_dir / "waveforms" / event
    return pd.DataFrame({"event_id": event, "network": "5B", "station": raw[0], "location": "",
                         "channel": "DHZ", "polarity": np.where(raw[6] > 0.5, -1, 1),
                         "prob_down": raw[6],
                         "file": [str(waveforms / f"5B.{s}.DHZ.SAC") for s in raw[0]]})


def read_window(path: Path | str, pick_header: str = "t1") -> TraceWindow | None:
    """A SAC file as a :class:`TraceWindow` whose pick ``a`` is header ``pick_header`` (None when
    the file is absent or the header is unset: no prediction without an analyst pick)."""
    from focalflow.polarity.finetune import read_window as read_labelled

    try:
        return read_labelled(path, pick_header)
    except InputError:
        return None


def score(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """right / wrong / undecided counts of +1/-1/0 predictions against +1/-1 labels."""
    decided = predicted != 0
    return {"right": int(np.sum(decided & (predicted == truth))),
            "wrong": int(np.sum(decided & (predicted != truth))),
            "undecided": int(np.sum(~decided)), "labelled": int(len(truth))}


def evaluate(model, labels: pd.DataFrame, shifts=(0,), min_confidence: float = 0.0) -> tuple[dict, pd.DataFrame]:
    """Score ``model`` on ``labels`` (see :func:`read_labels`); returns the counts and the
    per-trace table."""
    from focalflow.polarity.predict import classify_windows

    windows = [read_window(f) for f in labels["file"]]
    table = classify_windows(model, windows, min_confidence=min_confidence, shifts=shifts)
    table.insert(0, "station", labels["station"].to_numpy())
    table.insert(1, "label", labels["polarity"].to_numpy())
    return score(table["polarity"].to_numpy(), labels["polarity"].to_numpy()), table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalflow.polarity.toc2me",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="focalflow-default", help="model name or weights file")
    parser.add_argument("--weights", type=Path, help="weights file for the named model")
    parser.add_argument("--input-rate", type=float, help="input rate (Hz) instead of the model's")
    parser.add_argument("--shifts", type=int, nargs="+", default=[0],
                        help="window shifts (samples at the model's rate), probabilities averaged")
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="weak calls become 0 (default 0 for one model, 0.5 with --compare)")
    parser.add_argument("--shared", type=Path, default=None, help="the shared/ folder")
    parser.add_argument("--write-labels", type=Path, help="also write the labels CSV here")
    parser.add_argument("--verbose", action="store_true", help="print the per-trace table")
    parser.add_argument("--eqpolarity", action="store_true",
                        help="also compare with EQpolarity's automatic calls on all three events")
    parser.add_argument("--compare", nargs="+", metavar="MODEL",
                        help="compare these models on the labels (chart, PR and ROC curves)")
    parser.add_argument("--out", type=Path, default=Path("toc2me_comparison"),
                        help="output folder of --compare")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (FocalflowError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(args) -> int:
    from models.registry import load_model

    toc2me = (args.shared or shared_root()) / "data" / "toc2me"
    if not (toc2me / "manual").is_dir():
        raise FocalflowError(f"{toc2me}: the ToC2ME reference data are not there "
                             "(give --shared or set FOCALFLOW_SHARED)")
    labels = read_labels(toc2me)
    if args.write_labels:
        from focalflow.workdir import atomic_path

        with atomic_path(args.write_labels) as tmp:
            labels.to_csv(tmp, index=False)
    if args.compare:
        from focalflow.polarity.compare import DEFAULT_MIN_CONFIDENCE, ModelSpec, compare

        specs = [ModelSpec.parse(text) for text in args.compare]
        windows = [read_window(f) for f in labels["file"]]
        summary = compare(specs, windows, labels, args.out,
                          DEFAULT_MIN_CONFIDENCE if args.min_confidence is None
                          else args.min_confidence, tuple(args.shifts),
                          title=f"ToC2ME event {EVENT}: {len(labels)} analyst labels "
                                "(right/wrong/undecided under each model)")
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return 0
    model = load_model(args.model, args.weights, device="cpu", input_rate_hz=args.input_rate)
    min_confidence = args.min_confidence or 0.0
    counts, table = evaluate(model, labels, args.shifts, min_confidence)
    if args.verbose:
        print(table.to_string())
    print(f"{model.name} ({model.weights_path.name}) shifts={args.shifts}: "
          f"{counts['right']} right, {counts['wrong']} wrong, {counts['undecided']} undecided "
          f"of {counts['labelled']}")
    if args.eqpolarity:
        for event in sorted(p.name for p in (toc2me / "waveforms").iterdir() if p.is_dir()):
            calls = read_eqpolarity(toc2me, event)
            agree, _ = evaluate(model, calls, args.shifts, min_confidence)
            print(f"  {event}: vs EQpolarity's {len(calls)} calls: {agree['right']} agree, "
                  f"{agree['wrong']} disagree, {agree['undecided']} undecided or without t1 pick")
    return 0


if __name__ == "__main__":
    sys.exit(main())
