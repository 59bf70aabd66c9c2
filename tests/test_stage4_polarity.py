"""Stage 4 on a small working directory of P windows in the waveform store (synthetic onsets of
known sign)."""
from __future__ import annotations

import logging

import numpy as np
import obspy
import pandas as pd
import pytest

from focalflow.config import config_from_dict
from focalflow.cli import run_stage
from focalflow.polarity.predict import read_sac
from focalflow.stages.polarity_predict import run
from focalflow.tables import COLUMNS, read_table, write_table
from focalflow.waveforms.store import TEXT_FIELDS, WindowSet, read_sets, write_event_windows
from focalflow.workdir import WorkDir
from models.errors import WeightsError

EVENT = "ev1"
ORIGIN = obspy.UTCDateTime("2020-01-01T00:00:00")
# station -> (recorded first motion, analyst code on the recorded trace)
STATIONS = {"S01": (1, "U"), "S02": (-1, "D"), "S03": (1, ""), "S04": (-1, "U"), "S05": (1, "D"),
            "S06": (-1, "")}


def onset(sign: int, rate: float, npts: int, pick: int, seed: int) -> np.ndarray:
    t = (np.arange(npts) - pick) / rate
    signal = np.where(t >= 0, sign * np.sin(2 * np.pi * 5.0 * t) * np.exp(-3.0 * t), 0.0)
    return (signal + 0.02 * np.random.default_rng(seed).normal(size=npts)).astype(np.float32)


def windows_file(workdir, event: str = EVENT):
    return WorkDir(workdir).event_windows_file(event)


def write_window(workdir, station: str, data: np.ndarray | None, rate: float = 100.0,
                 pick_s: float = 2.0, event: str = EVENT, channel: str = "HHZ") -> None:
    """Add (or replace, or with ``data`` None remove) one P window of the event's windows file;
    the window starts at the origin."""
    path = windows_file(workdir, event)
    old = read_sets(path)["P"] if path.is_file() else WindowSet.from_rows("P", [], [])
    keep = [i for i in range(len(old)) if old.codes(i)[1:4:2] != (station, channel)]
    rows = [{f: old.table[i][f].decode() if f in TEXT_FIELDS else old.table[i][f]
             for f in ("network", "station", "location", "channel", "rate_hz", "start_s",
                       "pick_s")} for i in keep]
    samples = [old.samples(i) for i in keep]
    if data is not None:
        rows.append({"network": "XX", "station": station, "location": "", "channel": channel,
                     "rate_hz": rate, "start_s": 0.0, "pick_s": pick_s})
        samples.append(data)
    write_event_windows(WorkDir(workdir).store_dir, event, [WindowSet.from_rows("P", rows,
                                                                                  samples)])


def make_workdir(root, stations=STATIONS, rate=100.0):
    workdir = root / "work"
    rows = []
    for i, (station, (sign, code)) in enumerate(stations.items()):
        write_window(workdir, station, onset(sign, rate, int(4 * rate), int(2 * rate), i), rate, 2.0)
        for channel in ("HHN", "HHE"):  # horizontal windows are present but never classified
            write_window(workdir, station, onset(-sign, rate, int(4 * rate), int(2 * rate), 99),
                         rate, 2.0, channel=channel)
        rows.append({"event_id": EVENT, "network": "XX", "station": station, "location": "",
                     "channel": "HHZ", "phase": "P", "time": str(ORIGIN + 2.0), "onset": "i",
                     "polarity": code, "weight": 0, "source": f"test:{i}"})
        rows.append({**rows[-1], "phase": "S", "time": str(ORIGIN + 3.0), "polarity": ""})
    write_table(pd.DataFrame(rows), workdir / "picks.csv", "picks")
    return workdir


@pytest.fixture
def weights(shared_dir):
    return shared_dir / "models" / "DiTingMotionJul.hdf5"


def config_for(workdir, weights, reversals=None, **polarity):
    return config_from_dict({"workdir": str(workdir),
                             "polarity": {"model": "diting-motion", "weights": str(weights),
                                          "device": "cpu", **polarity},
                             "stations": {"reversals_file": str(reversals) if reversals else None}})


