"""Stage 6: focal mechanisms by HASH v1.2's method from polarities (and S/P amplitude ratios).

Working-directory mode (``python 6_run_hash.py [--config config.yaml]``) reads events.csv,
the polarities chosen by ``hash.polarity_source`` (cnn: polarities.csv, already corrected for
reversals; analyst: picks.csv U/D with reversals.csv applied; combined: analyst where given,
else CNN), stations.csv, and — with ``hash.use_sp_ratios`` — sp_ratios.csv (measured from the
cut/ windows first when absent), and the velocity models of ``hash.velocity_models``. It writes
mechanisms.csv (SKHASH output columns + second nodal plane and gaps),
mechanisms_acceptable.csv and polinfo.csv, then the figures/QuakeML/report products.

Classic modes, no config.yaml needed (paths inside are relative to the current folder):
``--hash-inp example1.inp --driver {1,2,3} --out mechanisms.csv [--rng hash]`` runs a HASH
v1.2 control file the way that driver reads it; ``--skhash-control control_file.txt
--out mechanisms.csv`` runs an SKHASH control file with SKHASH-format CSV inputs. Beside
``--out`` they write ``<out stem>_acceptable.csv``, ``<out stem>_polinfo.csv`` and, if
anything was skipped, ``<out stem>_failures.csv``.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from focalflow.errors import FocalflowError, InputError
from focalflow.formats import hash_v12, skhash
from focalflow.mechanisms.solve import (RunOptions, add_distance_azimuth, attach_stations,
                                empty_observations, make_observations, reversed_mask,
                                solve_catalog, velocity_tables, write_results)

log = logging.getLogger("focalflow.6_run_hash")
STAGE = "6_run_hash"


# --------------------------------------------------------------------------- HASH v1.2 inputs
def _hash_key(frame: pd.DataFrame) -> pd.Series:
    """HASH's station match: name + component (first two characters, V = E) + network."""
    component = frame["channel"].astype(str).map(hash_v12.hash_component_key)
    return frame["station"].astype(str) + "." + component + "." + frame["network"].astype(str)


def _hash_cor_key(frame: pd.DataFrame) -> pd.Series:
    """HASH's station-correction match: name + component; the network is ignored."""
    return frame["station"].astype(str) + "." + frame["channel"].astype(str).map(
        hash_v12.hash_component_key)


def load_hash_inputs(control: hash_v12.HashControl, on_problem) -> tuple:
    """Events, observations, velocity tables and options of a HASH v1.2 control file."""
    if control.driver == 1:
        events, obs, problems = hash_v12.read_phase_driver1(control.phase_file)
    else:
        events, obs, problems = hash_v12.read_phase_driver2(control.phase_file)
    for problem in problems:
        on_problem(None, None, problem)
    reversals = (hash_v12.read_scsn_reverse(control.reversal_file)
                 if control.reversal_file and control.reversal_file.name else None)
    obs = make_observations(obs, kind="P")
    obs = obs[obs["event_id"].isin(events["event_id"])]
    obs.loc[reversed_mask(obs, events, reversals), "p_polarity"] *= -1
    tables = None
    if control.driver in (2, 3):
        stations = hash_v12.read_scsn_stations(control.station_file)
        obs = add_distance_azimuth(attach_stations(obs, stations, _hash_key, on_problem), events)
        tables = velocity_tables(control.velocity_models)
    if control.driver == 3:
        obs = pd.concat([obs, _hash_sp_observations(control, events, stations, on_problem)],
                        ignore_index=True)
    options = RunOptions(npolmin=control.npolmin, max_agap_deg=control.max_agap_deg,
                         max_pgap_deg=control.max_pgap_deg, dang_deg=control.dang_deg,
                         nmc=control.nmc, maxout=control.maxout, badfrac=control.badfrac,
                         qbadfac=control.qbadfac, delmax_km=control.delmax_km,
                         cangle_deg=control.cangle_deg, prob_max=control.prob_max,
                         always_sp=control.driver == 3)
    return events, obs, tables, options


