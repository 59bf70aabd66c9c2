"""miniSEED to the waveform store: reading with clear errors, gap rules, rotation to ZNE;
SAC files as an export.

:func:`convert_event` writes an event's traces into ``store/traces/<event_id>.h5``
(:mod:`focalflow.waveforms.store`: samples, times in seconds after the origin, station
coordinates, orientation, analyst P and S picks) and, with ``sac.write_files``, SAC files
``sac/<event_id>/NET.STA.LOC.CHA.sac`` with these headers:

- reference time = the event origin time (snapped to the millisecond SAC can hold), ``iztype``
  ``io``, origin ``o`` ~ 0 s; ``b``/``e`` are seconds after the origin;
- ``stla``/``stlo`` (degrees), ``stel`` (m above sea level), ``stdp`` (sensor depth, m);
- ``evla``/``evlo`` (degrees), ``evdp`` (km below sea level, the SAC >= v101 convention), ``mag``;
- ``cmpaz`` (degrees clockwise from north) and ``cmpinc`` (degrees from vertical up: Z is 0,
  horizontals 90); after rotation Z/N/E are 0/0, 0/90 and 90/90;
- ``t1``/``kt1='P'`` and ``t2``/``kt2='S'``: analyst pick times (seconds after the reference);
- ``dist`` (km), ``az``, ``baz``, ``gcarc`` from the coordinates (``lcalda`` true).

Data are raw counts (no response removed); traces hold float32 in SAC.

:func:`convert_event` converts one event's miniSEED folder instrument by instrument (network, station, location, band): unreadable, empty or truncated files, gaps refused
by the gap rule, traces too short and channels without metadata are dropped and reported; with
rotation the three components become Z/N/E, and when the horizontals are not all usable the
vertical is written alone (and reported); without a vertical the instrument is skipped. An
instrument whose metadata (a station list, not StationXML) gives no azimuth for its 1/2
channels is written unrotated, ``cmpaz`` unset (stage 2 names such stations once).
"""
from __future__ import annotations

import io
import logging
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np
import pandas as pd
from obspy import Inventory, Stream, UTCDateTime
from obspy.io.mseed.util import get_record_information
from obspy.io.sac import SACTrace

from focalflow.errors import FocalflowError
from focalflow.formats.common import check_codes, parse_time
from focalflow.formats.mseed import read_mseed
from focalflow.formats.sac import sac_trace, write_sac_folder
from focalflow.waveforms.inventory import StationXmlCache
from focalflow.waveforms.store import WindowSet, concatenate_sets, write_sets

log = logging.getLogger("focalflow.waveforms.assemble")


class TraceRejected(FocalflowError):
    """A trace or file that cannot be used; the message says why (it lands in failures.csv)."""


