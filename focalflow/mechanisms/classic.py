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
                                               make_observations, station_code)
from focalflow.mechanisms.result_tables import write_results
from focalflow.mechanisms.solve import solve_catalog, velocity_tables
from focalflow.workdir import atomic_path, write_text_atomic
from hash_core.fortran import log10_f32
from hash_core.params import HashParams, RunPolicy

log = logging.getLogger("focalflow.6_run_hash")
STAGE = "6_run_hash"


def _locate(obs: pd.DataFrame, stations: hash_v12.HashStationList, on_problem) -> pd.DataFrame:
    """Station coordinates of each observation as HASH finds them (GETSTAT_TRI/GETSTAT_SCSN);
    an observation whose station is not found is reported and dropped, as HASH drops it."""
    if obs.empty:
        return obs
    rows = [stations.find(sta, cha, net) for sta, cha, net in
            zip(obs["station"], obs["channel"], obs["network"])]
    found = np.array([r is not None for r in rows], dtype=bool)
    for _, row in obs[~found].iterrows():
        on_problem(row["event_id"], station_code(row["network"], row["station"], "",
                                                 row["channel"]),
                   "station not in the station list; observation skipped")
    obs = obs[found].copy()
    table = stations.frame.loc[[r for r in rows if r is not None]]
    obs["station_lat"] = table["latitude"].to_numpy(float)
    obs["station_lon"] = table["longitude"].to_numpy(float)
    obs["station_elev_m"] = table["elevation"].to_numpy(float)
    return obs.reset_index(drop=True)


def _reversals(control: hash_v12.HashControl):
    return (hash_v12.read_scsn_reverse(control.reversal_file)
            if control.reversal_file and control.reversal_file.name else None)


def load_hash_inputs(control: hash_v12.HashControl, on_problem) -> tuple:
    """(events, observations, velocity tables or None) of a HASH v1.2 control file, read as
    HASH's driver ``control.driver`` reads its inputs (see the README's HASH section)."""
    driver = control.driver
    if driver == 5:
        return _driver5_inputs(control, on_problem)
    reader = {1: hash_v12.read_phase_driver1, 4: hash_v12.read_phase_driver4}.get(
        driver, hash_v12.read_phase_driver2)
    events, obs, problems = reader(control.phase_file)
    for problem in problems:
        on_problem(None, None, problem)
    if driver == 3:  # driver 3 uses impulsive polarities only
        obs = obs[obs["impulsive"].astype(bool)]
    obs = make_observations(obs, kind="P")
    obs = apply_reversals(obs[obs["event_id"].isin(events["event_id"])], events,
                          _reversals(control))
    if driver == 1:
        return events, obs, None
    read_stations = (hash_v12.read_scsn_stations_5char if driver == 4
                     else hash_v12.read_scsn_stations)
    stations = hash_v12.HashStationList(read_stations(control.station_file))
    obs = add_distance_azimuth(_locate(obs, stations, on_problem), events)
    if driver == 3:
        obs = pd.concat([obs, _hash_sp_observations(control, events, stations, on_problem)],
                        ignore_index=True)
    return events, obs, velocity_tables(control.velocity_models, control.params)


