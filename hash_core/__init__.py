"""hash_core — the numerics of HASH v1.2 (Hardebeck & Shearer 2002, 2003), arrays in, arrays out.

No files, no pandas, no configuration: callers (``focalflow.mechanisms`` and the readers of
``focalflow.formats``) turn tables into arrays and back. Conventions at every boundary:
x north, y east, z down; angles in degrees; take-off angle from vertical UP (0 = up, 90 =
horizontal, 180 = down), azimuth clockwise from north; polarity +1 up / -1 down (true ground
motion, i.e. after station reversals), 0 on S/P rows; S/P ratios as log10(S/P) after station
correction; depths and distances in km.

Parameters (``hash_core.params``, pure Python: importing it loads no numba)
    HashParams(npolmin, max_agap_deg, max_pgap_deg, dang_deg, nmc, maxout, max_accepted,
               badfrac, badmin, qbadfac, qbadmin, delmax_km, cangle_deg, prob_max,
               max_solutions, ratmin, depth_uncert_km, misfit_weights, ...) -- the one
        parameter set, HASH v1.2's defaults (each written once, there)
    RunPolicy(rng, seed, threads) -- random stream and cores

Geometry (``hash_core.geometry``)
    sdr_to_vectors(strike_deg, dip_deg, rake_deg) -> (normal (...,3), slip (...,3))
    vectors_to_sdr(normal, slip) -> (strike_deg, dip_deg, rake_deg)
    auxiliary_plane(strike_deg, dip_deg, rake_deg) -> (strike_deg, dip_deg, rake_deg)
    pbt_axes(normal, slip) -> (p_axis, t_axis, b_axis) unit vectors (...,3)
    axis_trend_plunge(vectors) -> (trend_deg, plunge_deg), lower hemisphere
    rotation_angle(normal1, slip1, normal2, slip2, return_aligned=False) -> degrees
        (HASH's MECH_ROT minimum rotation = Kagan angle)
    kagan_angle(sdr1 (...,3), sdr2 (...,3)) -> degrees
    moment_tensor(normal, slip) -> (...,3,3) unit double couple n s^T + s n^T
    ray_vectors(takeoff_deg, azimuth_deg) -> (...,3) unit rays
    flat_distance_azimuth(event_lat, event_lon, station_lat, station_lon)
        -> (distance_km, azimuth_deg), HASH's flat-earth formula

Mechanism grid (``hash_core.grid``)
    mechanism_grid(dang_deg) -> MechanismGrid(normal (n,3), slip (n,3), dang_deg), cached;
        31,032 mechanisms at 5 deg, 141,180 at 3 deg

Velocity models and take-off angles (``hash_core.raytrace``)
    takeoff_table(layer_depth_km, vp_km_s, source_depths_km=0:3:39, distances_km=0:2:200)
        -> TakeoffTable(source_depths_km, distances_km, takeoff_deg (ndepth, ndist),
                        travel_time_s (ndepth, ndist))
    lookup_takeoff(table, distance_km, depth_km) -> (takeoff_deg, travel_time_s); NaN where
        the depth or distance is outside the table

Random streams (``hash_core.rng``)
    make_rng(kind="numpy", seed=None) -> NumpyStream(seed or 0) | HashStream(seed or 314159)
        (HASH v1.2's LCG normal deviates; its random subset drawn with gfortran's RAND()).
        Both have .normal(n) -> (n,) float and .subset(n, k) -> k of n indices without
        replacement, in draw order (NumPy: sorted). Use ONE stream for a whole run, events in
        file order: the order of draws is what makes runs reproducible.

Monte Carlo trials (``hash_core.focal``)
    perturb_given_angles(takeoff_deg, azimuth_deg, takeoff_sigma_deg, azimuth_sigma_deg, nmc, rng)
        -> (takeoff (nobs,nmc), azimuth (nobs,nmc))          (HASH driver 1)
    takeoffs_for_trials(distance_km, azimuth_deg, depth_km, depth_sigma_km, tables, nmc, rng)
        -> (takeoff (nobs,nmc), azimuth (nobs,nmc))          (HASH drivers 2 and 3)

Grid search (``hash_core.search``, numba, cache=True, prange over mechanisms)
    search_polarities(rays (nmc,nobs,3), polarity, impulsive, grid, badfrac, badmin,
                      parallel=True)
        -> accepted grid indices (grid order); trials with NaN rays are skipped; parallel=False
        runs a serial kernel (same result) for events solved concurrently in threads
    search_polarities_sp(rays, polarity, sp_log10, grid, badfrac, badmin, qbadfac, qbadmin,
                         parallel=True)
        -> accepted indices
    predicted_log_sp(rays, normal, slip) -> log10(4.9 S/P radiation), clipped to [-2, 4]
    set_threads(n=None) — numba threads (default NUMBA_NUM_THREADS; 1 for per-core timing)
    get_threads() -> numba threads in use

Solutions (``hash_core.solution``)
    mech_average(normals, slips) -> (normal, slip)
    mech_probability(normals, slips, cangle_deg, prob_max, max_solutions) -> [Cluster(normal,
        slip, prob, fault_uncertainty_deg, aux_uncertainty_deg, members)]
    polarity_misfit(rays, polarity, impulsive, normal, slip) -> (mfrac, stdr, predicted)
    polarity_sp_misfit(rays, polarity, sp_log10, normal, slip) -> (mfrac, mavg, stdr, predicted)
    azimuth_takeoff_gaps(takeoff_deg, azimuth_deg) -> (agap, pgap) integer degrees
    quality_grade(prob, fault_unc, aux_unc, mfrac, stdr, agap, pgap, npol, npolmin,
                  max_agap_deg, max_pgap_deg, with_sp) -> "A".."F"

One event (``hash_core.focal``)
    focal_mechanism(takeoff_deg (nobs,nmc), azimuth_deg (nobs,nmc), polarity (nobs,),
                    impulsive (nobs,), sp_log10 (nobs,), params, rng, parallel=True)
        -> MechanismSolution
        (per solution, preferred first: strike, dip, rake, aux_strike/dip/rake,
        fault_uncertainty, aux_uncertainty, prob, polarity_misfit, sp_misfit,
        station_distribution_ratio, quality; per event: azimuth_gap, takeoff_gap, num_p_pol,
        num_sp, mult_solution, acceptable (n,3) sdr, takeoff, azimuth, predicted_polarity)

The numba kernels load on first use of a name (``import hash_core`` alone is cheap), so the
config schema can take its defaults from ``hash_core.params`` without compiling anything.
"""
from __future__ import annotations

