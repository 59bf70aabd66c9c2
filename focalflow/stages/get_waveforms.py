"""Stage 1: event waveforms (miniSEED) and station metadata (StationXML) from FDSN or SDS.

Reads the events of the configured catalog (``catalog.phase_file``). For each event it keeps the
stations within ``waveforms.max_radius_km`` that operate in the window origin -
``pre_origin_s`` ... origin + ``post_origin_s``, one instrument per station by the channel and
location priorities, and writes

- ``mseed/<event_id>/NET.STA.LOC.CHA.mseed`` (one file per channel, trimmed to the window);
- ``stations/NET.STA.xml`` (StationXML with responses, all epochs of the station);
- ``mseed/<event_id>/manifest.json`` (the request, the chosen channels and each station's
  outcome: ok, nodata or failed), written atomically (at least every few seconds and at the
  end of the event).

A rerun fetches only what is missing: stations already ok or without data are skipped, failed
ones (and failed station queries) are tried again, an event whose request settings changed is
fetched anew. ``--overwrite`` fetches everything again, StationXML included. Stations without
data or that failed get a row in the failures table, on every run.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

from obspy import Inventory, Stream, UTCDateTime, read_inventory

from focalflow.cli import StageContext
from focalflow.waveforms.download import (DownloadError, Instrument, choose_instruments, covers,
                                fdsn_channel_query, make_sources)
from focalflow.errors import FocalflowError
from focalflow.workdir import atomic_path, write_text_atomic

log = logging.getLogger("focalflow.get_waveforms")

MANIFEST = "manifest.json"
MANIFEST_EVERY_S = 5.0


def read_events(config):
    """The events table of the configured catalog (columns of events.csv)."""
    from focalflow.catalog import read_event_catalog

    events, _picks, problems = read_event_catalog(config.catalog)
    if len(problems):
        log.info("catalog: %d problem(s) reading %s (stage 3 reports them)", len(problems),
                 config.catalog.phase_file)
    return events


def request_settings(config) -> dict:
    """What decides which data an event gets; a manifest with other settings is out of date."""
    w = config.waveforms
    settings = {"source": w.source, "pre_origin_s": w.pre_origin_s,
                "post_origin_s": w.post_origin_s, "max_radius_km": w.max_radius_km,
                "channel_priorities": list(w.channel_priorities),
                "location_priorities": list(w.location_priorities)}
    if w.source == "fdsn":
        settings.update(providers=list(w.fdsn.providers), networks=w.fdsn.networks,
                        stations=w.fdsn.stations)
    else:
        settings.update(root=str(w.sds.root))
    return settings


def read_manifest(path: Path) -> dict | None:
    """The manifest at ``path``, or None when absent or unreadable (then the event is redone)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable manifest (%s); fetching the event again", path, exc)
        return None


