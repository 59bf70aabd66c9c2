"""Stage 2: miniSEED to SAC with station, event and pick headers, rotated to Z/N/E.

Reads ``mseed/<event_id>/*.mseed`` and ``stations/NET.STA.xml`` (stage 1) and the events and
picks of the configured catalog; writes ``sac/<event_id>/NET.STA.LOC.CHA.sac`` (headers: see
``focalflow.waveforms.assemble``) and ``sac/<event_id>/manifest.json`` (inputs, settings, files, failures).

Per instrument (network, station, location, band): unreadable, empty or truncated files, gaps
refused by ``sac.gap_policy``/``max_gap_s``, traces shorter than ``sac.min_duration_s`` and
channels without metadata are dropped with a row in the failures table. With
``sac.rotate_to_zne`` the three components are rotated to Z/N/E; when the horizontals are not
all usable the vertical is written alone (and the row says so); without a vertical the
instrument is skipped.

An event whose inputs, catalog entry and ``sac`` settings are unchanged since the last run is
skipped (its failures are reported again); ``--overwrite`` redoes every selected event.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from pathlib import Path

import pandas as pd
from obspy import Inventory, Stream, UTCDateTime, read_inventory

from focalflow.cli import StageContext
from focalflow.errors import FocalflowError
from focalflow.waveforms.assemble import (TraceRejected, channel_metadata, merge_gaps, orientation, read_mseed,
                           rotate_to_zne, to_sac, vertical_up, write_sac)
from focalflow.workdir import write_text_atomic

log = logging.getLogger("focalflow.mseed2sac")

MANIFEST = "manifest.json"


def _read_catalog(config):
    """(events, picks) of the configured catalog."""
    from focalflow.catalog import read_event_catalog as read

    events, picks, _problems = read(config.catalog)
    return events, picks


class InventoryStore:
    """``stations/NET.STA.xml`` read once per run; None (and the reason) when unusable."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._cache: dict[str, tuple[Inventory | None, str]] = {}

    def get(self, code: str) -> tuple[Inventory | None, str]:
        if code not in self._cache:
            path = self.folder / f"{code}.xml"
            if not path.is_file():
                self._cache[code] = (None, f"station without metadata (no {path.name} in "
                                           f"{self.folder})")
            else:
                try:
                    self._cache[code] = (read_inventory(str(path), format="STATIONXML"), "")
                except Exception as exc:
                    text = " ".join(str(exc).split())[:200]
                    self._cache[code] = (None, f"station without metadata ({path.name} is not "
                                               f"readable StationXML: {text})")
        return self._cache[code]


def pick_times(picks: list[dict], band: str) -> dict[str, UTCDateTime]:
    """First P and S pick among one station's ``picks``, preferring the same band/instrument code."""
    found = {}
    for phase in ("P", "S"):
        candidates = [p for p in picks if str(p["phase"]).upper() == phase]
        same_band = [p for p in candidates if str(p["channel"])[:2] == band]
        for pick in same_band + candidates:
            try:
                found[phase] = UTCDateTime(pick["time"])
                break
            except Exception:
                log.debug("unreadable %s pick time %r of %s.%s", phase, pick["time"],
                          pick["network"], pick["station"])
    return found


def input_listing(folder: Path) -> dict[str, list[int]]:
    """Name -> [size, mtime_ns] of the miniSEED files of an event (tells when inputs changed)."""
    return {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(folder.glob("*.mseed"))}