def test_fast_sac_reader_matches_obspy(tmp_path):
    path = tmp_path / "XX.S01..HHZ.P.sac"
    trace = obspy.Trace(onset(1, 200.0, 800, 400, 0), header={"sampling_rate": 200.0,
                                                              "starttime": ORIGIN})
    trace.stats.sac = obspy.core.AttribDict({"a": 2.0, "ka": "P"})
    trace.write(str(path), format="SAC")
    window = read_sac(path)
    trace = obspy.read(str(path))[0]
    np.testing.assert_array_equal(window.data, trace.data)
    assert window.sampling_rate_hz == pytest.approx(200.0)
    assert window.pick_index == pytest.approx(400.0, abs=1e-3)


def test_stage_writes_polarities_after_reversals(tmp_path, weights):
    workdir = make_workdir(tmp_path)
    reversals = tmp_path / "reversals.csv"
    reversals.write_text("network,station,start,end\nXX,S02,2019-01-01,\nXX,S03,2021-01-01,\n")
    summary = run_stage("4_polarity_predict", run, config_for(workdir, weights, reversals,
                                                              analyst="replace"))
    table = read_table(workdir / "polarities.csv", "polarities")
    assert list(table.columns[:len(COLUMNS["polarities"])]) == COLUMNS["polarities"]
    assert table["station"].tolist() == list(STATIONS)
    assert table["channel"].eq("HHZ").all() and table["model"].eq("diting-motion:DiTingMotionJul.hdf5").all()
    recorded = [sign for sign, _ in STATIONS.values()]
    assert table["recorded_polarity"].tolist() == recorded
    # S02 reversed since 2019: flipped; S03's reversal starts after the pick: unchanged
    expected = [s * (-1 if station == "S02" else 1) for station, s in zip(STATIONS, recorded)]
    assert table["p_polarity"].tolist() == expected
    assert (table["prob_up"] > 0.5).tolist() == [s > 0 for s in recorded]
    assert summary["predicted"] == 6 and summary["skipped"] == 0


def test_analyst_keep_replace_compare(tmp_path, weights):
    workdir = make_workdir(tmp_path)
    config = config_for(workdir, weights, analyst="keep")
    summary = run_stage("4_polarity_predict", run, config)
    keep = read_table(workdir / "polarities.csv", "polarities")
    analyst = {"U": 1, "D": -1}
    expected = [analyst.get(code, sign) for sign, code in STATIONS.values()]
    assert keep["p_polarity"].tolist() == expected
    assert keep["model"].eq("analyst").sum() == 4 and summary["analyst_kept"] == 4

    config.polarity.analyst = "compare"
    summary = run_stage("4_polarity_predict", run, config, overwrite=True)
    compare = read_table(workdir / "polarities.csv", "polarities")
    assert compare["p_polarity"].tolist() == [sign for sign, _ in STATIONS.values()]
    assert (summary["analyst_labelled"], summary["analyst_both"], summary["analyst_agree"]) == (4, 4, 2)


def test_min_confidence_turns_weak_calls_into_zero(tmp_path, weights):
    workdir = make_workdir(tmp_path)
    run_stage("4_polarity_predict", run, config_for(workdir, weights, min_confidence=0.0))
    loose = read_table(workdir / "polarities.csv", "polarities")
    third = np.float32(np.sort(np.maximum(loose["prob_up"], loose["prob_down"]))[2])
    threshold = float(np.nextafter(third, np.float32(1)))  # the probabilities are float32
    run_stage("4_polarity_predict", run,
              config_for(workdir, weights, min_confidence=threshold), overwrite=True)
    strict = read_table(workdir / "polarities.csv", "polarities")
    assert (strict["p_polarity"] == 0).sum() == 3
    assert ((strict["p_polarity"] == loose["p_polarity"]) | (strict["p_polarity"] == 0)).all()