def read_checked_mseed(path: Path | str) -> Stream:
    """Read one miniSEED file; raise :class:`TraceRejected` for empty, garbage or truncated files.

    A file whose last record is cut off (its size is not a whole number of records) is rejected
    as a whole: it was written by a crashed or interrupted download and cannot be trusted.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TraceRejected(f"{path.name}: cannot read file: {exc.strerror or exc}") from None
    if not raw:
        raise TraceRejected(f"{path.name}: empty file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            stream = read_mseed(io.BytesIO(raw))
        except Exception as exc:
            text = " ".join(str(exc).split())[:200]
            raise TraceRejected(f"{path.name}: not valid miniSEED ({type(exc).__name__}: {text})") \
                from None
    problems = [str(w.message) for w in caught if "record" in str(w.message).lower()
                or "mseed" in type(w.message).__name__.lower()]
    excess = get_record_information(io.BytesIO(raw))["excess_bytes"]
    if excess:
        problems.append(f"{excess} byte(s) beyond the last whole record")
    if problems:
        raise TraceRejected(f"{path.name}: truncated or corrupt miniSEED ({problems[0][:200]})")
    if not stream or not any(tr.stats.npts for tr in stream):
        raise TraceRejected(f"{path.name}: no samples")
    for trace in stream:
        try:
            check_codes(*trace.id.split("."))
        except ValueError as exc:
            raise TraceRejected(f"{path.name}: {exc}") from None
        bad = np.count_nonzero(~np.isfinite(trace.data)) if trace.data.dtype.kind == "f" else 0
        if bad:
            raise TraceRejected(f"{path.name}: {trace.id}: {bad} sample(s) are NaN or infinite")
    return stream


def merge_gaps(stream: Stream, policy: str, max_gap_s: float, fill: str) -> Stream:
    """One trace per channel: gaps and overlaps merged by the rule, or :class:`TraceRejected`.

    ``policy`` ``reject`` refuses any gap; ``merge`` fills gaps up to ``max_gap_s`` seconds with
    linear interpolation (``fill='interpolate'``) or zeros, and refuses longer ones. Overlaps
    with equal samples are merged; overlapping pieces whose samples differ (which one is
    right?) and pieces of different sampling rates are refused.
    """
    merged = Stream()
    for seed_id in sorted({tr.id for tr in stream}):
        part = stream.select(id=seed_id).copy()
        part.sort(keys=["starttime"])
        rates = {tr.stats.sampling_rate for tr in part}
        if len(rates) > 1:
            raise TraceRejected(f"{seed_id}: pieces with different sampling rates {sorted(rates)}")
        if len(part) > 1:
            _check_overlaps(seed_id, part)
            gaps = [g for g in part.get_gaps() if g[6] > 0]
            longest = max((g[6] for g in gaps), default=0.0)
            if gaps and policy == "reject":
                raise TraceRejected(f"{seed_id}: {len(gaps)} gap(s) up to {longest:.3g} s "
                                    "(sac.gap_policy is reject)")
            if longest > max_gap_s:
                raise TraceRejected(f"{seed_id}: gap of {longest:.3g} s is longer than "
                                    f"sac.max_gap_s = {max_gap_s:g} s")
            try:
                part.merge(method=1, fill_value="interpolate" if fill == "interpolate" else 0)
            except Exception as exc:
                raise TraceRejected(f"{seed_id}: cannot merge its pieces ({exc})") from None
        merged += part
    return merged


def _check_overlaps(seed_id: str, pieces: Stream) -> None:
    """TraceRejected when two pieces of one channel overlap with different samples (nearest
    samples compared, so pieces on shifted sample grids differ too)."""
    delta = pieces[0].stats.delta
    for i, first in enumerate(pieces):
        for second in pieces[i + 1:]:
            start = max(first.stats.starttime, second.stats.starttime)
            end = min(first.stats.endtime, second.stats.endtime)
            if end < start:
                continue
            count = int(round((end - start) / delta)) + 1
            a = first.data[int(round((start - first.stats.starttime) / delta)):][:count]
            b = second.data[int(round((start - second.stats.starttime) / delta)):][:count]
            differ = np.count_nonzero(~np.isclose(a[:len(b)], b[:len(a)], rtol=1e-6, atol=0))
            if differ:
                raise TraceRejected(f"{seed_id}: pieces overlap for {count * delta:.3g} s with "
                                    f"different samples ({differ} of {count} differ); not merged")


def channel_metadata(inventory: Inventory, seed_id: str, time: UTCDateTime) -> dict:
    """Coordinates and orientation of a channel at ``time``; TraceRejected when not listed."""
    try:
        return inventory.get_channel_metadata(seed_id, time)
    except Exception:
        raise TraceRejected(f"{seed_id}: no metadata for this channel at {time} in the "
                            "StationXML") from None


def rotate_to_zne(stream: Stream, inventory: Inventory) -> Stream:
    """Rotate three components of one instrument to Z (up), N, E by their azimuths and dips.

    Azimuth is degrees clockwise from north, dip degrees down from horizontal (SEED), so a
    component records ``-sin(dip) Z + cos(dip) cos(az) N + cos(dip) sin(az) E``; the three
    equations are solved sample by sample. Traces are first cut to their common time span
    (they must share the sampling rate and sample times to within half a sample). The result
    has channels ``??Z``, ``??N``, ``??E`` (misoriented N/E channels are rotated too).
    """
    name = f"{stream[0].id[:-1]}?"
    if len(stream) != 3:
        raise TraceRejected(f"{name}: rotation needs three components, got {len(stream)}")
    rates = {tr.stats.sampling_rate for tr in stream}
    if len(rates) != 1:
        raise TraceRejected(f"{name}: components have different sampling rates {sorted(rates)}")
    delta = stream[0].stats.delta
    start = max(tr.stats.starttime for tr in stream)
    end = min(tr.stats.endtime for tr in stream)
    if end <= start:
        raise TraceRejected(f"{name}: the components do not overlap in time")
    pieces, rows = [], []
    for tr in stream:
        first = int(round((start - tr.stats.starttime) / delta))
        offset = tr.stats.starttime + first * delta - start
        if abs(offset) > delta / 2:
            raise TraceRejected(f"{name}: sample times of {tr.id} are offset by {offset:.4f} s")
        pieces.append((tr, first))
        meta = channel_metadata(inventory, tr.id, start)
        az, dip = np.radians(float(meta["azimuth"])), np.radians(float(meta["dip"]))
        rows.append([-np.sin(dip), np.cos(dip) * np.cos(az), np.cos(dip) * np.sin(az)])
    npts = min(len(tr.data) - first for tr, first in pieces)
    npts = min(npts, int(round((end - start) / delta)) + 1)
    matrix = np.array(rows)
    if abs(np.linalg.det(matrix)) < 1e-3:
        raise TraceRejected(f"{name}: component orientations are not independent "
                            "(check azimuth and dip in the StationXML)")
    data = np.array([tr.data[first:first + npts].astype(np.float64) for tr, first in pieces])
    zne = np.linalg.solve(matrix, data)
    rotated = Stream()
    for component, values in zip("ZNE", zne):
        tr = stream[0].copy()
        tr.data = values
        tr.stats.starttime = pieces[0][0].stats.starttime + pieces[0][1] * delta
        tr.stats.channel = stream[0].stats.channel[:2] + component
        rotated += tr
    return rotated


def vertical_up(trace, metadata: dict):
    """A lone vertical with positive up: flipped when the metadata says it points down.

    Keeps lone verticals consistent with :func:`rotate_to_zne`, which solves for Z up.
    """
    up = -np.sin(np.radians(float(metadata["dip"])))
    if abs(up) < 0.99:
        raise TraceRejected(f"{trace.id}: dip {metadata['dip']} deg in the StationXML is not "
                            "vertical")
    if up > 0:
        return trace
    flipped = trace.copy()
    flipped.data = -flipped.data.astype(np.float64)
    return flipped


def oriented(traces: Stream, inventory: Inventory) -> bool:
    """True when every trace's metadata gives its azimuth and dip (station lists may not give
    them for 1/2 channels: such an instrument is written unrotated)."""
    for trace in traces:
        meta = channel_metadata(inventory, trace.id, trace.stats.starttime)
        if meta["azimuth"] is None or meta["dip"] is None:
            return False
    return True


def orientation(channel: str, metadata: dict | None) -> tuple[float | None, float | None]:
    """(cmpaz, cmpinc) in SAC's convention: from the metadata (None where it gives none), or
    standard Z/N/E after rotation."""
    if metadata is None:
        return {"Z": (0.0, 0.0), "N": (0.0, 90.0), "E": (90.0, 90.0)}[channel[-1]]
    azimuth, dip = metadata["azimuth"], metadata["dip"]
    return (None if azimuth is None else float(azimuth) % 360.0,
            None if dip is None else float(dip) + 90.0)


def to_sac(trace, origin: UTCDateTime, event: dict, station: dict, cmpaz: float, cmpinc: float,
           p_time: Optional[UTCDateTime] = None, s_time: Optional[UTCDateTime] = None) -> SACTrace:
    """A SACTrace of ``trace`` with the headers of :mod:`focalflow.formats.sac`.

    ``event`` has latitude, longitude, depth (km), mag; ``station`` has latitude, longitude,
    elevation (m), local_depth (m).
    """
    item = ConvertedTrace(trace, station, cmpaz, cmpinc)
    picks = {k: v for k, v in (("P", p_time), ("S", s_time)) if v is not None}
    traces = store_rows([item], origin, picks)
    return sac_trace(traces.table[0], traces.data,
                     event_attributes({**event, "event_id": "", "time": str(origin)}))


def instrument_files(paths: Iterable[Path]) -> tuple[dict[tuple[str, str, str, str], list[Path]],
                                                     list[str]]:
    """miniSEED files grouped by instrument (network, station, location, band+instrument code),
    and the names that are not ``NET.STA.LOC.CHA.mseed``."""
    groups: dict[tuple[str, str, str, str], list[Path]] = defaultdict(list)
    misnamed = []
    for path in sorted(paths):
        parts = path.name[: -len(".mseed")].split(".")
        if len(parts) != 4 or len(parts[3]) != 3:
            misnamed.append(path.name)
            continue
        net, sta, loc, cha = parts
        groups[(net, sta, loc, cha[:2])].append(path)
    return dict(groups), misnamed


def pick_times(picks: list[dict], band: str) -> dict[str, UTCDateTime]:
    """First P and S pick among one station's ``picks``, preferring the same band/instrument code."""
    found = {}
    for phase in ("P", "S"):
        candidates = [p for p in picks if str(p["phase"]).upper() == phase]
        same_band = [p for p in candidates if str(p["channel"])[:2] == band]
        for pick in same_band + candidates:
            try:
                found[phase] = parse_time(pick["time"])
                break
            except ValueError:
                log.debug("unreadable %s pick time %r of %s.%s", phase, pick["time"],
                          pick["network"], pick["station"])
    return found


