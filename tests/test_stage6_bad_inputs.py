"""Stage 6 on inputs with problems: each problem is reported and graded or skipped, never fatal.

The inputs are small synthetic SKHASH and HASH files written here: polarities of a known
mechanism seen through a 1-D model, then spoiled one way each (too few polarities, a station
missing from the station table, a depth below the velocity table, a NaN take-off angle, an
empty S/P table, a malformed phase line).
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from conftest import run_hash_in
from hash_core.geometry import kagan_angle, ray_vectors, sdr_to_vectors
from hash_core.raytrace import lookup_takeoff, takeoff_table

TRUE_SDR = (30.0, 60.0, 90.0)
MODEL = "0 5.5\n5 6.0\n15 6.5\n30 7.8\n"


def _stations(n: int, radius_km: float, lat0: float = 35.0, lon0: float = -117.0) -> pd.DataFrame:
    azimuth = np.radians(np.linspace(0, 360, n, endpoint=False) + 7.0)
    radius = radius_km * (0.6 + 0.4 * (np.arange(n) % 3) / 2)
    lat = lat0 + radius * np.cos(azimuth) / 111.2
    lon = lon0 + radius * np.sin(azimuth) / (111.2 * np.cos(np.radians(lat0)))
    return pd.DataFrame({"station": [f"S{i:02d}" for i in range(n)], "network": "XX",
                         "location": "--", "channel": "HHZ", "latitude": lat.round(5),
                         "longitude": lon.round(5), "elevation": 0})


def _polarities(stations: pd.DataFrame, depth_km: float, lat0: float = 35.0,
                lon0: float = -117.0) -> np.ndarray:
    """True first motions of TRUE_SDR at ``stations`` for a source at ``depth_km``."""
    from hash_core.geometry import flat_distance_azimuth

    depths = np.array([0, 5, 15, 30.0])
    table = takeoff_table(depths, np.array([5.5, 6.0, 6.5, 7.8]))
    distance, azimuth = flat_distance_azimuth(lat0, lon0, stations["latitude"], stations["longitude"])
    takeoff, _ = lookup_takeoff(table, distance, min(depth_km, 39.0))
    normal, slip = sdr_to_vectors(*TRUE_SDR)
    rays = ray_vectors(takeoff, azimuth)
    return np.where((rays @ normal) * (rays @ slip) > 0, 1, -1)



def _control(folder, **files) -> None:
    lines = [f"${key}\n{value}\n" for key, value in files.items()]
    lines += ["$vmodel_paths\nmodel.txt\n", "$dang\n10\n", "$nmc\n10\n", "$badfrac\n0.1\n",
              "$max_agap\n180\n", "$max_pgap\n90\n", "$delmax\n200\n"]
    (folder / "control.txt").write_text("".join(lines))
    (folder / "model.txt").write_text(MODEL)


@pytest.fixture(scope="module")
def spoiled_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spoiled")
    stations = _stations(24, 30.0)
    rows = []
    for event_id, depth, n in (("good", 8.0, 24), ("few", 8.0, 4), ("deep", 60.0, 24)):
        pol = _polarities(stations, min(depth, 30.0))
        for k in range(n):
            rows.append({"event_id": event_id, "station": stations["station"][k], "network": "XX",
                         "location": "--", "channel": "HHZ", "p_polarity": pol[k]})
    rows.append({"event_id": "good", "station": "NOPE", "network": "XX", "location": "--",
                 "channel": "HHZ", "p_polarity": 1})
    pd.DataFrame(rows).to_csv(folder / "pol.csv", index=False)
    stations.to_csv(folder / "stations.csv", index=False)
    pd.DataFrame({"event_id": ["good", "few", "deep"], "time": "2020-01-01T00:00:00",
                  "latitude": 35.0, "longitude": -117.0, "depth": [8.0, 8.0, 60.0],
                  "horz_uncert_km": 0.5, "vert_uncert_km": 1.0, "mag": 2.0}) \
        .to_csv(folder / "catalog.csv", index=False)
    (folder / "amp.csv").write_text("event_id,station,network,location,channel,sp_ratio\n")
    _control(folder, catfile="catalog.csv", stfile="stations.csv", fpfile="pol.csv",
             ampfile="amp.csv")
    code = run_hash_in(folder, ["--skhash-control", "control.txt", "--out", "mechanisms.csv"])
    return folder, code


def test_good_event_is_solved_despite_its_neighbours(spoiled_run):
    folder, code = spoiled_run
    assert code == 0
    mechanisms = pd.read_csv(folder / "mechanisms.csv", dtype={"event_id": str})
    good = mechanisms[mechanisms["event_id"] == "good"].iloc[0]
    assert good["num_p_pol"] == 24 and good["quality"] in "ABCD"
    assert kagan_angle(np.array(TRUE_SDR), good[["strike", "dip", "rake"]].to_numpy(float)) < 20


def test_too_few_polarities_give_quality_f_and_a_reason(spoiled_run):
    folder, _ = spoiled_run
    mechanisms = pd.read_csv(folder / "mechanisms.csv", dtype={"event_id": str})
    few = mechanisms[mechanisms["event_id"] == "few"].iloc[0]
    assert few["quality"] == "F" and np.isnan(few["strike"]) and few["num_p_pol"] == 4
    failures = pd.read_csv(folder / "mechanisms_failures.csv", dtype=str, keep_default_na=False)
    assert failures[failures["event_id"] == "few"]["reason"].str.contains("only 4 polarities").any()


def test_missing_station_and_deep_event_are_reported(spoiled_run):
    folder, _ = spoiled_run
    failures = pd.read_csv(folder / "mechanisms_failures.csv", dtype=str, keep_default_na=False)
    missing = failures[failures["station"].str.contains("NOPE")]
    assert len(missing) == 1 and "not in the station table" in missing.iloc[0]["reason"]
    deep = failures[failures["event_id"] == "deep"]["reason"]
    assert deep.str.contains("depth 60 km outside the velocity table").any()
    mechanisms = pd.read_csv(folder / "mechanisms.csv", dtype={"event_id": str})
    assert "deep" not in set(mechanisms["event_id"])


def test_nan_angle_drops_that_observation_only(tmp_path):
    stations = _stations(16, 30.0)
    pol = _polarities(stations, 8.0)
    from hash_core.geometry import flat_distance_azimuth
    distance, azimuth = flat_distance_azimuth(35.0, -117.0, stations["latitude"],
                                              stations["longitude"])
    table = takeoff_table(np.array([0, 5, 15, 30.0]), np.array([5.5, 6.0, 6.5, 7.8]))
    takeoff, _ = lookup_takeoff(table, distance, 8.0)
    takeoff[3] = np.nan
    frame = stations[["station", "network", "location", "channel"]].assign(
        event_id="e1", p_polarity=pol, takeoff=takeoff.round(1), azimuth=azimuth.round(1),
        takeoff_uncertainty=5, azimuth_uncertainty=2, origin_latitude=35.0,
        origin_longitude=-117.0, origin_depth_km=8.0)
    frame.to_csv(tmp_path / "pol.csv", index=False)
    _control(tmp_path, fpfile="pol.csv")
    assert run_hash_in(tmp_path, ["--skhash-control", "control.txt", "--out", "m.csv"]) == 0
    mechanisms = pd.read_csv(tmp_path / "m.csv")
    assert mechanisms.iloc[0]["num_p_pol"] == 15
    failures = pd.read_csv(tmp_path / "m_failures.csv", dtype=str, keep_default_na=False)
    assert failures["station"].str.contains("S03").any()
    assert failures["reason"].str.contains("not a number").any()


def test_malformed_hash_phase_line_is_reported(shared_dir, tmp_path):
    examples = shared_dir / "data" / "hash_examples"
    lines = (examples / "north1.phase").read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if i and not line[:4].strip())
    broken = lines[: end + 1]
    broken[2] = broken[2][:58] + "x.y." + broken[2][62:]
    (tmp_path / "broken.phase").write_text("\n".join(broken) + "\n")
    (tmp_path / "scsn.reverse").symlink_to(examples / "scsn.reverse")
    inp = (examples / "example1.inp").read_text().replace("north1.phase", "broken.phase")
    (tmp_path / "broken.inp").write_text(inp)
    assert run_hash_in(tmp_path, ["--hash-inp", "broken.inp", "--driver", "1", "--out", "m.csv"]) == 0
    failures = pd.read_csv(tmp_path / "m_failures.csv", dtype=str, keep_default_na=False)
    assert failures["reason"].str.contains("broken.phase, line 3").any()
    assert len(pd.read_csv(tmp_path / "m.csv")) >= 1


def test_unreadable_control_file_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "bad.inp").write_text("only one line\n")
    assert run_hash_in(tmp_path, ["--hash-inp", "bad.inp", "--driver", "1", "--out", "m.csv"]) == 2
    assert "bad.inp: driver 1 control file needs 14 lines" in capsys.readouterr().err
    assert run_hash_in(tmp_path, ["--hash-inp", "bad.inp", "--out", "m.csv"]) == 2
    assert "--hash-inp needs --driver" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()
