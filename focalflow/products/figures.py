"""Per-event figures (``figures/<event_id>/beachball.png`` and ``waveforms.png``), drawn only
where they help.

Stage 6 draws them for the first ``figures.events`` events with a mechanism (all of them with
``figures.events: all``), or, when run with ``--events``, for the events named; any other
event's are drawn on demand with ``python -m focalflow.figures EVENT [EVENT ...]``. Each event's figures
are an item of stage 6's ledger (the ``output.*`` settings, the rows they show and the P
windows), so a rerun redraws only what changed. Many figures are drawn in a pool of worker
processes, each reusing one figure (:class:`~focalflow.products.plots.event.EventSheet`).
"""
from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
import numpy as np
import pandas as pd

from focalflow.mechanisms.rerun import ItemRerun
from focalflow.provenance import Ledger, config_params, content_digest

log = logging.getLogger("focalflow.products.figures")

EVENT_FIGURES = {"beachball": "beachball.png", "waveforms": "waveforms.png"}
FIGURE_KEYS = ["output.figures", "output.dpi", "output.station_labels",
               "output.waveform_before_s", "output.waveform_after_s"]
POOL_FROM = 40  # fewer figures than this are drawn in this process (a pool costs its start)


class EventFigures:
    """Chooses the events to draw, checks their ledger items and draws them (module
    docstring); :meth:`add` takes the merged tables of a chunk of events, in catalog order."""

    def __init__(self, ctx, ledger: Ledger, events: set[str] | None = None):
        self.ctx, self.ledger = ctx, ledger
        self.wd, self.output = ctx.workdir, ctx.config.output
        wanted = ctx.config.figures.events
        self.first = None if wanted == "all" else int(wanted)
        self.named = set(ctx.events or ()) | set(events or ())
        self.only_named = events is not None or ctx.events is not None
        self.seen = 0
        self.params = config_params(ctx.config, FIGURE_KEYS)
        self.workers = ctx.config.figures.workers
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list = []
        self._local: list = []
        self.drawn = 0

    def _chosen(self, event_id: str) -> bool:
        self.seen += 1
        if event_id in self.named:
            return True
        return not self.only_named and (self.first is None or self.seen <= self.first)

    def choose(self, preferred: pd.DataFrame) -> list[dict]:
        """Of a chunk's preferred solution rows (text), in catalog order, those to draw."""
        return [row for row in preferred.to_dict("records")
                if self._chosen(str(row["event_id"]))]

    def add(self, chosen: list[dict], tables: dict) -> None:
        """Draw the figures of the ``chosen`` rows (:meth:`choose`) whose inputs changed, from
        the chunk's tables: polinfo, acceptable, sp_ratios, polarities, events (or None)."""
        if not chosen:
            return
        grouped = {name: _by_event(tables.get(name)) for name in
                   ("polinfo", "acceptable", "sp_ratios", "polarities")}
        events = tables.get("events")
        magnitudes = {} if events is None else dict(zip(events["event_id"].astype(str),
                                                        pd.to_numeric(events["mag"], errors="coerce")))
        for mechanism in chosen:
            event_id = str(mechanism["event_id"])
            mechanism = {**mechanism, "mag": magnitudes.get(event_id, np.nan)}
            self._event(event_id, mechanism, {name: rows.get(event_id)
                                              for name, rows in grouped.items()})
        self._flush(final=False)

    def _event(self, event_id: str, mechanism: dict, tables: dict) -> None:
        from focalflow.products.results import event_observations, p_window_arrays

        folder = self.wd.event_figures_dir(event_id)
        paths = {k: folder / name for k, name in EVENT_FIGURES.items()}
        rerun = ItemRerun(self.ledger, "figures",
                          [str(p.relative_to(self.wd.root)) for p in paths.values()],
                          self.ctx.overwrite)
        try:
            observations = event_observations(event_id, tables)
            accepted = tables.get("acceptable")
            if accepted is not None:
                accepted = accepted[["strike", "dip", "rake"]].to_numpy(float)
            windows, digest = p_window_arrays(self.wd, event_id, observations)
            inputs = {"rows": content_digest([mechanism, observations.to_csv(index=False),
                                              None if accepted is None else accepted.tolist()]),
                      "p_windows": digest}
            if not rerun.plan({event_id: (self.params, inputs)}):
                return
        except Exception as exc:  # a figure problem is one failure row, never the whole run
            self.ctx.failures.add(event_id, None, f"figures not drawn: {type(exc).__name__}: {exc}")
            return
        job = (event_id, paths, mechanism, observations, accepted, windows, self._settings())
        self._local.append((job, rerun))

    def _settings(self) -> dict:
        output = self.output
        return {"dpi": output.dpi, "station_labels": output.station_labels,
                "before_s": output.waveform_before_s, "after_s": output.waveform_after_s}

    def _flush(self, final: bool) -> None:
        """Start the waiting jobs: in a pool once there are enough of them, else here."""
        if not self._local:
            return
        if self._pool is None and len(self._local) + len(self._pending) >= POOL_FROM \
                and self._workers() > 1:
            self._pool = ProcessPoolExecutor(self._workers(),
                                             mp_context=multiprocessing.get_context("fork"),
                                             initializer=_quiet_worker)
        for job, rerun in self._local:
            if self._pool is not None:
                self._pending.append((self._pool.submit(draw_event_job, job), job[0], rerun))
            elif final:
                self._done(job[0], rerun, _capture(job))
        if self._pool is not None or final:
            self._local = []

    def _workers(self) -> int:
        from focalflow.parallel import all_cores

        return self.workers or all_cores()

    def _done(self, event_id: str, rerun: ItemRerun, error: str | None) -> None:
        if error is None:
            rerun.record(event_id)
            self.drawn += 1
        else:
            self.ctx.failures.add(event_id, None, f"figures not drawn: {error}")

    def finish(self) -> int:
        """Draw what waits, wait for the pool; returns how many events' figures were drawn."""
        self._flush(final=True)
        for future, event_id, rerun in self._pending:
            self._done(event_id, rerun, future.result())
        self._pending = []
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        return self.drawn


