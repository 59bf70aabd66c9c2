"""EQpolarity (Chen et al. 2024): the architecture, published-style weights files, stage 4."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from models.eqpolarity import EQPolarity, build_network
from models.errors import WeightsError
from models.registry import load_model


@pytest.fixture(scope="module")
def reference():
    """A network with its own random weights, standing in for a published model."""
    import keras

    keras.utils.set_random_seed(7)
    return build_network()


def onsets(signs, npts=1000, pick=500, rate=100.0, seed=0) -> np.ndarray:
    t = (np.arange(npts) - pick) / rate
    rng = np.random.default_rng(seed)
    wave = np.where(t >= 0, np.sin(2 * np.pi * 4.0 * t) * np.exp(-2.0 * t), 0.0)
    return np.array([s * wave + 0.01 * rng.normal(size=npts) for s in signs])


def write_keras2_weights(path, network, names) -> None:
    """The layout of Keras 2's ``save_weights("x.h5")`` (the published best_weigths_Binary_*.h5):
    root attribute ``layer_names``, per layer a group with ``weight_names`` and one dataset per
    weight. ``names`` are the saved layers' names, in the model's order."""
    weighted = [layer for layer in network.layers if layer.weights]
    assert len(weighted) == len(names)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in ["input"] + names + ["flatten"]]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.13.1"
        f.create_group("input").attrs["weight_names"] = []
        f.create_group("flatten").attrs["weight_names"] = []
        for name, layer in zip(names, weighted):
            group = f.create_group(name)
            weight_names = [f"{name}/w{k}:0" for k in range(len(layer.weights))]
            group.attrs["weight_names"] = [w.encode() for w in weight_names]
            for weight_name, value in zip(weight_names, layer.get_weights()):
                group.create_dataset(weight_name, data=value)


def test_architecture_matches_the_published_model(reference):
    assert reference.count_params() == 3_086_401            # the published summary's total
    assert tuple(reference.inputs[0].shape[1:]) == (600, 1)
    assert tuple(reference.outputs[0].shape[1:]) == (1,)
    tokens = reference.get_layer("cct_tokenizer1")
    assert tuple(tokens.output.shape[1:]) == (150, 200)
    assert [layer.name for layer in reference.layers if layer.weights][-3:] == \
        ["dense_7", "layer_normalization_8", "dense_8"]


def test_inputs_are_the_window_over_its_peak_and_output_is_prob_down():
    model = EQPolarity(device="cpu")
    windows = np.random.default_rng(1).normal(size=(3, 600))
    x = model.build_inputs(windows)
    assert x.shape == (3, 600, 1) and x.dtype == np.float32
    np.testing.assert_allclose(np.abs(x).max(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(model.build_inputs(-250.0 * windows), -x, rtol=1e-6)
    decoded = model.decode_outputs(np.array([[0.9], [0.2]], np.float32))
    np.testing.assert_allclose(decoded["prob_down"], [0.9, 0.2], rtol=1e-6)
    np.testing.assert_allclose(decoded["prob_up"], [0.1, 0.8], rtol=1e-6)
    assert (decoded["prob_undecided"] == 0).all()


def test_a_keras2_published_style_file_loads_by_layer_order(reference, tmp_path):
    # names of a second model built in the authors' notebook session: not ours, order decides
    names = ["cct_tokenizer1_1"] + [
        name for block in range(4) for name in (
            f"layer_normalization_{9 + 2 * block}", f"multi_head_attention_{4 + block}",
            f"layer_normalization_{10 + 2 * block}", f"dense_{9 + 2 * block}",
            f"dense_{10 + 2 * block}")] + ["layer_normalization_17", "dense_17"]
    path = tmp_path / "best_weigths_Binary_SCSN_Best.h5"
    write_keras2_weights(path, reference, names)
    model = load_model("eqpolarity", path, device="cpu")
    assert isinstance(model, EQPolarity) and model.weights_path == path
    for ours, theirs in zip(model.keras_model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    traces = onsets([1, -1, 1])
    table = model.classify(traces, [500] * 3, 100.0)
    expected = reference(model.preprocess(traces, [500] * 3, 100.0)[0], training=False)
    np.testing.assert_allclose(table["prob_down"], np.asarray(expected)[:, 0], rtol=1e-5)
    assert table["polarity"].tolist() == np.where(table["prob_down"] > 0.5, -1, 1).tolist()
    assert isinstance(load_model(str(path), device="cpu"), EQPolarity)  # a path alone


def test_own_weights_round_trip_and_wrong_files(tmp_path):
    model = EQPolarity.untrained(seed=3, device="cpu")
    traces = onsets([1, -1])
    before = model.classify(traces, [500, 500], 100.0)
    path = model.save(tmp_path / "mine.weights.h5")
    again = load_model("eqpolarity", path, device="cpu")
    np.testing.assert_allclose(again.classify(traces, [500, 500], 100.0)["prob_down"],
                               before["prob_down"], rtol=1e-5)
    with pytest.raises(WeightsError, match="polarity.weights.*best_weigths_Binary"):
        load_model("eqpolarity", device="cpu")
    from models.focalflow_net import DEFAULT_WEIGHTS

    with pytest.raises(WeightsError, match="cannot load eqpolarity weights"):
        load_model("eqpolarity", DEFAULT_WEIGHTS, device="cpu")


def test_training_learns_from_decided_rows_only(tmp_path):
    from models.synthetic import make_dataset, recipe_for
    from models.train import fit

    model = EQPolarity.untrained(seed=0, device="cpu")
    data = make_dataset(model, 48, seed=1, recipe=recipe_for(model))
    assert data["inputs"].shape == (48, 600, 1) and (data["polarity"] == 0).any()
    targets, keep = model.training_targets(data["polarity"], data["clarity"])
    assert keep.tolist() == (data["polarity"] != 0).tolist()
    assert targets[data["polarity"] < 0].min() == 1 and targets[data["polarity"] > 0].max() == 0
    history = fit(model, data["inputs"][:32], data["polarity"][:32], data["clarity"][:32],
                  data["inputs"][32:], data["polarity"][32:], data["clarity"][32:], epochs=1,
                  batch_size=16, learning_rate=1e-4, patience=1)
    assert set(history) >= {"loss", "val_loss", "accuracy", "val_accuracy"}


def test_stage4_runs_eqpolarity_from_a_weights_path(tmp_path):
    import obspy

    from focalflow.cli import run_stage
    from focalflow.config import config_from_dict
    from focalflow.stages.polarity_predict import run
    from focalflow.tables import read_table, write_table
    from focalflow.waveforms.store import WindowSet, write_event_windows

    weights = EQPolarity.untrained(seed=5, device="cpu").save(tmp_path / "eqp.weights.h5")
    workdir = tmp_path / "work"
    origin = obspy.UTCDateTime("2020-01-01")
    rows, windows, samples = [], [], []
    for i, sign in enumerate([1, -1, 1, -1]):
        windows.append({"network": "XX", "station": f"S{i}", "location": "", "channel": "HHZ",
                        "rate_hz": 100.0, "start_s": 0.0, "pick_s": 5.0})
        samples.append(onsets([sign], seed=i)[0].astype(np.float32))
        rows.append({"event_id": "ev1", "network": "XX", "station": f"S{i}", "location": "",
                     "channel": "HHZ", "phase": "P", "time": str(origin + 5.0), "onset": "i",
                     "polarity": "", "weight": 0, "source": f"test:{i}"})
    write_event_windows(workdir / "store", "ev1", [WindowSet.from_rows("P", windows, samples)])
    write_table(pd.DataFrame(rows), workdir / "picks.csv", "picks")
    config = config_from_dict({"workdir": str(workdir), "stations": {"reversals_file": None},
                               "polarity": {"model": "eqpolarity", "weights": str(weights),
                                            "device": "cpu"}})
    summary = run_stage("4_polarity_predict", run, config)
    table = read_table(workdir / "polarities.csv", "polarities")
    assert summary["predicted"] == 4 and len(table) == 4
    assert table["model"].eq("eqpolarity:eqp.weights.h5").all()
    np.testing.assert_allclose(table["prob_up"] + table["prob_down"], 1.0, atol=1e-6)
    assert (table["prob_undecided"] == 0).all()
    assert table["p_polarity"].tolist() == np.where(table["prob_up"] >= 0.5, 1, -1).tolist()

    config.polarity.weights = None
    with pytest.raises(WeightsError, match="eqpolarity: no weights file given"):
        run_stage("4_polarity_predict", run, config, overwrite=True)


def test_models_package_never_imports_focalflow():
    import subprocess
    import sys

    code = ("import sys, models.registry, models.train, models.finetune, models.eqpolarity, "
            "models.diting_motion, models.focalflow_net, models.synthetic; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'focalflow'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
