"""Scores of polarity models side by side on the model card's three data sets.

    .venv/bin/python bench/model_scores.py --model focalflow-default \
        --model eqpolarity=eqpolarity_synthetic.weights.h5 [--n-test 2000] [--seed 12]

For each model (``[LABEL:]NAME_OR_FILE[=WEIGHTS][@RATE_HZ]``, as
``python -m focalflow.polarity.compare`` takes them):

1. synthetic held-out traces: the same ``--n-test`` traces for every model (the training recipe
   with 8 s traces, so EQpolarity's 6 s window fits; seed ``--seed``, not one a training run of
   the model card used), right / wrong / undecided where a true polarity exists and the accuracy
   where both decide, the fraction of noise traces called undecided;
2. the demo (``python -m focalflow.demo``, seed 0): every P pick's vertical trace cut from the
   SDS archive (pick +- 4 s), against the demo's true first motions on the recorded trace;
3. the ToC2ME analyst labels (50, event 20161104064824.680; needs ``../shared``).

Probabilities are turned into calls with ``min_confidence`` 0 (the largest class wins), as in
the model card; prints one table and the seconds each model took.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from focalflow.polarity.compare import ModelSpec  # noqa: E402
from focalflow.polarity.predict import TraceWindow, classify_windows  # noqa: E402
from models.synthetic import Recipe, make_dataset  # noqa: E402
from models.train import polarity_scores, synthetic_scores  # noqa: E402

SHARED = REPO.parent / "shared"


def demo_windows(folder: Path) -> tuple[list[TraceWindow], np.ndarray]:
    """The demo's P picks as windows cut from its SDS archive, and the true recorded motions."""
    import obspy
    from obspy.clients.filesystem.sds import Client

    from focalflow.demo import generate
    from focalflow.formats.hypoinverse import read_hypoinverse

    demo = folder / "demo_data"
    generate(demo, seed=0)
    _, picks, _ = read_hypoinverse(demo / "phases.arc")
    truth = pd.read_csv(demo / "truth_picks.csv", dtype={"event_id": str})
    p = picks[picks["phase"] == "P"].merge(truth, on=["event_id", "network", "station"])
    client = Client(str(demo / "sds"))
    windows = []
    for row in p.itertuples():
        pick = obspy.UTCDateTime(row.time)
        trace = client.get_waveforms(row.network, row.station, "*", "HH[Z3]", pick - 4, pick + 4)[0]
        windows.append(TraceWindow(trace.data.astype(np.float32), trace.stats.delta, 0.0,
                                 pick - trace.stats.starttime))
    return windows, p["first_motion_recorded"].to_numpy()


def line(name: str, scores: dict) -> str:
    return (f"{name:<34s} {scores['right']:5d} {scores['wrong']:5d} {scores['undecided']:5d} "
            f"{scores['accuracy_where_both_decide']:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    specs = [ModelSpec.parse(text) for text in args.model]
    recipe = Recipe(trace_s=8.0)
    with tempfile.TemporaryDirectory() as tmp:
        windows, truth = demo_windows(Path(tmp))
    labels = None
    if (SHARED / "data" / "toc2me").is_dir():
        from focalflow.polarity.toc2me import read_labels, read_window

        labels = read_labels(SHARED / "data" / "toc2me")
        toc2me_windows = [read_window(f) for f in labels["file"]]
    print(f"{'model / data':<34s} {'right':>5s} {'wrong':>5s} {'undec':>5s} {'accuracy':>8s}")
    for spec in specs:
        started = time.perf_counter()
        model = spec.load()
        data = make_dataset(model, args.n_test, seed=args.seed, recipe=recipe)
        synthetic = synthetic_scores(model, data)["all"]
        print(line(f"{spec.label}: synthetic ({args.n_test})", synthetic)
              + f"   noise called undecided {synthetic['noise_called_undecided']:.2f}")
        calls = classify_windows(model, windows)["polarity"].to_numpy()
        print(line(f"{spec.label}: demo ({len(windows)} P)", polarity_scores(calls, truth)))
        if labels is not None:
            calls = classify_windows(model, toc2me_windows)["polarity"].to_numpy()
            print(line(f"{spec.label}: ToC2ME (50 labels)",
                       polarity_scores(calls, labels["polarity"].to_numpy())))
        print(f"{'':34s} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