def _by_event(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if frame is None or not len(frame):
        return {}
    return {str(k): rows for k, rows in frame.groupby(frame["event_id"].astype(str), sort=False)}


def _quiet_worker() -> None:
    logging.getLogger().handlers.clear()


def _capture(job) -> str | None:
    try:
        draw_event_job(job)
    except Exception as exc:
        log.debug("figures of %s", job[0], exc_info=True)
        return f"{type(exc).__name__}: {exc}"
    return None


def draw_event_job(job) -> None:
    """Draw one event's two figures (in a worker process or here) on a reused sheet."""
    from focalflow.products.plots.event import draw_event
    from focalflow.products.plots.style import write_png

    event_id, paths, mechanism, observations, accepted, windows, settings = job
    rgb, sheet = draw_event(mechanism, observations, windows, accepted, settings["dpi"],
                            settings["before_s"], settings["after_s"], settings["station_labels"])
    write_png(paths["waveforms"], rgb, settings["dpi"])
    write_png(paths["beachball"], sheet.beachball(rgb), settings["dpi"])


def draw_on_demand(ctx, event_ids: list[str]) -> int:
    """``python -m focalflow.figures``: draw the figures of ``event_ids`` from the working
    directory's tables (any event with a mechanism); returns how many were drawn."""
    from focalflow.event_chunks import EventChunks
    from focalflow.products.results import STAGE
    from focalflow.tables import COLUMNS, read_table

    wd = ctx.workdir
    ledger = Ledger(wd, STAGE)
    figures = EventFigures(ctx, ledger, events=set(event_ids))
    events = read_table(wd.events_csv, "events") if wd.events_csv.is_file() else None
    with EventChunks(list(event_ids), len(event_ids), wd.ledger_dir / "scratch") as chunks:
        for name, path, table in (("mechanisms", wd.mechanisms_csv, None),
                                  ("polinfo", wd.polinfo_csv, None),
                                  ("acceptable", wd.acceptable_csv, None),
                                  ("sp_ratios", wd.sp_ratios_csv, "sp_ratios"),
                                  ("polarities", wd.polarities_csv, "polarities")):
            chunks.split_file(name, path, table, as_text=table is None)
        mechanisms = chunks.rows("mechanisms", 0)
        strike = pd.to_numeric(mechanisms.get("strike"), errors="coerce")
        preferred = mechanisms[np.isfinite(strike.to_numpy(float))].drop_duplicates("event_id")
        missing = sorted(set(event_ids) - set(preferred["event_id"].astype(str)))
        for event_id in missing:
            log.warning("event %s has no mechanism in %s: no figures", event_id, wd.mechanisms_csv)
        tables = {name: chunks.rows(name, 0, COLUMNS.get(name)) for name in
                  ("polinfo", "acceptable", "sp_ratios", "polarities")}
        tables["events"] = events
        figures.add(figures.choose(preferred), tables)
        drawn = figures.finish()
    ledger.save()
    return drawn
