"""The products of stage 6: QuakeML, per-event and catalog figures, HTML report, summary.

:func:`write_products` runs at the end of stage 6 (``6_run_hash.py``) on the working
directory. It reads ``mechanisms.csv`` (adding the Frohlich ``faulting_class`` column if the
table lacks it), ``mechanisms_acceptable.csv``, ``polinfo.csv``, ``events.csv``,
``polarities.csv``, ``sp_ratios.csv``, ``stations.csv``, ``picks.csv`` and the P windows of
the waveform store (each optional except the mechanisms), a chunk of events at a time
(:class:`Products`), and writes:

- ``mechanisms.xml`` (QuakeML, :mod:`focalflow.formats.quakeml_mechanisms`);
- ``figures/<event_id>/beachball.png`` and ``figures/<event_id>/waveforms.png`` for the events
  ``figures.events`` and ``--events`` choose (:mod:`focalflow.products.figures`);
- the catalog figures in ``figures/`` (:mod:`focalflow.products.plots.catalog`);
- ``report/index.html`` (:mod:`focalflow.products.report`);

and logs a short summary: events by quality letter, median uncertainty, failures. A figure that
cannot be drawn is a failure row (stage 6), never the end of the run.

Figures and the report are items of stage 6's ledger (:mod:`focalflow.mechanisms.rerun`)
recording the ``output.*`` keys and the table rows they were drawn from: a rerun redraws
exactly those whose inputs or settings changed (``output.dpi`` redraws figures and recomputes
no mechanism; an unchanged event's figures are not touched); ``--overwrite`` redraws the
selected events'. ``mechanisms.xml`` is written from the tables on every run (about a
millisecond per event) and left untouched when its content did not change.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.cli import StageContext
from focalflow.event_chunks import EventChunks, release_free_memory
from focalflow.formats.common import parse_any_time
from focalflow.formats.quakeml_mechanisms import QuakemlWriter, split_sta_code
from focalflow.mechanisms.catalog import add_derived_columns
from focalflow.mechanisms.classify import classify_mechanisms
from focalflow.errors import InputError
from focalflow.mechanisms.rerun import ItemRerun
from focalflow.products.plots.catalog import CATALOG_FIGURES, draw_catalog_figures
from focalflow.products.plots.event import PWindow
from focalflow.products.report import write_report
from focalflow.provenance import Ledger, config_params, frames_digest
from focalflow.tables import COLUMNS, read_table
from focalflow.waveforms.store import read_sets, set_digest
from focalflow.workdir import WorkDir, atomic_path

log = logging.getLogger("focalflow.products.results")
STAGE = "6_run_hash"


def write_products(ctx: StageContext, ledger: Ledger | None = None) -> dict:
    """Write QuakeML, figures and the report of the working directory; returns counts.

    ``ledger``: stage 6's (read from the working directory when not given); each product is
    redrawn only when its inputs or ``output.*`` settings changed (module docstring). The
    tables are read a chunk of events at a time, so a catalog of any size fits in memory."""
    wd = ctx.workdir
    if not wd.mechanisms_csv.is_file():
        log.info("no mechanisms.csv: no figures, QuakeML or report")
        return {}
    _add_faulting_class(wd)
    events = read_table(wd.events_csv, "events") if wd.events_csv.is_file() else None
    order = list(events["event_id"]) if events is not None else list(dict.fromkeys(
        read_table(wd.mechanisms_csv)["event_id"].astype(str)))
    with EventChunks(order, ctx.config.parallel.chunk_events, wd.ledger_dir / "scratch") as chunks:
        if ctx.config.output.quakeml:
            chunks.split_file("picks", wd.picks_csv, "picks")
        names = {"mechanisms": wd.mechanisms_csv, "acceptable": wd.acceptable_csv,
                 "polinfo": wd.polinfo_csv, "sp_ratios": wd.sp_ratios_csv}
        for name, path in names.items():
            chunks.split_file(name, path, as_text=True)
        products = Products(ctx, chunks, events, ledger or Ledger(wd, STAGE))
        for k in range(chunks.count + 1):
            products.add(k, {name: chunks.rows(name, k) for name in names})
        return products.finish()


def _add_faulting_class(wd: WorkDir) -> None:
    """A mechanisms.csv written by an older focalflow gets its Frohlich class column."""
    with open(wd.mechanisms_csv) as handle:
        header = handle.readline()
    if "faulting_class" in header.strip().split(","):
        return
    mechanisms = pd.read_csv(wd.mechanisms_csv, dtype=str, keep_default_na=False)
    numbers = {c: pd.to_numeric(mechanisms[c], errors="coerce") for c in ("strike", "dip", "rake")}
    mechanisms["faulting_class"] = classify_mechanisms(numbers["strike"], numbers["dip"],
                                                       numbers["rake"])
    with atomic_path(wd.mechanisms_csv) as tmp:
        mechanisms.to_csv(tmp, index=False)


CATALOG_COLUMNS = ["event_id", "strike", "dip", "rake", "quality", "fault_plane_uncertainty",
                   "aux_plane_uncertainty", "num_p_pol", "num_sp_ratios", "polarity_misfit",
                   "prob_mech", "sta_distribution_ratio", "sp_misfit", "mult_solution_flag",
                   "time", "origin_lat", "origin_lon", "origin_depth_km", "azimuthal_gap",
                   "takeoff_gap", "faulting_class", "strike2", "dip2", "rake2"]
_TEXT = {"event_id", "quality", "time", "faulting_class", "mult_solution_flag"}


class Products:
    """The products of stage 6, written from the result tables a chunk of events at a time
    (:mod:`focalflow.mechanisms.batch` hands each merged chunk to :meth:`add`):

    - ``mechanisms.xml``, streamed (:class:`~focalflow.formats.quakeml_mechanisms.QuakemlWriter`);
    - per-event figures of the events chosen by ``figures.events`` and ``--events``
      (:class:`~focalflow.products.figures.EventFigures`: a process pool of reused figures);
    - at :meth:`finish`, from the catalog of preferred solutions (one row per event, kept in
      the scratch folder until then): the catalog figures, the report and the summary.
    """

    def __init__(self, ctx: StageContext, chunks: EventChunks, events: pd.DataFrame | None,
                 ledger: Ledger):
        from focalflow.products.figures import EventFigures

        self.ctx, self.chunks, self.events, self.ledger = ctx, chunks, events, ledger
        self.wd, self.output = ctx.workdir, ctx.config.output
        self.catalog: pd.DataFrame = pd.DataFrame(columns=CATALOG_COLUMNS)
        self._solutions: list[pd.DataFrame] = []
        self._event_rows = ({e: k for k, e in enumerate(events["event_id"].astype(str))}
                            if events is not None else None)
        self._magnitudes = (pd.to_numeric(events["mag"], errors="coerce").to_numpy(float)
                            if events is not None else None)
        self._quakeml = QuakemlWriter(self.wd.mechanisms_xml) if self.output.quakeml else None
        self._figures = EventFigures(ctx, ledger) if self.output.figures else None
        self._tables: dict = {}

    def rows_wanted(self, name: str, merged: dict) -> set[str] | None:
        """Of the result table ``name``, the events whose rows this chunk's products need
        (None: all), given the tables merged so far (mechanisms first)."""
        if name == "mechanisms" or (name == "polinfo" and self._quakeml is not None):
            return None
        if "_figures" not in merged:
            preferred = _preferred(merged["mechanisms"])
            merged["_figures"] = [] if self._figures is None else self._figures.choose(preferred)
        return {str(row["event_id"]) for row in merged["_figures"]}

    def add(self, k: int, merged: dict[str, pd.DataFrame]) -> None:
        """Chunk ``k``'s merged result tables (as text): mechanisms, acceptable, polinfo and,
        when measured, sp_ratios (the rows :meth:`rows_wanted` asked for)."""
        mechanisms = merged["mechanisms"]
        if not len(mechanisms):
            return
        solved, preferred = _solved(mechanisms), _preferred(mechanisms)
        self.chunks.split("catalog", [self._catalog_rows(preferred)])  # read back by finish
        multiple = solved[solved["event_id"].duplicated(keep=False)]
        if len(multiple):
            self._solutions.append(multiple[["event_id", "strike", "dip", "rake", "quality"]])
        events = self._chunk_events(solved["event_id"])
        if self._quakeml is not None and len(solved):
            picks = self.chunks.rows("picks", k, COLUMNS["picks"])
            self._quakeml.add(solved, events, merged.get("polinfo"), picks)
        chosen = merged.get("_figures")
        if chosen is None and self._figures is not None:
            chosen = self._figures.choose(preferred)
        if chosen:
            self._figures.add(chosen, {**merged, "polarities": self._polarities(k),
                                       "events": events})

    def _catalog_rows(self, preferred: pd.DataFrame) -> pd.DataFrame:
        """The catalog rows (:func:`catalog_table`) of a chunk's preferred solutions."""
        magnitudes = None
        if self._event_rows is not None:
            rows = self._event_positions(preferred["event_id"])
            magnitudes = np.full(len(rows), np.nan)
            magnitudes[rows >= 0] = self._magnitudes[rows[rows >= 0]]
        return catalog_table(_typed(preferred.reindex(columns=CATALOG_COLUMNS, fill_value="")),
                             magnitudes)

    def _event_positions(self, event_ids: pd.Series) -> np.ndarray:
        """Each event's row in events.csv (-1 where it has none)."""
        return np.array([self._event_rows.get(e, -1) for e in event_ids.astype(str)],
                        dtype=np.int64)

    def _chunk_events(self, event_ids: pd.Series) -> pd.DataFrame | None:
        if self._event_rows is None:
            return None
        rows = self._event_positions(pd.Series(list(dict.fromkeys(event_ids.astype(str)))))
        chunk = self.events.iloc[rows[rows >= 0]].reset_index(drop=True)
        return chunk.assign(event_id=chunk["event_id"].astype(str))

    def _polarities(self, k: int) -> pd.DataFrame | None:
        if "polarities" not in self._tables:
            self._tables["polarities"] = self.wd.polarities_csv.is_file()
            if self._tables["polarities"]:
                self.chunks.split_file("products_polarities", self.wd.polarities_csv,
                                       "polarities")
        if not self._tables["polarities"]:
            return None
        return self.chunks.rows("products_polarities", k, COLUMNS["polarities"])

    def finish(self) -> dict:
        """Close QuakeML and the figure pool; draw the catalog figures and write the report
        where their inputs changed; log the summary. Returns counts."""
        wd, output, ctx = self.wd, self.output, self.ctx
        if self._quakeml is not None:
            self._quakeml.close()
        counts: dict = {}
        parts = [part for k in range(self.chunks.count + 1)
                 if len(part := self.chunks.rows("catalog", k))]
        self.catalog = catalog = pd.concat(parts, ignore_index=True) if parts else \
            catalog_table(pd.DataFrame(columns=CATALOG_COLUMNS), None)
        del parts
        release_free_memory()
        counts["mechanisms"] = len(catalog)
        if self._figures is not None:
            counts["event_figures"] = self._figures.finish()
            stations = station_table(read_table(wd.stations_csv, "stations")
                                     if wd.stations_csv.is_file() else None)
            names = [f"figures/{name}" for name in CATALOG_FIGURES.values()]
            if self._redo("catalog_figures", ["output.dpi"], [catalog, stations], names):
                try:
                    draw_catalog_figures(catalog, wd.figures_dir, stations, dpi=output.dpi)
                except Exception as exc:  # the catalog figures must not cost the stage its tables
                    ctx.failures.add(None, None, f"catalog figures not drawn: "
                                                 f"{type(exc).__name__}: {exc}")
                    self.ledger.forget("catalog_figures")
                release_free_memory()
        failures = _failures(wd, ctx)
        if output.report:
            figures = [f"{p.relative_to(wd.root)} {p.stat().st_size} {p.stat().st_mtime_ns}"
                       for p in sorted(wd.figures_dir.rglob("*.png"))] \
                if wd.figures_dir.is_dir() else []  # the report copies them: redo when one changes
            solutions = pd.concat(self._solutions, ignore_index=True) if self._solutions \
                else None
            if self._redo("report", [], [catalog, solutions, self.events, failures,
                                         pd.Series(figures, dtype=object)],
                          ["report/index.html"]):
                write_report(wd, catalog, self.events, failures=failures, solutions=solutions)
        self.ledger.save()
        log_summary(catalog, self.events, failures)
        return counts

    def _redo(self, item: str, keys: list[str], frames: list, outputs: list[str]) -> bool:
        rerun = ItemRerun(self.ledger, item, outputs, self.ctx.overwrite, noun="products")
        fingerprint = (config_params(self.ctx.config, keys),
                       {"tables": frames_digest(frames)})
        if rerun.plan({"": fingerprint}):
            rerun.record("")
            return True
        return False


