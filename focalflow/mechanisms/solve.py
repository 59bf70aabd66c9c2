"""Solving events: observations -> HASH's Monte Carlo grid search (``hash_core``) -> result tables.

:func:`solve_event` solves one event from its observation rows (the review web app and the
``focalflow.solve()`` API call it); :func:`solve_catalog` solves a catalog, events concurrently
when the run policy allows. Both take a :class:`hash_core.params.HashParams` as it is: no
settings are translated here.

Per event, as the HASH drivers do: observations beyond ``delmax_km`` are left out; the trial
take-off angles come from the given angles perturbed by their sigmas (driver 1, SKHASH
precomputed angles) or, with velocity tables, from the catalog depth perturbed by its
uncertainty through the 1-D models (drivers 2 and 3); an observation whose unperturbed ray is
unusable is reported and dropped. Where the catalog gives no depth uncertainty and the assumed
one (``depth_uncert_km``) exceeds :data:`ASSUMED_DEPTH_SIGMA_FRACTION` of the event's median
hypocentral distance -- shallow events recorded close by -- a logged warning says that the
take-off angles will scatter widely. Problems go to ``on_problem(event_id, station, reason)``; an
event that cannot be solved is graded F (too few polarities) or left out, never the run's end.
"""
from __future__ import annotations

import logging
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from focalflow.formats.velocity import read_velocity_model
from focalflow.mechanisms.observations import OBS_COLUMNS, ProblemSink
from focalflow.mechanisms.result_tables import concat_tables, event_tables
from hash_core.focal import focal_mechanism, perturb_given_angles, takeoffs_for_trials
from hash_core.grid import mechanism_grid
from hash_core.params import HashParams, RunPolicy
from hash_core.raytrace import TakeoffTable, takeoff_table
from hash_core.rng import make_rng
from hash_core.search import get_threads, set_threads

log = logging.getLogger(__name__)

ASSUMED_DEPTH_SIGMA_FRACTION = 0.15
_NUMERIC = ("distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg", "azimuth_sigma_deg",
            "station_lat", "station_lon", "station_elev_m")


def velocity_tables(paths: Sequence[Path | str]) -> list[TakeoffTable]:
    """Take-off tables of the 1-D P velocity model files ``paths`` (HASH ``vz.*``, SKHASH CSV
    or focalflow ``velocity/*.txt``; see :mod:`focalflow.formats.velocity`)."""
    return [takeoff_table(*read_velocity_model(path)) for path in paths]


def event_stream(event_id: str, seed: int = RunPolicy().seed):
    """The numpy random stream of one event: from the seed and the event id, so an event's
    result does not depend on which other events run."""
    return make_rng("numpy", seed=[seed, zlib.crc32(str(event_id).encode())])


def _columns(observations: pd.DataFrame) -> dict[str, np.ndarray]:
    """Observation columns as arrays (numbers as float) plus ``sta_code``."""
    obs = observations.reset_index(drop=True)
    columns = {c: obs[c].to_numpy() for c in OBS_COLUMNS}
    for name in _NUMERIC:
        columns[name] = pd.to_numeric(obs[name], errors="coerce").to_numpy(float)
    network = obs["network"].where(obs["network"] == "", obs["network"] + ".")
    columns["sta_code"] = (network + obs["station"] + "." + obs["location"].replace("", "--")
                           + "." + obs["channel"]).to_numpy(object)
    return columns


def _trial_angles(event: dict, obs: dict, params: HashParams, tables: list, rng):
    """(takeoff, azimuth) (n obs, nmc) degrees of the Monte Carlo trials."""
    if not tables:  # angles given with the observations (HASH driver 1)
        return perturb_given_angles(obs["takeoff_deg"], obs["azimuth_deg"],
                                    np.nan_to_num(obs["takeoff_sigma_deg"]),
                                    np.nan_to_num(obs["azimuth_sigma_deg"]), params.nmc, rng)
    return takeoffs_for_trials(obs["distance_km"], obs["azimuth_deg"], float(event["depth"]),
                               params.depth_sigma_km(event.get("vert_uncert_km")), tables,
                               params.nmc, rng)


def _solve(event: dict, obs: dict, params: HashParams, tables: list, rng,
           on_problem: ProblemSink, parallel: bool) -> Optional[dict]:
    """One event from its observation arrays; :func:`event_tables` rows, or None if skipped."""
    event_id = str(event["event_id"])
    is_p = obs["kind"] == "P"
    near = ~(obs["distance_km"] > params.delmax_km)       # NaN distance: not known, kept
    order = np.concatenate([np.flatnonzero(near & is_p), np.flatnonzero(near & ~is_p)])
    obs = {name: values[order] for name, values in obs.items()}
    if tables:
        depths = tables[0].source_depths_km
        depth = float(event["depth"])
        if not np.isfinite(depth) or depth < depths[0] or depth > depths[-1]:
            on_problem(event_id, None, f"depth {depth:g} km outside the velocity table "
                       f"({depths[0]:g}-{depths[-1]:g} km); event skipped")
            return None
    npol = int((obs["kind"] == "P").sum())
    if npol < params.npolmin:
        on_problem(event_id, None, f"only {npol} polarities (npolmin {params.npolmin}); graded F")
    if tables:
        _check_assumed_depth_sigma(event, obs, params)
    takeoff, azimuth = _trial_angles(event, obs, params, tables, rng)
    # An unusable unperturbed ray (NaN given angle, distance beyond the table) drops the
    # observation; NaN in later trials only drops that trial (hash_core skips it).
    finite = np.isfinite(takeoff[:, 0]) & np.isfinite(azimuth[:, 0])
    if not finite.all():
        for code in obs["sta_code"][~finite]:
            on_problem(event_id, code, "take-off angle or azimuth is not a number (missing, "
                       "or distance outside the velocity table); observation skipped")
        obs = {name: values[finite] for name, values in obs.items()}
        takeoff, azimuth = takeoff[finite], azimuth[finite]
    solution = focal_mechanism(takeoff, azimuth, obs["p_polarity"].astype(float),
                               obs["impulsive"].astype(bool), obs["sp_ratio"].astype(float),
                               params, rng, parallel)
    return event_tables(event, obs, takeoff, azimuth, solution)