def _hash_sp_observations(control: hash_v12.HashControl, events: pd.DataFrame,
                          stations: pd.DataFrame, on_problem) -> pd.DataFrame:
    """Driver 3's S/P rows: amplitudes with signal/noise >= ratmin on P and S, log10(S/|P|)
    minus the station correction (0 where the station has none)."""
    amps, problems = hash_v12.read_amp_file(control.amp_file)
    for problem in problems:
        on_problem(None, None, problem)
    amps = amps[amps["event_id"].isin(events["event_id"])]
    with np.errstate(divide="ignore", invalid="ignore"):
        good = ((amps["amp_p"].abs() / amps["noise_p"] >= control.ratmin)
                & (amps["amp_s"] / amps["noise_s"] >= control.ratmin)
                & (amps["amp_p"] != 0) & (amps["amp_s"] > 0))
    amps = amps[good.to_numpy()].copy()
    corrections = hash_v12.read_statcor(control.statcor_file)
    by_key = dict(zip(_hash_cor_key(corrections), corrections["sta_correction"]))
    correction = _hash_cor_key(amps).map(by_key).fillna(0.0).to_numpy(float)
    amps["sp_ratio"] = np.log10(amps["amp_s"].to_numpy(float) / amps["amp_p"].abs().to_numpy(float)) \
        - correction
    sp = make_observations(amps, kind="SP", p_polarity=0.0, impulsive=False)
    return add_distance_azimuth(attach_stations(sp, stations, _hash_key, on_problem), events)


# ------------------------------------------------------------------------------ SKHASH inputs
def _skhash_key(columns: list[str]):
    def key(frame: pd.DataFrame) -> pd.Series:
        parts = [frame[c].astype(str) for c in columns]
        out = parts[0]
        for part in parts[1:]:
            out = out + "." + part
        return out
    return key


def load_skhash_inputs(control: skhash.SkhashControl, on_problem) -> tuple:
    """Events, observations, velocity tables and options of an SKHASH control file."""
    if control.fpfile is None:
        raise InputError(control.path, "$fpfile (the polarity file) is required")
    pol = skhash.read_skhash_polarities(control.fpfile)
    if control.catfile is not None:
        events = skhash.read_skhash_catalog(control.catfile)
    else:
        needed = ["origin_latitude", "origin_longitude", "origin_depth_km"]
        if not all(c in pol.columns for c in needed):
            raise InputError(control.fpfile, "without $catfile the polarity file needs "
                             "origin_latitude, origin_longitude and origin_depth_km")
        events = (pol.rename(columns={"origin_latitude": "latitude",
                                      "origin_longitude": "longitude",
                                      "origin_depth_km": "depth"})
                  .drop_duplicates("event_id").reindex(columns=hash_v12.EVENT_COLUMNS))
        events["time"] = events["time"].fillna("")
    weight = pol["p_polarity"].to_numpy(float)
    keep = np.abs(weight) >= control.min_polarity_weight
    pol = pol[keep].copy()
    # SKHASH's signed weights -> HASH's two classes: full weight impulsive, lower emergent
    pol["impulsive"] = np.abs(weight[keep]) >= 0.999
    pol["p_polarity"] = np.sign(weight[keep])
    pol["source"] = "trad_p"
    renames = {"takeoff": "takeoff_deg", "azimuth": "azimuth_deg",
               "takeoff_uncertainty": "takeoff_sigma_deg",
               "azimuth_uncertainty": "azimuth_sigma_deg", "sr_dist_km": "distance_km"}
    obs = make_observations(pol.rename(columns=renames), kind="P")
    obs = obs[obs["event_id"].isin(events["event_id"])]
    if control.plfile is not None:
        reversals = skhash.read_skhash_csv(control.plfile, ["start_time", "end_time"],
                                           "polarity reversal")
        reversals = reversals.rename(columns={"start_time": "start", "end_time": "end"})
        obs.loc[reversed_mask(obs, events, reversals), "p_polarity"] *= -1
    sp = empty_observations()
    if control.ampfile is not None:
        amps = skhash.read_skhash_amplitudes(control.ampfile, control.ratmin, control.min_sp,
                                             control.max_sp)
        if control.corfile is not None:
            cor = skhash.read_skhash_statcor(control.corfile)
            key = _skhash_key(["station", "channel"])
            amps["sp_ratio"] -= key(amps).map(dict(zip(key(cor), cor["sta_correction"]))) \
                .fillna(0.0).to_numpy(float)
        amps["source"] = "trad_sp"
        sp = make_observations(amps.rename(columns=renames), kind="SP", p_polarity=0.0,
                               impulsive=False)
        sp = sp[sp["event_id"].isin(events["event_id"])]
    obs = pd.concat([obs, sp], ignore_index=True)
    tables = None
    if "takeoff" not in pol.columns:
        if control.stfile is None:
            raise InputError(control.fpfile, "no take-off angles given: $stfile is required")
        stations = skhash.read_skhash_stations(control.stfile)
        columns = [c for c in ("network", "station", "location", "channel")
                   if stations[c].astype(str).str.len().gt(0).any()]
        obs = add_distance_azimuth(attach_stations(obs, stations, _skhash_key(columns),
                                                   on_problem), events)
        if not control.vmodel_paths:
            raise InputError(control.path, "no take-off angles given: $vmodel_paths needed")
        tables = velocity_tables(control.vmodel_paths)
    options = RunOptions(npolmin=control.npolmin, max_agap_deg=control.max_agap_deg,
                         max_pgap_deg=control.max_pgap_deg, dang_deg=control.dang_deg,
                         nmc=control.nmc, maxout=control.maxout, badfrac=control.badfrac,
                         qbadfac=control.qbadfrac, cangle_deg=control.cangle_deg,
                         prob_max=control.prob_max,
                         delmax_km=control.delmax_km if control.delmax_km > 0 else np.inf,
                         default_depth_sigma_km=control.default_vert_uncert_km,
                         zero_sigma_is_exact=True)
    return events, obs, tables, options


