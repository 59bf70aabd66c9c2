"""Waveforms from a folder tree of miniSEED or SAC files (``waveforms.source: files``).

Any tree, any file names, event-cut or continuous: :class:`FileIndex` reads the header of
every file once (ObsPy, format told by content) into an index, one row per trace (a
contiguous piece of one channel) with network, station, location, channel, start, end and
sampling rate, plus the station coordinates and orientation SAC headers hold. A file holding
several channels or several events gives several rows, so it is cut correctly. The index is a
CSV file in the working directory (``files_index.csv``); on every run only files that are new
or changed (size or modification time) are read again and rows of files that are gone are
dropped.

:class:`FilesSource` answers stage 1's three calls like the SDS source does: the stations with
data in a window (coordinates from the station metadata, see
:mod:`focalflow.waveforms.metadata`), the waveforms of a bulk request (each file read once per
request, only the window), and the StationXML responses when the user has StationXML.
"""
from __future__ import annotations

import logging
import math
import os
import warnings
from collections import defaultdict
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from obspy import Inventory, Stream, UTCDateTime, read
from obspy.core.inventory import Channel, Network, Station
from obspy.geodetics import gps2dist_azimuth

from focalflow.errors import FocalflowError
from focalflow.formats.common import check_codes, iso_time
from focalflow.formats.mseed import read_mseed
from focalflow.workdir import atomic_path

log = logging.getLogger("focalflow.waveforms.files")

INDEX_COLUMNS = ["path", "size", "mtime_ns", "format", "network", "station", "location",
                 "channel", "start", "end", "sampling_rate", "latitude", "longitude",
                 "elevation", "azimuth", "dip"]
INDEX_TEXT = ["path", "format", "network", "station", "location", "channel", "start", "end"]
FORMATS = ("MSEED", "SAC")
#: file name endings that promise a waveform: such a file that cannot be read is a warning
WAVEFORM_SUFFIXES = (".mseed", ".miniseed", ".msd", ".ms", ".sac")


@dataclass
class IndexUpdate:
    """What :meth:`FileIndex.update` did (for the stage's log line and summary)."""

    read: int = 0
    kept: int = 0
    removed: int = 0
    not_waveforms: int = 0

    def __str__(self) -> str:
        return (f"files index: {self.read} file(s) read, {self.kept} unchanged, "
                f"{self.removed} gone, {self.not_waveforms} not miniSEED/SAC")


