"""The classic modes of stage 6: HASH v1.2 and SKHASH inputs run unchanged, without config.yaml.

``6_run_hash.py --hash-inp exampleN.inp --driver N --out mechanisms.csv`` reads a HASH v1.2
control file the way driver N does; ``--skhash-control control_file.txt --out mechanisms.csv``
an SKHASH control file with SKHASH-format CSV inputs. Paths inside the control files are
relative to the current folder, as for HASH and SKHASH. Each reader produces its events,
observations (:mod:`focalflow.mechanisms.observations`), velocity tables and
:class:`~hash_core.params.HashParams`; :func:`run_classic` solves them
(:func:`focalflow.mechanisms.solve.solve_catalog`) and writes ``--out`` with, beside it,
``<stem>_acceptable.csv``, ``<stem>_polinfo.csv``, ``<stem>_failures.csv`` (if anything was
skipped) and, for HASH, HASH's own ``.out`` file named in the control file.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from focalflow.errors import FocalflowError, InputError
from focalflow.formats import hash_v12, skhash
from focalflow.mechanisms.observations import (add_distance_azimuth, apply_reversals,
                                               attach_stations, empty_observations, join_codes,
                                               make_observations)
from focalflow.mechanisms.result_tables import write_results
from focalflow.mechanisms.solve import solve_catalog, velocity_tables
from focalflow.workdir import atomic_path, write_text_atomic
from hash_core.params import HashParams, RunPolicy

log = logging.getLogger("focalflow.6_run_hash")
STAGE = "6_run_hash"


def _hash_key(frame: pd.DataFrame) -> pd.Series:
    """HASH's station match: name + component (first two characters, V = E) + network."""
    component = frame["channel"].astype(str).map(hash_v12.hash_component_key)
    return frame["station"].astype(str) + "." + component + "." + frame["network"].astype(str)


def _hash_cor_key(frame: pd.DataFrame) -> pd.Series:
    """HASH's station-correction match: name + component; the network is ignored."""
    return frame["station"].astype(str) + "." + frame["channel"].astype(str).map(
        hash_v12.hash_component_key)


def load_hash_inputs(control: hash_v12.HashControl, on_problem) -> tuple:
    """(events, observations, velocity tables or None) of a HASH v1.2 control file."""
    if control.driver == 1:
        events, obs, problems = hash_v12.read_phase_driver1(control.phase_file)
    else:
        events, obs, problems = hash_v12.read_phase_driver2(control.phase_file)
    for problem in problems:
        on_problem(None, None, problem)
    reversals = (hash_v12.read_scsn_reverse(control.reversal_file)
                 if control.reversal_file and control.reversal_file.name else None)
    obs = make_observations(obs, kind="P")
    obs = apply_reversals(obs[obs["event_id"].isin(events["event_id"])], events, reversals)
    tables = None
    if control.driver in (2, 3):
        stations = hash_v12.read_scsn_stations(control.station_file)
        obs = add_distance_azimuth(attach_stations(obs, stations, _hash_key, on_problem), events)
        tables = velocity_tables(control.velocity_models)
    if control.driver == 3:
        obs = pd.concat([obs, _hash_sp_observations(control, events, stations, on_problem)],
                        ignore_index=True)
    return events, obs, tables


def _hash_sp_observations(control: hash_v12.HashControl, events: pd.DataFrame,
                          stations: pd.DataFrame, on_problem) -> pd.DataFrame:
    """Driver 3's S/P rows: amplitudes with signal/noise >= ratmin on P and S, log10(S/|P|)
    minus the station correction (0 where the station has none)."""
    amps, problems = hash_v12.read_amp_file(control.amp_file)
    for problem in problems:
        on_problem(None, None, problem)
    amps = amps[amps["event_id"].isin(events["event_id"])]
    ratmin = control.params.ratmin
    with np.errstate(divide="ignore", invalid="ignore"):
        good = ((amps["amp_p"].abs() / amps["noise_p"] >= ratmin)
                & (amps["amp_s"] / amps["noise_s"] >= ratmin)
                & (amps["amp_p"] != 0) & (amps["amp_s"] > 0))
    amps = amps[good.to_numpy()].copy()
    corrections = hash_v12.read_statcor(control.statcor_file)
    by_key = dict(zip(_hash_cor_key(corrections), corrections["sta_correction"]))
    correction = _hash_cor_key(amps).map(by_key).fillna(0.0).to_numpy(float)
    amps["sp_ratio"] = np.log10(amps["amp_s"].to_numpy(float) / amps["amp_p"].abs().to_numpy(float)) \
        - correction
    sp = make_observations(amps, kind="SP", p_polarity=0.0, impulsive=False)
    return add_distance_azimuth(attach_stations(sp, stations, _hash_key, on_problem), events)


