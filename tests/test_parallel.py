"""One executor for every per-event stage: threads, processes or a Dask cluster give the same
results; a real LocalCluster with two worker processes solves a small catalog byte for byte
like one process."""
from __future__ import annotations

import shutil
import threading

import numpy as np
import pandas as pd
import pytest

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.parallel import Executor, ThreadExecutor, free_cores, make_executor
from focalflow.stages import run_hash
from focalflow.tables import write_table

RESULTS = ("mechanisms.csv", "mechanisms_acceptable.csv", "polinfo.csv", "mechanisms.xml")


def square(x: int, offset: int) -> int:
    return x * x + offset


def test_map_keeps_the_order_and_a_bounded_number_in_flight():
    started, lock = [], threading.Lock()

    def tasks():
        for k in range(40):
            with lock:
                started.append(k)
            yield k

    with ThreadExecutor(3) as pool:
        results = pool.map(square, tasks(), 1, ahead=4)
        first = next(results)
        assert first == 1 and len(started) <= 5      # 4 in flight, then one consumed
        assert [first, *results] == [k * k + 1 for k in range(40)]
    assert list(Executor(1).map(square, range(5), 0)) == [0, 1, 4, 9, 16]


def test_free_cores_leave_busy_cores_alone(monkeypatch):
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (100.0, 100.0, 100.0))
    assert free_cores() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert free_cores() >= 1


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, repo_dir):
    """24 events, 16-30 CNN polarities each from known mechanisms, at stations around them."""
    from focalflow.mechanisms.solve import velocity_tables
    from hash_core.geometry import flat_distance_azimuth, ray_vectors, sdr_to_vectors
    from hash_core.raytrace import lookup_takeoff

    root = tmp_path_factory.mktemp("parallel") / "work"
    (root / "logs").mkdir(parents=True)
    g = np.random.default_rng(11)
    angles = np.radians(np.arange(30) * 12.0)
    lat, lon = 36.0 + 0.3 * np.cos(angles), -118.0 + 0.37 * np.sin(angles)
    stations = pd.DataFrame({"network": "FF", "station": [f"S{k:02d}" for k in range(30)],
                             "location": "", "channel": "HHZ", "latitude": lat, "longitude": lon,
                             "elevation": 0.0, "azimuth": 0.0, "dip": -90.0,
                             "sampling_rate": 100.0, "start": "", "end": "", "has_metadata": True})
    write_table(stations, root / "stations.csv", "stations")
    table = velocity_tables([repo_dir / "velocity" / "demo.txt"])[0]
    events, rows = [], []
    for k in range(24):
        event_id = f"e{k:02d}"
        depth = float(g.uniform(4, 12))
        events.append({"event_id": event_id, "time": f"2024-05-06T02:{k:02d}:13.91Z",
                       "latitude": 36.0, "longitude": -118.0, "depth": depth,
                       "horz_uncert_km": 0.5, "vert_uncert_km": 1.0, "mag": 2.0})
        chosen = np.sort(g.choice(30, int(g.integers(16, 31)), replace=False))
        distance, azimuth = flat_distance_azimuth(36.0, -118.0, lat[chosen], lon[chosen])
        takeoff, _ = lookup_takeoff(table, distance, depth)
        normal, slip = sdr_to_vectors(*g.uniform((0, 10, -180), (360, 90, 180)))
        rays = ray_vectors(takeoff, azimuth)
        polarity = np.where((rays @ normal) * (rays @ slip) > 0, 1, -1)
        polarity[g.uniform(size=len(chosen)) < 0.08] *= -1
        rows += [{"event_id": event_id, "network": "FF", "station": f"S{s:02d}", "location": "",
                  "channel": "HHZ", "p_polarity": int(p), "prob_up": 0.9, "prob_down": 0.1,
                  "prob_undecided": 0.0, "clarity": "I", "model": "test"}
                 for s, p in zip(chosen, polarity)]
    write_table(pd.DataFrame(events), root / "events.csv", "events")
    write_table(pd.DataFrame(rows), root / "polarities.csv", "polarities")
    return root


