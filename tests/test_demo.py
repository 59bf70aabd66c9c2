"""The offline synthetic demo: what it writes, that it is realistic where it matters, and that
the same seed gives the same bytes."""
import filecmp

import numpy as np
import pandas as pd
import pytest
from obspy import UTCDateTime, read_inventory
from obspy.clients.filesystem.sds import Client

from focalflow.demo import generate
from focalflow.demo.__main__ import main
from focalflow.errors import FocalflowError
from focalflow.formats.hypoinverse import read_hypoinverse


@pytest.fixture(scope="module")
def truth(demo_dir):
    return pd.read_csv(demo_dir / "truth.csv", dtype={"event_id": str})


@pytest.fixture(scope="module")
def truth_picks(demo_dir):
    return pd.read_csv(demo_dir / "truth_picks.csv", dtype={"event_id": str})


def test_ten_events_of_every_faulting_style(truth):
    assert len(truth) == 10 and truth["event_id"].is_unique
    rake = truth["rake"]
    assert ((rake.abs() < 30) | (rake.abs() > 150)).sum() >= 2          # strike-slip
    assert ((rake > 60) & (rake < 120)).sum() >= 2                      # reverse
    assert ((rake < -60) & (rake > -120)).sum() >= 2                    # normal
    assert truth["mag"].between(1.5, 3.5).all() and truth["depth"].between(3, 15).all()


def test_phase_file_reads_back_with_analyst_like_picks(demo_dir, truth):
    events, picks, problems = read_hypoinverse(demo_dir / "phases.arc")
    assert problems == []
    assert sorted(events["event_id"]) == sorted(truth["event_id"])
    p, s = picks[picks["phase"] == "P"], picks[picks["phase"] == "S"]
    assert len(p) > 200 and len(s) > 200
    assert set(p["onset"]) == {"i", "e"} and set(p["polarity"]) == {"U", "D", ""}
    assert (p.loc[p["onset"] == "i", "weight"] <= 1).all()
    assert (p.loc[p["onset"] == "e", "weight"] >= 2).all()


def test_analyst_polarities_follow_the_recorded_first_motion(demo_dir, truth_picks):
    _, picks, _ = read_hypoinverse(demo_dir / "phases.arc")
    given = picks[(picks["phase"] == "P") & (picks["polarity"] != "")]
    merged = given.merge(truth_picks, on=["event_id", "station"])
    recorded = np.where(merged["polarity"] == "U", 1, -1)
    assert (recorded == merged["first_motion_recorded"]).mean() >= 0.97
    # the reversed station's analyst polarities are flipped relative to ground motion
    flipped = merged[merged["reversed"]]
    assert len(flipped) >= 2
    assert (np.where(flipped["polarity"] == "U", 1, -1) == -flipped["first_motion_ground"]).mean() >= 0.9


def test_reversal_table_covers_exactly_the_flipped_recordings(demo_dir, truth, truth_picks):
    reversals = pd.read_csv(demo_dir / "reversals.csv", dtype=str)
    assert list(reversals.columns) == ["network", "station", "start", "end"] and len(reversals) == 1
    row = reversals.iloc[0]
    inside = {e.event_id for e in truth.itertuples()
              if UTCDateTime(row["start"]) <= UTCDateTime(e.time) <= UTCDateTime(row["end"])}
    flagged = truth_picks[truth_picks["reversed"]]
    assert set(flagged["station"]) == {row["station"]} and set(flagged["event_id"]) == inside
    assert 0 < len(inside) < len(truth)


def test_waveforms_in_sds_with_stationxml_and_rotated_components(demo_dir, truth_picks):
    client = Client(str(demo_dir / "sds"))
    pick = truth_picks.iloc[0]
    p_time = UTCDateTime(pick["p_time"])
    stream = client.get_waveforms("FF", pick["station"], "", "HH?", p_time - 20, p_time + 20)
    assert len(stream) == 3 and {tr.stats.sampling_rate for tr in stream} == {100.0}
    inventories = sorted((demo_dir / "stationxml").glob("FF.*.xml"))
    assert len(inventories) == 30
    rotated = read_inventory(str(demo_dir / "stationxml" / "FF.ST05.xml"))
    channels = {c.code: c for c in rotated[0][0]}
    assert set(channels) == {"HHZ", "HH1", "HH2"}
    assert channels["HH1"].azimuth not in (0.0, 90.0)
    assert channels["HH2"].azimuth == pytest.approx((channels["HH1"].azimuth + 90) % 360)
    sensitivity = channels["HHZ"].response.instrument_sensitivity
    assert sensitivity.input_units == "M/S" and sensitivity.value > 1e7


def test_first_motion_on_the_vertical_matches_the_truth(demo_dir, truth_picks):
    """Compression gives an upward first motion on HHZ (flipped on the reversed station)."""
    client = Client(str(demo_dir / "sds"))
    clear = truth_picks[(truth_picks["snr_p"] > 100) & (truth_picks["p_radiation"].abs() > 0.3)]
    checked = 0
    for row in clear.head(40).itertuples():
        p_time = UTCDateTime(row.p_time)
        trace = client.get_waveforms("FF", row.station, "", "HHZ", p_time - 1.0, p_time + 0.3)[0]
        data = trace.data.astype(float) - trace.data[:90].mean()
        onset = data[100:130]
        first = onset[np.argmax(np.abs(onset) > 0.2 * np.abs(onset).max())]
        assert np.sign(first) == row.first_motion_recorded, row
        checked += 1
    assert checked >= 30


def test_same_seed_same_bytes_and_refuses_foreign_folders(demo_dir, tmp_path):
    again = generate(tmp_path / "again", seed=0)
    left = sorted(p.relative_to(demo_dir) for p in demo_dir.rglob("*") if p.is_file())
    right = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert left == right
    assert all(filecmp.cmp(demo_dir / p, again / p, shallow=False) for p in left)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(FocalflowError, match="not a focalflow demo folder"):
        generate(foreign)
    assert main(["--out", str(foreign)]) == 2  # a user error: status 2, one line
    assert (foreign / "thesis.tex").read_text() == "precious"
