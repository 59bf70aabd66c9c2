"""One event, end to end: Monte Carlo rays -> grid search -> solutions -> quality.

``focal_mechanism`` is HASH v1.2's per-event work of drivers 1-3 on arrays; the take-off and
azimuth matrices of the trials come from `perturb_given_angles` (driver 1) or
`takeoffs_for_trials` (drivers 2 and 3). Draw from ONE random stream per run, events in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import auxiliary_plane, ray_vectors, vectors_to_sdr
from .grid import mechanism_grid
from .params import HashParams
from .raytrace import TakeoffTable, lookup_takeoff
from .search import search_polarities, search_polarities_sp, trial_rays
from .solution import (QualityChecks, azimuth_takeoff_gaps, hash_sdr, hash_v12_weight_mechanism,
                       mech_probability, p_radiation, polarity_misfit, polarity_sp_misfit,
                       quality_grade)


@dataclass
class MechanismSolution:
    """Result for one event. Per-solution arrays (length n solutions, preferred first):
    strike/dip/rake and the auxiliary plane's (degrees), fault/aux RMS uncertainty (degrees),
    prob, polarity misfit fraction, sp misfit (mean |log10 S/P| misfit; NaN without S/P),
    station distribution ratio, quality letter (after the coverage caps), HASH's letter and
    the note saying why a letter was capped. Per event: azimuthal and take-off gaps
    (degrees), number of polarities and S/P ratios used, mult_solution flag, the acceptable
    mechanisms (n, 3) strike/dip/rake, and per observation (input order) the trial-1 take-off
    and azimuth and the preferred mechanism's predicted polarity (+1/-1, 0 on S/P rows)."""

    strike: np.ndarray
    dip: np.ndarray
    rake: np.ndarray
    aux_strike: np.ndarray
    aux_dip: np.ndarray
    aux_rake: np.ndarray
    fault_uncertainty: np.ndarray
    aux_uncertainty: np.ndarray
    prob: np.ndarray
    polarity_misfit: np.ndarray
    sp_misfit: np.ndarray
    station_distribution_ratio: np.ndarray
    quality: np.ndarray
    hash_quality: np.ndarray
    quality_note: np.ndarray
    azimuth_gap: int
    takeoff_gap: int
    num_p_pol: int
    num_sp: int
    acceptable: np.ndarray
    takeoff: np.ndarray
    azimuth: np.ndarray
    predicted_polarity: np.ndarray
    message: str = ""
    n_accepted: int = 0
    extras: dict = field(default_factory=dict)

    @property
    def mult_solution(self) -> bool:
        return len(self.strike) > 1

    @property
    def n_solutions(self) -> int:
        return len(self.strike)


def _empty_solution(quality: str, message: str, takeoff, azimuth, npol: int, nsp: int,
                    gaps=(360, 90)) -> MechanismSolution:
    nan = np.array([np.nan])
    return MechanismSolution(
        strike=nan, dip=nan.copy(), rake=nan.copy(), aux_strike=nan.copy(), aux_dip=nan.copy(),
        aux_rake=nan.copy(), fault_uncertainty=nan.copy(), aux_uncertainty=nan.copy(),
        prob=nan.copy(), polarity_misfit=nan.copy(), sp_misfit=nan.copy(),
        station_distribution_ratio=nan.copy(), quality=np.array([quality]),
        hash_quality=np.array([quality]), quality_note=np.array([""], dtype=object),
        azimuth_gap=gaps[0], takeoff_gap=gaps[1], num_p_pol=npol, num_sp=nsp,
        acceptable=np.empty((0, 3)), takeoff=takeoff, azimuth=azimuth,
        predicted_polarity=np.zeros(len(takeoff), dtype=int), message=message)