# ------------------------------------------------------------------------- classic-mode entry
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


def run_classic(args: argparse.Namespace) -> dict:
    """Run ``--hash-inp`` or ``--skhash-control``; returns summary counts."""
    started = time.perf_counter()
    problems = _Problems()
    if args.hash_inp:
        if args.driver is None:
            raise FocalflowError("--hash-inp needs --driver 1, 2 or 3")
        control = hash_v12.read_hash_inp(args.hash_inp, args.driver)
        events, obs, tables, options = load_hash_inputs(control, problems)
        out = args.out
        hash_out = control.out_file
    else:
        control = skhash.read_skhash_control(args.skhash_control)
        events, obs, tables, options = load_skhash_inputs(control, problems)
        out = args.out or control.outfile1
        hash_out = None
    if out is None:
        raise FocalflowError("--out FILE is required (where to write mechanisms.csv)")
    options.rng = args.rng or "numpy"
    options.misfit_weights = args.misfit_weights or ("hash_v12" if args.hash_inp else "radiation")
    options.seed = args.seed
    options.threads = args.threads
    mechanisms, acceptable, polinfo = solve_catalog(events, obs, options, tables, problems)
    out = Path(out)
    write_results(mechanisms, acceptable, polinfo, out, _sibling(out, "acceptable"),
                  _sibling(out, "polinfo"))
    if problems.rows:
        from focalflow.workdir import atomic_path
        with atomic_path(_sibling(out, "failures")) as tmp:
            pd.DataFrame(problems.rows).to_csv(tmp, index=False)
    if hash_out is not None:
        _write_hash_out(hash_out, events, mechanisms, with_sp=args.driver == 3)
    summary = {"events": len(events), "mechanisms": int(mechanisms["event_id"].nunique()),
               "skipped": len(problems.rows)}
    log.info("wrote %s in %.2f s: %s", out, time.perf_counter() - started,
             ", ".join(f"{k}={v}" for k, v in summary.items()))
    return summary