class FileIndex:
    """The index of a waveform tree (see the module docstring); ``table`` has
    :data:`INDEX_COLUMNS` (times ISO 8601 UTC; coordinates in degrees, elevation in m, azimuth
    and dip in the SEED convention, from SAC headers, blank for miniSEED)."""

    def __init__(self, table: pd.DataFrame):
        self.table = table.reset_index(drop=True)
        traces = self.table[self.table["format"].isin(FORMATS)]
        self._starts = pd.to_datetime(traces["start"], utc=True, format="ISO8601")
        self._ends = pd.to_datetime(traces["end"], utc=True, format="ISO8601")
        self.traces = traces

    @classmethod
    def read(cls, path: Path | str) -> "FileIndex":
        """The index saved at ``path`` (empty when absent or unreadable: everything is read)."""
        try:
            table = pd.read_csv(path, dtype={c: str for c in INDEX_TEXT}, keep_default_na=False,
                                na_values={c: [""] for c in INDEX_COLUMNS if c not in INDEX_TEXT})
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            table = pd.DataFrame(columns=INDEX_COLUMNS)
        if list(table.columns) != INDEX_COLUMNS:
            table = pd.DataFrame(columns=INDEX_COLUMNS)
        return cls(table)

    @classmethod
    def update(cls, root: Path | str, path: Path | str) -> tuple["FileIndex", IndexUpdate]:
        """Bring the index at ``path`` up to date with the tree under ``root`` and save it."""
        root = Path(root)
        if not root.is_dir():
            raise FocalflowError(f"waveforms.files.root: folder {root} not found")
        old = cls.read(path).table
        known = {p: g for p, g in old.groupby("path", sort=False)}
        rows, update = [], IndexUpdate()
        listing = _listing(root, Path(path))
        for name, (size, mtime_ns) in listing.items():
            previous = known.get(name)
            if previous is not None and int(previous["size"].iloc[0]) == size \
                    and int(previous["mtime_ns"].iloc[0]) == mtime_ns:
                rows += previous.to_dict("records")
                update.kept += 1
                continue
            entries = file_entries(Path(name))
            rows += [{"path": name, "size": size, "mtime_ns": mtime_ns, **entry}
                     for entry in entries]
            update.read += 1
        update.removed = len(set(known) - set(listing))
        table = pd.DataFrame(rows, columns=INDEX_COLUMNS)
        update.not_waveforms = int((~table["format"].isin(FORMATS)).sum())
        index = cls(table)
        if update.read or update.removed or not Path(path).is_file():
            with atomic_path(path) as tmp:
                table.to_csv(tmp, index=False)
        if not len(index.traces):
            raise FocalflowError(f"waveforms.files.root: no miniSEED or SAC file under {root}")
        return index, update

    def select(self, network: str, station: str, location: str, channel: str,
               start: UTCDateTime, end: UTCDateTime) -> pd.DataFrame:
        """Index rows of one channel (``?``/``*`` wildcards allowed) overlapping the window."""
        traces = self.traces
        mask = self.overlapping(start, end)
        for column, value in (("network", network), ("station", station),
                              ("location", location), ("channel", channel)):
            if any(c in value for c in "*?"):
                mask &= traces[column].map(lambda code, v=value: fnmatchcase(code, v)) \
                    .to_numpy(bool)
            else:
                mask &= (traces[column] == value).to_numpy()
        return traces[mask]

    def overlapping(self, start: UTCDateTime, end: UTCDateTime) -> np.ndarray:
        """Boolean mask over :attr:`traces`: the rows with data between ``start`` and ``end``."""
        return ((self._starts <= pd.Timestamp(end.datetime, tz="UTC"))
                & (self._ends >= pd.Timestamp(start.datetime, tz="UTC"))).to_numpy(copy=True)

    def channels_in(self, start: UTCDateTime, end: UTCDateTime) -> pd.DataFrame:
        """One row per channel (network, station, location, channel) with data in the window."""
        keys = ["network", "station", "location", "channel"]
        return self.traces[self.overlapping(start, end)].drop_duplicates(keys)

    def header_stations(self) -> pd.DataFrame:
        """Stations-table rows of the coordinates found in SAC headers (one per channel)."""
        from focalflow.formats.common import frame

        known = self.traces[self.traces["latitude"].notna() & self.traces["longitude"].notna()]
        known = known.drop_duplicates(["network", "station", "location", "channel"])
        rows = [{"network": r.network, "station": r.station, "location": r.location,
                 "channel": r.channel, "latitude": r.latitude, "longitude": r.longitude,
                 "elevation": 0.0 if math.isnan(r.elevation) else r.elevation,
                 "azimuth": r.azimuth, "dip": r.dip, "sampling_rate": r.sampling_rate,
                 "start": "", "end": "", "has_metadata": True}
                for r in known.itertuples(index=False)]
        return frame(rows, "stations")


def _listing(root: Path, index_path: Path) -> dict[str, tuple[int, int]]:
    """Absolute path -> (size, mtime_ns) of every visible file under ``root``, leaving out the
    working directory (where the index lies) when it is inside the tree."""
    listing = {}
    workdir = index_path.resolve().parent
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")
                               and (Path(folder) / d).resolve() != workdir)
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith(".") or path.resolve() == index_path.resolve():
                continue
            stat = path.stat()
            listing[str(path.resolve())] = (stat.st_size, stat.st_mtime_ns)
    return listing