@dataclass
class ConvertedTrace:
    """One trace ready for the store (and the SAC export): the ObsPy trace (Z/N/E after
    rotation), its station's coordinates (latitude, longitude, elevation and local_depth in m)
    and its orientation in SAC's convention."""

    trace: object
    station: dict
    cmpaz: float | None
    cmpinc: float | None


def store_rows(traces: list[ConvertedTrace], origin: UTCDateTime,
               picks: dict[str, UTCDateTime]) -> WindowSet:
    """The store's ``traces`` set of converted traces (times in seconds after ``origin``)."""
    rows, samples = [], []
    for item in traces:
        stats = item.trace.stats
        rows.append({"network": stats.network, "station": stats.station,
                     "location": stats.location, "channel": stats.channel,
                     "rate_hz": float(stats.sampling_rate),
                     "start_s": float(stats.starttime - origin),
                     "p_s": float(picks["P"] - origin) if "P" in picks else np.nan,
                     "s_s": float(picks["S"] - origin) if "S" in picks else np.nan,
                     "station_lat": float(item.station["latitude"]),
                     "station_lon": float(item.station["longitude"]),
                     "station_elev_m": float(item.station.get("elevation") or 0.0),
                     "station_depth_m": float(item.station.get("local_depth") or 0.0),
                     "cmpaz": np.nan if item.cmpaz is None else item.cmpaz,
                     "cmpinc": np.nan if item.cmpinc is None else item.cmpinc})
        samples.append(np.require(item.trace.data, dtype=np.float32))
    return WindowSet.from_rows("traces", rows, samples)


