"""From observation tables to focal mechanisms: the engine shared by the three stage-6 modes.

Stage 6 (working directory), ``--hash-inp`` (HASH v1.2 control files) and ``--skhash-control``
all reduce their inputs to two tables and hand them to :func:`solve_catalog`:

* ``events`` — events.csv columns (event_id, time, latitude, longitude, depth km,
  horz_uncert_km, vert_uncert_km, mag);
* ``observations`` — one row per polarity (``kind`` ``"P"``) or S/P ratio (``"SP"``) with
  :data:`OBS_COLUMNS`: ``p_polarity`` +1/-1 of the true ground motion (after reversals; 0 on S/P
  rows), ``impulsive``, ``sp_ratio`` log10(S/P) after station correction (NaN on P rows), the
  station coordinates, and — when the take-off angles are given (HASH driver 1, SKHASH
  precomputed angles) — ``takeoff_deg``/``azimuth_deg`` with their sigmas.

For each event it builds the (observations x trials) take-off and azimuth arrays the way the
HASH drivers do (given angles perturbed by their sigmas, or the catalogue depth perturbed by its
uncertainty through the 1-D velocity models), calls :func:`hash_core.focal.focal_mechanism`,
and returns three tables: mechanisms (SKHASH out.csv columns + second plane and gaps), the
acceptable mechanisms, and per-observation information (SKHASH polinfo columns). An event that
cannot be solved is reported through ``on_problem(event_id, station, reason)`` and either
graded F (too few polarities) or left out; it never stops the run.
"""
from __future__ import annotations

import logging
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from focalflow.formats.skhash import ACCEPTABLE_COLUMNS, MECHANISM_COLUMNS, POLINFO_COLUMNS

log = logging.getLogger(__name__)

OBS_COLUMNS = ["event_id", "network", "station", "location", "channel", "kind", "p_polarity",
               "impulsive", "sp_ratio", "source", "station_lat", "station_lon", "station_elev_m",
               "distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg",
               "azimuth_sigma_deg"]

ProblemSink = Callable[[Optional[str], Optional[str], str], None]


@dataclass
class RunOptions:
    """How to run the grid search (all angles in degrees, distances in km).

    ``rng`` is ``"numpy"`` (seeded generator; each event gets its own stream derived from
    ``seed`` and its id, so a result does not depend on which other events run) or ``"hash"``
    (HASH v1.2's one stream for the whole run, events in input order). ``misfit_weights`` is
    ``"radiation"`` (misfits weighted by the mechanism's P radiation) or ``"hash_v12"``
    (HASH v1.2's weights, which reproduce its misfits and quality letters). ``driver3_quality``
    grades on probability and uncertainty only (HASH driver 3) whenever S/P rows are used;
    ``always_sp`` runs the polarity + S/P search even for events without S/P rows (driver 3).
    ``default_depth_sigma_km`` replaces a missing or negative vertical uncertainty, and a zero
    one unless ``zero_sigma_is_exact`` (SKHASH: zero means the depth is not perturbed).
    ``threads``: cores to use (0: numba's thread count, all cores unless NUMBA_NUM_THREADS
    says otherwise); with the numpy stream and enough events, events are solved concurrently
    (one per thread, serial grid search), else one at a time with the grid search spread over
    the threads. Results do not depend on it."""

    npolmin: int = 8
    max_agap_deg: float = 90.0
    max_pgap_deg: float = 60.0
    dang_deg: float = 5.0
    nmc: int = 30
    maxout: int = 500
    badfrac: float = 0.1
    qbadfac: float = 0.3
    delmax_km: float = 120.0
    cangle_deg: float = 45.0
    prob_max: float = 0.1
    rng: str = "numpy"
    seed: int = 0
    always_sp: bool = False
    default_depth_sigma_km: float = 1.0
    zero_sigma_is_exact: bool = False
    threads: int = 0
    misfit_weights: str = "radiation"


def station_code(network: str, station: str, location: str, channel: str) -> str:
    """SKHASH's station code NET.STA.LOC.CHA (blank location as ``--``, blank network left out)."""
    parts = [network] if network else []
    return ".".join(parts + [station, location or "--", channel])