def file_entries(path: Path) -> list[dict]:
    """Index entries (all :data:`INDEX_COLUMNS` but path, size, mtime) of one file: one per
    trace; a single entry of format ``""`` for a file that is not miniSEED or SAC."""
    try:
        stream = read_quietly(path, headonly=True)
    except Exception as exc:  # not a waveform file (or a damaged one): noted, never fatal
        damaged = path.suffix.lower() in WAVEFORM_SUFFIXES
        (log.warning if damaged else log.debug)(
            "%s: not a readable %s file (%s); left out of the index", path,
            path.suffix.lstrip(".").upper() if damaged else "waveform",
            " ".join(str(exc).split())[:200] or type(exc).__name__)
        return [{"format": ""}]
    fmt = stream[0].stats._format if len(stream) else ""
    if fmt not in FORMATS:
        return [{"format": fmt or ""}]
    entries = []
    for trace in stream:
        stats = trace.stats
        try:  # a wildcard code would select other stations' traces
            check_codes(stats.network, stats.station, stats.location, stats.channel)
        except ValueError as exc:
            log.warning("%s: %s; trace %s left out of the index", path, exc, trace.id)
            continue
        entry = {"format": fmt, "network": stats.network, "station": stats.station,
                 "location": stats.location, "channel": stats.channel,
                 "start": iso_time(stats.starttime), "end": iso_time(stats.endtime),
                 "sampling_rate": stats.sampling_rate}
        if fmt == "SAC":
            entry.update(_sac_station(stats.sac))
        entries.append(entry)
    return entries