def test_bad_windows_skip_only_their_picks(tmp_path, weights):
    workdir = make_workdir(tmp_path)
    write_window(workdir, "S01", None)                                     # missing window
    nan = onset(1, 100.0, 400, 200, 0)
    nan[150] = np.nan
    write_window(workdir, "S02", nan, 100.0, 2.0)                          # NaN sample
    write_window(workdir, "S03", onset(1, 99.731, 399, 200, 0), 99.731, 2.0)  # odd sampling rate
    write_window(workdir, "S04", onset(1, 100.0, 400, 200, 0), 100.0, np.nan)  # no pick
    write_window(workdir, "S05", np.zeros(400, np.float32), 100.0, 2.0)    # all zeros
    summary = run_stage("4_polarity_predict", run, config_for(workdir, weights, analyst="replace"))
    table = read_table(workdir / "polarities.csv", "polarities")
    assert table["station"].tolist() == ["S06"] and table["p_polarity"].tolist() == [-1]
    failures = read_table(workdir / "logs" / "failures.csv", "failures").set_index("station")
    reasons = failures["reason"].to_dict()
    assert "P window has no vertical component (HHE, HHN)" in reasons["XX.S01"]
    assert "NaN" in reasons["XX.S02"]
    assert "99.731 Hz cannot be resampled" in reasons["XX.S03"]
    assert "XX.S04..HHZ has no pick" in reasons["XX.S04"]
    assert "all zeros" in reasons["XX.S05"]
    assert summary["skipped"] == 5


def test_rerun_skips_done_events_and_is_identical(tmp_path, weights):
    workdir = make_workdir(tmp_path)
    config = config_for(workdir, weights)
    run_stage("4_polarity_predict", run, config)
    first = (workdir / "polarities.csv").read_bytes()
    summary = run_stage("4_polarity_predict", run, config)
    assert summary["picks"] == 0 and (workdir / "polarities.csv").read_bytes() == first
    run_stage("4_polarity_predict", run, config, events={EVENT}, overwrite=True)
    assert (workdir / "polarities.csv").read_bytes() == first


def test_unknown_model_and_corrupt_weights_stop_with_clear_errors(tmp_path, weights):
    workdir = make_workdir(tmp_path, {"S01": (1, "")})
    config = config_for(workdir, weights)
    config.polarity.model, config.polarity.weights = "dittingmotion", None
    with pytest.raises(WeightsError, match="unknown model name 'dittingmotion'"):
        run_stage("4_polarity_predict", run, config)
    broken = tmp_path / "broken.hdf5"
    broken.write_bytes(weights.read_bytes()[:4096])
    with pytest.raises(WeightsError, match="broken.hdf5: cannot load diting-motion weights"):
        run_stage("4_polarity_predict", run, config_for(workdir, weights=broken))
    assert not (workdir / "polarities.csv").exists()


def test_gpu_request_without_gpu_runs_on_cpu_with_a_log_line(tmp_path, weights, caplog):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is present; the fallback is not exercised")
    workdir = make_workdir(tmp_path, {"S01": (1, "")})
    with caplog.at_level(logging.WARNING, logger="focalflow.models"):
        run_stage("4_polarity_predict", run, config_for(workdir, weights, device="gpu"))
    assert "no GPU" in caplog.text
    assert read_table(workdir / "polarities.csv", "polarities")["p_polarity"].tolist() == [1]


def test_input_rate_and_shifts_from_config_then_evaluation(tmp_path, weights):
    from focalflow.polarity.evaluate import evaluate_workdir

    workdir = make_workdir(tmp_path)
    config = config_for(workdir, weights, input_rate_hz=150.0, shift_samples=[-2, 0, 2])
    run_stage("4_polarity_predict", run, config)
    table = read_table(workdir / "polarities.csv", "polarities")
    assert table["model"].eq("diting-motion:DiTingMotionJul.hdf5@150Hz").all()
    assert table["recorded_polarity"].tolist() == [sign for sign, _ in STATIONS.values()]
    evaluation, csv_path, png_path = evaluate_workdir(workdir)
    total = evaluation[evaluation["section"] == "total"].set_index("measure")["value"]
    assert (total["labelled"], total["right"], total["wrong"]) == (4, 2, 2)  # S04, S05 mislabelled
    assert csv_path.is_file() and png_path.is_file()