def empty_observations() -> pd.DataFrame:
    """An observations table without rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in OBS_COLUMNS})


def make_observations(frame: pd.DataFrame, **defaults) -> pd.DataFrame:
    """An observations table from ``frame`` (any subset of :data:`OBS_COLUMNS`), missing columns
    filled from ``defaults`` or with blanks/NaN."""
    out = pd.DataFrame(index=frame.index)
    for column in OBS_COLUMNS:
        if column in frame.columns:
            out[column] = frame[column]
        elif column in defaults:
            out[column] = defaults[column]
        elif column in ("network", "station", "location", "channel", "source", "kind"):
            out[column] = ""
        elif column == "impulsive":
            out[column] = True
        else:
            out[column] = np.nan
    for column in ("event_id", "network", "station", "location", "channel"):
        out[column] = out[column].astype(str)
    return out.reset_index(drop=True)


def attach_stations(observations: pd.DataFrame, stations: pd.DataFrame,
                    key: Callable[[pd.DataFrame], pd.Series],
                    on_problem: ProblemSink) -> pd.DataFrame:
    """Fill station_lat/lon/elev_m of ``observations`` from ``stations`` (network, station,
    location, channel, latitude, longitude, elevation m), matching ``key(frame)`` strings; the
    first station row of a key wins. Observations without a station are reported and dropped."""
    if observations.empty:
        return observations
    table = stations.assign(_key=key(stations)).drop_duplicates("_key").set_index("_key")
    keys = key(observations)
    found = keys.isin(table.index).to_numpy()
    for _, row in observations[~found].iterrows():
        on_problem(row["event_id"], station_code(row["network"], row["station"], row["location"],
                                                 row["channel"]),
                   "station not in the station table; observation skipped")
    obs = observations[found].copy()
    matched = table.loc[keys[found]]
    obs["station_lat"] = matched["latitude"].to_numpy(float)
    obs["station_lon"] = matched["longitude"].to_numpy(float)
    obs["station_elev_m"] = pd.to_numeric(matched["elevation"], errors="coerce").to_numpy(float)
    return obs.reset_index(drop=True)


def add_distance_azimuth(observations: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Epicentral distance (km) and azimuth (degrees) from each observation's event to its
    station (HASH's flat-earth formula); rows that already have both keep them."""
    from hash_core.geometry import flat_distance_azimuth

    if observations.empty:
        return observations
    located = events.set_index("event_id")
    lat = located.loc[observations["event_id"], "latitude"].to_numpy(float)
    lon = located.loc[observations["event_id"], "longitude"].to_numpy(float)
    distance, azimuth = flat_distance_azimuth(lat, lon, observations["station_lat"].to_numpy(float),
                                              observations["station_lon"].to_numpy(float))
    obs = observations.copy()
    keep = obs["azimuth_deg"].notna() & obs["distance_km"].notna()
    obs["distance_km"] = np.where(keep, obs["distance_km"], distance)
    obs["azimuth_deg"] = np.where(keep, obs["azimuth_deg"], azimuth)
    return obs


def reversed_mask(observations: pd.DataFrame, events: pd.DataFrame,
                  reversals: pd.DataFrame | None) -> np.ndarray:
    """True where an observation's station was reversed at its event's origin time
    (see :func:`focalflow.formats.reversals.reversed_mask`)."""
    from focalflow.formats.reversals import reversed_mask as station_reversed

    if observations.empty:
        return np.zeros(0, dtype=bool)
    times = events.set_index("event_id").loc[observations["event_id"], "time"].to_numpy(object)
    return station_reversed(reversals, observations["network"].to_numpy(str),
                            observations["station"].to_numpy(str), times)


def velocity_tables(paths: Sequence[Path | str]) -> list:
    """Take-off tables (hash_core.raytrace) of the 1-D P velocity model files ``paths``
    (HASH ``vz.*``, SKHASH CSV or focalflow ``velocity/*.txt``; see
    :mod:`focalflow.formats.velocity`)."""
    from focalflow.formats.velocity import read_velocity_model
    from hash_core.raytrace import takeoff_table

    return [takeoff_table(*read_velocity_model(path)) for path in paths]


