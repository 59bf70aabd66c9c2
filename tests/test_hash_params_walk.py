"""Every HASH parameter reaches the kernel with the value its source gave: each HASH ``.inp``
line, each SKHASH control key focalflow supports, each ``hash.*`` config key and each
command-line flag, in every mode. A spy replaces the kernel entry
(``hash_core.focal.focal_mechanism`` as stage 6 calls it) and records what it receives."""
from __future__ import annotations

import math
from dataclasses import fields, replace

import numba
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_hash_in
from focalflow.config import HashConfig, config_from_dict
from focalflow.formats.skhash import PARAM_NAMES, SKHASH_DEFAULTS
from focalflow.mechanisms import solve
from focalflow.stages import run_hash
from focalflow.tables import write_table
from hash_core.focal import focal_mechanism
from hash_core.params import HashParams, RunPolicy, describe
from hash_core.rng import HashStream, NumpyStream, make_rng
from hash_core.search import get_threads, set_threads

#: hash.* keys that shape the observations, not the kernel's parameters
OBSERVATION_KEYS = {"polarity_source", "velocity_models", "use_sp_ratios", "sp_freqmin_hz",
                    "sp_freqmax_hz", "sp_p_window_s", "sp_s_window_s", "sp_noise_window_s",
                    "sp_corrections_file", "polarity_weights", "consensus", "polarity_files"}
#: valid values away from the default where halving it would not do
OTHER_VALUES = {"threads": 1, "delmin_km": 1.0, "max_takeoff_sigma_deg": 60.0}


@pytest.fixture
def kernel_calls(monkeypatch):
    """Calls of the kernel entry: (params, rng, numba threads), and the real result."""
    calls = []

    def spy(takeoff, azimuth, polarity, impulsive, sp_log10, params, rng, parallel,
            weight=None):
        calls.append({"params": params, "rng": rng, "threads": get_threads(), "weight": weight})
        return focal_mechanism(takeoff, azimuth, polarity, impulsive, sp_log10, params, rng,
                               parallel, weight)

    before = get_threads()
    monkeypatch.setattr(solve, "focal_mechanism", spy)
    yield calls
    set_threads(before)


def other_value(cls, name):
    """A valid value of field ``name`` different from its default."""
    item = next(f for f in fields(cls) if f.name == name)
    default = item.default
    if name in OTHER_VALUES:
        return OTHER_VALUES[name]
    if "choices" in item.metadata:
        return next(c for c in item.metadata["choices"] if c != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, tuple):      # (first, last, step) of a table axis
        return tuple(v / 2 for v in default)
    return default / 2


# ----------------------------------------------------------------- working directory, config
@pytest.fixture
def tiny_workdir(tmp_path, repo_dir):
    """One event, twelve CNN polarities of a known mechanism at stations around it."""
    from hash_core.geometry import flat_distance_azimuth, ray_vectors, sdr_to_vectors
    from hash_core.raytrace import lookup_takeoff
    from focalflow.mechanisms.solve import velocity_tables

    wd = tmp_path / "work"
    wd.mkdir()
    write_table(pd.DataFrame([{"event_id": "e1", "time": "2024-05-06T02:40:13.91Z",
                               "latitude": 36.0, "longitude": -118.0, "depth": 8.0,
                               "horz_uncert_km": 0.5, "vert_uncert_km": 1.0, "mag": 2.0}]),
                wd / "events.csv", "events")
    angles = np.radians(np.arange(12) * 30.0)
    lat, lon = 36.0 + 0.2 * np.cos(angles), -118.0 + 0.25 * np.sin(angles)
    distance, azimuth = flat_distance_azimuth(36.0, -118.0, lat, lon)
    table = velocity_tables([repo_dir / "velocity" / "demo.txt"])[0]
    takeoff, _ = lookup_takeoff(table, distance, 8.0)
    normal, slip = sdr_to_vectors(30.0, 60.0, 90.0)
    rays = ray_vectors(takeoff, azimuth)
    polarity = np.where((rays @ normal) * (rays @ slip) > 0, 1, -1)
    stations = [{"network": "FF", "station": f"S{k:02d}", "location": "", "channel": "HHZ",
                 "latitude": lat[k], "longitude": lon[k], "elevation": 0.0, "azimuth": 0.0,
                 "dip": -90.0, "sampling_rate": 100.0, "start": "", "end": "",
                 "has_metadata": True} for k in range(12)]
    write_table(pd.DataFrame(stations), wd / "stations.csv", "stations")
    write_table(pd.DataFrame([{**{c: s[c] for c in ("network", "station", "location", "channel")},
                               "event_id": "e1", "p_polarity": int(p), "prob_up": 0.9,
                               "prob_down": 0.1, "prob_undecided": 0.0, "clarity": "I",
                               "model": "test"} for s, p in zip(stations, polarity)]),
                wd / "polarities.csv", "polarities")
    return tmp_path