def test_script_reports_a_bad_model_name_in_one_line(tmp_path, repo_dir):
    import subprocess
    import sys

    workdir = make_workdir(tmp_path, {"S01": (1, "")})
    config = tmp_path / "config.yaml"
    config.write_text(f"workdir: {workdir}\npolarity: {{model: no-such-model}}\n"
                      "stations: {reversals_file: null}\n")
    done = subprocess.run([sys.executable, str(repo_dir / "4_polarity_predict.py"), "--config",
                           str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "unknown model name 'no-such-model'" in done.stderr and "Traceback" not in done.stderr


def test_chunked_reading_gives_the_calls_of_one_batch_in_pick_order(tmp_path):
    from focalflow.polarity.predict import classify_p_windows, classify_windows, read_p_windows
    from focalflow.workdir import WorkDir
    from models.focalflow_net import DEFAULT_WEIGHTS, FocalflowNet

    workdir = make_workdir(tmp_path)
    write_window(workdir, "S04", onset(-1, 200.0, 800, 400, 4), 200.0, 2.0)  # another rate
    write_window(workdir, "S05", None)                                        # no vertical
    picks = read_table(workdir / "picks.csv", "picks").query("phase == 'P'")
    model = FocalflowNet(DEFAULT_WEIGHTS, device="cpu")
    frame, windows = read_p_windows(WorkDir(workdir), picks)
    whole = classify_windows(model, windows, shifts=(0, 2))
    for chunk_picks in (1, 4, 100):
        chunked = classify_p_windows(model, WorkDir(workdir), picks, shifts=(0, 2),
                                     chunk_picks=chunk_picks)
        assert chunked["station"].tolist() == list(STATIONS)
        pd.testing.assert_frame_equal(chunked[whole.columns.drop("reason")],
                                      whole.drop(columns="reason"))
        assert chunked["reason"].str.contains("no vertical component").tolist() == \
            [s == "S05" for s in STATIONS]


def test_shards_on_worker_processes_give_the_calls_of_one_process(tmp_path):
    workdir = make_workdir(tmp_path, {f"S{k:02d}": (1 if k % 3 else -1, "") for k in range(30)})
    settings = {"workdir": str(workdir), "stations": {"reversals_file": None},
                "polarity": {"model": "focalflow-default", "device": "cpu", "batch_size": 8}}
    run_stage("4_polarity_predict", run, config_from_dict(settings))
    one = (workdir / "polarities.csv").read_bytes()
    run_stage("4_polarity_predict", run, config_from_dict(
        {**settings, "parallel": {"executor": "processes", "workers": 2}}), overwrite=True)
    assert (workdir / "polarities.csv").read_bytes() == one


def test_a_pick_without_the_windows_location_still_finds_its_window():
    """Stage 3 cuts one instrument per station, from another location when the pick names
    none (``00`` here); stage 4 takes that window rather than recording the pick as missing."""
    from focalflow.polarity.predict import vertical_rows

    windows = WindowSet.from_arrays("P", ["XX"] * 3, ["A01"] * 3, ["00"] * 3,
                                    ["HHZ", "HHN", "HHE"], 100.0, -1.0, 0.0, np.zeros((3, 400)))
    rows, reasons = vertical_rows(windows, [("XX", "A01", "", "HHZ"), ("XX", "A01", "00", "HHZ"),
                                            ("XX", "B02", "", "HHZ")], "store.h5")
    assert rows == [0, 0, None] and reasons[:2] == ["", ""]
    assert reasons[2] == "no P window (vertical component) in store.h5"


def test_snr_is_the_same_for_aligned_and_scattered_picks():
    from focalflow.polarity.predict import snr

    rng = np.random.default_rng(6)
    data = (rng.normal(size=(5, 400)) * [[1.0], [2.0], [0.5], [1.0], [1.0]]).astype(np.float32)
    data[:, 200:250] *= 10.0  # signal after the pick at sample 200: SNR ~10
    aligned = snr(data, np.full(5, 200.0), 100.0)
    scattered = snr(np.vstack([data, data[:1]]), np.r_[np.full(5, 200.0), 300.0], 100.0)
    np.testing.assert_array_equal(scattered[:5], aligned)
    assert np.all((aligned > 5) & (aligned < 15))
    assert np.isnan(snr(data[:1], [30.0], 100.0)[0])  # the noise span runs off the trace
