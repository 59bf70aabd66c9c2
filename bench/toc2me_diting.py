"""The published DiTingMotion weights on the ToC2ME microseismic data (../shared/data/toc2me).

    .venv/bin/python bench/toc2me_diting.py

1. Event 20161104064824.680 against its 50 analyst labels (first motion on the recorded trace):
   right / wrong / undecided at the model's 100 Hz, with test-time shifts of the window
   (probabilities averaged over shifts of +-1..3 samples), and at other input rates (the same
   128-sample network fed windows resampled to 150-250 Hz, i.e. onsets stretched in time).
2. All three events against the EQpolarity automatic polarities (``eqpolarity_auto/*.polarity``,
   last column = probability that the *recorded* first motion is down), on the traces both
   decide.

Only vertical traces with an analyst pick (SAC ``t1``) are used; ``t3`` is never used.
"""
from __future__ import annotations

import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from focalflow.polarity.evaluate import score  # noqa: E402
from focalflow.polarity.predict import classify_windows  # noqa: E402
from models.diting_motion import DiTingMotion  # noqa: E402
from focalflow.polarity.toc2me import read_labels, read_window  # noqa: E402

SHARED = REPO.parent / "shared"
TOC2ME = SHARED / "data" / "toc2me"
WEIGHTS = SHARED / "models" / "DiTingMotionJul.hdf5"
EVENTS = ["20161104064824.680", "20161125051408.940", "20161128051644.670"]
SHIFT_SETS = {"none": (0,), "+-1": (-1, 0, 1), "+-2": (-2, -1, 0, 1, 2), "+-3": tuple(range(-3, 4))}


def at_rate(rate_hz: float) -> DiTingMotion:
    """DiTingMotion whose windows are resampled to ``rate_hz`` instead of 100 Hz."""
    return DiTingMotion(WEIGHTS, device="cpu", input_rate_hz=rate_hz)


def line(name: str, counts: dict) -> str:
    return (f"  {name:<28s} right {counts['right']:2d}  wrong {counts['wrong']:2d}  "
            f"undecided {counts['undecided']:2d}  (of {counts['labelled']})")


def main() -> None:
    if not WEIGHTS.is_file():
        sys.exit(f"{WEIGHTS}: not found (this script needs ../shared)")
    labels = read_labels(TOC2ME, EVENTS[0])
    windows = [read_window(f) for f in labels["file"]]
    truth = labels["polarity"].to_numpy()
    print(f"event {EVENTS[0]}: {len(labels)} analyst labels, "
          f"{sum(w is not None for w in windows)} with a t1 pick")

    base = at_rate(100.0)
    print("DiTingMotion at 100 Hz, test-time shifts (samples at 100 Hz):")
    for name, shifts in SHIFT_SETS.items():
        calls = classify_windows(base, windows, shifts=shifts)["polarity"].to_numpy()
        print(line(f"shifts {name}", score(calls, truth)))
    print("DiTingMotion fed other input rates (no shifts / shifts +-2):")
    for rate in (125.0, 150.0, 200.0, 250.0):
        model = at_rate(rate)
        for name in ("none", "+-2"):
            calls = classify_windows(model, windows, shifts=SHIFT_SETS[name])["polarity"].to_numpy()
            print(line(f"{rate:g} Hz shifts {name}", score(calls, truth)))

    for rate in (100.0, 150.0):
        compare_with_eqpolarity(at_rate(rate), labels, truth)


def compare_with_eqpolarity(model: DiTingMotion, labels: pd.DataFrame, truth: np.ndarray) -> None:
    print(f"DiTingMotion ({model.sampling_rate_hz:g} Hz input, no shifts) vs EQpolarity automatic "
          "polarities, recorded trace:")
    for event in EVENTS:
        eq = pd.read_csv(TOC2ME / "eqpolarity_auto" / f"{event}.polarity", sep=r"\s+", header=None,
                         dtype={0: str})
        eq_call = dict(zip(eq[0], np.where(eq[6] > 0.5, -1, 1)))
        files = sorted(glob.glob(str(TOC2ME / "waveforms" / event / "5B.*.DHZ.SAC")))
        stations = [Path(f).name.split(".")[1] for f in files]
        ours = classify_windows(model, [read_window(f) for f in files])
        calls = ours["polarity"].to_numpy()
        reference = np.array([eq_call.get(s, 0) for s in stations])
        both = (calls != 0) & (reference != 0)
        agree = int((calls[both] == reference[both]).sum())
        print(f"  {event}: {int(ours['valid'].sum())} traces with t1, DiTing decides "
              f"{int((calls != 0).sum())}; EQpolarity has {int((reference != 0).sum())}; "
              f"both decide {int(both.sum())}, agree {agree}")
        if event == EVENTS[0] and model.sampling_rate_hz == 100.0:
            truth_map = dict(zip(labels["station"], truth))
            manual = np.array([truth_map.get(s, 0) for s in stations])
            print(line("EQpolarity vs the 50 labels", score(reference, manual)))


if __name__ == "__main__":
    main()