def focal_mechanism(takeoff_deg, azimuth_deg, polarity, impulsive=None, sp_log10=None,
                    params: HashParams = HashParams(), rng=None, parallel: bool = True,
                    weight=None) -> MechanismSolution:
    """Solve one event from its observations under ``nmc`` perturbed ray sets.

    takeoff_deg, azimuth_deg: (n obs, nmc) or (n obs,) degrees, column 0 the unperturbed rays
    (NaN columns = unusable trials, e.g. a perturbed depth outside the velocity table);
    polarity: (n obs,) +1/-1 (true ground motion), 0 on S/P rows; impulsive: (n obs,) bool
    (default all; HASH's two misfit counts, impulsive and all); sp_log10: (n obs,) log10 S/P
    after station correction, NaN on polarity rows; S/P ratios are used (HASH driver 3's
    search and grades) when some polarity-0 row has a finite ratio or ``params.always_sp``,
    else polarity-0 rows are ignored; weight: (n obs,) polarity weights in [0, 1] (SKHASH's
    |p_polarity|), None for HASH's unweighted counts: with weights the search sums the
    weights of misfit polarities (and ignores ``impulsive``), and the station distribution
    ratio is divided by the summed weight, as SKHASH does; params: :class:`HashParams`;
    rng: a `hash_core.rng` stream, used only to draw the random subset when more than
    ``max_accepted`` mechanisms pass; parallel: grid search on numba's threads, or serial
    (same result) when the caller solves several events at once in threads.

    The letter is HASH's (``hash_quality``); with ``params.honest_quality`` it is capped at
    C, and ``quality_note`` says why, where the coverage cannot support better
    (:class:`hash_core.solution.QualityChecks`).

    Raises ValueError for inconsistent shapes or non-finite unperturbed angles (the caller
    names the event); too few polarities give quality F and no mechanism.
    """
    takeoff = np.asarray(takeoff_deg, dtype=float)
    azimuth = np.asarray(azimuth_deg, dtype=float)
    if takeoff.ndim == 1:  # one trial
        takeoff, azimuth = takeoff[:, None], azimuth.reshape(-1, 1)
    polarity = np.asarray(polarity).astype(int)
    nobs = len(polarity)
    impulsive = np.ones(nobs, bool) if impulsive is None else np.asarray(impulsive, dtype=bool)
    sp = np.full(nobs, np.nan) if sp_log10 is None else np.asarray(sp_log10, dtype=float)
    weighted = weight is not None
    weight = np.ones(nobs) if weight is None else np.abs(np.asarray(weight, dtype=float))
    if takeoff.shape != azimuth.shape or takeoff.shape[0] != nobs or impulsive.shape != (nobs,) \
            or sp.shape != (nobs,) or weight.shape != (nobs,):
        raise ValueError(f"observation arrays disagree: takeoff {takeoff.shape}, azimuth "
                         f"{azimuth.shape}, polarity {polarity.shape}, impulsive "
                         f"{impulsive.shape}, sp_log10 {sp.shape}, weight {weight.shape}")
    bad = ~(np.isfinite(takeoff[:, 0]) & np.isfinite(azimuth[:, 0]))
    if bad.any():
        raise ValueError(f"non-finite take-off or azimuth in the unperturbed trial for "
                         f"observation rows {np.flatnonzero(bad).tolist()}")
    input_takeoff, input_azimuth = takeoff[:, 0].copy(), azimuth[:, 0].copy()
    input_polarity = polarity
    with_sp = params.always_sp or bool(np.any((polarity == 0) & np.isfinite(sp)))
    if not with_sp:
        keep = polarity != 0
        takeoff, azimuth, polarity = takeoff[keep], azimuth[keep], polarity[keep]
        impulsive, sp, weight = impulsive[keep], sp[keep], weight[keep]
    elif np.any((polarity == 0) & ~np.isfinite(sp)):
        raise ValueError("S/P rows (polarity 0) need a finite log10 S/P ratio")
    is_pol = polarity != 0
    npol, nsp = int(is_pol.sum()), int((~is_pol).sum())
    rays = trial_rays(takeoff.T, azimuth.T)  # (nmc, nobs, 3), as HASH computes them
    gaps = azimuth_takeoff_gaps(takeoff[is_pol, 0], azimuth[is_pol, 0])
    if npol < params.npolmin:
        return _empty_solution("F", f"{npol} polarities, fewer than npolmin={params.npolmin}",
                               input_takeoff, input_azimuth, npol, nsp, gaps)

    if params.gap_skips_search and not with_sp and (gaps[0] > params.max_agap_deg
                                                     or gaps[1] > params.max_pgap_deg):
        return _empty_solution("E", f"azimuthal gap {gaps[0]} or take-off gap {gaps[1]} "
                               "beyond the limits", input_takeoff, input_azimuth, npol, nsp, gaps)
    grid = mechanism_grid(params.dang_deg)
    if with_sp and getattr(rng, "kind", "") == "hash":
        # HASH v1.2's own runs: S/P ratios shape the first event's search only (HashStream)
        search_rows = np.ones(len(polarity), bool) if not rng.sp_lookup_set else is_pol
        rng.sp_lookup_set = True
    else:
        search_rows = np.ones(len(polarity), bool)
    if with_sp or weighted:
        accepted = search_polarities_sp(rays[:, search_rows], polarity[search_rows],
                                        sp[search_rows], grid, params.badfrac, params.badmin,
                                        params.qbadfac, params.qbadmin,
                                        weight[search_rows] if weighted else None, parallel)
    else:
        accepted = search_polarities(rays, polarity, impulsive, grid, params.badfrac,
                                     params.badmin, parallel)
    n_accepted = len(accepted)
    if n_accepted == 0:
        return _empty_solution("F", "no mechanism passes the misfit limits", input_takeoff,
                               input_azimuth, npol, nsp, gaps)
    if n_accepted > params.max_accepted:
        if rng is None:
            raise ValueError("a random stream is needed to draw the subset of acceptable mechanisms")
        accepted = accepted[rng.subset(n_accepted, params.max_accepted)]
    normals, slips = grid.normal[accepted], grid.slip[accepted]
    clusters = mech_probability(normals, slips, params.cangle_deg, params.prob_max,
                                params.max_solutions, params.iterative_avg)

    rays1 = rays[0].astype(float)
    pol_weight = weight if weighted else None
    rows = {name: [] for name in ("sdr", "aux", "fault_unc", "aux_unc", "prob", "mfrac", "mavg",
                                  "stdr", "hash_quality", "quality", "note")}
    caps_of = (QualityChecks(rays1, polarity, sp, weight, grid, params, gaps)
               if params.honest_quality else None)
    for cluster in clusters:
        weights = (hash_v12_weight_mechanism(cluster.normal, cluster.slip)
                   if params.misfit_weights == "hash_v12" else None)
        if with_sp:
            mfrac, mavg, stdr, _ = polarity_sp_misfit(rays1, polarity, sp, cluster.normal,
                                                      cluster.slip, weights, pol_weight)
        else:
            mfrac, stdr, _ = polarity_misfit(rays1, polarity, impulsive, cluster.normal,
                                             cluster.slip, weights, pol_weight)
            mavg = np.nan
        sdr = np.array(hash_sdr(cluster.normal, cluster.slip))
        rows["sdr"].append(sdr)
        rows["aux"].append([float(v) for v in auxiliary_plane(*sdr)])
        rows["fault_unc"].append(cluster.fault_uncertainty_deg)
        rows["aux_unc"].append(cluster.aux_uncertainty_deg)
        rows["prob"].append(cluster.prob)
        rows["mfrac"].append(mfrac)
        rows["mavg"].append(mavg)
        rows["stdr"].append(stdr)
        letter = quality_grade(cluster.prob, cluster.fault_uncertainty_deg,
                               cluster.aux_uncertainty_deg, mfrac, stdr, gaps[0], gaps[1], npol,
                               params.npolmin, params.max_agap_deg, params.max_pgap_deg, with_sp)
        rows["hash_quality"].append(letter)
        capped, note = caps_of.grade(letter, cluster.normal, cluster.slip) if caps_of else (letter, "")
        rows["quality"].append(capped)
        rows["note"].append(note)
    sdr = np.array(rows["sdr"])
    aux = np.array(rows["aux"])
    acceptable = np.column_stack(vectors_to_sdr(normals, slips))[: params.maxout]
    input_rays = ray_vectors(input_takeoff, input_azimuth)
    return MechanismSolution(
        strike=sdr[:, 0], dip=sdr[:, 1], rake=sdr[:, 2],
        aux_strike=aux[:, 0], aux_dip=aux[:, 1], aux_rake=aux[:, 2],
        fault_uncertainty=np.array(rows["fault_unc"]), aux_uncertainty=np.array(rows["aux_unc"]),
        prob=np.array(rows["prob"]), polarity_misfit=np.array(rows["mfrac"]),
        sp_misfit=np.array(rows["mavg"]), station_distribution_ratio=np.array(rows["stdr"]),
        quality=np.array(rows["quality"]), hash_quality=np.array(rows["hash_quality"]),
        quality_note=np.array(rows["note"], dtype=object), azimuth_gap=gaps[0],
        takeoff_gap=gaps[1], num_p_pol=npol, num_sp=nsp, acceptable=acceptable,
        takeoff=input_takeoff, azimuth=input_azimuth,
        predicted_polarity=np.where(input_polarity != 0,
                                    np.where(p_radiation(input_rays, clusters[0].normal,
                                                         clusters[0].slip) >= 0, 1, -1), 0),
        n_accepted=n_accepted)


