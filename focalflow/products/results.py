"""The products of stage 6: QuakeML, per-event and catalog figures, HTML report, summary.

:func:`write_products` runs at the end of stage 6 (``6_run_hash.py``) on the working
directory. It reads ``mechanisms.csv`` (adding the Frohlich ``faulting_class`` column if the
table lacks it), ``mechanisms_acceptable.csv``, ``polinfo.csv``, ``events.csv``,
``polarities.csv``, ``sp_ratios.csv``, ``stations.csv``, ``picks.csv``, ``reversals.csv`` and
the P windows ``cut/<event_id>/NET.STA.LOC.CHA.P.sac`` (each optional except the mechanisms)
and writes:

- ``mechanisms.xml`` (QuakeML, :mod:`focalflow.formats.quakeml_mechanisms`);
- ``figures/<event_id>/beachball.png`` and ``figures/<event_id>/waveforms.png`` for every event
  with a mechanism;
- the catalog figures in ``figures/`` (:mod:`focalflow.products.plots.catalog`);
- ``report/index.html`` (:mod:`focalflow.products.report`);

and logs a short summary: events by quality letter, median uncertainty, failures. A figure that
cannot be drawn is a failure row (stage 6), never the end of the run.

Each product is an item of stage 6's ledger (:mod:`focalflow.mechanisms.rerun`) recording the
``output.*`` keys and the table rows it was drawn from: a rerun redraws exactly the products
whose inputs or settings changed (``output.dpi`` redraws figures and recomputes no mechanism;
an unchanged event's figures are not touched); ``--overwrite`` redraws the selected events'.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from focalflow.cli import StageContext
from focalflow.formats.common import parse_any_time
from focalflow.formats.quakeml_mechanisms import split_sta_code, write_mechanisms_quakeml
from focalflow.formats.reversals import is_reversed
from focalflow.mechanisms.catalog import add_derived_columns
from focalflow.mechanisms.classify import classify_mechanisms
from focalflow.mechanisms.rerun import ItemRerun, folder_digest, rows_by_event
from focalflow.products.plots.catalog import CATALOG_FIGURES, draw_catalog_figures
from focalflow.products.plots.event import PWindow, plot_event_beachball, plot_event_waveforms
from focalflow.products.plots.style import save_figure
from focalflow.products.report import write_report
from focalflow.provenance import Ledger, config_params, content_digest
from focalflow.tables import read_table
from focalflow.workdir import WorkDir, atomic_path

log = logging.getLogger("focalflow.products.results")

EVENT_FIGURES = {"beachball": "beachball.png", "waveforms": "waveforms.png"}


FIGURE_KEYS = ["output.figures", "output.dpi", "output.station_labels",
               "output.waveform_before_s", "output.waveform_after_s"]
STAGE = "6_run_hash"


def write_products(ctx: StageContext, ledger: Ledger | None = None) -> dict:
    """Write QuakeML, figures and the report of the working directory; returns counts.

    ``ledger``: stage 6's (read from the working directory when not given); each product is
    redrawn only when its inputs or ``output.*`` settings changed (module docstring)."""
    wd = ctx.workdir
    output = ctx.config.output
    if not wd.mechanisms_csv.is_file():
        log.info("no mechanisms.csv: no figures, QuakeML or report")
        return {}
    ledger = ledger or Ledger(wd, STAGE)
    tables = load_tables(wd)
    mechanisms = tables["mechanisms"]
    if "faulting_class" not in mechanisms.columns:  # a table written by an older focalflow
        mechanisms["faulting_class"] = classify_mechanisms(mechanisms["strike"],
                                                           mechanisms["dip"], mechanisms["rake"])
        with atomic_path(wd.mechanisms_csv) as tmp:
            mechanisms.to_csv(tmp, index=False)
    solved = mechanisms[np.isfinite(mechanisms["strike"].to_numpy(float))]
    preferred = solved.drop_duplicates("event_id", keep="first").reset_index(drop=True)
    counts: dict = {"mechanisms": len(preferred)}
    catalog = catalog_table(preferred, tables["events"])

    def redo(item: str, keys: list[str], frames: list, outputs: list[str]) -> bool:
        rerun = ItemRerun(ledger, item, outputs, ctx.overwrite, noun="products")
        fingerprint = (config_params(ctx.config, keys),
                       {"tables": content_digest([_text(f) for f in frames])})
        if rerun.plan({"": fingerprint}):
            rerun.record("")
            return True
        return False

    if output.quakeml and redo("quakeml", ["output.quakeml"],
                               [solved, tables["events"], tables["polinfo"], tables["picks"]],
                               [wd.mechanisms_xml.name]):
        write_mechanisms_quakeml(wd.mechanisms_xml, solved, tables["events"], tables["polinfo"],
                                 tables["picks"])
    if output.figures:
        counts["event_figures"] = draw_event_figures(ctx, catalog, tables, ledger)
        stations = station_table(tables["stations"])
        names = [f"figures/{name}" for name in CATALOG_FIGURES.values()]
        if redo("catalog_figures", ["output.dpi"], [catalog, stations], names):
            try:
                draw_catalog_figures(catalog, wd.figures_dir, stations, dpi=output.dpi)
            except Exception as exc:  # the catalog figures must not cost the stage its tables
                ctx.failures.add(None, None, f"catalog figures not drawn: "
                                             f"{type(exc).__name__}: {exc}")
                ledger.forget("catalog_figures")
    failures = _failures(wd, ctx)
    if output.report:
        figures = [f"{p.relative_to(wd.root)} {p.stat().st_size} {p.stat().st_mtime_ns}"
                   for p in sorted(wd.figures_dir.rglob("*.png"))] \
            if wd.figures_dir.is_dir() else []  # the report copies them: redo when one changes
        if redo("report", [], [catalog, solved, tables["events"], failures, pd.Series(figures)],
                ["report/index.html"]):
            write_report(wd, catalog, tables["events"], failures=failures, solutions=solved)
    ledger.save()
    log_summary(catalog, tables["events"], failures)
    return counts


def _text(frame) -> str:
    return "" if frame is None else frame.to_csv(index=False)


def load_tables(wd: WorkDir) -> dict[str, pd.DataFrame | None]:
    """The working-directory tables the products use (None where a table is absent)."""
    def optional(path: Path, name: str | None = None) -> pd.DataFrame | None:
        return read_table(path, name) if path.is_file() else None

    mechanisms = pd.read_csv(wd.mechanisms_csv, keep_default_na=False, na_values=[""],
                             dtype={c: str for c in ("event_id", "quality", "time",
                                                     "faulting_class")})
    for column in ("strike", "dip", "rake"):
        mechanisms[column] = pd.to_numeric(mechanisms[column], errors="coerce")
    polinfo = None
    if wd.polinfo_csv.is_file():
        polinfo = pd.read_csv(wd.polinfo_csv, keep_default_na=False, na_values=[""],
                              dtype={"event_id": str, "sta_code": str, "source": str})
    acceptable = None
    if wd.acceptable_csv.is_file():
        acceptable = pd.read_csv(wd.acceptable_csv, dtype={"event_id": str})
    return {"mechanisms": mechanisms, "polinfo": polinfo, "acceptable": acceptable,
            "events": optional(wd.events_csv, "events"),
            "polarities": optional(wd.polarities_csv, "polarities"),
            "sp_ratios": optional(wd.sp_ratios_csv, "sp_ratios"),
            "stations": optional(wd.stations_csv, "stations"),
            "picks": optional(wd.picks_csv, "picks"),
            "reversals": optional(wd.reversals_csv, "reversals")}


def catalog_table(mechanisms: pd.DataFrame, events: pd.DataFrame | None) -> pd.DataFrame:
    """One row per event with a mechanism, magnitudes from events.csv, derived columns."""
    catalog = mechanisms.copy()
    catalog["mag"] = np.nan
    if events is not None and len(events):
        mags = dict(zip(events["event_id"].astype(str), pd.to_numeric(events["mag"],
                                                                        errors="coerce")))
        catalog["mag"] = catalog["event_id"].map(mags).astype(float)
    for column in ("origin_lat", "origin_lon", "origin_depth_km"):
        catalog[column] = pd.to_numeric(catalog.get(column), errors="coerce")
    catalog["time"] = [(t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if (t := parse_any_time(v)) else "")
                       for v in catalog.get("time", pd.Series([""] * len(catalog)))]
    catalog["quality"] = catalog.get("quality", pd.Series([""] * len(catalog))).fillna("")
    return add_derived_columns(catalog)


def station_table(stations: pd.DataFrame | None) -> pd.DataFrame | None:
    """One row per station (network, station, latitude, longitude) for maps."""
    if stations is None or not len(stations):
        return None
    frame = stations.copy()
    frame["latitude"] = pd.to_numeric(frame["latitude"], errors="coerce")
    frame["longitude"] = pd.to_numeric(frame["longitude"], errors="coerce")
    frame = frame.dropna(subset=["latitude", "longitude"])
    return frame.drop_duplicates(["network", "station"])[["network", "station", "latitude",
                                                          "longitude"]]


def event_observations(event_id: str, tables: dict) -> pd.DataFrame:
    """The per-station rows of one event for the event figures (see :mod:`focalflow.products.plots.event`).

    P polarities and agreement come from polinfo.csv; CNN probabilities from polarities.csv;
    log10 S/P from sp_ratios.csv at the S/P rows' take-off and azimuth.
    """
    columns = ["label", "network", "station", "takeoff", "azimuth", "distance_km", "polarity",
               "weight", "misfit", "sp_ratio", "prob_up", "prob_down"]
    polinfo = tables.get("polinfo")
    if polinfo is None or not len(polinfo):
        return pd.DataFrame(columns=columns)
    rows = polinfo[polinfo["event_id"].astype(str) == str(event_id)]
    probabilities = _lookup(tables.get("polarities"), event_id, ("prob_up", "prob_down"))
    sp_values = _lookup(tables.get("sp_ratios"), event_id, ("sp_ratio",))
    out: dict[tuple, dict] = {}
    for row in rows.to_dict("records"):
        network, station, _, _ = split_sta_code(row["sta_code"])
        key = (network, station)
        p_polarity = pd.to_numeric(pd.Series([row.get("p_polarity")]), errors="coerce").iloc[0]
        agreement = pd.to_numeric(pd.Series([row.get("pol_agreement")]), errors="coerce").iloc[0]
        entry = out.setdefault(key, {
            "label": f"{network}.{station}" if network else station, "network": network,
            "station": station, "takeoff": float(row["takeoff"]),
            "azimuth": float(row["azimuth"]),
            "distance_km": pd.to_numeric(row.get("sr_dist_km"), errors="coerce"),
            "polarity": 0.0, "weight": 1.0, "misfit": False,
            "sp_ratio": np.nan,
            "prob_up": probabilities.get(key, {}).get("prob_up", np.nan),
            "prob_down": probabilities.get(key, {}).get("prob_down", np.nan)})
        if pd.notna(p_polarity):
            entry.update(polarity=float(np.sign(p_polarity)), weight=abs(float(p_polarity)),
                         takeoff=float(row["takeoff"]), azimuth=float(row["azimuth"]),
                         misfit=bool(pd.notna(agreement) and agreement == 0))
        elif key in sp_values:
            entry["sp_ratio"] = sp_values[key]["sp_ratio"]
    return pd.DataFrame(list(out.values()), columns=columns)


def _lookup(table: pd.DataFrame | None, event_id: str, columns: tuple) -> dict:
    if table is None or not len(table):
        return {}
    rows = table[table["event_id"].astype(str) == str(event_id)]
    return {(str(r["network"]), str(r["station"])):
            {c: pd.to_numeric(pd.Series([r[c]]), errors="coerce").iloc[0] for c in columns}
            for r in rows.to_dict("records")}


def p_windows(wd: WorkDir, event_id: str, observations: pd.DataFrame,
              reversals: pd.DataFrame | None) -> dict:
    """{label: PWindow} of the vertical P windows in ``cut/<event_id>/`` (pick = header ``a``)."""
    from obspy import read

    folder = wd.event_cut_dir(event_id)
    if not folder.is_dir():
        return {}
    windows = {}
    for row in observations.itertuples(index=False):
        pattern = f"{row.network}.{row.station}.*.P.sac" if row.network else \
            f"*.{row.station}.*.P.sac"
        paths = sorted(p for p in folder.glob(pattern) if p.name.split(".")[3][-1:] in "Z")
        if not paths:
            continue
        try:
            trace = read(str(paths[0]), format="SAC")[0]
            header = trace.stats.sac
            pick = trace.stats.starttime + (float(header.a) - float(header.b))
        except Exception as exc:  # one unreadable window must not stop the figure
            log.debug("event %s: P window %s unreadable: %s", event_id, paths[0].name, exc)
            continue
        network = row.network or trace.stats.network  # SKHASH codes may lack the network
        windows[row.label] = PWindow(row.label, trace, pick,
                                     reversed=is_reversed(reversals, network, row.station, pick))
    return windows


def draw_event_figures(ctx: StageContext, catalog: pd.DataFrame, tables: dict,
                       ledger: Ledger) -> int:
    """Draw the beachball and waveform figures of each selected event whose mechanism rows,
    observations, P windows or figure settings changed; returns how many were drawn."""
    wd, output = ctx.workdir, ctx.config.output
    acceptable = rows_by_event(tables.get("acceptable"))
    rows = [r for r in catalog.to_dict("records") if ctx.selected(r["event_id"])]
    params = config_params(ctx.config, FIGURE_KEYS)
    reversals = _text(tables.get("reversals"))
    drawn = 0
    for mechanism in tqdm(rows, desc="event figures", unit="event", disable=None):
        event_id = str(mechanism["event_id"])
        folder = wd.event_figures_dir(event_id)
        paths = {k: folder / name for k, name in EVENT_FIGURES.items()}
        rerun = ItemRerun(ledger, "figures", [str(p.relative_to(wd.root)) for p in paths.values()],
                          ctx.overwrite)
        try:
            observations = event_observations(event_id, tables)
            accepted = acceptable.get(event_id)
            if accepted is not None:
                accepted = accepted[["strike", "dip", "rake"]].to_numpy(float)
            inputs = {"rows": content_digest([mechanism, _text(observations),
                                              None if accepted is None else accepted.tolist(),
                                              reversals]),
                      "p_windows": folder_digest(wd.event_cut_dir(event_id), "*.P.sac")}
            if not rerun.plan({event_id: (params, inputs)}):
                continue
            save_figure(plot_event_beachball(mechanism, observations, accepted,
                                             station_labels=output.station_labels),
                        paths["beachball"], output.dpi)
            windows = p_windows(wd, event_id, observations, tables.get("reversals"))
            save_figure(plot_event_waveforms(mechanism, observations, windows, accepted,
                                             before_s=output.waveform_before_s,
                                             after_s=output.waveform_after_s),
                        paths["waveforms"], output.dpi)
            rerun.record(event_id)
            drawn += 1
        except Exception as exc:  # a figure problem is one failure row, never the whole run
            ctx.failures.add(event_id, None, f"figures not drawn: {type(exc).__name__}: {exc}")
    return drawn


def _failures(wd: WorkDir, ctx: StageContext) -> pd.DataFrame:
    """Failure rows of earlier stages (failures.csv) and of this run so far."""
    frames = []
    if wd.failures_csv.is_file():
        old = read_table(wd.failures_csv, "failures")
        frames.append(old[old["stage"] != ctx.failures.stage])
    frames.append(pd.DataFrame(ctx.failures.rows, columns=["stage", "event_id", "station",
                                                           "reason"]))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else \
        pd.DataFrame(columns=["stage", "event_id", "station", "reason"])


def summary_lines(catalog: pd.DataFrame, events: pd.DataFrame | None,
                  failures: pd.DataFrame) -> list[str]:
    """The end-of-run summary: events by quality letter, median uncertainty, failures."""
    total = len(events) if events is not None else len(catalog)
    letters = catalog["quality"].fillna("").astype(str).value_counts()
    by_letter = ", ".join(f"{k} {int(letters[k])}" for k in sorted(letters.index) if k)
    uncertainty = pd.to_numeric(catalog.get("fault_plane_uncertainty"), errors="coerce")
    misfit = pd.to_numeric(catalog.get("polarity_misfit"), errors="coerce")
    lines = [f"mechanisms for {len(catalog)} of {total} events"
             + (f" (quality {by_letter})" if by_letter else "")]
    if uncertainty is not None and uncertainty.notna().any():
        lines.append(f"median fault-plane uncertainty {uncertainty.median():.1f}°, "
                     f"median polarity misfit {misfit.median():.1f}%")
    classes = catalog["faulting_class"].value_counts()
    lines.append("faulting classes: " + ", ".join(f"{k} {int(v)}" for k, v in classes.items()))
    if len(failures):
        stages = failures["stage"].value_counts()
        lines.append(f"{len(failures)} skipped items (logs/failures.csv): "
                     + ", ".join(f"{k} {int(v)}" for k, v in stages.items()))
    else:
        lines.append("no skipped items")
    return lines


def log_summary(catalog: pd.DataFrame, events: pd.DataFrame | None,
                failures: pd.DataFrame) -> None:
    for line in summary_lines(catalog, events, failures):
        log.info("%s", line)