def write_manifest(path: Path, manifest: dict) -> None:
    write_text_atomic(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


class StationXmlStore:
    """``stations/NET.STA.xml`` files: read once per run, fetched when they lack a channel.

    With ``refresh`` (``--overwrite``) each station's file is fetched again once per run.
    """

    def __init__(self, folder: Path, refresh: bool = False):
        self.folder = folder
        self.refresh = refresh
        self._cache: dict[str, Inventory] = {}

    def path(self, code: str) -> Path:
        return self.folder / f"{code}.xml"

    def get(self, code: str) -> Inventory | None:
        if code not in self._cache:
            path = self.path(code)
            if not path.is_file():
                return None
            try:
                self._cache[code] = read_inventory(str(path), format="STATIONXML")
            except Exception as exc:
                log.warning("%s: unreadable StationXML (%s); fetching it again", path, exc)
                return None
        return self._cache[code]

    def ensure(self, instrument: Instrument, source, time: UTCDateTime) -> None:
        """Make sure ``stations/NET.STA.xml`` has the instrument's responses at ``time``."""
        if self.refresh and instrument.code not in self._cache:
            existing = None
        else:
            existing = self.get(instrument.code)
        if existing is not None and covers(existing, instrument, time):
            return
        inventory = source.responses(instrument.network, instrument.station)
        if not covers(inventory, instrument, time):
            raise DownloadError(f"no response for {', '.join(instrument.seed_ids())} at {time} "
                                f"in the StationXML from {source.provider}")
        with atomic_path(self.path(instrument.code)) as tmp:
            inventory.write(str(tmp), format="STATIONXML")
        self._cache[instrument.code] = inventory


def write_channels(stream: Stream, instrument: Instrument, folder: Path,
                   start: UTCDateTime, end: UTCDateTime) -> list[str]:
    """Write each channel of ``instrument`` found in ``stream`` to its own file; return names."""
    written = []
    for channel in instrument.channels:
        traces = stream.select(network=instrument.network, station=instrument.station,
                               location=instrument.location, channel=channel).copy()
        traces.trim(start, end)
        traces = Stream([tr for tr in traces if tr.stats.npts])
        if not traces:
            continue
        traces.sort()
        name = f"{instrument.network}.{instrument.station}.{instrument.location}.{channel}.mseed"
        with atomic_path(folder / name) as tmp:
            traces.write(str(tmp), format="MSEED")
        written.append(name)
    return written


def choose_stations(event, sources, config, start, end) -> tuple[dict, list[str]]:
    """Stations for one event from the first source that has each; returns (stations, errors)."""
    w = config.waveforms
    channels = fdsn_channel_query(w.channel_priorities)
    stations: dict[str, dict] = {}
    errors = []
    for index, source in enumerate(sources):
        try:
            inventory = source.stations(event.latitude, event.longitude, w.max_radius_km,
                                        start, end, channels)
        except DownloadError as exc:
            errors.append(str(exc))
            continue
        for instrument in choose_instruments(inventory, event.latitude, event.longitude,
                                             w.max_radius_km, w.channel_priorities,
                                             w.location_priorities, UTCDateTime(event.time)):
            if instrument.code not in stations:
                stations[instrument.code] = {"instrument": asdict(instrument), "source": index,
                                             "status": "pending", "files": [], "reason": ""}
    return stations, errors


def fetch_event(ctx: StageContext, event, sources, store: StationXmlStore, settings: dict,
                counts: dict) -> None:
    """Fetch (or finish fetching) the waveforms and StationXML of one event."""
    config, event_id = ctx.config, str(event.event_id)
    folder = ctx.workdir.event_mseed_dir(event_id)
    manifest_path = folder / MANIFEST
    origin = UTCDateTime(event.time)
    start = origin - config.waveforms.pre_origin_s
    end = origin + config.waveforms.post_origin_s

    manifest = None if ctx.overwrite else read_manifest(manifest_path)
    if manifest is not None and manifest.get("settings") != settings:
        log.info("event %s: request settings changed since the last run; fetching it again",
                 event_id)
        manifest = None
    if manifest is None or manifest.get("query_errors"):
        # a station query that failed (one of several providers) is asked again next run
        stations, errors = choose_stations(event, sources, config, start, end)
        if errors and not stations and manifest is None:
            ctx.failures.add(event_id, None, "; ".join(errors))
            counts["events_failed"] += 1
            return
        for message in errors:
            ctx.failures.add(event_id, None, message)
        if manifest is None:
            manifest = {"event_id": event_id, "origin": str(origin), "start": str(start),
                        "end": str(end), "settings": settings, "stations": {}}
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.mseed"):  # files of an earlier, different request
                old.unlink()
        for code, station in stations.items():
            manifest["stations"].setdefault(code, station)
        manifest["query_errors"] = errors
        write_manifest(manifest_path, manifest)

    todo = {code: s for code, s in manifest["stations"].items() if s["status"] in ("pending", "failed")}
    if not todo:
        counts["events_skipped"] += 1
    batch_size = config.waveforms.fdsn.stations_per_request if config.waveforms.source == "fdsn" else 1
    saved = time.monotonic()
    for index, source in enumerate(sources):
        codes = [code for code, s in todo.items() if s["source"] == index]
        for i in range(0, len(codes), batch_size):
            fetch_batch(source, store, [todo[c] for c in codes[i:i + batch_size]], folder,
                        start, end, origin)
            if time.monotonic() - saved > MANIFEST_EVERY_S:  # progress survives a crash
                write_manifest(manifest_path, manifest)
                saved = time.monotonic()
    if todo:
        write_manifest(manifest_path, manifest)

    if not manifest["stations"]:
        ctx.failures.add(event_id, None, f"no station within waveforms.max_radius_km = "
                         f"{config.waveforms.max_radius_km:g} km has channels matching "
                         "waveforms.channel_priorities")
    for code, station in sorted(manifest["stations"].items()):
        key = f"stations_{station['status']}"
        counts[key] = counts.get(key, 0) + 1
        if station["status"] == "nodata":
            ctx.failures.add(event_id, code, "no waveform data in the window")
        elif station["status"] == "failed":
            ctx.failures.add(event_id, code, station["reason"])
    counts["events"] += 1


def fetch_batch(source, store: StationXmlStore, stations: list[dict], folder: Path,
                start: UTCDateTime, end: UTCDateTime, origin: UTCDateTime) -> None:
    """One waveform request for a few stations, then their StationXML; updates ``stations``."""
    instruments = [Instrument(**{**s["instrument"], "channels": tuple(s["instrument"]["channels"])})
                   for s in stations]
    bulk = [(i.network, i.station, i.location, c, start, end) for i in instruments for c in i.channels]
    try:
        stream = source.waveforms(bulk)
    except DownloadError as exc:
        for station in stations:
            station.update(status="failed", reason=str(exc))
        return
    for station, instrument in zip(stations, instruments):
        files = write_channels(stream, instrument, folder, start, end)
        if not files:
            station.update(status="nodata", files=[], reason="")
            continue
        try:
            store.ensure(instrument, source, origin)
        except DownloadError as exc:
            station.update(status="failed", files=files, reason=str(exc))
            continue
        station.update(status="ok", files=files, reason="")


def run(ctx: StageContext) -> dict:
    config = ctx.config
    events = read_events(config)
    sources = make_sources(config.waveforms)
    settings = request_settings(config)
    store = StationXmlStore(ctx.workdir.stationxml_dir, refresh=ctx.overwrite)
    counts = {"events": 0, "events_skipped": 0, "events_failed": 0}
    for event in events.itertuples(index=False):
        if not ctx.selected(event.event_id):
            continue
        try:
            fetch_event(ctx, event, sources, store, settings, counts)
        except DownloadError as exc:
            ctx.failures.add(str(event.event_id), None, str(exc))
            counts["events_failed"] += 1
        except FocalflowError:
            raise  # a setup problem (missing archive, bad StationXML folder) stops the stage
        except Exception as exc:  # one bad event never stops the batch
            log.debug("event %s", event.event_id, exc_info=True)
            ctx.failures.add(str(event.event_id), None, f"unexpected error: {type(exc).__name__}: {exc}")
            counts["events_failed"] += 1
    return counts
