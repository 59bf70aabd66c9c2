"""Station coordinates and orientation from the user's station lists, where there is no
StationXML (stages 1 and 2).

:func:`station_rows` gathers the stations-table rows of every list in
``stations.station_files`` (any kind :func:`focalflow.formats.station_lists.read_station_list`
reads) followed by the coordinates SAC headers hold (the files index), in that order of
preference. :class:`StationMetadata` answers, per channel, what an Inventory's
``get_channel_metadata`` answers: coordinates from the best row of the station (same channel,
else a station-level row, else any row), orientation only from a row of the same channel.
Without one the orientation is assumed from the channel code -- ``Z`` vertical (dip -90,
up), ``N`` north, ``E`` east -- and a ``1``/``2`` (or other) channel has none: it cannot be
rotated. :meth:`StationMetadata.inventory` builds the channel-level Inventory (no responses)
that stage 2 reads like StationXML.
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Optional, Sequence

import pandas as pd
from obspy import Inventory, UTCDateTime
from obspy.core.inventory import Channel, Network, Station

from focalflow.formats.common import ReadProblem

log = logging.getLogger("focalflow.waveforms.metadata")

ASSUMED_ORIENTATION = {"Z": (0.0, -90.0), "N": (0.0, 0.0), "E": (90.0, 0.0)}


def station_rows(station_files: Sequence[Path], columns: Optional[Sequence[str]] = None,
                 elevation_unit: str = "auto", header_rows: Optional[pd.DataFrame] = None
                 ) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """Stations-table rows of the lists (in order), then ``header_rows``; problems of the lists.

    A list that cannot be read at all is one problem naming it; the others are still used.
    """
    from focalflow.errors import InputError
    from focalflow.formats.station_lists import read_station_list

    tables, problems = [], []
    for path in station_files:
        try:
            table, more = read_station_list(path, columns, elevation_unit)
        except InputError as exc:
            problems.append(ReadProblem(exc.path, exc.line, exc.message))
            continue
        tables.append(table)
        problems += more
    if header_rows is not None and len(header_rows):
        tables.append(header_rows)
    rows = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return rows, problems


def configured_station_rows(config, index_path: Path | str
                            ) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """:func:`station_rows` of a config: its ``stations.station_files`` (read with
    ``stations.columns`` and ``nonlinloc_elevation_unit``) and, with ``waveforms.source:
    files``, the SAC-header coordinates of the files index at ``index_path``."""
    from focalflow.waveforms.files import FileIndex

    headers = None
    if config.waveforms.source == "files" and Path(index_path).is_file():
        headers = FileIndex.read(index_path).header_stations()
    stations = config.stations
    return station_rows(stations.station_files, stations.columns,
                        stations.nonlinloc_elevation_unit, headers)


def assumed_orientation(channel: str) -> tuple[float, float] | None:
    """(azimuth, dip) in degrees that the channel code implies, None for 1/2 and others."""
    return ASSUMED_ORIENTATION.get(channel[-1:].upper())


class StationMetadata:
    """Per-channel coordinates and orientation from stations-table rows (see the module
    docstring); remembers which stations had orientations assumed or missing."""

    def __init__(self, rows: pd.DataFrame):
        from focalflow.provenance import content_digest

        self.digest = content_digest(rows)  # what stages 1 and 2 were made from
        self._by_station: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in rows.to_dict("records") if len(rows) else []:
            if _finite(row.get("latitude")) and _finite(row.get("longitude")):
                key = (str(row.get("network") or ""), str(row["station"]))
                self._by_station[key].append(row)
        self.assumed: set[str] = set()
        self.no_azimuth: set[str] = set()

    def __len__(self) -> int:
        return sum(map(len, self._by_station.values()))

    def channel(self, network: str, station: str, location: str, channel: str,
                time: UTCDateTime | None = None) -> dict | None:
        """latitude, longitude, elevation (m), local_depth (m), azimuth and dip (degrees, SEED;
        None when unknown) and ``orientation`` (metadata, assumed or unknown); None when no row
        gives the station's coordinates."""
        rows = [r for r in self._by_station.get((network, station), [])
                + self._by_station.get(("", station), []) if _in_epoch(r, time)]
        if not rows:
            return None
        same = [r for r in rows if r.get("channel") == channel
                and (r.get("location") or "") in ("", location)]
        station_level = [r for r in rows if not r.get("channel")]
        best = (same or station_level or rows)[0]
        code = f"{network}.{station}"
        if same and _finite(same[0].get("azimuth")) and _finite(same[0].get("dip")):
            azimuth, dip, how = float(same[0]["azimuth"]), float(same[0]["dip"]), "metadata"
        elif assumed_orientation(channel) is not None:
            (azimuth, dip), how = assumed_orientation(channel), "assumed"
            self.assumed.add(code)
        else:
            azimuth, dip, how = None, None, "unknown"
            self.no_azimuth.add(code)
        elevation = best.get("elevation")
        return {"latitude": float(best["latitude"]), "longitude": float(best["longitude"]),
                "elevation": float(elevation) if _finite(elevation) else 0.0,
                "local_depth": 0.0, "azimuth": azimuth, "dip": dip, "orientation": how}

    def inventory(self, network: str, station: str, channels: Iterable[tuple[str, str, float]],
                  time: UTCDateTime | None = None) -> Inventory | None:
        """A channel-level Inventory of ``channels`` ((location, channel, sampling rate)) of one
        station, or None when the station has no coordinates."""
        made = []
        for location, code, rate in channels:
            meta = self.channel(network, station, location, code, time)
            if meta is None:
                return None
            made.append((meta, Channel(code, location, meta["latitude"], meta["longitude"],
                                       meta["elevation"], meta["local_depth"],
                                       azimuth=meta["azimuth"], dip=meta["dip"],
                                       sample_rate=rate)))
        if not made:
            return None
        meta = made[0][0]
        site = Station(station, meta["latitude"], meta["longitude"], meta["elevation"],
                       channels=[c for _, c in made])
        return Inventory(networks=[Network(network, stations=[site])],
                         source="focalflow station lists")

    def say_assumptions(self) -> None:
        """Log once what was assumed: Z/N/E orientations, and 1/2 channels lacking an azimuth."""
        if self.assumed:
            log.warning("no orientation metadata for %d station(s) (%s): Z taken as vertical "
                        "(up), N as north, E as east from the channel codes",
                        len(self.assumed), _names(self.assumed))
        if self.no_azimuth:
            log.warning("%d station(s) have horizontal channels (1/2 ...) without an azimuth in "
                        "any station list, so they cannot be rotated to N/E: %s",
                        len(self.no_azimuth), _names(self.no_azimuth))


def _names(codes: set[str], most: int = 12) -> str:
    names = sorted(codes)
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _in_epoch(row: dict, time: UTCDateTime | None) -> bool:
    if time is None:
        return True
    start, end = str(row.get("start") or ""), str(row.get("end") or "")
    if start and start != "nan" and UTCDateTime(start) > time:
        return False
    return not (end and end != "nan" and UTCDateTime(end) < time)