_SKHASH_ANGLES = {"takeoff": "takeoff_deg", "azimuth": "azimuth_deg",
                  "takeoff_uncertainty": "takeoff_sigma_deg",
                  "azimuth_uncertainty": "azimuth_sigma_deg", "sr_dist_km": "distance_km"}


def _skhash_events(control: skhash.SkhashControl, pol: pd.DataFrame) -> pd.DataFrame:
    if control.catfile is not None:
        return skhash.read_skhash_catalog(control.catfile)
    needed = ["origin_latitude", "origin_longitude", "origin_depth_km"]
    if not all(c in pol.columns for c in needed):
        raise InputError(control.fpfile, "without $catfile the polarity file needs "
                         "origin_latitude, origin_longitude and origin_depth_km")
    events = (pol.rename(columns={"origin_latitude": "latitude", "origin_longitude": "longitude",
                                  "origin_depth_km": "depth"})
              .drop_duplicates("event_id").reindex(columns=hash_v12.EVENT_COLUMNS))
    events["time"] = events["time"].fillna("")
    return events


def load_skhash_inputs(control: skhash.SkhashControl, on_problem) -> tuple:
    """(events, observations, velocity tables or None) of an SKHASH control file."""
    if control.fpfile is None:
        raise InputError(control.path, "$fpfile (the polarity file) is required")
    pol = skhash.read_skhash_polarities(control.fpfile)
    events = _skhash_events(control, pol)
    weight = pol["p_polarity"].to_numpy(float)
    keep = np.abs(weight) >= control.min_polarity_weight
    pol = pol[keep].copy()
    # SKHASH's signed weights -> HASH's two classes: full weight impulsive, lower emergent
    pol["impulsive"] = np.abs(weight[keep]) >= 0.999
    pol["p_polarity"] = np.sign(weight[keep])
    pol["source"] = "trad_p"
    obs = make_observations(pol.rename(columns=_SKHASH_ANGLES), kind="P")
    obs = obs[obs["event_id"].isin(events["event_id"])]
    if control.plfile is not None:
        reversals = skhash.read_skhash_csv(control.plfile, ["start_time", "end_time"],
                                           "polarity reversal")
        obs = apply_reversals(obs, events, reversals.rename(columns={"start_time": "start",
                                                                     "end_time": "end"}))
    sp = empty_observations()
    if control.ampfile is not None:
        amps = skhash.read_skhash_amplitudes(control.ampfile, control.params.ratmin,
                                             control.min_sp, control.max_sp)
        if control.corfile is not None:
            cor = skhash.read_skhash_statcor(control.corfile)
            key = join_codes(["station", "channel"])
            amps["sp_ratio"] -= key(amps).map(dict(zip(key(cor), cor["sta_correction"]))) \
                .fillna(0.0).to_numpy(float)
        sp = make_observations(amps.rename(columns=_SKHASH_ANGLES).assign(source="trad_sp"),
                               kind="SP", p_polarity=0.0, impulsive=False)
        sp = sp[sp["event_id"].isin(events["event_id"])]
    obs = pd.concat([obs, sp], ignore_index=True)
    tables = None
    if "takeoff" not in pol.columns:
        if control.stfile is None:
            raise InputError(control.fpfile, "no take-off angles given: $stfile is required")
        stations = skhash.read_skhash_stations(control.stfile)
        columns = [c for c in ("network", "station", "location", "channel")
                   if stations[c].astype(str).str.len().gt(0).any()]
        obs = add_distance_azimuth(attach_stations(obs, stations, join_codes(columns),
                                                   on_problem), events)
        if not control.vmodel_paths:
            raise InputError(control.path, "no take-off angles given: $vmodel_paths needed")
        tables = velocity_tables(control.vmodel_paths)
    return events, obs, tables