def _write_hash_out(path: Path, events: pd.DataFrame, mechanisms: pd.DataFrame,
                    with_sp: bool) -> None:
    """HASH's own preferred-mechanism file (the control file's output name), best effort."""
    from focalflow.workdir import write_text_atomic

    by_id = events.set_index("event_id")
    lines = [hash_v12.format_out_line({"event_id": row["event_id"],
                                       **by_id.loc[row["event_id"]].to_dict()}, row, with_sp)
             for _, row in mechanisms.iterrows() if np.isfinite(row["strike"])]
    try:
        write_text_atomic(path, "\n".join(lines) + "\n")
    except OSError as exc:
        log.warning("could not write HASH output %s: %s", path, exc)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Stage 6's own options (the classic modes need no config.yaml)."""
    group = parser.add_argument_group("HASH / SKHASH inputs (no config.yaml needed)")
    group.add_argument("--hash-inp", type=Path, help="HASH v1.2 control file (exampleN.inp)")
    group.add_argument("--driver", type=int, choices=(1, 2, 3),
                       help="HASH driver whose control file and formats --hash-inp uses")
    group.add_argument("--skhash-control", type=Path, help="SKHASH control file")
    group.add_argument("--out", type=Path, help="mechanisms CSV written by the classic modes")
    parser.add_argument("--rng", choices=("numpy", "hash"), default=None,
                        help="random stream: numpy (seeded, default) or hash (HASH v1.2's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the numpy stream")
    parser.add_argument("--misfit-weights", choices=("radiation", "hash_v12"), default=None,
                        help="how misfits and station distribution ratios are weighted "
                        "(default: hash_v12 with --hash-inp, else the config's hash.misfit_weights)")
    parser.add_argument("--threads", type=int, default=0,
                        help="cores to use (0: all): events solved concurrently with the "
                        "numpy stream, else each grid search spread over them")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of 6_run_hash.py: classic modes, or the working-directory stage."""
    from focalflow.cli import main as stage_main

    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a.split("=")[0] in ("--hash-inp", "--skhash-control") for a in argv):
        return stage_main(STAGE, __doc__, run, argv, add_arguments=add_arguments)
    from focalflow.cli import build_parser, exit_status
    from focalflow.log import setup_logging

    parser = build_parser(STAGE, __doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    setup_logging(STAGE, verbose=args.verbose)
    if args.hash_inp and args.skhash_control:
        parser.error("give --hash-inp or --skhash-control, not both")
    return exit_status(lambda: run_classic(args))


# -------------------------------------------------------------------- working-directory mode
def run(ctx) -> dict:
    """Stage 6 on the working directory (see the module docstring)."""
    from focalflow.tables import read_table

    cfg = ctx.config.hash
    wd = ctx.workdir
    all_events = read_table(wd.events_csv, "events")
    events = all_events[[ctx.selected(e) for e in all_events["event_id"]]].reset_index(drop=True)
    outputs = (wd.mechanisms_csv, wd.acceptable_csv, wd.polinfo_csv)
    previous = None
    if all(p.is_file() for p in outputs):
        # as text, so that rows kept from an earlier run are written back byte for byte
        # (only stage 6's own columns: the products step adds e.g. faulting_class again)
        previous = [pd.read_csv(p, dtype=str, keep_default_na=False).reindex(columns=columns)
                    for p, columns in zip(outputs, (skhash.MECHANISM_COLUMNS,
                                                    skhash.ACCEPTABLE_COLUMNS,
                                                    skhash.POLINFO_COLUMNS))]
        if not ctx.overwrite:  # events already solved are kept as they are
            todo = events[~events["event_id"].isin(set(previous[0]["event_id"]))]
            if todo.empty:
                log.info("mechanisms.csv already has all %d selected events (use --overwrite "
                         "to recompute)", len(events))
                _write_products(ctx)
                return {"events": len(events), "computed": 0}
            events = todo.reset_index(drop=True)
    obs = _workdir_observations(ctx, events)
    options = RunOptions(npolmin=cfg.npolmin, max_agap_deg=cfg.max_agap_deg,
                         max_pgap_deg=cfg.max_pgap_deg, dang_deg=cfg.dang_deg, nmc=cfg.nmc,
                         maxout=cfg.maxout, badfrac=cfg.badfrac, qbadfac=cfg.qbadfac,
                         delmax_km=cfg.delmax_km, cangle_deg=cfg.cangle_deg,
                         prob_max=cfg.prob_max, rng=getattr(ctx.args, "rng", None) or cfg.rng,
                         seed=cfg.seed, default_depth_sigma_km=cfg.depth_uncert_km,
                         threads=getattr(ctx.args, "threads", 0) or cfg.threads,
                         misfit_weights=getattr(ctx.args, "misfit_weights", None)
                         or cfg.misfit_weights)
    tables = velocity_tables(cfg.velocity_models)
    results = solve_catalog(events, obs, options, tables, ctx.failures.add, progress=True)
    if previous is not None:  # keep other events' rows; order rows as events.csv
        order = {event_id: k for k, event_id in enumerate(all_events["event_id"])}
        results = tuple(
            pd.concat([old[~old["event_id"].isin(events["event_id"])], new], ignore_index=True)
            .sort_values("event_id", key=lambda ids: ids.map(order).fillna(len(order)),
                         kind="stable").reset_index(drop=True)
            for old, new in zip(previous, results))
    write_results(*results, *outputs)
    _write_products(ctx)
    mechanisms = results[0]
    counts = mechanisms.drop_duplicates("event_id")["quality"].value_counts().to_dict()
    return {"events": len(events), "mechanisms": int(mechanisms["event_id"].nunique()),
            **{f"quality_{k}": int(v) for k, v in sorted(counts.items())}}


def _write_products(ctx) -> None:
    """Figures, QuakeML and the report (helper H7's ``focalflow.products.results.write_products``)."""
    try:
        from focalflow.products.results import write_products
    except ImportError:
        log.info("focalflow.products.results not available: figures/QuakeML/report not written")
        return
    write_products(ctx)


def _workdir_observations(ctx, events: pd.DataFrame) -> pd.DataFrame:
    """Polarity and S/P rows of the working directory for ``events`` (see module docstring)."""
    from focalflow.tables import read_table

    cfg = ctx.config.hash
    wd = ctx.workdir
    ids = set(events["event_id"])
    parts = []
    if cfg.polarity_source in ("analyst", "combined"):
        parts.append(_analyst_polarities(ctx, events, ids))
    if cfg.polarity_source in ("cnn", "combined"):
        cnn = read_table(wd.polarities_csv, "polarities")
        cnn = cnn[cnn["event_id"].isin(ids)]
        cnn = cnn[pd.to_numeric(cnn["p_polarity"], errors="coerce").fillna(0) != 0].copy()
        cnn["impulsive"] = cnn["clarity"].astype(str).str.upper().eq("I")
        cnn["source"] = "dl_p"
        cnn = make_observations(cnn, kind="P")
        if parts:  # combined: the analyst's polarity wins where both exist
            have = set(zip(parts[0]["event_id"], parts[0]["network"], parts[0]["station"]))
            cnn = cnn[[k not in have for k in zip(cnn["event_id"], cnn["network"],
                                                   cnn["station"])]]
        parts.append(cnn)
    if cfg.use_sp_ratios:
        parts.append(_sp_observations(ctx, ids))
    obs = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else empty_observations()
    obs["p_polarity"] = obs["p_polarity"].astype(float)
    stations = read_table(wd.stations_csv, "stations")
    site = _skhash_key(["network", "station", "location"])
    obs = attach_stations(obs, stations, site, ctx.failures.add)
    return add_distance_azimuth(obs, events)


def _analyst_polarities(ctx, events: pd.DataFrame, ids: set) -> pd.DataFrame:
    from focalflow.tables import read_table

    wd = ctx.workdir
    picks = read_table(wd.picks_csv, "picks")
    picks = picks[picks["event_id"].isin(ids) & picks["phase"].str.upper().eq("P")]
    sign = picks["polarity"].str.upper().map({"U": 1.0, "D": -1.0, "+": 1.0, "-": -1.0})
    picks = picks[sign.notna()].copy()
    picks["p_polarity"] = sign[sign.notna()]
    picks["impulsive"] = picks["onset"].str.lower().eq("i")
    picks["source"] = "trad_p"
    obs = make_observations(picks, kind="P")
    reversals = read_table(wd.reversals_csv, "reversals") if wd.reversals_csv.is_file() else None
    obs.loc[reversed_mask(obs, events, reversals), "p_polarity"] *= -1
    return obs


def _sp_observations(ctx, ids: set) -> pd.DataFrame:
    """S/P rows from sp_ratios.csv, measured from the cut/ windows first when it is absent."""
    from focalflow.tables import read_table, write_table

    wd = ctx.workdir
    if ctx.overwrite or not wd.sp_ratios_csv.is_file():
        try:
            from focalflow.mechanisms.amplitudes import measure_sp_ratios
        except ImportError:
            log.warning("focalflow.mechanisms.amplitudes not available: running without S/P ratios")
            return empty_observations()
        table = measure_sp_ratios(ctx)
        write_table(table, wd.sp_ratios_csv, "sp_ratios")
    sp = read_table(wd.sp_ratios_csv, "sp_ratios")
    sp = sp[sp["event_id"].isin(ids)]
    sp = sp[np.isfinite(pd.to_numeric(sp["sp_ratio"], errors="coerce"))].copy()
    if sp.empty:
        log.info("sp_ratios.csv has no usable ratios for these events: polarities only")
    sp["source"] = "trad_sp"
    return make_observations(sp, kind="SP", p_polarity=0.0, impulsive=False)
