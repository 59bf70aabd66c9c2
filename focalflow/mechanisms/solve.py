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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from focalflow.formats.velocity import read_velocity_model
from focalflow.mechanisms.observations import OBS_COLUMNS, ProblemSink
from focalflow.mechanisms.result_tables import concat_tables, event_tables, round_tables
from hash_core.focal import (focal_mechanism, perturb_given_angles, perturbed_epicentres,
                             takeoffs_for_trials)
from hash_core.geometry import flat_distance_azimuth
from hash_core.grid import mechanism_grid
from hash_core.params import HashParams, RunPolicy
from hash_core.raytrace import TakeoffTable, takeoff_table
from hash_core.rng import make_rng
from hash_core.search import set_threads

log = logging.getLogger(__name__)

ASSUMED_DEPTH_SIGMA_FRACTION = 0.15
_NUMERIC = ("distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg", "azimuth_sigma_deg",
            "station_lat", "station_lon", "station_elev_m", "polarity_weight")


def velocity_tables(paths: Sequence[Path | str],
                    params: HashParams = HashParams()) -> list[TakeoffTable]:
    """Take-off tables (HASH's MK_TABLE, with the table depths, distances and ray count of
    ``params``) of the 1-D P velocity model files ``paths`` (HASH ``vz.*``, SKHASH CSV or
    focalflow ``velocity/*.txt``; see :mod:`focalflow.formats.velocity`)."""
    depths, distances = params.table_axes()
    return [takeoff_table(*read_velocity_model(path), depths, distances, params.n_rays)
            for path in paths]


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
    distance, azimuth = obs["distance_km"], obs["azimuth_deg"]
    depth_sigma = params.depth_sigma_km(event.get("vert_uncert_km"))
    if params.perturb_epicenter:
        lat, lon = perturbed_epicentres(float(event["latitude"]), float(event["longitude"]),
                                        params.horz_sigma_km(event.get("horz_uncert_km")),
                                        params.nmc, rng)
        distance, azimuth = flat_distance_azimuth(lat[None, :], lon[None, :],
                                                  obs["station_lat"][:, None],
                                                  obs["station_lon"][:, None])
    return takeoffs_for_trials(distance, azimuth, float(event["depth"]), depth_sigma, tables,
                               params.nmc, rng, params.table_edges)


def _solve(event: dict, obs: dict, params: HashParams, tables: list, rng,
           on_problem: ProblemSink, parallel: bool) -> Optional[dict]:
    """One event from its observation arrays; :func:`event_tables` rows, or None if skipped."""
    event_id = str(event["event_id"])
    is_sp = obs["kind"] == "SP"
    distance = obs["distance_km"]
    near = ~(distance > params.delmax_km) & ~(distance < params.delmin_km)  # NaN: kept
    order = np.concatenate([np.flatnonzero(near & ~is_sp), np.flatnonzero(near & is_sp)])
    obs = {name: values[order] for name, values in obs.items()}
    if tables:
        depths = tables[0].source_depths_km
        depth = float(event["depth"])
        if not (np.isfinite(depth) and depths[0] <= depth <= depths[-1]):
            where = (f"depth {depth:g} km outside the velocity table ({depths[0]:g}-"
                     f"{depths[-1]:g} km)")
            if params.table_edges == "skip" or not np.isfinite(depth):
                on_problem(event_id, None, f"{where}; event skipped")
                return None
            on_problem(event_id, None, f"{where}: " + (
                "clamped to the table's edge" if params.table_edges == "clamp" else
                "HASH v1.2 uses 999 degree take-off angles; its mechanism is meaningless"))
    npol = int((obs["kind"] == "P").sum())
    if npol < params.npolmin:
        on_problem(event_id, None, f"only {npol} polarities (npolmin {params.npolmin}); graded F")
    if tables:
        _check_assumed_depth_sigma(event, obs, params)
    takeoff, azimuth = _trial_angles(event, obs, params, tables, rng)
    # Rays without an observation (kind "ray", HASH driver 5) had their trials drawn: dropped.
    # An unusable unperturbed ray (NaN given angle, distance beyond the table) drops the
    # observation; NaN in later trials only drops that trial (hash_core skips it).
    observed = obs["kind"] != "ray"
    finite = np.isfinite(takeoff[:, 0]) & np.isfinite(azimuth[:, 0])
    if not finite[observed].all():
        for code in obs["sta_code"][observed & ~finite]:
            on_problem(event_id, code, "take-off angle or azimuth is not a number (missing, "
                       "or distance outside the velocity table); observation skipped")
    if params.max_takeoff_sigma_deg > 0:
        with np.errstate(invalid="ignore"):
            spread = (np.nanstd(takeoff, axis=1) if tables
                      else np.nan_to_num(obs["takeoff_sigma_deg"]))
        wide = finite & (spread > params.max_takeoff_sigma_deg)
        for code, value in zip(obs["sta_code"][wide], spread[wide]):
            on_problem(event_id, code, f"take-off angle uncertainty {value:.1f} deg above "
                       f"{params.max_takeoff_sigma_deg:g}; observation skipped")
        finite &= ~wide
    keep = finite & observed
    if not keep.all():
        obs = {name: values[keep] for name, values in obs.items()}
        takeoff, azimuth = takeoff[keep], azimuth[keep]
    weight = obs["polarity_weight"]
    solution = focal_mechanism(takeoff, azimuth, obs["p_polarity"].astype(float),
                               obs["impulsive"].astype(bool), obs["sp_ratio"].astype(float),
                               params, rng, parallel,
                               np.nan_to_num(weight, nan=1.0) if np.isfinite(weight).any() else None)
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
    return round_tables(concat_tables([result] if result is not None else []))


