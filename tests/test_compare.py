"""Model evaluation figures: PR and ROC curves (checked by hand), the model-comparison command,
learning curves."""
from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from obspy.io.sac import SACTrace

from focalflow.polarity import compare, evaluate
from focalflow.polarity.compare import ModelSpec


def ink(path) -> float:
    image = mpimg.imread(path)[..., :3]
    return float((image < 0.9).any(axis=-1).mean())


def test_roc_and_precision_recall_by_hand():
    positive = np.array([True, True, False, True, False])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.2])
    fpr, tpr, thresholds = evaluate.roc_curve(positive, scores)
    # thresholds 0.9, 0.8, 0.7, 0.6, 0.2: TP 1 2 2 3 3 of 3, FP 0 0 1 1 2 of 2
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(fpr, [0, 0, 0, 0.5, 0.5, 1])
    assert thresholds[0] == np.inf and thresholds[1:].tolist() == scores.tolist()
    assert evaluate.area_under_roc(fpr, tpr) == pytest.approx(5 / 6)   # 5 of 6 pairs ordered
    precision, recall, _ = evaluate.precision_recall_curve(positive, scores)
    np.testing.assert_allclose(precision, [1, 1, 1, 2 / 3, 3 / 4, 3 / 5])
    np.testing.assert_allclose(recall, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    # average precision: 1/3 * 1 + 1/3 * 1 + 1/3 * 3/4
    assert evaluate.average_precision(precision, recall) == pytest.approx(11 / 12)
    assert evaluate.rates_at(positive, scores, 0.7) == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "fpr": 0.5})


def test_tied_scores_make_one_diagonal_step():
    positive = np.array([True, False, True, False])
    scores = np.array([0.5, 0.5, 0.9, 0.1])
    fpr, tpr, _ = evaluate.roc_curve(positive, scores)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])
    # pairs: (0.9 > 0.5, 0.9 > 0.1, 0.5 = 0.5 counts half, 0.5 > 0.1): 3.5 of 4
    assert evaluate.area_under_roc(fpr, tpr) == pytest.approx(3.5 / 4)


def test_model_spec_text():
    assert ModelSpec.parse("focalflow-default") == ModelSpec("focalflow-default",
                                                             "focalflow-default")
    assert ModelSpec.parse("diting:diting-motion=/w/D.hdf5@150") == \
        ModelSpec("diting", "diting-motion", "/w/D.hdf5", 150.0)
    assert ModelSpec.parse("/w/tuned.weights.h5").label == "tuned.weights.h5"
    with pytest.raises(Exception, match="not a number"):
        ModelSpec.parse("diting-motion@fast")


def labelled_sac(folder, n_stations=10, seed=3):
    """Synthetic 8 s, 100 Hz onsets as SAC files (pick in header a) and their labels CSV."""
    from models.synthetic import Recipe, generate_traces

    folder.mkdir(parents=True, exist_ok=True)
    data = generate_traces(80, 100.0, np.random.default_rng(seed), Recipe(trace_s=8.0))
    rows = []
    for k, i in enumerate(np.flatnonzero(data.polarity != 0)[:3 * n_stations]):
        path = folder / f"XX.S{k // 3:02d}.{k}.HHZ.sac"
        SACTrace(data=data.traces[i].astype(np.float32), delta=0.01, b=0.0,
                 a=data.pick_index[i] * 0.01).write(str(path))
        rows.append({"network": "XX", "station": f"S{k // 3:02d}", "channel": "HHZ",
                     "polarity": int(data.polarity[i]), "file": path.name})
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    return folder / "labels.csv"


