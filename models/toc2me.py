"""The ToC2ME case study: a model's first motions against the 50 analyst labels of event
20161104064824.680 (Micro-EQpolarity data in ``../shared/data/toc2me``).

    python -m models.toc2me [--model focalflow-default] [--shifts -2 0 2] [--write-labels CSV]
                            [--eqpolarity]

Traces are the 500 Hz vertical components ``waveforms/<event>/5B.<sta>.DHZ.SAC`` with the
analyst P pick in SAC header ``t1`` (``t3`` is only a theoretical time and is never used); the
labels (``manual/<event>.pol.csv``) are first motions **on the recorded trace**, i.e. the same
convention as the network's output, so they are compared directly (no reversal applied).
``--eqpolarity`` also counts agreement with EQpolarity's automatic calls (``eqpolarity_auto/``)
on all three events (not ground truth: a second opinion). ``--write-labels`` writes a labels
CSV in :mod:`models.finetune`'s format (``file`` column) for the transfer-learning
demonstration.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.polarity.predict import TraceWindow

EVENT = "20161104064824.680"


def shared_root() -> Path:
    return Path(os.environ.get("FOCALFLOW_SHARED",
                               Path(__file__).resolve().parents[2] / "shared"))


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
    import obspy

    if not Path(path).is_file():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ObsPy's note on rounding delta
        trace = obspy.read(str(path))[0]
    sac = trace.stats.sac
    pick = sac.get(pick_header)
    if pick is None or not np.isfinite(pick):
        return None
    return TraceWindow(data=trace.data.astype(np.float32), delta=trace.stats.delta,
                     b=float(sac.get("b", 0.0)), a=float(pick))


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
    parser = argparse.ArgumentParser(prog="python -m models.toc2me", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="focalflow-default", help="model name or weights file")
    parser.add_argument("--weights", type=Path, help="weights file for the named model")
    parser.add_argument("--shifts", type=int, nargs="+", default=[0],
                        help="window shifts (samples at the model's rate), probabilities averaged")
    parser.add_argument("--min-confidence", type=float, default=0.0)
    parser.add_argument("--shared", type=Path, default=None, help="the shared/ folder")
    parser.add_argument("--write-labels", type=Path, help="also write the labels CSV here")
    parser.add_argument("--verbose", action="store_true", help="print the per-trace table")
    parser.add_argument("--eqpolarity", action="store_true",
                        help="also compare with EQpolarity's automatic calls on all three events")
    args = parser.parse_args(argv)

    from models.registry import load_model

    toc2me = (args.shared or shared_root()) / "data" / "toc2me"
    labels = read_labels(toc2me)
    if args.write_labels:
        from focalflow.workdir import atomic_path

        with atomic_path(args.write_labels) as tmp:
            labels.to_csv(tmp, index=False)
    model = load_model(args.model, args.weights, device="cpu")
    counts, table = evaluate(model, labels, args.shifts, args.min_confidence)
    if args.verbose:
        print(table.to_string())
    print(f"{model.name} ({model.weights_path.name}) shifts={args.shifts}: "
          f"{counts['right']} right, {counts['wrong']} wrong, {counts['undecided']} undecided "
          f"of {counts['labelled']}")
    if args.eqpolarity:
        for event in sorted(p.name for p in (toc2me / "waveforms").iterdir() if p.is_dir()):
            calls = read_eqpolarity(toc2me, event)
            agree, _ = evaluate(model, calls, args.shifts, args.min_confidence)
            print(f"  {event}: vs EQpolarity's {len(calls)} calls: {agree['right']} agree, "
                  f"{agree['wrong']} disagree, {agree['undecided']} undecided or without t1 pick")
    return 0


if __name__ == "__main__":
    sys.exit(main())
