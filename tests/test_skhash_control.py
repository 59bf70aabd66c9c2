"""SKHASH control files: every key focalflow supports runs, every other key is named.

Each supported key of :data:`focalflow.formats.skhash.SKHASH_KEYS` is added in turn to a
control file of the ToC2ME demo (three events, SKHASH's own inputs) and the run must succeed;
an ignored or unknown key gets a warning naming it and its line; a refused value (another
input format) is an error. The files the keys name (consensus, imputed and deep-learning
polarities with weights, amplitudes, relative amplitudes, station corrections, reversals, a
SIMULPS ray file) are written by the tests from SKHASH's demo inputs.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from conftest import run_hash_in
from focalflow.formats.hash_v12 import read_simulps
from focalflow.formats.skhash import PARAM_NAMES, SKHASH_KEYS, read_skhash_control
from hash_core.geometry import flat_distance_azimuth
from hash_core.raytrace import lookup_takeoff, takeoff_table
from test_hash_drivers import place

BASE = {"catfile": "IN/SKHASH.eq_catalog.csv", "stfile": "IN/SKHASH.stations.csv",
        "fpfile": "IN/SKHASH.pol.csv", "vmodel_paths": "vz.north", "outfile1": "out.csv",
        "nmc": "5", "dang": "10", "badfrac": "0.1"}
POLARITY_FILES = ("fpfile", "impfile", "conpfile", "dlpfile")
SUPPORTED = sorted(key for key, (status, _) in SKHASH_KEYS.items() if status == "supported")
IGNORED = sorted(key for key, (status, _) in SKHASH_KEYS.items() if status == "ignored")

#: a valid value of each supported key other than a file the tests write
VALUES = {"npolmin": "7", "nmc": "4", "maxout": "100", "ratmin": "2.5", "badfrac": "0.05",
          "badmin": "1", "qbadfrac": "0.4", "qbadmin": "1.5", "delmax": "100", "cangle": "40",
          "prob_max": "0.3", "max_agap": "180", "max_pgap": "80", "dang": "8",
          "default_vert_uncert_km": "0.5", "default_horz_uncert_km": "0.2", "delmin": "0.1",
          "pmax": "60", "nump": "5000", "iterative_avg": "True",
          "perturb_epicentral_location": "True", "look_dep": "[0, 10, 1]",
          "look_del": "[0, 60, 1]", "min_polarity_weight": "0.2", "azmax": "20",
          "min_sp": "0.001", "max_sp": "1000", "allow_hypocenters_outside_table": "True",
          "require_network_match": "False", "require_station_match": "True",
          "require_location_match": "False", "require_channel_match": "False",
          "allow_duplicate_stations": "True", "remove_duplicate_stations": "True",
          "ignore_missing_metadata": "True", "min_quality_report": "D",
          "overwrite_output_file": "True", "num_cpus": "1", "input_format": "skhash",
          **{f"input_format_{kind}": "skhash"
             for kind in ("fpfile", "impfile", "conpfile", "dlpfile", "plfile", "ampfile",
                          "relampfile", "stfile")},
          "catfile": "IN/SKHASH.eq_catalog.csv", "stfile": "IN/SKHASH.stations.csv",
          "vmodel_paths": "vz.north", "outfile1": "out1.csv", "outfile2": "out2.csv",
          "outfile_pol_info": "polinfo.csv", "fpfile": "weighted.csv", "impfile": "weighted.csv",
          "conpfile": "weighted.csv", "dlpfile": "weighted.csv", "plfile": "reversals.csv",
          "corfile": "statcor.csv", "ampfile": "amp.csv", "relampfile": "rel.csv",
          "simulpsfile": "rays.simulps"}


@pytest.fixture
def toc2me(shared_dir, tmp_path):
    """SKHASH's ToC2ME demo inputs in ``tmp_path`` and the files the keys name."""
    demo = shared_dir / "data" / "toc2me" / "skhash_demo"
    (tmp_path / "IN").mkdir()
    for path in (demo / "IN").iterdir():
        (tmp_path / "IN" / path.name).symlink_to(path)
    (tmp_path / "vz.north").symlink_to(demo / "vz.north")
    pol = pd.read_csv(demo / "IN" / "SKHASH.pol.csv", dtype=str)
    # weights as a CNN's probabilities: p_polarity a signed weight in (0, 1]
    weights = np.random.default_rng(0).uniform(0.3, 1.0, len(pol)).round(2)
    pol.assign(p_polarity=pol["p_polarity"].astype(float) * weights) \
        .to_csv(tmp_path / "weighted.csv", index=False)
    (tmp_path / "reversals.csv").write_text(
        "network,station,location,channel,start_time,end_time\n"
        "5B,1107,--,DHZ,2016-01-01,2017-01-01\n")
    (tmp_path / "statcor.csv").write_text("network,station,location,channel,sta_correction\n"
                                          "5B,1108,--,DHZ,0.1\n")
    first = pol[pol["event_id"] == "1"].drop(columns="p_polarity")
    for name, rows in (("amp.csv", first.head(6)), ("rel.csv", first.iloc[6:12])):
        rows.assign(sp_ratio=np.linspace(0.5, 4.0, len(rows))) \
            .to_csv(tmp_path / name, index=False)
    write_simulps(tmp_path, pol)
    return tmp_path