def event_attributes(event: dict) -> dict:
    """The store file attributes of an events.csv row."""
    mag = pd.to_numeric(pd.Series([event.get("mag")]), errors="coerce").iloc[0]
    return {"event_id": str(event["event_id"]), "origin": str(event["time"]),
            "latitude": float(event["latitude"]), "longitude": float(event["longitude"]),
            "depth_km": float(event["depth"]), "mag": float(mag)}


def convert_event(files: Iterable[Path], store_file: Path, event: dict, picks: list[dict],
                  inventories: StationXmlCache, sac_config, sac_dir: Optional[Path] = None,
                  if_changed: bool = False) -> tuple[list[Path], list[tuple[str, str]], int]:
    """Write one event's traces file of the store (and, with ``sac_dir``, its SAC files,
    deleting SAC files left there by an earlier run); return (files written, (station,
    reason) of everything dropped, number of traces).

    ``event`` is an events.csv row (time, latitude, longitude, depth in km, mag), ``picks`` the
    event's picks.csv rows, ``sac_config`` the ``sac`` config section. With ``if_changed`` a
    file that comes out identical is left untouched, so later stages see it unchanged.
    """
    groups, misnamed = instrument_files(files)
    failures = [("", f"{name}: file name is not NET.STA.LOC.CHA.mseed") for name in misnamed]
    origin = parse_time(event["time"])
    picks_by_station = defaultdict(list)
    for pick in picks:
        picks_by_station[(pick["network"], pick["station"])].append(pick)
    sets = []
    for (net, sta, loc, band), paths in sorted(groups.items()):
        code = f"{net}.{sta}"

        def report(reason: str, code=code) -> None:
            failures.append((code, reason))

        inventory, problem = inventories.lookup(code, [(loc, path.name.split(".")[3])
                                                       for path in paths])
        if inventory is None:
            report(problem)
            continue
        try:
            traces = convert_instrument(paths, inventory, sac_config, report)
            sets.append(store_rows(traces, origin, pick_times(picks_by_station[(net, sta)], band)))
        except FocalflowError as exc:
            report(str(exc))
        except Exception as exc:  # one bad trace never stops the event
            log.debug("%s %s", store_file, code, exc_info=True)
            report(f"unexpected error: {type(exc).__name__}: {exc}")
    traces = concatenate_sets("traces", sets)
    attributes = event_attributes(event)
    written = [write_sets(store_file, [traces], attributes, if_changed)]
    if sac_dir is not None:
        written += write_sac_folder(sac_dir, [
            (".".join(traces.codes(i)) + ".sac", sac_trace(traces.table[i], traces.samples(i),
                                                           attributes))
            for i in range(len(traces))], if_changed)
    return written, failures, len(traces)