def event_fingerprint(config, event: dict, picks: pd.DataFrame) -> str:
    """A digest of what else decides the SAC files: sac settings, event row and its picks."""
    text = json.dumps({"sac": config.sac.model_dump(mode="json"), "event": event,
                       "picks": picks.astype(str).to_dict("records")}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def convert_instrument(files: list[Path], inventory: Inventory, config, origin: UTCDateTime,
                       event: dict, picks: dict[str, UTCDateTime], out_dir: Path,
                       report) -> list[str]:
    """Convert the files of one instrument; ``report(reason)`` records what was dropped."""
    sac_config = config.sac
    components: dict[str, object] = {}
    for path in files:
        try:
            stream = read_mseed(path)
            stream = merge_gaps(stream, sac_config.gap_policy, sac_config.max_gap_s, sac_config.gap_fill)
            if len(stream) != 1:
                raise TraceRejected(f"{path.name}: holds {len(stream)} channels "
                                    f"({', '.join(tr.id for tr in stream)}), expected one")
            trace = stream[0]
            duration = trace.stats.endtime - trace.stats.starttime
            if duration < sac_config.min_duration_s:
                raise TraceRejected(f"{trace.id}: {duration:.3g} s of data, shorter than "
                                    f"sac.min_duration_s = {sac_config.min_duration_s:g} s")
            channel_metadata(inventory, trace.id, trace.stats.starttime)
        except TraceRejected as exc:
            report(str(exc))
            continue
        components[trace.stats.channel[-1]] = trace
    if "Z" not in components:
        if components:
            label = files[0].name[: -len("Z.mseed")] + "?"
            report(f"{label}: no usable vertical component (have "
                   f"{', '.join(tr.stats.channel for tr in components.values())}); "
                   "instrument skipped")
        return []

    z = components["Z"]
    listed = {cha.code[-1] for net in inventory.select(network=z.stats.network,
                                                       station=z.stats.station,
                                                       location=z.stats.location,
                                                       channel=z.stats.channel[:2] + "?",
                                                       time=z.stats.starttime)
              for sta in net for cha in sta}
    horizontals = sorted(set(components) - {"Z"})
    rotate = sac_config.rotate_to_zne
    if len(horizontals) >= 2:
        traces = Stream([components[c] for c in ["Z"] + horizontals[:2]])
    else:
        if listed - {"Z"}:
            missing = [z.stats.channel[:2] + c for c in sorted(listed - set(components))]
            report(f"{z.id[:-1]}?: missing horizontal component(s) {', '.join(missing)}; "
                   "wrote the vertical alone")
        traces = Stream([z])
    if rotate and len(traces) == 3:
        try:
            traces = rotate_to_zne(traces, inventory)
        except TraceRejected as exc:
            report(f"{exc}; wrote the vertical alone")
            traces = Stream([z])
    if rotate and len(traces) == 1:
        traces = Stream([vertical_up(z, channel_metadata(inventory, z.id, z.stats.starttime))])
    written = []
    metadata = channel_metadata(inventory, z.id, z.stats.starttime)
    station = {"latitude": metadata["latitude"], "longitude": metadata["longitude"],
               "elevation": metadata["elevation"], "local_depth": metadata["local_depth"]}
    for trace in traces:
        meta = None if rotate else channel_metadata(inventory, trace.id, trace.stats.starttime)
        cmpaz, cmpinc = orientation(trace.stats.channel, meta)
        sac = to_sac(trace, origin, event, station, cmpaz, cmpinc, picks.get("P"), picks.get("S"))
        name = f"{trace.id}.sac"
        write_sac(sac, out_dir / name)
        written.append(name)
    return written


def convert_event(ctx: StageContext, event: dict, picks: pd.DataFrame, store: InventoryStore,
                  counts: dict) -> None:
    event_id = str(event["event_id"])
    in_dir = ctx.workdir.event_mseed_dir(event_id)
    out_dir = ctx.workdir.event_sac_dir(event_id)
    manifest_path = out_dir / MANIFEST
    inputs = input_listing(in_dir)
    fingerprint = event_fingerprint(ctx.config, event, picks)
    if not ctx.overwrite and manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            old = None
        if (old and old.get("inputs") == inputs and old.get("fingerprint") == fingerprint
                and all((out_dir / name).is_file() for name in old.get("files", []))):
            for station, reason in old.get("failures", []):
                ctx.failures.add(event_id, station, reason)
            counts["events_skipped"] += 1
            return

    groups: dict[tuple[str, str, str, str], list[Path]] = defaultdict(list)
    failures: list[tuple[str, str]] = []
    for name in inputs:
        parts = name[: -len(".mseed")].split(".")
        if len(parts) != 4 or len(parts[3]) != 3:
            failures.append(("", f"{name}: file name is not NET.STA.LOC.CHA.mseed"))
            continue
        net, sta, loc, cha = parts
        groups[(net, sta, loc, cha[:2])].append(in_dir / name)

    origin = UTCDateTime(event["time"])
    picks_by_station = defaultdict(list)
    for pick in picks.to_dict("records"):
        picks_by_station[(pick["network"], pick["station"])].append(pick)
    written: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for (net, sta, loc, band), files in sorted(groups.items()):
        code = f"{net}.{sta}"

        def report(reason: str, code=code) -> None:
            failures.append((code, reason))

        inventory, problem = store.get(code)
        if inventory is None:
            report(problem)
            continue
        try:
            written += convert_instrument(files, inventory, ctx.config, origin, event,
                                          pick_times(picks_by_station[(net, sta)], band),
                                          out_dir, report)
        except FocalflowError as exc:
            report(str(exc))
        except Exception as exc:  # one bad trace never stops the event
            log.debug("event %s %s", event_id, code, exc_info=True)
            report(f"unexpected error: {type(exc).__name__}: {exc}")

    for stale in out_dir.glob("*.sac"):
        if stale.name not in written:
            stale.unlink()
    for station, reason in failures:
        ctx.failures.add(event_id, station, reason)
    manifest = {"event_id": event_id, "inputs": inputs, "fingerprint": fingerprint,
                "files": sorted(written), "failures": failures}
    write_text_atomic(manifest_path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    counts["events"] += 1
    counts["sac_files"] += len(written)


def run(ctx: StageContext) -> dict:
    events, picks = _read_catalog(ctx.config)
    store = InventoryStore(ctx.workdir.stationxml_dir)
    counts = {"events": 0, "events_skipped": 0, "events_without_waveforms": 0, "sac_files": 0}
    picks_by_event = {str(k): v for k, v in picks.groupby("event_id", sort=False)} if len(picks) else {}
    empty = picks.iloc[0:0]
    for event in events.to_dict("records"):
        event_id = str(event["event_id"])
        if not ctx.selected(event_id):
            continue
        if not ctx.workdir.event_mseed_dir(event_id).is_dir():
            counts["events_without_waveforms"] += 1
            continue
        try:
            convert_event(ctx, event, picks_by_event.get(event_id, empty), store, counts)
        except Exception as exc:  # one bad event never stops the batch
            log.debug("event %s", event_id, exc_info=True)
            ctx.failures.add(event_id, None, f"unexpected error: {type(exc).__name__}: {exc}")
    return counts