def solved(catalog, repo_dir, tmp_path, name: str, **sections) -> dict[str, bytes]:
    work = tmp_path / name
    shutil.copytree(catalog, work)
    settings = {"workdir": str(work),
                "hash": {"velocity_models": [str(repo_dir / "velocity" / "demo.txt")],
                         "use_sp_ratios": False, "dang_deg": 10.0, "nmc": 20,
                         **sections.pop("hash", {})},
                "stations": {"reversals_file": None}, "figures": {"events": 0}, **sections}
    summary = run_stage("6_run_hash", run_hash.run, config_from_dict(settings))
    assert summary["computed"] == 24
    return {f: (work / f).read_bytes() for f in RESULTS}


def test_a_local_dask_cluster_gives_the_mechanisms_of_one_process(catalog, repo_dir, tmp_path):
    one = solved(catalog, repo_dir, tmp_path, "one", hash={"threads": 1})
    threads = solved(catalog, repo_dir, tmp_path, "threads", hash={"threads": 2},
                     parallel={"events_per_task": 3, "chunk_events": 10})
    cluster = solved(catalog, repo_dir, tmp_path, "cluster",
                     parallel={"scheduler": "local", "workers": 2, "events_per_task": 4,
                               "chunk_events": 10})
    assert threads == one
    assert cluster == one


def test_processes_give_the_same_mechanisms_too(catalog, repo_dir, tmp_path):
    one = solved(catalog, repo_dir, tmp_path, "one", hash={"threads": 1})
    processes = solved(catalog, repo_dir, tmp_path, "processes",
                       parallel={"executor": "processes", "workers": 2, "events_per_task": 5})
    assert processes == one


def test_weights_and_consensus_sources_are_the_same_on_every_executor(catalog, repo_dir,
                                                                     tmp_path):
    """Issue 10's per-event features inside the chunked batch: analyst picks, the CNN and an
    SKHASH polarity file with fractional weights, one polarity per pick by the weighted
    consensus, weighted by the probabilities: chunks on two processes give the bytes of one
    process, and polinfo names every polarity's source."""
    sources = tmp_path / "sources"
    shutil.copytree(catalog, sources)
    cnn = pd.read_csv(catalog / "polarities.csv", dtype=str, keep_default_na=False)
    first = cnn.groupby("event_id").head(5)
    picks = first.assign(phase="P", time="2024-05-06T02:00:15Z", onset="i", weight="0",
                         source="analyst",
                         polarity=np.where(first["p_polarity"] == "1", "U", "D"))
    picks.loc[picks.index[::7], "polarity"] = "U"   # some picks disagree with the CNN
    write_table(picks.drop(columns=["p_polarity", "prob_up", "prob_down", "prob_undecided",
                                    "clarity", "model"]), sources / "picks.csv", "picks")
    extra = cnn.groupby("event_id").nth(slice(5, 10))
    extra.assign(p_polarity=-0.6 * extra["p_polarity"].astype(float))[
        ["event_id", "network", "station", "location", "channel", "p_polarity"]] \
        .to_csv(tmp_path / "extra.csv", index=False)   # a source that contradicts, unsure
    features = {"polarity_source": "combined", "consensus": "weighted",
                "polarity_weights": "cnn_probability",
                "polarity_files": [str(tmp_path / "extra.csv")]}
    one = solved(sources, repo_dir, tmp_path, "one", hash={"threads": 1, **features})
    processes = solved(sources, repo_dir, tmp_path, "processes", hash=features,
                       parallel={"executor": "processes", "workers": 2, "events_per_task": 5,
                                 "chunk_events": 10})
    assert processes == one
    polinfo = pd.read_csv(tmp_path / "one" / "polinfo.csv", dtype=str)
    assert polinfo["source"].str.contains("file:extra.csv").any(), polinfo["source"].unique()
    assert polinfo["source"].str.contains("trad_p").any()
    weighted = pd.to_numeric(polinfo["pol_agreement_weighted"]).dropna()
    assert (weighted < 1).any() and weighted.between(0, 1).all()


def test_the_executor_the_config_names():
    from focalflow.config import ParallelConfig

    assert isinstance(make_executor(ParallelConfig(workers=1)), Executor)
    with make_executor(ParallelConfig(workers=2)) as pool:
        assert pool.kind == "threads" and pool.workers == 2
