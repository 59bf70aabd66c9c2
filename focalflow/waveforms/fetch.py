"""Stage 1's work for one event: choose its stations, fetch their waveforms and StationXML.

Each event's folder ``mseed/<event_id>/`` holds one miniSEED file per channel
(``NET.STA.LOC.CHA.mseed``, trimmed to origin - ``pre_origin_s`` ... origin + ``post_origin_s``)
and ``manifest.json``: the window, the chosen instruments and each station's outcome (``ok``,
``nodata``, ``failed`` with the reason, or ``pending``), plus the station queries that failed.
The manifest is written atomically at least every few seconds and at the end, so an
interrupted or partly failed fetch is finished by the next run, which asks only for the failed
and pending stations (and again for failed station queries) and for stations whose files have
gone, and again for the stations of an event that had none. Each event has
``waveforms.fdsn.event_deadline_s`` for all its requests. Whether the manifest still belongs to
the configuration is the stage's ledger's business.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from obspy import Stream, UTCDateTime

from focalflow.formats.common import parse_time
from focalflow.formats.mseed import write_mseed
from focalflow.waveforms.download import (DownloadError, Instrument, choose_instruments,
                                          fdsn_channel_query)
from focalflow.waveforms.inventory import StationXmlCache
from focalflow.workdir import atomic_path, write_text_atomic

log = logging.getLogger("focalflow.waveforms.fetch")

MANIFEST = "manifest.json"
MANIFEST_EVERY_S = 5.0
TO_FETCH = ("pending", "failed")


def request_keys(waveforms_config) -> list[str]:
    """The config keys that decide which data an event gets (not timeouts, retries or batch
    sizes, which change how the data come, not which)."""
    keys = [f"waveforms.{name}" for name in ("source", "pre_origin_s", "post_origin_s",
                                             "max_radius_km", "channel_priorities",
                                             "location_priorities")]
    if waveforms_config.source == "fdsn":
        return keys + ["waveforms.fdsn.providers", "waveforms.fdsn.networks",
                       "waveforms.fdsn.stations"]
    if waveforms_config.source == "files":  # station lists place the stations (radius)
        return keys + ["waveforms.files.root", "waveforms.files.stationxml_dir",
                       "stations.station_files", "stations.columns"]
    return keys + ["waveforms.sds.root", "waveforms.sds.stationxml_dir"]


@dataclass(frozen=True)
class EventRequest:
    """One event's request: where (epicentre, degrees) and when (UTC) to look."""

    event_id: str
    latitude: float
    longitude: float
    origin: UTCDateTime
    start: UTCDateTime
    end: UTCDateTime

    @classmethod
    def of(cls, event, waveforms_config) -> "EventRequest":
        """The request for an events.csv row (``event`` has event_id, time, latitude, longitude)."""
        origin = parse_time(event.time)
        return cls(str(event.event_id), float(event.latitude), float(event.longitude), origin,
                   origin - waveforms_config.pre_origin_s, origin + waveforms_config.post_origin_s)


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


def choose_stations(request: EventRequest, sources, waveforms_config) -> tuple[dict, list[str]]:
    """Stations for one event from the first source that has each: (manifest entries, errors)."""
    w = waveforms_config
    channels = fdsn_channel_query(w.channel_priorities)
    stations: dict[str, dict] = {}
    errors = []
    for index, source in enumerate(sources):
        try:
            inventory = source.stations(request.latitude, request.longitude, w.max_radius_km,
                                        request.start, request.end, channels)
        except DownloadError as exc:
            errors.append(str(exc))
            continue
        for instrument in choose_instruments(inventory, request.latitude, request.longitude,
                                             w.max_radius_km, w.channel_priorities,
                                             w.location_priorities, request.origin):
            if instrument.code not in stations:
                stations[instrument.code] = {"instrument": asdict(instrument), "source": index,
                                             "status": "pending", "files": [], "reason": ""}
    return stations, errors


@dataclass
class FetchOutcome:
    """What :func:`fetch_event` did: each station's status and how many it asked for."""

    statuses: dict[str, str]
    requested: int