import importlib

from .params import HashParams, RunPolicy

_MODULE_OF = {
    "MechanismSolution": "focal",
    "focal_mechanism": "focal",
    "perturb_given_angles": "focal",
    "takeoffs_for_trials": "focal",
    "trial_depths": "focal",
    "auxiliary_plane": "geometry",
    "axis_trend_plunge": "geometry",
    "flat_distance_azimuth": "geometry",
    "kagan_angle": "geometry",
    "moment_tensor": "geometry",
    "pbt_axes": "geometry",
    "ray_vectors": "geometry",
    "rotation_angle": "geometry",
    "sdr_to_vectors": "geometry",
    "vectors_to_sdr": "geometry",
    "MechanismGrid": "grid",
    "mechanism_grid": "grid",
    "TakeoffTable": "raytrace",
    "lookup_takeoff": "raytrace",
    "takeoff_table": "raytrace",
    "HashStream": "rng",
    "NumpyStream": "rng",
    "make_rng": "rng",
    "get_threads": "search",
    "predicted_log_sp": "search",
    "search_polarities": "search",
    "search_polarities_sp": "search",
    "set_threads": "search",
    "Cluster": "solution",
    "azimuth_takeoff_gaps": "solution",
    "mech_average": "solution",
    "mech_probability": "solution",
    "polarity_misfit": "solution",
    "polarity_sp_misfit": "solution",
    "quality_grade": "solution",
}

__all__ = ["HashParams", "RunPolicy", *_MODULE_OF]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'hash_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value