@dataclass
class SolveSettings:
    """What every task of a catalog shares (sent to each worker once): the parameters, the
    velocity tables, the seed of the per-event streams or HASH's one stream, and whether each
    grid search runs on numba's threads (one event at a time) or serially (events at once)."""

    params: HashParams
    tables: list
    seed: int = RunPolicy().seed
    shared_stream: object = None
    parallel: bool = False


Task = tuple[list[dict], list[dict[str, np.ndarray]]]


def solve_task(task: Task, settings: SolveSettings) -> list[tuple[str, Optional[dict], list]]:
    """Solve the events of one task (their events.csv rows and observation arrays, see
    :func:`catalog_tasks`); returns ``(event_id, event_tables result or None, problems)`` per
    event. Runs in any worker: threads, processes or a Dask cluster."""
    out = []
    for event, obs in zip(*task):
        event_id = str(event["event_id"])
        rng = settings.shared_stream or event_stream(event_id, settings.seed)
        problems: list = []
        try:
            result = _solve(event, obs, settings.params, settings.tables, rng,
                            lambda *p: problems.append(p), settings.parallel)
        except Exception as exc:  # one bad event never stops the run
            log.debug("event %s failed", event_id, exc_info=True)
            problems.append((event_id, None, f"no mechanism: {type(exc).__name__}: {exc}"))
            result = None
        out.append((event_id, result, problems))
    return out


def catalog_tasks(events: pd.DataFrame, observations: pd.DataFrame,
                  events_per_task: int) -> Iterator[Task]:
    """``events`` (in order) with their observation arrays, ``events_per_task`` at a time."""
    columns = _columns(observations)
    rows_of = observations.reset_index(drop=True).groupby("event_id", sort=False).indices
    no_rows = np.zeros(0, dtype=int)
    records = events.to_dict("records")
    for start in range(0, len(records), events_per_task):
        part = records[start:start + events_per_task]
        yield part, [{c: v[rows_of.get(str(e["event_id"]), no_rows)] for c, v in columns.items()}
                     for e in part]


def catalog_executor(policy: RunPolicy, n_events: int, parallel_config=None):
    """The executor of a catalog's solves, and whether each grid search runs on numba's
    threads. HASH's single stream draws in event order: one event at a time, each search
    spread over the free cores (never more). With per-event streams: ``parallel_config``'s
    executor or cluster, or ``policy.threads`` threads (0: every core); a catalog too small
    to keep them busy to the end runs one event at a time, each search on the threads."""
    from focalflow.parallel import Executor, all_cores, free_cores, make_executor

    if policy.rng == "hash":
        set_threads(policy.threads or free_cores())
        return Executor(1), True
    threads = policy.threads or all_cores()
    scheduler = parallel_config is not None and parallel_config.scheduler
    if scheduler or (parallel_config is not None and parallel_config.executor == "processes"):
        return make_executor(parallel_config), False
    if threads < 2 or n_events < 4 * threads:
        set_threads(threads)
        return Executor(1), True
    return make_executor(parallel_config or _THREADS, threads), False


def solve_catalog(events: pd.DataFrame, observations: pd.DataFrame, params: HashParams,
                  policy: RunPolicy, tables: Optional[list], on_problem: ProblemSink,
                  progress: bool = False, executor=None) -> dict[str, pd.DataFrame]:
    """Solve every event of ``events`` (in order) with its ``observations``.

    Returns ``{"mechanisms", "acceptable", "polinfo"}`` frames. An event whose solution
    raises is reported through ``on_problem`` and left out; the run goes on. With the numpy
    stream, events may be solved concurrently (:func:`catalog_executor`, or ``executor``);
    results and problems come out in event order either way and do not depend on the number
    of workers."""
    own, parallel = catalog_executor(policy, len(events))
    pool = executor or own
    mechanism_grid(params.dang_deg)  # built once, before any worker thread needs it
    settings = SolveSettings(params, tables or [], policy.seed,
                             make_rng("hash") if policy.rng == "hash" else None,
                             parallel and executor is None)
    parts = []
    with own:
        outcomes = pool.map(solve_task, catalog_tasks(events, observations,
                                                      _events_per_task(len(events), pool)),
                            settings)
        if progress:
            outcomes = tqdm(outcomes, desc="events", unit="task", leave=False)
        for task in outcomes:
            for _, result, problems in task:
                for problem in problems:
                    on_problem(*problem)
                if result is not None:
                    parts.append(result)
    return concat_tables(parts)


def _events_per_task(n_events: int, pool) -> int:
    """Enough tasks to keep every worker busy to the end, few enough to cost nothing."""
    return max(1, min(100, n_events // (8 * pool.workers) or 1))


class _ThreadsOnly:
    executor, scheduler, workers = "threads", None, 0


_THREADS = _ThreadsOnly()