def fetch_event(request: EventRequest, folder: Path, sources, cache: StationXmlCache,
                waveforms_config, fresh: bool,
                report: Callable[[str | None, str], None]) -> FetchOutcome | None:
    """Fetch, or finish fetching, one event into ``folder``.

    ``fresh`` starts over (the files of an earlier request are deleted). ``report(station,
    reason)`` receives every station query that failed, every station without data or that
    failed, and an event without stations. Returns None (after reporting) when no station
    query answered for an event without a manifest.
    """
    for source in sources:
        source.start_event()  # waveforms.fdsn.event_deadline_s counts from here
    manifest_path = folder / MANIFEST
    manifest = None if fresh else read_manifest(manifest_path)
    if manifest is None or manifest.get("query_errors") or not manifest["stations"]:
        # a station query that failed (one of several providers) or found no station (an FDSN
        # "no data" answer may be a data centre's passing trouble) is asked again next run
        stations, errors = choose_stations(request, sources, waveforms_config)
        if errors and not stations and manifest is None:
            report(None, "; ".join(errors))
            return None
        for message in errors:
            report(None, message)
        if manifest is None:
            manifest = {"event_id": request.event_id, "origin": str(request.origin),
                        "start": str(request.start), "end": str(request.end), "stations": {}}
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.mseed"):  # files of an earlier, different request
                old.unlink()
        for code, station in stations.items():
            manifest["stations"].setdefault(code, station)
        manifest["query_errors"] = errors
        write_manifest(manifest_path, manifest)

    for station in manifest["stations"].values():
        if station["status"] == "ok" and not all((folder / f).is_file() for f in station["files"]):
            station["status"] = "pending"  # its files have gone: fetch them again
    todo = {code: s for code, s in manifest["stations"].items() if s["status"] in TO_FETCH}
    batch_size = (waveforms_config.fdsn.stations_per_request
                  if waveforms_config.source == "fdsn" else 1)
    saved = time.monotonic()
    for index, source in enumerate(sources):
        codes = [code for code, s in todo.items() if s["source"] == index]
        for i in range(0, len(codes), batch_size):
            fetch_batch(source, cache, [todo[c] for c in codes[i:i + batch_size]], folder, request)
            if time.monotonic() - saved > MANIFEST_EVERY_S:  # progress survives a crash
                write_manifest(manifest_path, manifest)
                saved = time.monotonic()
    if todo:
        write_manifest(manifest_path, manifest)

    if not manifest["stations"]:
        w = waveforms_config
        report(None, f"no station within waveforms.max_radius_km = {w.max_radius_km:g} km has "
               "channels matching waveforms.channel_priorities")
    for code, station in sorted(manifest["stations"].items()):
        if station["status"] == "nodata":
            report(code, "no waveform data in the window")
        elif station["status"] == "failed":
            report(code, station["reason"])
    return FetchOutcome({code: s["status"] for code, s in manifest["stations"].items()}, len(todo))


def fetch_batch(source, cache: StationXmlCache, stations: list[dict], folder: Path,
                request: EventRequest) -> None:
    """One waveform request for a few stations, then their StationXML; updates ``stations``."""
    instruments = [Instrument(**{**s["instrument"], "channels": tuple(s["instrument"]["channels"])})
                   for s in stations]
    bulk = [(i.network, i.station, i.location, c, request.start, request.end)
            for i in instruments for c in i.channels]
    try:
        stream = source.waveforms(bulk)
    except DownloadError as exc:
        for station in stations:
            station.update(status="failed", reason=str(exc))
        return
    for station, instrument in zip(stations, instruments):
        files = write_channels(stream, instrument, folder, request.start, request.end)
        if not files:
            station.update(status="nodata", files=[], reason="")
            continue
        try:
            if source.provides_responses:  # else stage 2 reads the station lists
                cache.ensure(instrument, source, request.origin)
        except DownloadError as exc:
            station.update(status="failed", files=files, reason=str(exc))
            continue
        station.update(status="ok", files=files, reason="")


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
            write_mseed(traces, tmp)
        written.append(name)
    return written