class _Problems:
    """Collects skipped items of a classic run (no working directory) and logs them."""

    def __init__(self):
        self.rows: list[dict] = []

    def __call__(self, event_id, station, reason) -> None:
        self.rows.append({"stage": STAGE, "event_id": event_id or "", "station": station or "",
                          "reason": reason})
        where = " ".join(x for x in (f"event {event_id}" if event_id else "",
                                      f"station {station}" if station else "") if x)
        log.warning("skipped %s: %s", where or "item", reason)


def _sibling(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.stem}_{suffix}.csv")


def with_flags(params: HashParams, policy: RunPolicy, flags: dict) -> tuple[HashParams, RunPolicy]:
    """``params`` and ``policy`` with the given ``hash.*`` command-line values
    (``{"hash.seed": 3}``): the same keys, and so the same meaning, as in config.yaml."""
    names = {key.split(".", 1)[1]: value for key, value in flags.items()}
    own = {name: value for name, value in names.items() if name in HashParams.__dataclass_fields__}
    rest = {name: value for name, value in names.items() if name in RunPolicy.__dataclass_fields__}
    return replace(params, **own), replace(policy, **rest)


def run_classic(hash_inp: Optional[Path], driver: Optional[int], skhash_control: Optional[Path],
                out: Optional[Path], flags: dict) -> dict:
    """Run ``--hash-inp`` (with ``driver``) or ``--skhash-control``; ``flags``: the
    ``hash.*`` values given on the command line. Returns summary counts."""
    started = time.perf_counter()
    problems = _Problems()
    if hash_inp:
        if driver is None:
            raise FocalflowError("--hash-inp needs --driver 1, 2 or 3")
        control = hash_v12.read_hash_inp(hash_inp, driver)
        events, obs, tables = load_hash_inputs(control, problems)
        hash_out = control.out_file
    else:
        control = skhash.read_skhash_control(skhash_control)
        events, obs, tables = load_skhash_inputs(control, problems)
        out = out or control.outfile1
        hash_out = None
    if out is None:
        raise FocalflowError("--out FILE is required (where to write mechanisms.csv)")
    params, policy = with_flags(control.params, RunPolicy(), flags)
    results = solve_catalog(events, obs, params, policy, tables, problems)
    out = Path(out)
    write_results(results, {"mechanisms": out, "acceptable": _sibling(out, "acceptable"),
                            "polinfo": _sibling(out, "polinfo")})
    if problems.rows:
        with atomic_path(_sibling(out, "failures")) as tmp:
            pd.DataFrame(problems.rows).to_csv(tmp, index=False)
    if hash_out is not None:
        _write_hash_out(hash_out, events, results["mechanisms"], with_sp=params.always_sp)
    summary = {"events": len(events), "mechanisms": int(results["mechanisms"]["event_id"].nunique()),
               "skipped": len(problems.rows)}
    log.info("wrote %s in %.2f s: %s", out, time.perf_counter() - started,
             ", ".join(f"{k}={v}" for k, v in summary.items()))
    return summary


def _write_hash_out(path: Path, events: pd.DataFrame, mechanisms: pd.DataFrame,
                    with_sp: bool) -> None:
    """HASH's own preferred-mechanism file (the control file's output name), best effort."""
    by_id = events.set_index("event_id")
    lines = [hash_v12.format_out_line({"event_id": row["event_id"],
                                       **by_id.loc[row["event_id"]].to_dict()}, row, with_sp)
             for _, row in mechanisms.iterrows() if np.isfinite(row["strike"])]
    try:
        write_text_atomic(path, "\n".join(lines) + "\n")
    except OSError as exc:
        log.warning("could not write HASH output %s: %s", path, exc)
