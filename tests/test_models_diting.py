"""DiTingMotion through focalflow's code equals the authors' own per-trace procedure.

The reference below is written from the published workflow's description (demean, linear
detrend, 0.1 % taper, slice pick +- 0.64 s, normalise, sign-of-difference channel after the pick,
one ``predict`` per trace, average of the four heads); it shares no code with ``models/``.
"""
from __future__ import annotations

import glob

import numpy as np
import obspy
import pytest

from models.base import REASON_FLAT, REASON_GAP, REASON_NOT_FINITE, REASON_OFF_TRACE, WeightsError
from models.diting_motion import DiTingMotion

EVENT = "20161104064824.680"


@pytest.fixture(scope="module")
def diting(shared_dir):
    return DiTingMotion(shared_dir / "models" / "DiTingMotionJul.hdf5", device="cpu")


@pytest.fixture(scope="module")
def toc2me_100hz(shared_dir):
    """Vertical ToC2ME traces with an analyst pick (t1), low-passed and decimated to 100 Hz."""
    traces = []
    for path in sorted(glob.glob(str(shared_dir / "data/toc2me/waveforms" / EVENT / "*.DHZ.SAC"))):
        trace = obspy.read(path)[0]
        if "t1" not in trace.stats.sac or not np.any(trace.data):
            continue
        trace.filter("lowpass", freq=40.0, corners=8, zerophase=True)
        trace.decimate(5, no_filter=True)
        traces.append(trace)
    assert len(traces) >= 40
    return traces


def authors_procedure(keras_model, trace: obspy.Trace) -> tuple[np.ndarray, np.ndarray]:
    """(polarity U/D/x, clarity I/E/x) probabilities of one trace, the published way."""
    pick = trace.stats.starttime + (trace.stats.sac.t1 - trace.stats.sac.b)
    work = trace.copy()
    work.detrend("demean")
    work.detrend("linear")
    work.taper(0.001)
    work = work.slice(pick - 0.64, pick + 0.64)
    x = np.zeros((1, 128, 2))
    x[0, :, 0] = work.data[:128]
    x[0, :, 0] -= x[0, :, 0].mean()
    x[0, :, 0] /= x[0, :, 0].std()
    x[0, 65:, 1] = np.sign(np.diff(x[0, 64:, 0]))
    out = keras_model.predict(x, verbose=0)
    polarity = sum(out[f"T0D{i}"] for i in range(4)) / 4
    clarity = sum(out[f"T1D{i}"] for i in range(4)) / 4
    return polarity[0], clarity[0]


def test_batched_predictions_equal_authors_procedure_at_100hz(diting, toc2me_100hz):
    data = np.stack([t.data for t in toc2me_100hz])
    picks = [(t.stats.sac.t1 - t.stats.sac.b) * 100.0 for t in toc2me_100hz]
    table = diting.classify(data, picks, 100.0, batch_size=16)
    assert table["valid"].all()
    reference = [authors_procedure(diting.keras_model, t) for t in toc2me_100hz]
    polarity = np.array([r[0] for r in reference])
    clarity = np.array([r[1] for r in reference])
    np.testing.assert_allclose(table[["prob_up", "prob_down", "prob_undecided"]].to_numpy(),
                               polarity, atol=1e-5, rtol=0)
    expected = np.array([1, -1, 0])[polarity.argmax(axis=1)]
    np.testing.assert_array_equal(table["polarity"], expected)
    np.testing.assert_array_equal(table["clarity"], np.array(["I", "E", "x"])[clarity.argmax(axis=1)])
    assert (table["polarity"] != 0).sum() >= 10  # the comparison covers real up/down calls


def test_any_rate_is_resampled_and_keeps_the_onset(diting, shared_dir):
    """The same trace at 500 Hz (resampled inside) and at 100 Hz gives nearly the same inputs."""
    path = sorted(glob.glob(str(shared_dir / "data/toc2me/waveforms" / EVENT / "*.DHZ.SAC")))[0]
    trace = obspy.read(path)[0]
    pick = (trace.stats.sac.t1 - trace.stats.sac.b) * 500.0
    at_500, ok, _ = diting.preprocess(trace.data[None, :], [pick], 500.0)
    slow = trace.copy().filter("lowpass", freq=40.0, corners=8, zerophase=True)
    slow.decimate(5, no_filter=True)
    at_100, _, _ = diting.preprocess(slow.data[None, :], [pick / 5], 100.0)
    assert ok[0]
    corr = np.corrcoef(at_500[0, :, 0], at_100[0, :, 0])[0, 1]
    assert corr > 0.99


def test_bad_traces_are_flagged_not_predicted(diting):
    rng = np.random.default_rng(1)
    data = rng.normal(size=(6, 400))
    data[1, 10] = np.nan
    data[2] = 0.0
    data[4, 190:210] = 0.0                     # zero-filled gap across the pick
    picks = [200.0, 200.0, 200.0, 390.0, 200.0, np.nan]
    table = diting.classify(data, picks, 100.0)
    assert table["valid"].tolist() == [True, False, False, False, False, False]
    assert table["reason"].tolist()[1:5] == [REASON_NOT_FINITE, REASON_FLAT, REASON_OFF_TRACE, REASON_GAP]
    assert table.loc[1:, "polarity"].eq(0).all() and table.loc[1:, "prob_up"].isna().all()


def test_unresamplable_rate_refuses_only_that_call(diting):
    table = diting.classify(np.ones((2, 400)), [200, 200], 99.731)
    assert not table["valid"].any()
    assert "cannot be resampled" in table["reason"][0]


def test_test_time_shifts_average_probabilities(diting, toc2me_100hz):
    data = np.stack([t.data for t in toc2me_100hz[:8]])
    picks = [(t.stats.sac.t1 - t.stats.sac.b) * 100.0 for t in toc2me_100hz[:8]]
    single = [diting.classify(data, picks, 100.0, shifts=(s,)) for s in (-1, 0, 1)]
    averaged = diting.classify(data, picks, 100.0, shifts=(-1, 0, 1))
    expected = np.mean([t["prob_up"].to_numpy() for t in single], axis=0)
    np.testing.assert_allclose(averaged["prob_up"], expected, atol=1e-6)


def test_corrupt_or_wrong_weights_files_are_refused(tmp_path, shared_dir):
    corrupt = tmp_path / "broken.hdf5"
    corrupt.write_bytes((shared_dir / "models" / "DiTingMotionJul.hdf5").read_bytes()[:5000])
    with pytest.raises(WeightsError, match="broken.hdf5: cannot load"):
        DiTingMotion(corrupt, device="cpu")
    with pytest.raises(WeightsError, match="not found"):
        DiTingMotion(tmp_path / "absent.hdf5")