def write_simulps(folder, pol: pd.DataFrame) -> None:
    """A SIMULPS ray file (HASH driver 5's layout) for the demo's events and polarities, the
    take-off angles from the demo's velocity model."""
    events = pd.read_csv(folder / "IN" / "SKHASH.eq_catalog.csv", dtype={"event_id": str})
    stations = pd.read_csv(folder / "IN" / "SKHASH.stations.csv", dtype={"station": str})
    model = np.loadtxt(folder / "vz.north", delimiter=",")
    table = takeoff_table(model[:, 0], model[:, 1])
    lines = ["SIMULPS rays written by focalflow's tests", "(two header lines)"]
    for event in events.itertuples(index=False):
        time = pd.Timestamp(event.time)
        lat, lon = abs(event.latitude), abs(event.longitude)
        lines += ["", "", place(68, {
            2: time.strftime("%y%m%d"), 9: time.strftime("%H%M"),
            14: f"{time.second + time.microsecond / 1e6:5.2f}", 20: f"{int(lat):2d}",
            23: f"{(lat - int(lat)) * 60:5.2f}", 29: f"{int(lon):3d}",
            33: f"{(lon - int(lon)) * 60:5.2f}", 39: f"{event.depth:6.2f}", 48: "1.00",
            56: str(event.event_id).rjust(8)}), "", ""]
        here = stations[stations["station"].isin(pol.loc[pol["event_id"] == event.event_id,
                                                         "station"])]
        distance, azimuth = flat_distance_azimuth(event.latitude, event.longitude,
                                                  here["latitude"].to_numpy(float),
                                                  here["longitude"].to_numpy(float))
        takeoff, _ = lookup_takeoff(table, distance, event.depth, edges="clamp")
        for station, d, a, t in zip(here["station"], distance, azimuth, takeoff):
            lines.append(place(73, {2: station, 7: f"{d:5.1f}", 12: f"{round(a):4d}",
                                    16: f"{round(180 - t):4d}", 66: "   5", 70: "   5"}))
        lines.append("")
    (folder / "rays.simulps").write_text("\n".join(lines) + "\n")


def write_control(folder, keys: dict) -> None:
    lines = []
    for key, value in keys.items():
        lines += [f"${key}", value]
    (folder / "control.txt").write_text("\n".join(lines) + "\n")


def test_every_key_of_the_manual_is_supported_ignored_or_refused():
    assert set(VALUES) == set(SUPPORTED)
    assert set(PARAM_NAMES) < set(SUPPORTED)
    assert {status for status, _ in SKHASH_KEYS.values()} <= {"supported", "ignored",
                                                               "refused"}


@pytest.mark.parametrize("key", SUPPORTED)
def test_each_supported_key_runs(toc2me, key, caplog):
    keys = {name: value for name, value in BASE.items()
            if not (key in POLARITY_FILES and name == "fpfile")}
    keys[key] = VALUES[key]
    write_control(toc2me, keys)
    caplog.set_level(logging.WARNING)
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 0, caplog.text
    out = toc2me / (VALUES[key] if key == "outfile1" else "out.csv")
    mechanisms = pd.read_csv(out, dtype={"event_id": str})
    assert set(mechanisms["event_id"]) <= {"1", "2", "3"} and len(mechanisms)
    assert f"${key} is not" not in caplog.text        # no warning about the key itself
    if key in ("outfile2", "outfile_pol_info"):
        assert (toc2me / VALUES[key]).stat().st_size > 0


def polinfo(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "out_polinfo.csv", dtype={"event_id": str})