def workdir_config(folder, repo_dir, **hash_keys) -> dict:
    return {"workdir": str(folder / "work"),
            "hash": {"velocity_models": [str(repo_dir / "velocity" / "demo.txt")],
                     "use_sp_ratios": False, "dang_deg": 10.0, "nmc": 5, **hash_keys},
            "output": {"figures": False, "report": False, "quakeml": False}}


def run_workdir(folder, settings: dict, *flags: str) -> int:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    return run_hash.main(["--config", str(path), "--overwrite", *flags])


def test_every_config_key_reaches_the_kernel(tiny_workdir, repo_dir, kernel_calls):
    params_keys = [f.name for f in fields(HashParams) if f.name in HashConfig.model_fields]
    policy_keys = [f.name for f in fields(RunPolicy)]
    assert set(HashConfig.model_fields) == set(params_keys) | set(policy_keys) | OBSERVATION_KEYS
    base = workdir_config(tiny_workdir, repo_dir)
    expected_base = replace(HashParams(), dang_deg=10.0, nmc=5)
    for name in params_keys:
        value = other_value(HashParams, name)
        kernel_calls.clear()
        assert run_workdir(tiny_workdir, {**base, "hash": {**base["hash"], name: value}}) == 0
        assert kernel_calls, name
        received = kernel_calls[-1]["params"]
        assert received == replace(expected_base, **{name: value}), name
    # the run policy: random stream and seed reach the event's stream, threads numba
    kernel_calls.clear()
    run_workdir(tiny_workdir, {**base, "hash": {**base["hash"], "rng": "hash"}})
    assert isinstance(kernel_calls[-1]["rng"], HashStream)
    run_workdir(tiny_workdir, {**base, "hash": {**base["hash"], "seed": 7, "threads": 1}})
    assert isinstance(kernel_calls[-1]["rng"], NumpyStream)
    assert kernel_calls[-1]["rng"].seed[0] == 7 and kernel_calls[-1]["threads"] == 1


def test_command_line_flags_override_the_config_once(tiny_workdir, repo_dir, kernel_calls):
    settings = workdir_config(tiny_workdir, repo_dir, seed=3, threads=1)
    assert run_workdir(tiny_workdir, settings, "--seed", "11", "--threads", "0",
                       "--misfit-weights", "hash_v12") == 0
    call = kernel_calls[-1]
    assert call["rng"].seed[0] == 11                            # --seed is not ignored
    assert call["threads"] == numba.config.NUMBA_NUM_THREADS     # --threads 0: all cores
    assert call["params"].misfit_weights == "hash_v12"
    assert run_workdir(tiny_workdir, settings, "--rng", "hash") == 0
    assert isinstance(kernel_calls[-1]["rng"], HashStream)
    assert run_workdir(tiny_workdir, settings, "--seed", "-1") == 2   # checked like the key


def test_parameter_ranges_live_in_hash_core():
    for item in fields(HashParams):
        field = HashConfig.model_fields.get(item.name)
        if field is not None:
            assert field.default == item.default and field.description == item.metadata["doc"]
    assert describe(HashParams, "dang_deg") == {"default": 5.0, "ge": 1, "le": 30,
                                               "description": "Grid angle of the mechanism search."}
    with pytest.raises(ValueError, match="dang_deg 0.5 must be >= 1"):
        HashParams(dang_deg=0.5)
    with pytest.raises(Exception, match="greater than or equal to 1"):
        config_from_dict({"hash": {"dang_deg": 0.5}})


# ------------------------------------------------------------------------------ HASH .inp
HASH_INP_VALUES = {  # driver -> (HashParams name, value written), in the file's order
    1: [("npolmin", 7), ("max_agap_deg", 80.0), ("max_pgap_deg", 50.0), ("dang_deg", 4.0),
        ("nmc", 20), ("maxout", 250), ("badfrac", 0.2), ("delmax_km", 110.0),
        ("cangle_deg", 40.0), ("prob_max", 0.3)],
    3: [("npolmin", 7), ("dang_deg", 4.0), ("nmc", 20), ("maxout", 250), ("ratmin", 2.5),
        ("badfrac", 0.2), ("qbadfac", 0.4), ("delmax_km", 110.0), ("cangle_deg", 40.0),
        ("prob_max", 0.3)],
}


@pytest.fixture
def hash_examples(shared_dir, tmp_path):
    for path in (shared_dir / "data" / "hash_examples").iterdir():
        (tmp_path / path.name).symlink_to(path)
    return tmp_path