def convert_instrument(files: list[Path], inventory: Inventory, sac_config,
                       report: Callable[[str], None]) -> list[ConvertedTrace]:
    """The traces of one instrument's files; ``report(reason)`` records what was dropped."""
    components: dict[str, object] = {}
    for path in files:
        try:
            stream = read_checked_mseed(path)
            stream = merge_gaps(stream, sac_config.gap_policy, sac_config.max_gap_s,
                                sac_config.gap_fill)
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
    if len(horizontals) >= 2:
        traces = Stream([components[c] for c in ["Z"] + horizontals[:2]])
    else:
        if listed - {"Z"}:
            missing = [z.stats.channel[:2] + c for c in sorted(listed - set(components))]
            report(f"{z.id[:-1]}?: missing horizontal component(s) {', '.join(missing)}; "
                   "wrote the vertical alone")
        traces = Stream([z])
    rotate = sac_config.rotate_to_zne and oriented(traces, inventory)
    if rotate and len(traces) == 3:
        try:
            traces = rotate_to_zne(traces, inventory)
        except TraceRejected as exc:
            report(f"{exc}; wrote the vertical alone")
            traces = Stream([z])
    metadata = channel_metadata(inventory, z.id, z.stats.starttime)
    if rotate and len(traces) == 1:
        traces = Stream([vertical_up(z, metadata)])
    station = {"latitude": metadata["latitude"], "longitude": metadata["longitude"],
               "elevation": metadata["elevation"], "local_depth": metadata["local_depth"]}
    converted = []
    for trace in traces:
        meta = None if rotate else channel_metadata(inventory, trace.id, trace.stats.starttime)
        cmpaz, cmpinc = orientation(trace.stats.channel, meta)
        converted.append(ConvertedTrace(trace, station, cmpaz, cmpinc))
    return converted