def test_compare_command_writes_chart_curves_and_tables(tmp_path):
    from models.eqpolarity import EQPolarity

    labels = labelled_sac(tmp_path / "labelled")
    eqp = EQPolarity.untrained(seed=1, device="cpu").save(tmp_path / "eqp.weights.h5")
    out = tmp_path / "cmp"
    code = compare.main(["--labels", str(labels), "--out", str(out), "--models",
                         "focalflow-default", f"random-eqp:eqpolarity={eqp}",
                         "slow:focalflow-default@400"])
    assert code == 0
    summary = pd.read_csv(out / "model_comparison.csv").set_index("model")
    assert list(summary.index) == ["focalflow-default", "random-eqp", "slow"]
    per_trace = pd.read_csv(out / "per_trace.csv")
    assert len(per_trace) == 30 == summary["labelled"].iloc[0]
    for model, row in summary.iterrows():
        calls = per_trace[f"{model}:polarity"].to_numpy()
        assert row["right"] == int((calls == per_trace["label"]).sum())
        assert row["right"] + row["wrong"] + row["undecided"] == 30
        assert 0 <= row["roc_auc"] <= 1 and 0 <= row["average_precision_up"] <= 1
    # the shipped model separates synthetic onsets it was trained on; a random network does not
    assert summary.loc["focalflow-default", "roc_auc"] > 0.9
    assert summary.loc["focalflow-default", "accuracy"] > 0.85
    assert summary.loc["random-eqp", "undecided"] == 0      # a sigmoid always takes a side
    ok = per_trace[per_trace["focalflow-default:prob_up"].notna()]
    fpr, tpr, _ = evaluate.roc_curve(ok["label"] > 0, ok["focalflow-default:prob_up"])
    assert summary.loc["focalflow-default", "roc_auc"] == pytest.approx(
        evaluate.area_under_roc(fpr, tpr), abs=1e-4)
    for name in ("model_comparison.png", "pr_curves.png", "roc_curves.png"):
        assert ink(out / name) > 0.02, name


def test_learning_curves_from_model_cards(tmp_path):
    card = tmp_path / "tuned.json"
    card.write_text(json.dumps({"history": {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6],
                                            "polarity_accuracy": [0.6, 0.8, 0.9],
                                            "val_polarity_accuracy": [0.55, 0.7, 0.8]}}))
    assert evaluate.main(["--history", str(card), "--out", str(tmp_path)]) == 0
    assert ink(tmp_path / "learning_curves.png") > 0.02
    (tmp_path / "empty.json").write_text("{}")
    assert evaluate.main(["--history", str(tmp_path / "empty.json")]) == 2


def test_toc2me_four_models_in_one_command(shared_dir, tmp_path):
    """The default model, DiTingMotion, EQpolarity and a fine-tuned model on the 50 labels."""
    from focalflow.polarity import finetune, toc2me
    from models.eqpolarity import EQPolarity

    labels = tmp_path / "toc2me_labels.csv"
    assert toc2me.main(["--write-labels", str(labels)]) == 0
    tuned = tmp_path / "tuned.weights.h5"
    assert finetune.main(["--labels", str(labels), "--pick-header", "t1", "--out", str(tuned),
                          "--epochs", "1", "--synthetic", "0", "--max-shift", "0"]) == 0
    eqp = EQPolarity.untrained(seed=2, device="cpu").save(tmp_path / "eqp.weights.h5")
    out = tmp_path / "cmp"
    assert toc2me.main(["--out", str(out), "--compare", "focalflow-default",
                        f"diting-motion={shared_dir / 'models' / 'DiTingMotionJul.hdf5'}",
                        f"eqpolarity={eqp}@500", str(tuned)]) == 0
    summary = pd.read_csv(out / "model_comparison.csv").set_index("model")
    assert list(summary.index) == ["focalflow-default", "diting-motion", "eqpolarity@500Hz",
                                   "tuned.weights.h5"]
    assert (summary["labelled"] == 50).all()
    assert tuple(summary.loc["focalflow-default", ["right", "wrong", "undecided"]]) == (46, 2, 2)
    assert tuple(summary.loc["diting-motion", ["right", "wrong"]]) == (25, 1)  # at min_confidence 0.5
    for name in ("model_comparison.png", "pr_curves.png", "roc_curves.png"):
        assert ink(out / name) > 0.02, name
