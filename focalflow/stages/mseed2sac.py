"""Stage 2: miniSEED to the waveform store with station, event and pick metadata, rotated to
Z/N/E.

Reads ``mseed/<event_id>/*.mseed`` and ``stations/NET.STA.xml`` (stage 1; where a station has
none, its coordinates from ``stations.station_files`` and SAC headers, orientations assumed
from the channel codes and said once) and the events and picks of the configured catalog;
writes ``store/traces/<event_id>.h5`` (one HDF5 file per event,
:mod:`focalflow.waveforms.store`) and, with ``sac.write_files``, SAC files
``sac/<event_id>/NET.STA.LOC.CHA.sac`` (headers and the rules for bad traces, gaps and
rotation: :mod:`focalflow.waveforms.assemble`). Events are converted through the ``parallel``
executor (``parallel.executor: processes`` spreads ObsPy's work over the cores). Every
dropped trace or instrument is a row of the failures table.

An event is redone when a ``sac.*`` setting, one of its miniSEED files, the StationXML file of
one of its stations (or the station lists standing in for it), its catalog entry or its picks
changed (or a file it wrote is gone); otherwise it is kept and its failures are reported again;
a redone event's store file that comes out identical is left untouched (so stage 3 keeps its
windows). ``--overwrite`` redoes and
rewrites every selected event.
"""
from __future__ import annotations

import logging

from focalflow.catalog import read_event_catalog
from focalflow.cli import StageContext, require_some
from focalflow.parallel import make_executor
from focalflow.provenance import Ledger, RerunSummary, config_params, content_digest, file_digests
from focalflow.tables import picks_digest, picks_digests
from focalflow.waveforms.assemble import convert_event, instrument_files
from focalflow.waveforms.inventory import StationXmlCache
from focalflow.waveforms.metadata import StationMetadata, configured_station_rows

log = logging.getLogger("focalflow.mseed2sac")
STAGE = "2_mseed2sac"
PARAMS = ["sac"]


def run(ctx: StageContext) -> dict:
    workdir = ctx.workdir
    events, picks, _problems = read_event_catalog(ctx.config.catalog)
    picks_by_event = {str(k): v for k, v in picks.groupby("event_id", sort=False)}
    digests = picks_digests(picks)
    station_lists, _problems = configured_station_rows(ctx.config, workdir.files_index_csv)
    listed = StationMetadata(station_lists)  # stations without StationXML (stage 5 reports)
    inventories = StationXmlCache(workdir.stationxml_dir, fallback=listed if len(listed) else None)
    ledger = Ledger(workdir, STAGE)
    params = config_params(ctx.config, PARAMS)
    rerun = RerunSummary()
    counts = {"events": 0, "events_skipped": 0, "events_without_waveforms": 0, "traces": 0}
    ledger.prefetch(e for e in map(str, events["event_id"]) if ctx.selected(e))
    todo = []
    selected = usable = 0  # events asked for, and those with traces
    for event in events.to_dict("records"):
        event_id = str(event["event_id"])
        if not ctx.selected(event_id):
            continue
        selected += 1
        in_dir = workdir.event_mseed_dir(event_id)
        if not in_dir.is_dir():
            counts["events_without_waveforms"] += 1
            continue
        event_picks = picks_by_event.get(event_id, picks.iloc[0:0])
        files = sorted(in_dir.glob("*.mseed"))
        stations = sorted({f"{net}.{sta}" for net, sta, _, _ in instrument_files(files)[0]})
        inputs = {**file_digests(workdir.root, files),
                  **{f"stations/{code}.xml": inventories.digest(code) for code in stations},
                  "event": content_digest(event),
                  "picks": digests.get(event_id) or picks_digest(event_picks)}
        reason = ledger.why_redo(event_id, params, inputs, overwrite=ctx.overwrite)
        if reason is None:
            for station, problem in ledger.failures(event_id):
                ctx.failures.add(event_id, station, problem)
            rerun.keep()
            counts["events_skipped"] += 1
            usable += bool(ledger.outputs(event_id))
            continue
        todo.append((event, files, event_picks.to_dict("records"), inputs, reason))
    tasks = [(event, files, picks, workdir.event_traces_file(str(event["event_id"])),
              workdir.event_sac_dir(str(event["event_id"])) if ctx.config.sac.write_files
              else None) for event, files, picks, _, _ in todo]
    with make_executor(ctx.config.parallel) as executor:
        results = executor.map(convert_task, tasks, inventories, ctx.config.sac, not ctx.overwrite)
        for (event, _, _, inputs, reason), (written, failures, traces, error) in zip(todo, results):
            event_id = str(event["event_id"])
            if error:
                ctx.failures.add(event_id, None, error)
                ledger.forget(event_id)
                continue
            for station, problem in failures:
                ctx.failures.add(event_id, station, problem)
            ledger.record(event_id, params, inputs,
                          [path.relative_to(workdir.root) for path in written], failures)
            rerun.redo(reason)
            counts["events"] += 1
            counts["traces"] += traces
            usable += bool(traces)
    ledger.save()
    listed.say_assumptions()
    log.info("%s", rerun)
    require_some(usable, selected, "traces")
    return counts


def convert_task(task, inventories: StationXmlCache, sac_config, if_changed: bool):
    """One event's :func:`~focalflow.waveforms.assemble.convert_event` (in any worker):
    (files written, failures, number of traces, "" or the error that stopped the event)."""
    event, files, picks, store_file, sac_dir = task
    try:
        return (*convert_event(files, store_file, event, picks, inventories, sac_config, sac_dir,
                               if_changed), "")
    except Exception as exc:  # one bad event never stops the batch
        log.debug("event %s", event["event_id"], exc_info=True)
        return [], [], 0, f"unexpected error: {type(exc).__name__}: {exc}"