def _solved(mechanisms: pd.DataFrame) -> pd.DataFrame:
    strike = pd.to_numeric(mechanisms["strike"], errors="coerce")
    return mechanisms[np.isfinite(strike.to_numpy(float))]


def _preferred(mechanisms: pd.DataFrame) -> pd.DataFrame:
    """The preferred (first) solution of each solved event."""
    return _solved(mechanisms).drop_duplicates("event_id", keep="first") if len(mechanisms) \
        else mechanisms


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Catalog columns of text rows as numbers (text columns kept)."""
    out = frame.copy()
    for column in out.columns:
        if column not in _TEXT:
            out[column] = pd.to_numeric(out[column], errors="coerce")
    return out


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


def catalog_table(mechanisms: pd.DataFrame, magnitudes: np.ndarray | None) -> pd.DataFrame:
    """Catalog rows (one per event with a mechanism) of preferred solutions with numeric
    columns: ``mag`` (``magnitudes``, one per row, from events.csv; NaN where unknown), times
    in one format, derived columns. Repeated labels (quality, class, flag) share one string
    object each: a catalog of a million rows holds no million copies of "A"."""
    catalog = mechanisms.copy()
    catalog["mag"] = np.nan if magnitudes is None else np.asarray(magnitudes, dtype=float)
    for column in ("origin_lat", "origin_lon", "origin_depth_km"):
        catalog[column] = pd.to_numeric(catalog.get(column), errors="coerce")
    catalog["time"] = [(t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if (t := parse_any_time(v)) else "")
                       for v in catalog.get("time", pd.Series([""] * len(catalog)))]
    catalog["quality"] = catalog.get("quality", pd.Series([""] * len(catalog))).fillna("")
    catalog = add_derived_columns(catalog)
    for column in ("quality", "mult_solution_flag", "faulting_class"):
        if column in catalog:
            catalog[column] = pd.Series([sys.intern(v) if isinstance(v, str) else v
                                         for v in catalog[column]], index=catalog.index,
                                        dtype=catalog[column].dtype)
    return catalog


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
    numbers = {c: _numbers(rows.get(c)) for c in ("p_polarity", "pol_agreement", "sr_dist_km",
                                                   "takeoff", "azimuth")}
    out: dict[tuple, dict] = {}
    for k, code in enumerate(rows["sta_code"].astype(str)):
        network, station, _, _ = split_sta_code(code)
        key = (network, station)
        p_polarity, agreement = numbers["p_polarity"][k], numbers["pol_agreement"][k]
        takeoff, azimuth = numbers["takeoff"][k], numbers["azimuth"][k]
        entry = out.setdefault(key, {
            "label": f"{network}.{station}" if network else station, "network": network,
            "station": station, "takeoff": takeoff, "azimuth": azimuth,
            "distance_km": numbers["sr_dist_km"][k], "polarity": 0.0, "weight": 1.0,
            "misfit": False, "sp_ratio": np.nan,
            "prob_up": probabilities.get(key, {}).get("prob_up", np.nan),
            "prob_down": probabilities.get(key, {}).get("prob_down", np.nan)})
        if np.isfinite(p_polarity):
            entry.update(polarity=float(np.sign(p_polarity)), weight=abs(float(p_polarity)),
                         takeoff=takeoff, azimuth=azimuth,
                         misfit=bool(np.isfinite(agreement) and agreement == 0))
        elif key in sp_values:
            entry["sp_ratio"] = sp_values[key]["sp_ratio"]
    return pd.DataFrame(list(out.values()), columns=columns)


def _numbers(column: pd.Series | None) -> np.ndarray:
    """A column as floats (NaN where blank or not a number)."""
    if column is None:
        return np.full(0, np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(float)


def _lookup(table: pd.DataFrame | None, event_id: str, columns: tuple) -> dict:
    if table is None or not len(table):
        return {}
    rows = table[table["event_id"].astype(str) == str(event_id)]
    values = {c: _numbers(rows[c]) for c in columns}
    found: dict = {}
    for k, key in enumerate(zip(rows["network"].astype(str), rows["station"].astype(str))):
        found.setdefault(key, {c: values[c][k] for c in columns})  # a station's first row
    return found


def p_window_arrays(wd: WorkDir, event_id: str, observations: pd.DataFrame) -> tuple[dict, str]:
    """:func:`p_windows` and the digest of the event's P windows (the figures' ledger item)."""
    path = wd.event_windows_file(event_id)
    return p_windows(wd, event_id, observations), set_digest(path, "P")


def p_windows(wd: WorkDir, event_id: str, observations: pd.DataFrame) -> dict:
    """{label: PWindow} of the vertical P windows of an event's windows file in the store, for
    the ``observations`` (``label``, ``network``, ``station``; a blank network matches any);
    shown as ground motion where the store says the station is reversed."""
    path = wd.event_windows_file(event_id)
    if not path.is_file():
        return {}
    try:
        windows = read_sets(path, ["P"]).get("P")
    except InputError as exc:  # an unreadable file must not stop the figure
        log.debug("event %s: %s", event_id, exc)
        return {}
    if windows is None:
        return {}
    verticals: dict[tuple[str, str], list[int]] = {}
    for i in range(len(windows)):
        network, station, _, channel = windows.codes(i)
        if channel.endswith("Z"):
            verticals.setdefault((network, station), []).append(i)
            verticals.setdefault(("", station), []).append(i)
    out = {}
    for row in observations.itertuples(index=False):
        rows = verticals.get((row.network or "", row.station))
        if not rows:
            continue
        record = windows.table[rows[0]]
        out[row.label] = PWindow(row.label, windows.samples(rows[0]), float(record["rate_hz"]),
                                 float(record["start_s"]), float(record["pick_s"]),
                                 reversed=bool(record["reversed"]))
    return out


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

