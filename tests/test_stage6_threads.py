"""Stage 6 on several cores: events solved concurrently give the same tables as one at a time."""
import numpy as np
import pandas as pd
import pytest

from focalflow.mechanisms.observations import make_observations
from focalflow.mechanisms.solve import catalog_executor, solve_catalog
from hash_core.geometry import ray_vectors, sdr_to_vectors
from hash_core.grid import mechanism_grid
from hash_core.params import HashParams, RunPolicy
from hash_core.search import get_threads, search_polarities, search_polarities_sp, set_threads


def small_catalog(n_events: int, seed: int = 3):
    """Events with 12-30 given-angle polarities of random mechanisms (one with too few)."""
    g = np.random.default_rng(seed)
    events, rows = [], []
    for k in range(n_events):
        event_id = f"ev{k:02d}"
        events.append({"event_id": event_id, "time": "2020-01-01T00:00:00Z", "latitude": 0.0,
                       "longitude": 0.0, "depth": 8.0, "horz_uncert_km": 0.5,
                       "vert_uncert_km": 1.0, "mag": 1.5})
        n = 5 if k == 3 else int(g.integers(12, 31))
        takeoff = np.degrees(np.arccos(g.uniform(-0.6, 0.9, n)))
        azimuth = g.uniform(0, 360, n)
        normal, slip = sdr_to_vectors(g.uniform(0, 360), g.uniform(10, 90), g.uniform(-180, 180))
        rays = ray_vectors(takeoff, azimuth)
        polarity = np.where((rays @ normal) * (rays @ slip) > 0, 1, -1)
        for i in range(n):
            rows.append({"event_id": event_id, "station": f"S{i:02d}", "kind": "P",
                         "p_polarity": polarity[i], "impulsive": True, "takeoff_deg": takeoff[i],
                         "azimuth_deg": azimuth[i], "takeoff_sigma_deg": 5.0,
                         "azimuth_sigma_deg": 2.0})
    return pd.DataFrame(events), make_observations(pd.DataFrame(rows))


@pytest.fixture
def restore_threads():
    before = get_threads()
    yield
    set_threads(before)


def test_concurrent_events_give_the_same_tables_and_problems(restore_threads):
    events, obs = small_catalog(12)
    params = HashParams(dang_deg=10, nmc=10, max_agap_deg=360, max_pgap_deg=90)
    results, problems = {}, {}
    for threads in (1, 2):
        policy = RunPolicy(threads=threads)
        set_threads(threads)
        if threads == 2 and catalog_executor(policy, len(events))[0].workers != 2:
            pytest.skip("a single core here")
        problems[threads] = []
        results[threads] = solve_catalog(events, obs, params, policy, None,
                                         lambda *problem: problems[threads].append(problem))
    for name in ("mechanisms", "acceptable", "polinfo"):
        pd.testing.assert_frame_equal(results[1][name], results[2][name])
    assert problems[1] == problems[2] == [("ev03", None, "only 5 polarities (npolmin 8); graded F")]
    assert list(results[2]["mechanisms"]["event_id"].drop_duplicates()) == list(events["event_id"])


def test_hash_stream_runs_events_in_order_on_free_cores_only(restore_threads, monkeypatch):
    import os

    executor, parallel = catalog_executor(RunPolicy(rng="hash"), 1000)
    assert executor.workers == 1 and parallel  # one event at a time, the search on threads
    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    catalog_executor(RunPolicy(rng="hash"), 1000)
    assert get_threads() == 1  # a loaded machine: no thread waits for a busy core


def test_serial_and_parallel_grid_search_accept_the_same_mechanisms():
    g = np.random.default_rng(5)
    rays = ray_vectors(g.uniform(20, 160, (4, 25)), g.uniform(0, 360, (4, 25)))
    polarity = np.where(g.uniform(size=25) > 0.5, 1, -1)
    impulsive = g.uniform(size=25) > 0.3
    grid = mechanism_grid(10.0)
    serial = search_polarities(rays, polarity, impulsive, grid, 0.1, 2, parallel=False)
    assert serial.size > 0
    np.testing.assert_array_equal(serial, search_polarities(rays, polarity, impulsive, grid, 0.1, 2))
    polarity[-6:] = 0
    sp = np.where(polarity == 0, g.normal(0.5, 0.3, 25), np.nan)
    serial = search_polarities_sp(rays, polarity, sp, grid, 0.1, 2, 0.3, 2, parallel=False)
    assert serial.size > 0
    np.testing.assert_array_equal(serial,
                                  search_polarities_sp(rays, polarity, sp, grid, 0.1, 2, 0.3, 2))


def test_solve_event_gives_the_catalog_rows_of_that_event():
    """The one-event API (review app, ``focalflow.solve()``): event row + observation rows +
    parameters -> the same result tables the catalog run writes for that event (rounded as
    written; ``solve_catalog`` keeps full precision for HASH's integer output)."""
    from focalflow.mechanisms.result_tables import round_tables
    from focalflow.mechanisms.solve import solve_event

    events, obs = small_catalog(6)
    params = HashParams(dang_deg=10, nmc=10, max_agap_deg=360, max_pgap_deg=90)
    catalog = round_tables(solve_catalog(events, obs, params, RunPolicy(threads=1), None,
                                         lambda *p: None))
    one = solve_event(events.iloc[2].to_dict(), obs[obs["event_id"] == "ev02"], params)
    for name, frame in one.items():
        expected = catalog[name][catalog[name]["event_id"] == "ev02"].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, expected)
    assert one["mechanisms"]["quality"].iloc[0] in "ABCDE"
