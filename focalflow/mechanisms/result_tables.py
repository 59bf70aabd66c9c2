"""The three result tables of a solved event: mechanisms, acceptable mechanisms, polinfo.

Column names are SKHASH's (:mod:`focalflow.formats.skhash`: ``MECHANISM_COLUMNS`` = SKHASH's
out.csv columns + the second nodal plane, gaps, the Frohlich faulting class, HASH's own
quality letter and the note saying why a letter was capped; ``ACCEPTABLE_COLUMNS``;
``POLINFO_COLUMNS``). Angles in degrees, written rounded to 0.1 as SKHASH writes them
(:func:`round_tables`; in memory the mechanisms keep full precision, which HASH's integer
output needs); probabilities, misfits and station distribution ratios in percent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.formats.skhash import ACCEPTABLE_COLUMNS, MECHANISM_COLUMNS, POLINFO_COLUMNS
from focalflow.mechanisms.classify import classify_mechanisms
from focalflow.workdir import atomic_path
from hash_core.focal import MechanismSolution
from hash_core.geometry import ray_vectors, sdr_to_vectors
from hash_core.search import predicted_log_sp

TABLES = ("mechanisms", "acceptable", "polinfo")
COLUMNS = {"mechanisms": MECHANISM_COLUMNS, "acceptable": ACCEPTABLE_COLUMNS,
           "polinfo": POLINFO_COLUMNS}


#: Decimals of the mechanisms table's numbers as written (SKHASH's precision).
MECHANISM_DECIMALS = {**{c: 1 for c in ("strike", "dip", "rake", "fault_plane_uncertainty",
                                        "aux_plane_uncertainty", "polarity_misfit", "prob_mech",
                                        "sta_distribution_ratio", "strike2", "dip2", "rake2")},
                      "sp_misfit": 3}


def _f(value) -> float:
    value = float(value)
    return value if np.isfinite(value) else np.nan


def round_tables(results: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The result tables with the mechanisms' numbers rounded as they are written."""
    mechanisms = results["mechanisms"].copy()
    for column, digits in MECHANISM_DECIMALS.items():
        mechanisms[column] = pd.to_numeric(mechanisms[column]).round(digits)
    return {**results, "mechanisms": mechanisms}


def event_tables(event: dict, obs: dict, takeoff: np.ndarray, azimuth: np.ndarray,
                 solution: MechanismSolution) -> dict:
    """One event's rows: ``{"mechanisms": [row dicts], "acceptable": {column: array},
    "polinfo": {column: array}}``. ``obs``: the event's observation columns (arrays, with
    ``sta_code``), in the order of ``takeoff``/``azimuth`` (n obs, n trials) and ``solution``."""
    event_id = str(event["event_id"])
    origin = {"origin_lat": event["latitude"], "origin_lon": event["longitude"],
              "origin_depth_km": event["depth"], "horz_uncert_km": event["horz_uncert_km"],
              "vert_uncert_km": event["vert_uncert_km"]}
    nsol = solution.n_solutions
    mechanisms = [{
        "event_id": event_id,
        "strike": _f(solution.strike[i]), "dip": _f(solution.dip[i]),
        "rake": _f(solution.rake[i]), "quality": str(solution.quality[i]),
        "fault_plane_uncertainty": _f(solution.fault_uncertainty[i]),
        "aux_plane_uncertainty": _f(solution.aux_uncertainty[i]),
        "num_p_pol": int(solution.num_p_pol), "num_sp_ratios": int(solution.num_sp),
        "polarity_misfit": _f(100 * solution.polarity_misfit[i]),
        "prob_mech": _f(100 * solution.prob[i]),
        "sta_distribution_ratio": _f(100 * solution.station_distribution_ratio[i]),
        "sp_misfit": _f(solution.sp_misfit[i]), "mult_solution_flag": nsol > 1,
        "time": event["time"], **origin,
        "strike2": _f(solution.aux_strike[i]), "dip2": _f(solution.aux_dip[i]),
        "rake2": _f(solution.aux_rake[i]),
        "azimuthal_gap": solution.azimuth_gap, "takeoff_gap": solution.takeoff_gap,
        "hash_quality": str(solution.hash_quality[i]),
        "quality_note": str(solution.quality_note[i])}
        for i in range(nsol)]
    classes = classify_mechanisms(*([round(row[c], 1) for row in mechanisms]
                                    for c in ("strike", "dip", "rake")))
    for row, faulting_class in zip(mechanisms, classes):  # of the angles as written
        row["faulting_class"] = str(faulting_class)
    accepted = np.round(np.asarray(solution.acceptable, dtype=float).reshape(-1, 3), 2)
    acceptable = {"event_id": np.full(len(accepted), event_id, dtype=object),
                  "strike": accepted[:, 0], "dip": accepted[:, 1], "rake": accepted[:, 2]}
    n = len(obs["kind"])
    is_p = obs["kind"] == "P"
    solved = bool(np.isfinite(solution.strike[0]))
    sp_diff = np.full(n, np.nan)
    if solved and (~is_p).any():
        normal, slip = sdr_to_vectors(solution.strike[0], solution.dip[0], solution.rake[0])
        rays = ray_vectors(takeoff[~is_p, 0], azimuth[~is_p, 0])
        sp_diff[~is_p] = obs["sp_ratio"][~is_p].astype(float) - predicted_log_sp(rays, normal,
                                                                                 slip)
    agree = np.where(solved & is_p, (solution.predicted_polarity == np.sign(
        obs["p_polarity"].astype(float))).astype(float), np.nan)
    weight = np.abs(np.nan_to_num(obs["polarity_weight"].astype(float), nan=1.0))
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
        "pol_agreement_weighted": np.round(agree * weight, 3)}
    return {"mechanisms": mechanisms, "acceptable": acceptable, "polinfo": polinfo}


def concat_tables(parts: list[dict]) -> dict[str, pd.DataFrame]:
    """``{"mechanisms", "acceptable", "polinfo"}`` frames from :func:`event_tables` results."""
    mechanisms = pd.DataFrame([row for p in parts for row in p["mechanisms"]],
                              columns=MECHANISM_COLUMNS)
    out = {"mechanisms": mechanisms}
    for name in ("acceptable", "polinfo"):
        columns = COLUMNS[name]
        if not parts:
            out[name] = pd.DataFrame(columns=columns)
            continue
        frame = pd.DataFrame({c: np.concatenate([p[name][c] for p in parts]) for c in columns})
        if "pol_agreement" in frame:  # 1/0; blank on S/P rows and for unsolved events
            frame["pol_agreement"] = frame["pol_agreement"].astype("Int64")
        out[name] = frame
    return out


def write_results(results: dict[str, pd.DataFrame], paths: dict[str, Path]) -> None:
    """Write the result tables (``TABLES`` names) to ``paths`` atomically, rounded as SKHASH
    writes them."""
    results = round_tables(results)
    for name in TABLES:
        with atomic_path(paths[name]) as tmp:
            results[name].to_csv(tmp, index=False)
