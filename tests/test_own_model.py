"""The project's own polarity model: synthetic training data, the network, the shipped weights.

The shipped weights are checked on data they were not trained on: a fresh synthetic set
(another seed), the demo's true first motions and the ToC2ME analyst labels.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.base import decide
from models.errors import ModelError, WeightsError
from models.focalflow_net import DEFAULT_WEIGHTS, FocalflowNet, build_inputs
from models.registry import load_model
from models.synthetic import Recipe, first_extremum, generate_traces, make_dataset


@pytest.fixture(scope="module")
def shipped():
    return load_model("focalflow-default", device="cpu")


def test_synthetic_data_is_reproducible_and_balanced():
    a = generate_traces(300, 100.0, np.random.default_rng(3))
    b = generate_traces(300, 100.0, np.random.default_rng(3))
    np.testing.assert_array_equal(a.traces, b.traces)
    np.testing.assert_array_equal(a.polarity, b.polarity)
    counts = {p: int(np.sum(a.polarity == p)) for p in (-1, 0, 1)}
    assert all(count > 40 for count in counts.values()), counts
    assert abs(counts[1] - counts[-1]) < 0.3 * (counts[1] + counts[-1])
    # pure-noise and very-low-SNR traces are labelled undecided
    assert np.all(a.polarity[np.isnan(a.freq_hz)] == 0)
    assert np.all(a.polarity[a.snr < Recipe().undecided_snr] == 0)
    # the pick differs from the true onset by up to the recipe's jitter
    assert 0 < np.abs(a.jitter_s).max() <= Recipe().max_jitter_s


def test_label_is_the_first_motion_of_a_clean_onset():
    rng = np.random.default_rng(1)
    quiet = Recipe(snr=(1e6, 1e6 + 1), noise_fraction=0.0, zero_phase_fraction=0.0,
                   digitiser_fraction=0.0, brune_digitiser_fraction=0.0, spike_fraction=0.0,
                   hum_fraction=0.0)
    data = generate_traces(50, 200.0, rng, quiet)
    for trace, pick, jitter, polarity in zip(data.traces, data.pick_index, data.jitter_s,
                                             data.polarity):
        onset = int(round(pick - jitter * 200.0))
        clean = trace[onset:onset + 400] - trace[onset - 20:onset].mean()
        clean[np.abs(clean) < 1e-3 * np.abs(clean).max()] = 0.0  # the (unit) noise
        assert np.sign(first_extremum(clean)) == polarity
    assert first_extremum(np.array([0.0, -1.0, -3.0, -2.0, 5.0])) == -3.0


def test_inputs_are_scale_free_and_bounded():
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((4, 256))
    windows[:, 130:] += 20 * np.sin(np.linspace(0, 12, 126))
    x = build_inputs(windows)
    assert x.shape == (4, 256, 2) and x.dtype == np.float32
    assert np.abs(x).max() <= 1.0
    np.testing.assert_allclose(build_inputs(1e6 * windows + 3.0), x, atol=1e-5)
    np.testing.assert_allclose(build_inputs(-windows), -x, atol=1e-6)


def test_weights_round_trip_and_bad_files(tmp_path):
    model = FocalflowNet.untrained(seed=1, device="cpu")
    data = make_dataset(model, 64, seed=5)
    before = model.predict_inputs(data["inputs"])
    path = model.save(tmp_path / "tiny.weights.h5")
    again = load_model(str(path), device="cpu")
    assert isinstance(again, FocalflowNet)
    np.testing.assert_allclose(again.predict_inputs(data["inputs"])["prob_up"], before["prob_up"],
                               atol=1e-6)
    broken = tmp_path / "broken.weights.h5"
    broken.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(WeightsError, match="broken.weights.h5"):
        FocalflowNet(broken, device="cpu")
    with pytest.raises(ModelError, match=r"\.weights\.h5"):
        model.save(tmp_path / "wrong.h5")


def test_shipped_weights_are_small_and_registered(shipped):
    assert DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.stat().st_size < 1_000_000
    assert isinstance(shipped, FocalflowNet)
    assert shipped.weights_path == DEFAULT_WEIGHTS


def test_shipped_model_on_held_out_synthetic_onsets(shipped):
    data = make_dataset(shipped, 1500, seed=987654)
    valid = np.ones(len(data["inputs"]), bool)
    call = decide(shipped.predict_inputs(data["inputs"]), valid, [""] * len(valid))["polarity"]
    call = call.to_numpy()
    truth = data["polarity"]
    decided = (call != 0) & (truth != 0)
    assert np.mean(call[decided] == truth[decided]) > 0.95
    clear = truth != 0
    clear &= data["snr"] > 10
    assert np.mean(call[clear] == truth[clear]) > 0.9
    assert np.mean(call[truth == 0] == 0) > 0.6


def test_shipped_model_on_the_demo_true_first_motions(shipped, demo_dir):
    import obspy
    from obspy.clients.filesystem.sds import Client

    from focalflow.formats.hypoinverse import read_hypoinverse
    from focalflow.polarity.predict import TraceWindow, classify_windows

    _, picks, _ = read_hypoinverse(demo_dir / "phases.arc")
    truth = pd.read_csv(demo_dir / "truth_picks.csv", dtype={"event_id": str})
    p = picks[picks["phase"] == "P"].merge(truth, on=["event_id", "network", "station"])
    client = Client(str(demo_dir / "sds"))
    windows = []
    for row in p.itertuples():
        pick = obspy.UTCDateTime(row.time)
        trace = client.get_waveforms(row.network, row.station, "*", "HH[Z3]", pick - 2, pick + 2)[0]
        windows.append(TraceWindow(trace.data.astype(np.float32), trace.stats.delta, 0.0,
                                 pick - trace.stats.starttime))
    table = classify_windows(shipped, windows)
    call, true = table["polarity"].to_numpy(), p["first_motion_recorded"].to_numpy()
    decided = call != 0
    assert decided.mean() > 0.8
    assert np.mean(call[decided] == true[decided]) >= 0.95


def test_shipped_model_on_toc2me_analyst_labels(shipped, shared_dir):
    from focalflow.polarity.toc2me import evaluate, read_labels

    counts, table = evaluate(shipped, read_labels(shared_dir / "data" / "toc2me"))
    assert counts["labelled"] == 50
    assert counts["right"] >= 40 and counts["wrong"] <= 3, counts


def test_windows_are_cut_as_scipy_resamples_whole_cleaned_traces():
    """Stage 4's kernel computes only the window's samples: the numbers of detrending, tapering
    and resampling whole traces with scipy (up, down and rational ratios), to rounding."""
    from scipy.signal import resample_poly

    from models.base import hann_taper

    g = np.random.default_rng(0)
    model = FocalflowNet()  # 200 Hz, 256 samples, pick at 128
    for rate_in, npts in ((100, 400), (500, 5000), (150, 600), (200, 900)):
        ratio = 200 // np.gcd(200, rate_in), rate_in // np.gcd(200, rate_in)
        data = (g.normal(size=(40, npts)).cumsum(axis=1) + 5.0).astype(np.float32)  # as stored
        picks = g.uniform(0.35, 0.65, 40) * npts
        t = np.arange(npts) - (npts - 1) / 2
        exact = data.astype(np.float64)
        slope = (exact @ t) / (t @ t)
        cleaned = (exact - exact.mean(axis=1, keepdims=True) - slope[:, None] * t) \
            * hann_taper(npts, 0.05)
        whole = resample_poly(cleaned, *ratio, axis=1)
        start = np.round(picks * ratio[0] / ratio[1]).astype(int) - 128
        expected = whole[np.arange(40)[:, None], start[:, None] + np.arange(256)]
        windows, valid, _ = model.cut_windows(data, picks, rate_in)
        assert valid.all()
        scale = np.abs(expected).max()
        np.testing.assert_allclose(windows, expected, rtol=0, atol=1e-12 * scale)


def test_refused_traces_get_their_reason_whether_picks_align_or_not():
    """The checks read the windows as slices when every pick sits at the same sample (the
    windows stage 3 cuts) and gather them otherwise: the same reasons either way."""
    from models.base import REASON_FLAT, REASON_GAP, REASON_NOT_FINITE, REASON_OFF_TRACE

    model = FocalflowNet()
    data = np.random.default_rng(2).normal(size=(6, 400))
    data[1, 10] = np.nan
    data[2] = 3.0
    data[4, 190:210] = 0.0  # zero-filled gap across the pick
    data[5, 205:209] = 0.0  # four zeros: a quiet moment, not a gap
    aligned = [200.0, 200.0, 200.0, 395.0, 200.0, 200.0]
    expected = ["", REASON_NOT_FINITE, REASON_FLAT, REASON_OFF_TRACE, REASON_GAP, ""]
    for picks in (aligned, [p + k for k, p in enumerate(aligned[:3])] + aligned[3:]):
        _, valid, reasons = model.cut_windows(data, picks, 100.0)
        assert reasons == expected and valid.tolist() == [r == "" for r in expected]
    _, _, reasons = model.cut_windows(data[[0, 4]], [200.0, 200.0], 100.0)
    assert reasons == ["", REASON_GAP]


def test_inputs_are_the_window_over_its_peak_and_over_its_pre_pick_noise():
    from models.focalflow_net import NOISE_SAMPLES, NOISE_SCALE

    windows = np.random.default_rng(4).normal(size=(50, 256)).cumsum(axis=1)
    windows[3, :NOISE_SAMPLES] = 2.0  # silent before the pick: the level is 1 % of the peak
    windows[4, :NOISE_SAMPLES:2] = 7.0  # repeated values in the noise sample
    inputs = build_inputs(windows)
    base = np.median(windows[:, :NOISE_SAMPLES], axis=1, keepdims=True)
    peak = np.abs(windows - base).max(axis=1, keepdims=True)
    mad = np.median(np.abs(windows[:, :NOISE_SAMPLES] - base), axis=1, keepdims=True)
    level = np.maximum(1.4826 * mad, 0.01 * peak)
    assert inputs.shape == (50, 256, 2) and inputs.dtype == np.float32
    np.testing.assert_allclose(inputs[..., 0], (windows - base) / peak, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(inputs[..., 1], np.tanh((windows - base) / (NOISE_SCALE * level)),
                               rtol=1e-6, atol=1e-7)


def test_the_kernels_median_is_numpys():
    from models.kernels import _median

    rng = np.random.default_rng(5)
    for n in [1, 2, 3, 4, 7, 8, 79, 80, 81]:
        for values in (rng.normal(size=n), rng.integers(-2, 3, n).astype(float), np.full(n, 1.5)):
            assert _median(values.copy()) == np.median(values)