def _hash_sp_observations(control: hash_v12.HashControl, events: pd.DataFrame,
                          stations: hash_v12.HashStationList, on_problem) -> pd.DataFrame:
    """Driver 3's S/P rows: amplitudes of stations in the station list and the correction
    file, with signal/noise >= ratmin on P and S, as log10(S/|P|) minus the station
    correction, in single precision as HASH computes them."""
    amps, problems = hash_v12.read_amp_file(control.amp_file)
    for problem in problems:
        on_problem(None, None, problem)
    amps = amps[amps["event_id"].isin(events["event_id"])].reset_index(drop=True)
    corrections = hash_v12.HashStationList(hash_v12.read_statcor(control.statcor_file),
                                           network_matters=False)
    rows = [corrections.find(sta, cha) for sta, cha in zip(amps["station"], amps["channel"])]
    has_correction = np.array([r is not None for r in rows], dtype=bool)
    for _, row in amps[~has_correction].iterrows():
        on_problem(row["event_id"], station_code(row["network"], row["station"], "",
                                                 row["channel"]),
                   "no station correction for this S/P ratio (HASH skips it)")
    correction = np.zeros(len(amps), np.float32)
    correction[has_correction] = corrections.frame.loc[
        [r for r in rows if r is not None], "sta_correction"].to_numpy(np.float32)
    f32 = np.float32
    amp_p = amps["amp_p"].to_numpy(f32)
    amp_s = amps["amp_s"].to_numpy(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = (has_correction & (amp_p != 0) & (np.abs(amp_p) / amps["noise_p"].to_numpy(f32)
                                                 >= f32(control.params.ratmin))
                & (amp_s / amps["noise_s"].to_numpy(f32) >= f32(control.params.ratmin)))
        amps["sp_ratio"] = log10_f32(amp_s / np.abs(amp_p)) - correction
    sp = make_observations(amps[good], kind="SP", p_polarity=0.0, impulsive=False)
    return add_distance_azimuth(_locate(sp, stations, on_problem), events)


def _driver5_inputs(control: hash_v12.HashControl, on_problem) -> tuple:
    """Driver 5: rays from the SIMULPS file, polarities matched to them on the first three
    characters of the station name (HASH's rule: the first ray of a matching name gets it); a
    ray without a polarity is kept as kind ``ray`` so that its perturbations are drawn, as
    HASH draws them, and then dropped."""
    events, rays, problems = hash_v12.read_simulps(control.simulps_file)
    for problem in problems:
        on_problem(None, None, problem)
    pols = hash_v12.read_driver5_polarities(control.phase_file, events["event_id"])
    rays = rays.assign(kind="ray", p_polarity=0.0, impulsive=False)
    for event_id, group in pols.groupby("event_id", sort=False):
        mag = group["mag"].iloc[-1]
        if mag != 0:
            events.loc[events["event_id"] == event_id, "mag"] = mag
        index = rays.index[rays["event_id"] == event_id]
        prefixes = rays.loc[index, "station"].str[:3].tolist()
        for _, pick in group.iterrows():
            if pick["station"][:3] not in prefixes:
                continue
            row = index[prefixes.index(pick["station"][:3])]
            rays.loc[row, ["kind", "p_polarity", "impulsive", "source"]] = [
                "P", float(pick["p_polarity"]), bool(pick["impulsive"]), pick["source"]]
            rays.loc[row, "pick_station"] = pick["station"]
    obs = make_observations(rays)
    if "pick_station" in rays:  # the reversal table is read by the polarity line's name
        obs["station"] = rays["pick_station"].fillna(rays["station"]).to_numpy(str)
    return events, apply_reversals(obs, events, _reversals(control)), None


_SKHASH_ANGLES = {"takeoff": "takeoff_deg", "azimuth": "azimuth_deg",
                  "takeoff_uncertainty": "takeoff_sigma_deg",
                  "azimuth_uncertainty": "azimuth_sigma_deg", "sr_dist_km": "distance_km"}


def _skhash_events(control: skhash.SkhashControl, pol: pd.DataFrame) -> pd.DataFrame:
    if control.catfile is not None:
        return skhash.read_skhash_catalog(control.catfile)
    needed = ["origin_latitude", "origin_longitude", "origin_depth_km"]
    if not all(c in pol.columns for c in needed):
        raise InputError(control.fpfile or control.path, "without $catfile the polarity file "
                         "needs origin_latitude, origin_longitude and origin_depth_km")
    events = (pol.rename(columns={"origin_latitude": "latitude", "origin_longitude": "longitude",
                                  "origin_depth_km": "depth"})
              .drop_duplicates("event_id").reindex(columns=hash_v12.EVENT_COLUMNS))
    events["time"] = events["time"].fillna("")
    return events


def _skhash_polarities(control: skhash.SkhashControl) -> pd.DataFrame:
    """The rows of every SKHASH polarity file, each with its source, |weight| at least
    ``$min_polarity_weight``, polarity the sign and ``polarity_weight`` the size of
    ``p_polarity`` (SKHASH's weights)."""
    frames = []
    for source, path in control.polarity_files():
        frame = skhash.read_skhash_polarities(path)
        value = frame["p_polarity"].to_numpy(float)
        frame = frame[np.abs(value) >= control.min_polarity_weight].copy()
        frame["polarity_weight"] = np.abs(frame["p_polarity"].to_numpy(float))
        frame["p_polarity"] = np.sign(frame["p_polarity"].to_numpy(float))
        frames.append(frame.assign(source=source, impulsive=True))
    if not frames:
        raise InputError(control.path, "no polarity file: give $fpfile, $conpfile, $impfile or "
                         "$dlpfile")
    return pd.concat(frames, ignore_index=True)


def _duplicates(obs: pd.DataFrame, control: skhash.SkhashControl, what: str,
                on_problem) -> pd.DataFrame:
    """SKHASH's rule for several observations of one receiver in one event: an error, unless
    ``$allow_duplicate_stations`` (kept) or ``$remove_duplicate_stations`` (first kept)."""
    key = ["event_id", *control.match_on]
    repeated = obs.duplicated(key, keep="first").to_numpy()
    if not repeated.any() or control.allow_duplicates:
        return obs
    first = obs[repeated].iloc[0]
    if not control.remove_duplicates:
        raise InputError(control.path, f"{int(repeated.sum())} duplicate {what} (e.g. event "
                         f"{first['event_id']}, {join_codes(list(control.match_on))(obs[repeated]).iloc[0]}); "
                         "set $allow_duplicate_stations or $remove_duplicate_stations")
    for _, row in obs[repeated].iterrows():
        on_problem(row["event_id"], station_code(row["network"], row["station"],
                                                 row["location"], row["channel"]),
                   f"duplicate {what} dropped ($remove_duplicate_stations)")
    return obs[~repeated].reset_index(drop=True)


def _skhash_amplitudes(control: skhash.SkhashControl, events: pd.DataFrame) -> pd.DataFrame:
    """S/P rows of ``$ampfile`` (source trad_sp) and ``$relampfile`` (rel_sp), corrected by
    ``$corfile`` on the matched codes (0 where a receiver has none)."""
    corrections = (skhash.read_skhash_statcor(control.corfile)
                   if control.corfile is not None else None)
    parts = []
    for source, path in (("trad_sp", control.ampfile), ("rel_sp", control.relampfile)):
        if path is None:
            continue
        amps = skhash.read_skhash_amplitudes(path, control.params.ratmin, control.min_sp,
                                             control.max_sp)
        if corrections is not None:
            codes = [c for c in ("network", "station", "location", "channel")
                     if c in control.match_on and corrections[c].astype(str).str.len().gt(0).any()]
            key = join_codes(codes or ["station"])
            amps["sp_ratio"] -= key(amps).map(dict(zip(key(corrections),
                                                       corrections["sta_correction"]))) \
                .fillna(0.0).to_numpy(float)
        parts.append(make_observations(amps.rename(columns=_SKHASH_ANGLES).assign(source=source),
                                       kind="SP", p_polarity=0.0, impulsive=False))
    sp = pd.concat(parts, ignore_index=True) if parts else empty_observations()
    return sp[sp["event_id"].isin(events["event_id"])]


def _simulps_angles(control: skhash.SkhashControl, obs: pd.DataFrame, on_problem) -> pd.DataFrame:
    """Take-off angles, azimuths and distances from ``$simulpsfile`` (3-D ray tracing), matched
    on event id and station; observations without a ray are reported and dropped."""
    _, rays, _ = hash_v12.read_simulps(control.simulpsfile)
    table = rays.drop_duplicates(["event_id", "station"]).set_index(["event_id", "station"])
    keys = list(zip(obs["event_id"].astype(str), obs["station"].astype(str)))
    found = np.array([k in table.index for k in keys], dtype=bool)
    for _, row in obs[~found].iterrows():
        on_problem(row["event_id"], row["station"], "no ray in the SIMULPS file; observation "
                   "skipped")
    obs = obs[found].copy()
    matched = table.loc[[k for k, f in zip(keys, found) if f]]
    for column in ("distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg",
                   "azimuth_sigma_deg"):
        obs[column] = matched[column].to_numpy(float)
    return obs.reset_index(drop=True)


def _azimuth_uncertainty(obs: pd.DataFrame, events: pd.DataFrame, params) -> np.ndarray:
    """SKHASH's azimuth uncertainty where none is given: the angle the epicentral uncertainty
    subtends at the station, 2 (90 - acos(h / distance)), 360 inside it."""
    given = pd.to_numeric(obs["azimuth_sigma_deg"], errors="coerce").to_numpy(float)
    horz = events.set_index("event_id").loc[obs["event_id"], "horz_uncert_km"]
    horz = np.array([params.horz_sigma_km(h) for h in horz])
    distance = obs["distance_km"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        computed = np.where(horz <= distance, 2.0 * (90.0 - np.degrees(np.arccos(horz / distance))),
                            360.0)
    return np.where(np.isfinite(given), given, computed)


def load_skhash_inputs(control: skhash.SkhashControl, on_problem) -> tuple:
    """(events, observations, velocity tables or None) of an SKHASH control file, read as
    SKHASH reads its files (see the README's SKHASH key table)."""
    pol = _skhash_polarities(control)
    events = _skhash_events(control, pol)
    obs = make_observations(pol.rename(columns=_SKHASH_ANGLES), kind="P")
    obs = obs[obs["event_id"].isin(events["event_id"])]
    obs = _duplicates(obs, control, "polarities", on_problem)
    if control.plfile is not None:
        reversals = skhash.read_skhash_csv(control.plfile, ["start_time", "end_time"],
                                           "polarity reversal")
        obs = apply_reversals(obs, events, reversals.rename(columns={"start_time": "start",
                                                                     "end_time": "end"}))
    sp = _duplicates(_skhash_amplitudes(control, events), control, "S/P ratios", on_problem)
    obs = pd.concat([obs, sp], ignore_index=True)
    tables = None
    if control.simulpsfile is not None:
        obs = _simulps_angles(control, obs, on_problem)
    elif obs["takeoff_deg"].isna().all():
        if control.stfile is None:
            raise InputError(control.path, "no take-off angles given: $stfile is required")
        stations = skhash.read_skhash_stations(control.stfile)
        codes = [c for c in control.match_on if stations[c].astype(str).str.len().gt(0).any()]
        missing = []
        located = attach_stations(obs, stations, join_codes(codes or ["station"]),
                                  lambda *problem: missing.append(problem))
        # one observation without a station never stops the run: a failure row each, unless
        # $ignore_missing_metadata says to leave them out
        if control.ignore_missing_metadata and missing:
            log.info("%d observation(s) without a station in %s left out "
                     "($ignore_missing_metadata)", len(missing), control.stfile)
        elif missing:
            for problem in missing:
                on_problem(*problem)
        obs = add_distance_azimuth(located, events)
        if not control.vmodel_paths:
            raise InputError(control.path, "no take-off angles given: $vmodel_paths needed")
        tables = velocity_tables(control.vmodel_paths, control.params)
    if control.azmax > 0 and len(obs):
        uncertainty = _azimuth_uncertainty(obs, events, control.params)
        wide = uncertainty > control.azmax
        for _, row in obs[wide].iterrows():
            on_problem(row["event_id"], row["station"], f"azimuth uncertainty above $azmax "
                       f"{control.azmax:g} deg; observation skipped")
        obs = obs[~wide].reset_index(drop=True)
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
    policy = RunPolicy()
    paths: dict = {}
    if hash_inp:
        if driver is None:
            raise FocalflowError("--hash-inp needs --driver 1, 2, 3, 4 or 5")
        control = hash_v12.read_hash_inp(hash_inp, driver)
        events, obs, tables = load_hash_inputs(control, problems)
        hash_out = control.out_file
    else:
        control = skhash.read_skhash_control(skhash_control)
        out = out or control.outfile1
        paths = {"acceptable": control.outfile2, "polinfo": control.outfile_pol_info}
        if control.threads is not None:
            policy = replace(policy, threads=max(control.threads, 0))
        if not control.overwrite and out is not None and Path(out).exists():
            raise FocalflowError(f"{out} exists and $overwrite_output_file is false")
        events, obs, tables = load_skhash_inputs(control, problems)
        hash_out = None
    if out is None:
        raise FocalflowError("--out FILE is required (where to write mechanisms.csv)")
    params, policy = with_flags(control.params, policy, flags)
    results = solve_catalog(events, obs, params, policy, tables, problems)
    min_quality = getattr(control, "min_quality", "")
    if min_quality:  # SKHASH's $min_quality_report: the letter or better
        keep = results["mechanisms"]["quality"].astype(str) <= min_quality
        results = {**results, "mechanisms": results["mechanisms"][keep]}
    out = Path(out)
    write_results(results, {"mechanisms": out,
                            "acceptable": paths.get("acceptable") or _sibling(out, "acceptable"),
                            "polinfo": paths.get("polinfo") or _sibling(out, "polinfo")})
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
    """HASH's own preferred-mechanism file (the control file's output name), best effort;
    integers rounded from the unrounded mechanisms, as HASH's nint does."""
    by_id = events.set_index("event_id")
    lines = [hash_v12.format_out_line({"event_id": row["event_id"],
                                       **by_id.loc[row["event_id"]].to_dict()}, row, with_sp)
             for _, row in mechanisms.iterrows() if np.isfinite(row["strike"])]
    try:
        write_text_atomic(path, "\n".join(lines) + "\n")
    except OSError as exc:
        log.warning("could not write HASH output %s: %s", path, exc)
