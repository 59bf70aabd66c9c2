"""Stage 1: event waveforms (miniSEED) and station metadata (StationXML) from FDSN, SDS or files.

Reads the events of the configured catalog (``catalog.phase_file``). For each event it keeps the
stations within ``waveforms.max_radius_km`` that operate in the window origin -
``pre_origin_s`` ... origin + ``post_origin_s``, one instrument per station by the channel and
location priorities, and writes ``mseed/<event_id>/NET.STA.LOC.CHA.mseed``, the event's
``manifest.json`` (each station's outcome) and ``stations/NET.STA.xml`` (StationXML with
responses, all epochs); see :mod:`focalflow.waveforms.fetch`. With ``waveforms.source: files``
the folder tree is indexed first (``files_index.csv``, see :mod:`focalflow.waveforms.files`);
without StationXML there no ``stations/`` files are written (stage 2 reads the station lists).

An event is fetched anew when the settings that decide its data (``waveforms.*`` except
timeouts, retries and batch sizes) or its catalog origin changed (files source: also the files
with data in its window, or the station lists); otherwise a rerun asks only
for what failed or is missing, and nothing when all is there. ``--overwrite`` fetches
everything again, StationXML included. Stations without data or that failed get a row in the
failures table, on every run.
"""
from __future__ import annotations

import logging

from focalflow.catalog import read_event_catalog
from focalflow.cli import StageContext, require_some
from focalflow.errors import FocalflowError
from focalflow.formats.common import iso_time
from focalflow.provenance import Ledger, RerunSummary, config_params, content_digest
from focalflow.waveforms.download import DownloadError, make_sources, require_reachable
from focalflow.waveforms.files import make_files_source
from focalflow.waveforms.fetch import MANIFEST, EventRequest, fetch_event, request_keys
from focalflow.waveforms.inventory import StationXmlCache

log = logging.getLogger("focalflow.get_waveforms")
STAGE = "1_get_waveforms"


def run(ctx: StageContext) -> dict:
    config, workdir = ctx.config, ctx.workdir
    events, _picks, problems = read_event_catalog(config.catalog)
    if problems:
        log.info("catalog: %d problem(s) reading %s (stage 3 reports them)", len(problems),
                 config.catalog.phase_file)
    files = None
    if config.waveforms.source == "files":
        files, update, problems = make_files_source(config, workdir.files_index_csv)
        log.info("%s", update)
        for problem in problems:
            ctx.failures.add(None, None, str(problem))
    sources = [files] if files is not None else make_sources(config.waveforms)
    cache = StationXmlCache(workdir.stationxml_dir, refresh=ctx.overwrite)
    ledger = Ledger(workdir, STAGE)
    params = config_params(config, request_keys(config.waveforms))
    rerun = RerunSummary()
    counts = {"events": 0, "events_skipped": 0, "events_failed": 0}
    usable = 0  # events with at least one station's waveforms
    for event in events.itertuples(index=False):
        event_id = str(event.event_id)
        if not ctx.selected(event_id):
            continue
        require_reachable(sources)  # offline: stop after the first event, not fail them all

        def report(station, reason, event_id=event_id):
            ctx.failures.add(event_id, station, reason)

        reason = "unreadable catalog entry"
        try:
            request = EventRequest.of(event, config.waveforms)
            folder = workdir.event_mseed_dir(event_id)
            inputs = {"event": content_digest([iso_time(request.origin), request.latitude,
                                               request.longitude])}
            if files is not None:  # the files and station lists the event is cut and placed from
                inputs.update(files=files.window_digest(request.start, request.end),
                              station_metadata=files.metadata.digest)
            reason = ledger.why_redo(event_id, params, inputs, overwrite=ctx.overwrite)
            if reason is not None:  # recorded first: an interrupted fetch is finished next run
                ledger.record(event_id, params, inputs, [(folder / MANIFEST).relative_to(workdir.root)])
                ledger.save()
            outcome = fetch_event(request, folder, sources, cache, config.waveforms,
                                  fresh=reason is not None, report=report)
            for code in files.without_coordinates(request.start, request.end) if files else []:
                report(code, "has waveforms but no coordinates (no StationXML, station list or "
                       "SAC header gives them); not used")
        except DownloadError as exc:
            outcome = None
            report(None, str(exc))
        except FocalflowError:
            raise  # a setup problem (missing archive, bad StationXML folder) stops the stage
        except Exception as exc:  # one bad event never stops the batch
            log.debug("event %s", event_id, exc_info=True)
            outcome = None
            report(None, f"unexpected error: {type(exc).__name__}: {exc}")
        if outcome is None:
            if reason is not None:  # nothing usable fetched: start over next run
                ledger.forget(event_id)
                ledger.save()
            counts["events_failed"] += 1
            continue
        counts["events"] += 1
        usable += "ok" in outcome.statuses.values()
        for status in outcome.statuses.values():
            counts[f"stations_{status}"] = counts.get(f"stations_{status}", 0) + 1
        if reason is not None:
            rerun.redo(reason)
        elif outcome.requested:
            rerun.redo("stations failed or missing before, asked again")
        else:
            rerun.keep()
            counts["events_skipped"] += 1
    log.info("%s", rerun)
    require_some(usable, counts["events"] + counts["events_failed"], "waveforms")
    return counts
