"""Station metadata of the configured station files, as one stations table (stage 5), and the
configured polarity-reversal table (stages 4 and 5).

:func:`station_table` reads every StationXML file of a folder, the lists of
``stations.station_files`` (any kind :func:`focalflow.formats.station_lists.read_station_list`
reads) and the coordinates in SAC headers (the files index of ``waveforms.source: files``)
into the stations.csv table: one row per channel epoch, sorted by network, station, location,
channel, start. StationXML rows come first, then the lists in order, then the SAC headers; a
later source adds only stations the earlier ones lack. Stations that have picks but no
metadata get rows with ``has_metadata`` False and blank coordinates. Unreadable files and
stations without metadata are reported; the rest goes on.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Optional, Sequence

import pandas as pd

from focalflow.errors import FocalflowError, InputError
from focalflow.formats.reversals import all_stations_reversed, read_reversals
from focalflow.formats.station_lists import read_station_list
from focalflow.formats.stationxml import inventory_table, read_stationxml_dir
from focalflow.tables import COLUMNS, empty_table

log = logging.getLogger("focalflow.stations")
KEY = ["network", "station", "location", "channel", "start"]
Report = Callable[[str, str], None]  # report(station, reason)


def station_table(xml_dir: Path, station_files: list[Path], elevation_unit: str,
                  picks: pd.DataFrame | None, report: Report,
                  columns: Optional[Sequence[str]] = None,
                  header_rows: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """The stations table (see the module docstring); ``picks`` (picks.csv) or None;
    ``columns`` names the fields of plain lists; ``header_rows`` are SAC-header stations."""
    tables = []
    if xml_dir.is_dir():
        inventory, problems = read_stationxml_dir(xml_dir)
        for problem in problems:
            report("", str(problem))
        tables.append(inventory_table(inventory))
    else:
        log.info("no StationXML folder %s", xml_dir)
    for path in station_files:
        try:
            table, problems = read_station_list(Path(path), columns, elevation_unit)
        except InputError as exc:
            report("", str(exc))
            continue
        for problem in problems:
            report("", str(problem))
        tables.append(table)
    if header_rows is not None:
        tables.append(header_rows)
    stations = merge_station_tables(tables)
    if stations.empty:
        raise InputError(xml_dir, "no station metadata found (no readable StationXML here, no "
                         "usable stations.station_files and no coordinates in SAC headers)")
    if picks is None:
        log.info("no picks.csv yet (stage 3 not run): stations without metadata not checked")
    else:
        missing = stations_without_metadata(stations, picks, report)
        stations = pd.concat([stations, missing], ignore_index=True) if len(missing) else stations
    return stations.sort_values(KEY, kind="stable").reset_index(drop=True)


def merge_station_tables(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate station tables; a later table adds only stations the earlier ones lack (a blank
    network in a list matches a station of any network). Exact duplicate channels are dropped."""
    merged = empty_table("stations")
    for table in tables:
        if table.empty:
            continue
        if not merged.empty:
            known_pairs = set(zip(merged["network"], merged["station"]))
            known_names = set(merged["station"])
            any_network = set(merged.loc[merged["network"] == "", "station"])
            new = [(net, sta) not in known_pairs and sta not in any_network
                   and (net != "" or sta not in known_names)
                   for net, sta in zip(table["network"], table["station"])]
            table = table[pd.Series(new, index=table.index, dtype=bool)]
        merged = pd.concat([merged, table], ignore_index=True) if len(merged) else table.copy()
    merged = merged.drop_duplicates(subset=KEY, keep="first")
    merged["has_metadata"] = merged["has_metadata"].astype(bool)
    return merged.reset_index(drop=True)


def stations_without_metadata(stations: pd.DataFrame, picks: pd.DataFrame,
                              report: Report) -> pd.DataFrame:
    """Rows (has_metadata False) for picked channels of stations absent from ``stations``."""
    known_pairs = set(zip(stations["network"], stations["station"]))
    any_network = set(stations.loc[stations["network"] == "", "station"])
    rows = []
    for (network, station), group in picks.groupby(["network", "station"], sort=True):
        if (network, station) in known_pairs or station in any_network:
            continue
        report(f"{network}.{station}",
               f"station has {len(group)} pick(s) but no metadata (StationXML or station list)")
        for location, channel in sorted(set(zip(group["location"], group["channel"]))):
            rows.append({"network": network, "station": station, "location": location,
                         "channel": channel, "has_metadata": False})
    return pd.DataFrame(rows, columns=COLUMNS["stations"])


def reversals_path(stations_config) -> Path | None:
    """The configured station reversal table (``stations.reversals_file``), or None."""
    path = stations_config.reversals_file
    if path is not None and not path.is_file():
        raise FocalflowError(f"{path}: reversal table not found (stations.reversals_file; "
                             "set it to null for none)")
    return path


def configured_reversals(stations_config) -> pd.DataFrame | None:
    """The configured reversal table (stages 4 and 5): ``stations.reversals_file`` read, plus
    the one line that reverses every station with ``stations.reversed: all``; None for none."""
    path = stations_config.reversals_file
    table = None if path is None else read_reversals(path)  # a missing file: its reader names it
    if stations_config.reversed == "all":
        table = all_stations_reversed() if table is None else \
            pd.concat([table, all_stations_reversed()], ignore_index=True)
    return table