class EventSolver:
    """Solves events with fixed options, velocity tables and random stream."""

    def __init__(self, options: RunOptions, tables: Optional[list] = None):
        from hash_core import focal
        from hash_core.grid import mechanism_grid
        from hash_core.rng import make_rng
        from hash_core.search import get_threads, set_threads

        self.options = options
        self.tables = tables or []
        self._focal = focal
        self._make_rng = make_rng
        self._stream = make_rng("hash") if options.rng == "hash" else None
        self.threads = set_threads(options.threads) if options.threads else get_threads()
        mechanism_grid(options.dang_deg)  # built once, before any worker thread needs it

    def event_workers(self, n_events: int) -> int:
        """How many events to solve at once: one per thread when each event has its own random
        stream and there are enough events to keep the threads busy to the end; else 1 (HASH's
        single stream is drawn in event order)."""
        if self._stream is not None or self.threads < 2 or n_events < 4 * self.threads:
            return 1
        return self.threads

    def _rng(self, event_id: str):
        if self._stream is not None:
            return self._stream
        return self._make_rng("numpy", seed=[self.options.seed, zlib.crc32(event_id.encode())])

    def settings(self, with_sp: bool):
        o = self.options
        return self._focal.HashSettings(
            dang_deg=o.dang_deg, nmc=o.nmc, maxout=o.maxout, badfrac=o.badfrac, qbadfac=o.qbadfac,
            cangle_deg=o.cangle_deg, prob_max=o.prob_max, npolmin=o.npolmin,
            max_agap_deg=o.max_agap_deg, max_pgap_deg=o.max_pgap_deg, with_sp=with_sp,
            hash_v12_misfit_weights=o.misfit_weights == "hash_v12")

    def trial_angles(self, event: dict, obs: dict, rng) -> tuple[np.ndarray, np.ndarray]:
        """(takeoff, azimuth) arrays (nobs, nmc) in degrees for the Monte Carlo trials."""
        o = self.options
        if not self.tables:  # angles given with the observations (HASH driver 1)
            return self._focal.perturb_given_angles(
                obs["takeoff_deg"], obs["azimuth_deg"], np.nan_to_num(obs["takeoff_sigma_deg"]),
                np.nan_to_num(obs["azimuth_sigma_deg"]), o.nmc, rng)
        sigma = pd.to_numeric(event.get("vert_uncert_km"), errors="coerce")
        if not np.isfinite(sigma) or sigma < 0 or (sigma == 0 and not o.zero_sigma_is_exact):
            sigma = o.default_depth_sigma_km
        # hash_core reads a zero sigma as "unknown" (HASH's 1 km); SKHASH means no perturbation.
        sigma = max(float(sigma), 1e-9)
        return self._focal.takeoffs_for_trials(obs["distance_km"], obs["azimuth_deg"],
                                               float(event["depth"]), sigma, self.tables, o.nmc,
                                               rng)

    def solve(self, event: dict, obs: dict, on_problem: ProblemSink,
              parallel: bool = True) -> Optional[dict]:
        """Solve one event from its observations (column name -> array, :data:`OBS_COLUMNS`
        and ``sta_code``); returns ``{"mechanisms": rows, "acceptable": columns, "polinfo":
        columns}`` or None when the event is skipped. ``parallel``: spread the grid search
        over numba's threads (False when events are solved concurrently)."""
        o = self.options
        event_id = str(event["event_id"])
        rng = self._rng(event_id)
        is_p = obs["kind"] == "P"
        near = ~(obs["distance_km"] > o.delmax_km)       # NaN distance: not known, kept
        order = np.concatenate([np.flatnonzero(near & is_p), np.flatnonzero(near & ~is_p)])
        obs = {name: values[order] for name, values in obs.items()}
        if self.tables:
            depths = self.tables[0].source_depths_km
            depth = float(event["depth"])
            if not np.isfinite(depth) or depth < depths[0] or depth > depths[-1]:
                on_problem(event_id, None, f"depth {depth:g} km outside the velocity table "
                           f"({depths[0]:g}-{depths[-1]:g} km); event skipped")
                return None
        npol = int((obs["kind"] == "P").sum())
        if npol < o.npolmin:
            on_problem(event_id, None, f"only {npol} polarities (npolmin {o.npolmin}); graded F")
        takeoff, azimuth = self.trial_angles(event, obs, rng)
        # An unusable unperturbed ray (NaN given angle, distance beyond the table) drops the
        # observation; NaN in later trials only drops that trial (hash_core skips it).
        finite = np.isfinite(takeoff[:, 0]) & np.isfinite(azimuth[:, 0])
        if not finite.all():
            for code in obs["sta_code"][~finite]:
                on_problem(event_id, code, "take-off angle or azimuth is not a number (missing, "
                           "or distance outside the velocity table); observation skipped")
            obs = {name: values[finite] for name, values in obs.items()}
            takeoff, azimuth = takeoff[finite], azimuth[finite]
        with_sp = o.always_sp or bool((obs["kind"] == "SP").any())
        solution = self._focal.focal_mechanism(
            takeoff, azimuth, obs["p_polarity"].astype(float), obs["impulsive"].astype(bool),
            obs["sp_ratio"].astype(float), self.settings(with_sp), rng, parallel)
        return self._tables(event, obs, takeoff, azimuth, solution)

    def _tables(self, event: dict, obs: dict, takeoff: np.ndarray, azimuth: np.ndarray,
                solution) -> dict:
        event_id = str(event["event_id"])
        origin = {"origin_lat": event["latitude"], "origin_lon": event["longitude"],
                  "origin_depth_km": event["depth"], "horz_uncert_km": event["horz_uncert_km"],
                  "vert_uncert_km": event["vert_uncert_km"]}
        nsol = solution.n_solutions
        mechanisms = [{
            "event_id": event_id,
            "strike": _r(solution.strike[i]), "dip": _r(solution.dip[i]),
            "rake": _r(solution.rake[i]), "quality": str(solution.quality[i]),
            "fault_plane_uncertainty": _r(solution.fault_uncertainty[i]),
            "aux_plane_uncertainty": _r(solution.aux_uncertainty[i]),
            "num_p_pol": int(solution.num_p_pol), "num_sp_ratios": int(solution.num_sp),
            "polarity_misfit": _r(100 * solution.polarity_misfit[i]),
            "prob_mech": _r(100 * solution.prob[i]),
            "sta_distribution_ratio": _r(100 * solution.station_distribution_ratio[i]),
            "sp_misfit": _r(solution.sp_misfit[i], 3), "mult_solution_flag": nsol > 1,
            "time": event["time"], **origin,
            "strike2": _r(solution.aux_strike[i]), "dip2": _r(solution.aux_dip[i]),
            "rake2": _r(solution.aux_rake[i]),
            "azimuthal_gap": solution.azimuth_gap, "takeoff_gap": solution.takeoff_gap}
            for i in range(nsol)]
        accepted = np.round(np.asarray(solution.acceptable, dtype=float).reshape(-1, 3), 2)
        acceptable = {"event_id": np.full(len(accepted), event_id, dtype=object),
                      "strike": accepted[:, 0], "dip": accepted[:, 1], "rake": accepted[:, 2]}
        n = len(obs["kind"])
        is_p = obs["kind"] == "P"
        solved = bool(np.isfinite(solution.strike[0]))
        sp_diff = np.full(n, np.nan)
        if solved and (~is_p).any():
            from hash_core.geometry import ray_vectors, sdr_to_vectors
            from hash_core.search import predicted_log_sp

            normal, slip = sdr_to_vectors(solution.strike[0], solution.dip[0], solution.rake[0])
            rays = ray_vectors(takeoff[~is_p, 0], azimuth[~is_p, 0])
            sp_diff[~is_p] = obs["sp_ratio"][~is_p].astype(float) - predicted_log_sp(rays, normal,
                                                                                     slip)
        agree = np.where(solved & is_p, (solution.predicted_polarity == np.sign(
            obs["p_polarity"].astype(float))).astype(float), np.nan)
        with np.errstate(invalid="ignore"):
            spread_t = np.nanstd(takeoff, axis=1)
            spread_a = np.nanstd(azimuth, axis=1)
        polinfo = {
            "event_id": np.full(n, event_id, dtype=object), "sta_code": obs["sta_code"],
            "p_polarity": np.where(is_p, obs["p_polarity"].astype(float), np.nan),
            "sr_dist_km": np.round(obs["distance_km"].astype(float), 3),
            "takeoff": np.round(takeoff[:, 0], 1), "azimuth": np.round(azimuth[:, 0], 1),
            "takeoff_uncertainty": np.round(spread_t, 1),
            "azimuth_uncertainty": np.round(spread_a, 1), "source": obs["source"],
            **{key: np.full(n, value) for key, value in origin.items()},
            "station_lat": obs["station_lat"], "station_lon": obs["station_lon"],
            "station_depth_km": -obs["station_elev_m"].astype(float) / 1000.0,
            "pol_agreement": agree, "sp_diff": np.round(sp_diff, 3),
            "mech_quality": np.full(n, str(solution.quality[0]), dtype=object),
            "pol_agreement_weighted": agree}
        return {"mechanisms": mechanisms, "acceptable": acceptable, "polinfo": polinfo}


