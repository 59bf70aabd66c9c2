"""S/P amplitude ratios from P and S windows: on hand-made pulses, on the synthetic demo against
its true radiation pattern, and on ToC2ME against the analysts' ratios."""
import numpy as np
import pandas as pd
import pytest
from obspy import Stream, Trace, UTCDateTime, read

from focalflow.errors import InputError
from focalflow.formats.hypoinverse import read_hypoinverse
from focalflow.mechanisms.amplitudes import (SpSettings, measure_event_sp, measure_sp_amplitudes,
                                             read_sp_corrections)
from focalflow.mechanisms.bandpass import butterworth_bandpass, sosfilt
from focalflow.tables import COLUMNS
from focalflow.waveforms.store import WindowSet, write_sets

START = UTCDateTime(2024, 1, 1)


def three_components(npts, rate, rng, noise, pulses):
    """Z, N, E traces of Gaussian noise plus pulses (start_s, amplitude, weights on Z/N/E)."""
    t = np.arange(npts) / rate
    traces = []
    for k, channel in enumerate(("HHZ", "HHN", "HHE")):
        data = noise * rng.standard_normal(npts)
        for start_s, amplitude, weights in pulses:
            lag = t - start_s
            wavelet = np.where(lag > 0, np.sin(2 * np.pi * 5 * lag) * np.exp(-lag / 0.1), 0.0)
            data += weights[k] * amplitude * wavelet
        traces.append(Trace(data, header={"network": "XX", "station": "A", "channel": channel,
                                          "starttime": START, "sampling_rate": rate}))
    return Stream(traces)


def test_ratio_of_known_pulses_and_the_signal_to_noise_rule():
    rng = np.random.default_rng(0)
    p_time, s_time = START + 5.0, START + 8.0
    pulses = [(5.0, 100.0, (0.8, 0.6, 0.0)), (8.0, 700.0, (0.0, 0.6, 0.8))]
    stream = three_components(2000, 100.0, rng, 1.0, pulses)
    amps = measure_sp_amplitudes(stream.slice(p_time - 2, p_time + 2), stream.slice(s_time - 2, s_time + 3),
                                 p_time, s_time)
    assert amps.log10_sp == pytest.approx(np.log10(7.0), abs=0.03)
    assert amps.passes(3.0) and amps.noise_p < 5 and amps.noise_s < 30  # S noise: the P coda
    noisy = three_components(2000, 100.0, rng, 60.0, pulses)
    amps = measure_sp_amplitudes(noisy, noisy, p_time, s_time)
    assert not amps.passes(3.0)


@pytest.mark.parametrize("rate_hz, low_hz, high_hz",
                         [(20.0, 1.0, 9.0), (100.0, 1.0, 40.0), (100.0, 0.05, 5.0),
                          (200.0, 8.0, 9.5), (500.0, 2.0, 225.0)])
def test_bandpass_is_scipys_causal_butterworth(rate_hz, low_hz, high_hz):
    from scipy.signal import butter, sosfilt as scipy_sosfilt, sosfreqz

    reference = butter(4, [low_hz, high_hz], btype="bandpass", fs=rate_hz, output="sos")
    sos = butterworth_bandpass(4, low_hz, high_hz, rate_hz)
    _, ours = sosfreqz(sos, 2048, fs=rate_hz)
    _, theirs = sosfreqz(reference, 2048, fs=rate_hz)
    assert np.abs(ours - theirs).max() < 1e-9
    x = np.random.default_rng(2).normal(size=4000).cumsum()
    assert np.array_equal(sosfilt(reference, x), scipy_sosfilt(reference, x))
    filtered = sosfilt(sos, x)
    assert np.abs(filtered - scipy_sosfilt(reference, x)).max() < 1e-9 * np.abs(filtered).max()
    with pytest.raises(ValueError, match="half the sampling rate"):
        butterworth_bandpass(4, 1.0, 60.0, 100.0)


def test_window_without_the_pick_is_a_clear_error():
    stream = three_components(500, 100.0, np.random.default_rng(1), 1.0, [])
    with pytest.raises(Exception, match="does not contain the pick"):
        measure_sp_amplitudes(stream, stream, START + 60, START + 70)


def analyst_windows(demo_dir, event_id=None):
    """(event_id, station, P stream, S stream, P pick, S pick) for every demo station picked for
    both (of one event, or of all)."""
    _, picks, _ = read_hypoinverse(demo_dir / "phases.arc")
    if event_id is not None:
        picks = picks[picks["event_id"] == event_id]
    for station, station_picks in picks.groupby("station"):
        stream = read(str(demo_dir / "sds" / "*" / "FF" / station / "*" / "*"))  # whole SDS folder
        for event_id, group in station_picks.groupby("event_id"):
            times = dict(zip(group["phase"], group["time"]))
            if "P" not in times or "S" not in times:
                continue
            p_time, s_time = UTCDateTime(times["P"]), UTCDateTime(times["S"])
            event = Stream([tr for tr in stream if tr.stats.starttime < p_time < tr.stats.endtime])
            yield (event_id, station, event.slice(p_time - 2, p_time + 2),
                   event.slice(s_time - 2, s_time + 3), p_time, s_time)