def read_quietly(path: Path | str, **options) -> Stream:
    """``obspy.read`` without ObsPy's note that a SAC sample spacing was rounded to the
    microsecond (true of every 500 Hz file; nothing the user must act on)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sample spacing read from SAC")
        return read(str(path), **options)


def _sac_station(sac) -> dict:
    """Coordinates and orientation of a SAC header, in the stations-table conventions."""
    def value(name):
        number = sac.get(name)
        return float(str(np.float32(number))) if number is not None and number != -12345.0 \
            else math.nan
    cmpinc = value("cmpinc")
    return {"latitude": value("stla"), "longitude": value("stlo"), "elevation": value("stel"),
            "azimuth": value("cmpaz"), "dip": cmpinc - 90.0}


class FilesSource:
    """Stage 1's source for ``waveforms.source: files`` (see the module docstring).

    ``metadata`` (:class:`focalflow.waveforms.metadata.StationMetadata`) gives coordinates
    and orientation; ``stationxml`` (an Inventory with responses, or None) the responses.
    """

    provider = "files"
    unreachable = None  # local files are always there

    def __init__(self, index: FileIndex, metadata, stationxml: Optional[Inventory] = None):
        self.index = index
        self.metadata = metadata
        self.stationxml = stationxml

    def start_event(self) -> None:
        """Nothing to time: local files have no deadlines."""

    @property
    def provides_responses(self) -> bool:
        """Whether :meth:`responses` can answer (the user gave StationXML); without, stage 1
        keeps no StationXML and stage 2 reads the station lists."""
        return self.stationxml is not None

    def window_digest(self, start: UTCDateTime, end: UTCDateTime) -> str:
        """A digest of the index rows with data in the window (which files, their sizes and
        times): changes when a file an event is cut from is added, changed or removed."""
        from focalflow.provenance import content_digest

        rows = self.index.traces[self.index.overlapping(start, end)]
        return content_digest(rows[["path", "size", "mtime_ns", "channel", "start", "end"]])

    def __repr__(self) -> str:
        return f"FilesSource({len(self.index.traces)} traces)"

    def stations(self, latitude: float, longitude: float, radius_km: float,
                 start: UTCDateTime, end: UTCDateTime, channels: str) -> Inventory:
        """Channels with data in the window whose station lies within ``radius_km``; channels
        without known coordinates are left out (:meth:`without_coordinates` names them)."""
        by_station: dict[tuple[str, str], list[Channel]] = defaultdict(list)
        coordinates: dict[tuple[str, str], dict] = {}
        for row in self.index.channels_in(start, end).itertuples(index=False):
            meta = self.metadata.channel(row.network, row.station, row.location, row.channel,
                                         start)
            if meta is None:
                continue
            distance_km = gps2dist_azimuth(latitude, longitude, meta["latitude"],
                                           meta["longitude"])[0] / 1000.0
            if distance_km > radius_km:
                continue
            key = (row.network, row.station)
            coordinates.setdefault(key, meta)
            by_station[key].append(Channel(
                row.channel, row.location, meta["latitude"], meta["longitude"],
                meta["elevation"], meta["local_depth"], azimuth=meta["azimuth"], dip=meta["dip"],
                sample_rate=row.sampling_rate))
        networks: dict[str, Network] = {}
        for (network, station), chans in sorted(by_station.items()):
            meta = coordinates[(network, station)]
            networks.setdefault(network, Network(network)).stations.append(
                Station(station, meta["latitude"], meta["longitude"], meta["elevation"],
                        channels=chans))
        return Inventory(networks=list(networks.values()), source="focalflow files index")

    def without_coordinates(self, start: UTCDateTime, end: UTCDateTime) -> list[str]:
        """``NET.STA`` of stations with data in the window but no coordinates anywhere."""
        missing = set()
        for row in self.index.channels_in(start, end).itertuples(index=False):
            if self.metadata.channel(row.network, row.station, row.location, row.channel,
                                     start) is None:
                missing.add(f"{row.network}.{row.station}")
        return sorted(missing)

    def waveforms(self, bulk) -> Stream:
        """The traces of a bulk request ``[(net, sta, loc, cha, t0, t1), ...]``, cut to their
        windows; each file is read once, only over the window."""
        wanted: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for net, sta, loc, cha, t0, t1 in bulk:
            for row in self.index.select(net, sta, loc, cha, t0, t1).itertuples(index=False):
                wanted[(row.path, row.format)].append((net, sta, loc, cha, t0, t1))
        stream = Stream()
        for (path, fmt), requests in sorted(wanted.items()):
            start = min(r[4] for r in requests)
            end = max(r[5] for r in requests)
            try:
                part = read_mseed(path, starttime=start, endtime=end) if fmt == "MSEED" \
                    else read_quietly(path, format=fmt, starttime=start, endtime=end)
            except Exception as exc:
                from focalflow.waveforms.download import DownloadError

                raise DownloadError(f"{path}: cannot read the {fmt} file ({type(exc).__name__}: "
                                    f"{' '.join(str(exc).split())[:200]})") from None
            for net, sta, loc, cha, t0, t1 in requests:
                stream += part.select(network=net, station=sta, location=loc,
                                      channel=cha).slice(t0, t1)
        return stream

    def responses(self, network: str, station: str) -> Inventory:
        """The station's StationXML (all epochs), or an empty Inventory without StationXML."""
        if self.stationxml is None:
            return Inventory(networks=[])
        return self.stationxml.select(network=network, station=station)


def make_files_source(config, index_path: Path | str):
    """The files source of a config (``waveforms.files``; station metadata from its StationXML
    folder, ``stations.station_files`` and the SAC headers): ``(source, index update,
    problems of the station lists)``. The index at ``index_path`` is brought up to date."""
    from focalflow.formats.stationxml import inventory_table, read_stationxml_dir
    from focalflow.waveforms.metadata import StationMetadata, configured_station_rows

    files = config.waveforms.files
    index, update = FileIndex.update(files.root, index_path)
    stationxml, problems = None, []
    if files.stationxml_dir is not None:
        stationxml, problems = read_stationxml_dir(files.stationxml_dir)
    rows, more = configured_station_rows(config, index_path)
    if stationxml is not None and stationxml.networks:
        rows = pd.concat([inventory_table(stationxml), rows], ignore_index=True)
    source = FilesSource(index, StationMetadata(rows), stationxml)
    return source, update, problems + more