def _check_assumed_depth_sigma(event: dict, obs: dict, params: HashParams) -> None:
    """Warn when the assumed depth sigma is large against the hypocentral distances."""
    try:
        catalog_sigma = float(event.get("vert_uncert_km"))
    except (TypeError, ValueError):
        catalog_sigma = np.nan
    if np.isfinite(catalog_sigma) and catalog_sigma > 0:
        return
    sigma = params.depth_sigma_km(catalog_sigma)
    distances = np.hypot(obs["distance_km"], float(event["depth"]))
    distances = distances[np.isfinite(distances)]
    if not sigma or not len(distances):
        return
    median = float(np.median(distances))
    if sigma > ASSUMED_DEPTH_SIGMA_FRACTION * median:
        log.warning("event %s: the assumed depth uncertainty (%g km, hash.depth_uncert_km; the "
                    "catalog gives none) is %.0f%% of the median hypocentral distance (%.1f km): "
                    "take-off angles will scatter widely; give the event's vertical uncertainty "
                    "or lower hash.depth_uncert_km", event["event_id"], sigma,
                    100 * sigma / median, median)


def solve_event(event: dict, observations: pd.DataFrame, params: HashParams = HashParams(),
                tables: Optional[list] = None, rng=None,
                on_problem: Optional[ProblemSink] = None) -> dict[str, pd.DataFrame]:
    """Solve one event: its events.csv row (a mapping), its observation rows
    (:mod:`focalflow.mechanisms.observations` columns), the parameters and, for take-off angles
    from 1-D models, the velocity tables (:func:`velocity_tables`).

    Returns ``{"mechanisms", "acceptable", "polinfo"}`` frames (empty when the event is
    skipped; ``on_problem`` says why). ``rng`` defaults to the event's own numpy stream."""
    problems = on_problem or (lambda *problem: log.warning("event %s, %s: %s", *problem))
    rng = rng if rng is not None else event_stream(event["event_id"])
    result = _solve(dict(event), _columns(observations), params, tables or [], rng, problems,
                    parallel=True)
    return concat_tables([result] if result is not None else [])


def event_workers(policy: RunPolicy, n_events: int) -> int:
    """How many events to solve at once with the policy's threads: one per thread when each
    event has its own random stream and there are enough events to keep the threads busy to
    the end; else 1 (HASH's single stream is drawn in event order, and each grid search is
    spread over the threads instead, so threads are never oversubscribed)."""
    threads = get_threads()
    if policy.rng == "hash" or threads < 2 or n_events < 4 * threads:
        return 1
    return threads


def solve_catalog(events: pd.DataFrame, observations: pd.DataFrame, params: HashParams,
                  policy: RunPolicy, tables: Optional[list], on_problem: ProblemSink,
                  progress: bool = False) -> dict[str, pd.DataFrame]:
    """Solve every event of ``events`` (in order) with its ``observations``.

    Returns ``{"mechanisms", "acceptable", "polinfo"}`` frames. An event whose solution
    raises is reported through ``on_problem`` and left out; the run goes on. With the numpy
    stream, events may be solved concurrently (:func:`event_workers`); results and problems
    come out in event order either way and do not depend on the number of threads."""
    set_threads(policy.threads or None)
    mechanism_grid(params.dang_deg)  # built once, before any worker thread needs it
    shared_stream = make_rng("hash") if policy.rng == "hash" else None
    columns = _columns(observations)
    rows_of = observations.reset_index(drop=True).groupby("event_id", sort=False).indices
    no_rows = np.zeros(0, dtype=int)
    records = events.to_dict("records")
    workers = event_workers(policy, len(records))

    def solve_one(event: dict) -> tuple[Optional[dict], list]:
        event_id = str(event["event_id"])
        rows = rows_of.get(event_id, no_rows)
        rng = shared_stream or event_stream(event_id, policy.seed)
        problems: list = []
        try:
            result = _solve(event, {c: v[rows] for c, v in columns.items()}, params,
                            tables or [], rng, lambda *p: problems.append(p), workers == 1)
        except Exception as exc:  # one bad event never stops the run
            log.debug("event %s failed", event_id, exc_info=True)
            problems.append((event_id, None, f"no mechanism: {type(exc).__name__}: {exc}"))
            result = None
        return result, problems

    parts = []
    with ThreadPoolExecutor(workers) as pool:
        outcomes = pool.map(solve_one, records) if workers > 1 else map(solve_one, records)
        if progress:
            outcomes = tqdm(outcomes, total=len(records), desc="events", unit="event",
                            leave=False)
        for result, problems in outcomes:
            for problem in problems:
                on_problem(*problem)
            if result is not None:
                parts.append(result)
    return concat_tables(parts)