def test_demo_ratios_match_the_true_radiation_pattern(demo_dir):
    truth = pd.read_csv(demo_dir / "truth_picks.csv", dtype={"event_id": str}).set_index(["event_id", "station"])
    measured, expected = [], []
    for event_id, station, p, s, p_time, s_time in analyst_windows(demo_dir):
        amps = measure_sp_amplitudes(p, s, p_time, s_time)
        if amps.passes(3.0):
            measured.append(amps.log10_sp)
            expected.append(truth.loc[(event_id, station), "log10_sp_true"])
    measured, expected = np.array(measured), np.array(expected)
    # measured on this demo: 200 ratios, median |difference| 0.055, correlation 0.986
    assert len(measured) > 150
    assert np.median(np.abs(measured - expected)) < 0.1
    assert np.corrcoef(measured, expected)[0, 1] > 0.95


def window_rows(stream, pick, reference, predicted=False):
    """Store rows (times in s after ``reference``) and samples of one window's components."""
    rows = [{"network": tr.stats.network, "station": tr.stats.station,
             "location": tr.stats.location, "channel": tr.stats.channel,
             "rate_hz": tr.stats.sampling_rate, "start_s": tr.stats.starttime - reference,
             "pick_s": pick - reference, "predicted": predicted} for tr in stream]
    return rows, [tr.data.astype(np.float32) for tr in stream]


def test_windows_file_to_sp_table_with_station_corrections(demo_dir, demo_config, tmp_path):
    windows = list(analyst_windows(demo_dir, "60000001"))
    reference = windows[0][4] - 10.0
    sets = {"P": ([], []), "S": ([], [])}
    for k, (_, station, p, s, p_time, s_time) in enumerate(windows):
        for phase, stream, pick, predicted in (("P", p, p_time, False),
                                               ("S", s, s_time, k == 0)):  # a predicted S: not used
            rows, samples = window_rows(stream, pick, reference, predicted)
            sets[phase][0].extend(rows)
            sets[phase][1].extend(samples)
    # a station whose three components disagree on the pick
    rows, samples = window_rows(windows[1][2], windows[1][4], reference)
    rows[1]["pick_s"] += 0.5
    for row in rows:
        row["station"] = "ZZ99"
    sets["P"][0].extend(rows)
    sets["P"][1].extend(samples)
    rows, samples = window_rows(windows[1][3], windows[1][5], reference)
    sets["S"][0].extend({**row, "station": "ZZ99"} for row in rows)
    sets["S"][1].extend(samples)
    path = tmp_path / "windows.h5"
    write_sets(path, [WindowSet.from_rows(phase, *sets[phase]) for phase in "PS"], {})
    table, problems = measure_event_sp(path, "60000001")
    assert list(table.columns) == COLUMNS["sp_ratios"]
    assert len(table) == len(windows) - 1 and windows[0][1] not in set(table["station"])
    assert set(table["channel"]) <= {"HHZ"} and table["location"].eq("").all()
    assert problems and problems[0][0] == "FF.ZZ99" and "disagree on the pick" in problems[0][1]
    for row in table.itertuples():  # the same ratios as measured on the ObsPy streams
        _, _, p, s, p_time, s_time = next(w for w in windows if w[1] == row.station)
        assert row.amp_p == pytest.approx(measure_sp_amplitudes(p, s, p_time, s_time).amp_p)

    corrections = tmp_path / "statcor.csv"
    station = table["station"].iloc[1]
    corrections.write_text(f"station,network,sta_correction\n{station},FF,0.25\n")
    corrected, _ = measure_event_sp(path, "60000001", corrections=read_sp_corrections(corrections))
    corrected = corrected.set_index("station")["sp_ratio"]
    plain = table.set_index("station")["sp_ratio"]
    assert corrected[station] == pytest.approx(plain[station] - 0.25)
    others = plain.index.drop(station)
    pd.testing.assert_series_equal(corrected[others], plain[others])
    with pytest.raises(InputError, match="nothere.csv: S/P station-correction file not found"):
        read_sp_corrections(tmp_path / "nothere.csv")


@pytest.mark.filterwarnings("ignore:Sample spacing read from SAC file")
def test_toc2me_ratios_agree_with_the_analysts(shared_dir):
    """ToC2ME event 20161104064824.680 (500 Hz, P pick t1, S pick t2) against manual/*.amp.csv
    (linear S/P). Measured with the default settings: 18 stations, median |dlog10| 0.049,
    correlation 0.974."""
    event = "20161104064824.680"
    manual = pd.read_csv(shared_dir / "data/toc2me/manual" / f"{event}.amp.csv", skipinitialspace=True,
                         dtype={"station": str})
    manual.columns = [c.strip() for c in manual.columns]
    measured, analyst = [], []
    for row in manual.dropna(subset=["sp_ratio"]).itertuples():
        files = sorted((shared_dir / "data/toc2me/waveforms" / event).glob(f"5B.{row.station}.DH?.SAC"))
        stream = Stream([read(str(f), format="SAC")[0] for f in files])
        header = stream[0].stats.sac
        if "t1" not in header or "t2" not in header:
            continue
        reference = stream[0].stats.starttime - header.b
        p_time, s_time = reference + header.t1, reference + header.t2
        amps = measure_sp_amplitudes(stream.slice(p_time - 2, p_time + 2),
                                     stream.slice(s_time - 2, s_time + 3), p_time, s_time, SpSettings())
        measured.append(amps.log10_sp)
        analyst.append(np.log10(row.sp_ratio))
    measured, analyst = np.array(measured), np.array(analyst)
    assert len(measured) >= 15
    assert np.median(np.abs(measured - analyst)) < 0.08
    assert np.corrcoef(measured, analyst)[0, 1] > 0.95