@pytest.mark.parametrize("driver", [1, 3])
def test_every_hash_inp_line_reaches_the_kernel(hash_examples, kernel_calls, driver):
    values = HASH_INP_VALUES[driver]
    files = {1: ["scsn.reverse", "north1.phase", "t.out", "t.out2"],
             3: ["scsn.stations", "scsn.reverse", "north3.statcor", "north3.amp",
                 "north2.phase", "t.out"]}[driver]
    models = ["1", "vz.socal"] if driver == 3 else []
    (hash_examples / "walk.inp").write_text(
        "\n".join(files + [str(v) for _, v in values] + models) + "\n")
    assert run_hash_in(hash_examples, ["--hash-inp", "walk.inp", "--driver", str(driver),
                                       "--out", "walk.csv"]) == 0
    # what the file does not say, HASH v1.2 does: its misfit weights, table edges, letters
    # and no search for a gapped event; driver 3 every event with S/P, its fixed gap limits
    # and no distance limit (hash_driver3.f reads delmax and never applies it)
    behaviour = {"misfit_weights": "hash_v12", "table_edges": "hash_v12",
                 "honest_quality": False, "gap_skips_search": True}
    if driver == 3:
        behaviour.update(always_sp=True, max_agap_deg=360.0, max_pgap_deg=90.0,
                         delmax_km=math.inf)
    expected = HashParams(**{**dict(values), **behaviour})
    assert {repr(call["params"]) for call in kernel_calls} == {repr(expected)}
    assert {type(call["rng"]) for call in kernel_calls} == {NumpyStream}


# ------------------------------------------------------------------------- SKHASH control
def skhash_inputs(folder, keys: dict) -> None:
    """A one-event SKHASH run with precomputed angles and the control ``keys``."""
    folder.joinpath("cat.csv").write_text(
        "event_id,time,latitude,longitude,depth,horz_uncert_km,vert_uncert_km,mag\n"
        "1,2016-11-04T06:48:24.68,54.4,-117.3,3.2,0.1,0.0,1.0\n")
    g = np.random.default_rng(0)
    rows = ["event_id,network,station,location,channel,p_polarity,takeoff,azimuth,"
            "takeoff_uncertainty,azimuth_uncertainty"]
    for k in range(12):
        rows.append(f"1,5B,S{k},--,DHZ,{g.choice([-1, 1])},{g.uniform(20, 160):.1f},"
                    f"{30 * k},5,5")
    folder.joinpath("pol.csv").write_text("\n".join(rows) + "\n")
    lines = ["$catfile", "cat.csv", "$fpfile", "pol.csv", "$outfile1", "out.csv"]
    for key, value in keys.items():
        lines += [f"${key}", str(value)]
    folder.joinpath("control.txt").write_text("\n".join(lines) + "\n")


def test_every_skhash_key_reaches_the_kernel(tmp_path, kernel_calls):
    keys = {"npolmin": 7, "nmc": 20, "maxout": 250, "ratmin": 2.5, "badfrac": 0.05,
            "badmin": 3, "qbadfrac": 0.4, "qbadmin": 1.5, "delmax": 110, "cangle": 40,
            "prob_max": 0.3, "max_agap": 80, "max_pgap": 50, "dang": 4,
            "default_vert_uncert_km": 0.5, "default_horz_uncert_km": 0.7, "delmin": 1,
            "pmax": 60, "nump": 8000, "iterative_avg": True,
            "perturb_epicentral_location": True}
    assert set(keys) == set(PARAM_NAMES)
    skhash_inputs(tmp_path, keys)
    assert run_hash_in(tmp_path, ["--skhash-control", "control.txt"]) == 0
    expected = replace(SKHASH_DEFAULTS, **{PARAM_NAMES[k]: v for k, v in keys.items()})
    assert kernel_calls[-1]["params"] == expected
    assert kernel_calls[-1]["params"].badmin == 3 and kernel_calls[-1]["params"].qbadmin == 1.5


def test_skhash_defaults_delmax_and_its_zero(tmp_path, kernel_calls):
    skhash_inputs(tmp_path, {})
    assert run_hash_in(tmp_path, ["--skhash-control", "control.txt", "--seed", "5"]) == 0
    received = kernel_calls[-1]["params"]
    assert received == SKHASH_DEFAULTS and received.delmax_km == 120.0    # as SKHASH
    assert received.prob_max == 0.2 and kernel_calls[-1]["rng"].seed[0] == 5
    skhash_inputs(tmp_path, {"delmax": 0})
    assert run_hash_in(tmp_path, ["--skhash-control", "control.txt"]) == 0
    assert math.isinf(kernel_calls[-1]["params"].delmax_km)             # no limit
    skhash_inputs(tmp_path, {"dang": 0.5})
    assert run_hash_in(tmp_path, ["--skhash-control", "control.txt"]) == 2


def test_badmin_widens_what_the_search_accepts():
    g = np.random.default_rng(2)
    takeoff, azimuth = g.uniform(20, 160, 12), g.uniform(0, 360, 12)
    polarity = np.where(g.uniform(size=12) > 0.5, 1, -1)
    accepted = {badmin: focal_mechanism(takeoff, azimuth, polarity,
                                        params=HashParams(nmc=1, npolmin=1, badmin=badmin,
                                                          dang_deg=10),
                                        rng=make_rng("numpy", 0)).n_accepted
                for badmin in (2, 4)}
    assert accepted[4] > accepted[2] > 0