def perturb_given_angles(takeoff_deg, azimuth_deg, takeoff_sigma_deg, azimuth_sigma_deg,
                         nmc: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """HASH driver 1: trial 1 = the given angles; trials 2..nmc add sigma * N(0, 1), drawn
    station by station, for each trial first the azimuth then the take-off deviate (single
    precision, as HASH). Returns (takeoff, azimuth), each (n obs, nmc) degrees."""
    f32 = np.float32
    takeoff = np.asarray(takeoff_deg, dtype=f32)
    azimuth = np.asarray(azimuth_deg, dtype=f32)
    nobs = takeoff.size
    deviates = rng.normal(nobs * (nmc - 1) * 2).astype(f32).reshape(nobs, nmc - 1, 2)
    azimuths = np.empty((nobs, nmc), f32)
    takeoffs = np.empty((nobs, nmc), f32)
    azimuths[:, 0], takeoffs[:, 0] = azimuth, takeoff
    azimuths[:, 1:] = azimuth[:, None] + np.asarray(azimuth_sigma_deg, f32).reshape(-1, 1) * deviates[..., 0]
    takeoffs[:, 1:] = takeoff[:, None] + np.asarray(takeoff_sigma_deg, f32).reshape(-1, 1) * deviates[..., 1]
    return takeoffs.astype(float), azimuths.astype(float)


def trial_depths(depth_km: float, depth_sigma_km: float, nmc: int, n_models: int, rng):
    """HASH drivers 2/3: (depth km, model index) per trial. Trial 1: catalogue depth, model 0;
    trial m >= 2 (1-based): depth + sigma * N(0, 1) in single precision, model mod(m, n). The
    deviates are drawn even for sigma 0 (see :meth:`HashParams.depth_sigma_km`), so the stream
    stays in step."""
    f32 = np.float32
    depths = np.empty(nmc, f32)
    depths[0] = f32(depth_km)
    depths[1:] = f32(depth_km) + f32(depth_sigma_km) * rng.normal(nmc - 1).astype(f32)
    models = np.zeros(nmc, dtype=int)
    models[1:] = np.mod(np.arange(2, nmc + 1), n_models)
    return depths.astype(float), models


def perturbed_epicentres(latitude: float, longitude: float, horz_sigma_km: float, nmc: int,
                         rng) -> tuple[np.ndarray, np.ndarray]:
    """SKHASH's epicentral perturbation: trial 1 the catalogue epicentre; trial m >= 2 moved
    sigma * N(0, 1) km along a great circle at a uniformly drawn azimuth (the nmc - 1 normal
    deviates, then the nmc - 1 uniforms, from ``rng``). Returns (latitude, longitude) per
    trial, degrees."""
    lat, lon = np.full(nmc, float(latitude)), np.full(nmc, float(longitude))
    if nmc < 2:
        return lat, lon
    distance = horz_sigma_km * rng.normal(nmc - 1) / 6371.0   # radians of arc
    azimuth = 2.0 * np.pi * rng.uniform(nmc - 1)
    lat0, lon0 = np.radians(latitude), np.radians(longitude)
    lat1 = np.arcsin(np.sin(lat0) * np.cos(distance)
                     + np.cos(lat0) * np.sin(distance) * np.cos(azimuth))
    lon1 = lon0 + np.arctan2(np.sin(azimuth) * np.sin(distance) * np.cos(lat0),
                             np.cos(distance) - np.sin(lat0) * np.sin(lat1))
    lat[1:], lon[1:] = np.degrees(lat1), np.degrees(lon1)
    return lat, lon


def takeoffs_for_trials(distance_km, azimuth_deg, depth_km: float, depth_sigma_km: float,
                        tables: list[TakeoffTable], nmc: int, rng,
                        edges: str = "skip") -> tuple[np.ndarray, np.ndarray]:
    """HASH drivers 2/3: take-off angles (n obs, nmc) of each trial's depth and velocity model
    (see `trial_depths`) looked up as HASH's GET_TTS does. ``distance_km``/``azimuth_deg``:
    (n obs,) or, with perturbed epicentres, (n obs, nmc). ``edges`` (``skip``, ``clamp``,
    ``hash_v12``; :data:`hash_core.raytrace.TABLE_EDGES`): what a trial depth or a distance
    outside the table gives (NaN: a skipped trial, or observation for an unperturbed ray).
    An unperturbed depth outside the table raises ValueError unless ``edges`` is ``hash_v12``
    (HASH v1.2 then uses 999 degree angles) or ``clamp``."""
    distance = np.asarray(distance_km, dtype=float)
    azimuth = np.asarray(azimuth_deg, dtype=float)
    if distance.ndim == 1:
        distance = np.repeat(distance[:, None], nmc, axis=1)
        azimuth = np.repeat(azimuth[:, None], nmc, axis=1)
    depths, models = trial_depths(depth_km, depth_sigma_km, nmc, len(tables), rng)
    deps = tables[0].source_depths_km
    if edges == "skip" and not deps[0] <= depth_km <= deps[-1]:
        raise ValueError(f"source depth {depth_km} km is outside the take-off table "
                         f"({deps[0]}-{deps[-1]} km)")
    takeoff = np.empty(distance.shape)
    for m in range(nmc):
        takeoff[:, m], _ = lookup_takeoff(tables[models[m]], distance[:, m], depths[m], edges)
    return takeoff, azimuth