def _r(value, digits: int = 1):
    value = float(value)
    return round(value, digits) if np.isfinite(value) else np.nan


def _columns_frame(parts: list[dict], columns: list[str]) -> pd.DataFrame:
    """One frame from per-event column dicts (arrays), in ``columns`` order."""
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in columns})
    if "pol_agreement" in frame:  # 1/0; blank on S/P rows and for unsolved events
        frame["pol_agreement"] = frame["pol_agreement"].astype("Int64")
    return frame


def solve_catalog(events: pd.DataFrame, observations: pd.DataFrame, options: RunOptions,
                  tables: Optional[list], on_problem: ProblemSink,
                  progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Solve every event of ``events`` (in order) with its ``observations``.

    Returns (mechanisms, acceptable, polinfo) frames with :data:`MECHANISM_COLUMNS`,
    :data:`ACCEPTABLE_COLUMNS` and :data:`POLINFO_COLUMNS`. An event whose solution raises is
    reported through ``on_problem`` and left out; the run goes on. Events may be solved
    concurrently (see :class:`RunOptions` ``threads``); results and problems come out in
    event order either way."""
    solver = EventSolver(options, tables)
    observations = observations.reset_index(drop=True)
    sta_code = (observations["network"].where(observations["network"] == "",
                                              observations["network"] + ".")
                + observations["station"] + "."
                + observations["location"].replace("", "--") + "." + observations["channel"])
    columns = {c: observations[c].to_numpy() for c in OBS_COLUMNS}
    for name in ("distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg",
                 "azimuth_sigma_deg", "station_lat", "station_lon", "station_elev_m"):
        columns[name] = pd.to_numeric(observations[name], errors="coerce").to_numpy(float)
    columns["sta_code"] = sta_code.to_numpy(object)
    rows_of = observations.groupby("event_id", sort=False).indices
    no_rows = np.zeros(0, dtype=int)
    records = events.to_dict("records")
    workers = solver.event_workers(len(records))

    def solve_one(event: dict) -> tuple[Optional[dict], list]:
        event_id = str(event["event_id"])
        rows = rows_of.get(event_id, no_rows)
        problems = []
        try:
            result = solver.solve(event, {c: v[rows] for c, v in columns.items()},
                                  lambda *problem: problems.append(problem),
                                  parallel=workers == 1)
        except Exception as exc:  # one bad event never stops the run
            log.debug("event %s failed", event_id, exc_info=True)
            problems.append((event_id, None, f"no mechanism: {type(exc).__name__}: {exc}"))
            result = None
        return result, problems

    mechanisms, acceptable, polinfo = [], [], []
    with ThreadPoolExecutor(workers) as pool:
        outcomes = pool.map(solve_one, records) if workers > 1 else map(solve_one, records)
        if progress:
            from tqdm import tqdm
            outcomes = tqdm(outcomes, total=len(records), desc="events", unit="event",
                            leave=False)
        for result, problems in outcomes:
            for problem in problems:
                on_problem(*problem)
            if result is not None:
                mechanisms += result["mechanisms"]
                acceptable.append(result["acceptable"])
                polinfo.append(result["polinfo"])
    return (pd.DataFrame(mechanisms, columns=MECHANISM_COLUMNS),
            _columns_frame(acceptable, ACCEPTABLE_COLUMNS),
            _columns_frame(polinfo, POLINFO_COLUMNS))


def write_results(mechanisms: pd.DataFrame, acceptable: pd.DataFrame, polinfo: pd.DataFrame,
                  mechanisms_path: Path, acceptable_path: Path, polinfo_path: Path) -> None:
    """Write the three result tables atomically."""
    from focalflow.workdir import atomic_path

    for frame, path in ((mechanisms, mechanisms_path), (acceptable, acceptable_path),
                        (polinfo, polinfo_path)):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