def test_files_named_by_keys_reach_the_observations(toc2me):
    # weights, reversals, S/P ratios with station corrections, relative ratios
    write_control(toc2me, {**BASE, "fpfile": "weighted.csv", "plfile": "reversals.csv",
                           "ampfile": "amp.csv", "relampfile": "rel.csv",
                           "corfile": "statcor.csv"})
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 0
    info = polinfo(toc2me)
    weighted = pd.read_csv(toc2me / "weighted.csv", dtype={"event_id": str, "station": str})
    kept = weighted[weighted["p_polarity"].abs() >= 0.1]            # $min_polarity_weight
    pol_rows = info[info["source"] == "trad_p"]
    assert len(pol_rows) == len(kept)
    assert (info["source"] == "trad_sp").sum() == (info["source"] == "rel_sp").sum() == 6
    assert pol_rows["pol_agreement_weighted"].dropna().between(-1, 1).all()
    plain = weighted.assign(sta_code=lambda f: "5B." + f["station"] + ".--.DHZ")
    first = pol_rows[(pol_rows["event_id"] == "1") & pol_rows["sta_code"].str.contains("1107")]
    written = weighted[(weighted["event_id"] == "1") & (weighted["station"] == "1107")]
    assert len(plain) and np.sign(first["p_polarity"].iloc[0]) == -np.sign(
        written["p_polarity"].iloc[0])                              # reversed by $plfile
    sp = info[(info["source"] == "trad_sp") & info["sta_code"].str.contains("1108")]
    assert len(sp) == 1


def test_simulps_angles_replace_the_ray_tracing(toc2me):
    write_control(toc2me, {**BASE, "simulpsfile": "rays.simulps"})
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 0
    _, rays, _ = read_simulps(toc2me / "rays.simulps")
    info = polinfo(toc2me)
    info["station"] = info["sta_code"].str.split(".").str[1]
    both = info.merge(rays, on=["event_id", "station"])
    assert len(both) == len(info) > 100
    assert np.allclose(both["takeoff"], both["takeoff_deg"], atol=0.05)
    assert np.allclose(both["azimuth"], both["azimuth_deg"], atol=0.05)


def test_duplicate_polarities_follow_skhash_rules(toc2me):
    keys = {**BASE, "conpfile": "weighted.csv"}        # every receiver twice
    write_control(toc2me, keys)
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 2
    write_control(toc2me, {**keys, "remove_duplicate_stations": "True"})
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 0
    assert set(polinfo(toc2me).query("source != 'trad_sp'")["source"]) == {"trad_p"}
    write_control(toc2me, {**keys, "allow_duplicate_stations": "True"})
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 0
    assert set(polinfo(toc2me)["source"]) == {"trad_p", "con_p"}


def test_ignored_and_unknown_keys_are_named_in_a_warning(toc2me, caplog):
    keys = {**BASE, **{key: "x" for key in IGNORED}, "no_such_key": "1"}
    write_control(toc2me, keys)
    caplog.set_level(logging.WARNING)
    control = read_skhash_control(toc2me / "control.txt", base_dir=toc2me)
    assert set(control.ignored) == set(IGNORED)
    for key in IGNORED:
        line = list(keys).index(key) * 2 + 1
        assert f"line {line}: ${key} is not used by focalflow" in caplog.text, key
    assert "$no_such_key is not an SKHASH key" in caplog.text
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 0


@pytest.mark.parametrize("key", ["input_format", "input_format_fpfile", "input_format_stfile"])
def test_another_input_format_is_refused(toc2me, key, capsys):
    write_control(toc2me, {**BASE, key: "hash2"})
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 2
    assert f"line {len(BASE) * 2 + 2}: ${key} hash2 is not supported" in capsys.readouterr().err


def test_an_existing_output_is_kept_when_overwrite_is_false(toc2me):
    write_control(toc2me, {**BASE, "overwrite_output_file": "False"})
    (toc2me / "out.csv").write_text("keep me\n")
    assert run_hash_in(toc2me, ["--skhash-control", "control.txt"]) == 2
    assert (toc2me / "out.csv").read_text() == "keep me\n"


def test_the_readme_table_is_the_registry(repo_dir):
    rows = [line for line in (repo_dir / "README.md").read_text().splitlines()
            if line.startswith("| `$")]
    table = {row.split("|")[1].strip().strip("`$"): (row.split("|")[2].strip(),
                                                       row.split("|")[3].strip())
             for row in rows}
    assert table == SKHASH_KEYS
