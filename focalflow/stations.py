"""Station metadata of the configured station files, as one stations table (stage 5).

:func:`station_table` reads every StationXML file of a folder and the lists of
``stations.station_files`` (CSV, NonLinLoc ``LOCSRCE`` lines, or StationXML) into the
stations.csv table: one row per channel epoch, sorted by network, station, location, channel,
start. StationXML rows come first; a list adds only stations not already there. Stations that
have picks but no metadata get rows with ``has_metadata`` False and blank coordinates.
Unreadable files and stations without metadata are reported; the rest goes on.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.csv_tables import read_station_list_csv
from focalflow.formats.nonlinloc import KEYWORDS, read_nonlinloc_stations
from focalflow.formats.stationxml import inventory_table, read_stationxml, read_stationxml_dir
from focalflow.tables import COLUMNS, empty_table

log = logging.getLogger("focalflow.stations")
KEY = ["network", "station", "location", "channel", "start"]
Report = Callable[[str, str], None]  # report(station, reason)


def station_table(xml_dir: Path, station_files: list[Path], elevation_unit: str,
                  picks: pd.DataFrame | None, report: Report) -> pd.DataFrame:
    """The stations table (see the module docstring); ``picks`` (picks.csv) or None."""
    tables = []
    if xml_dir.is_dir():
        inventory, problems = read_stationxml_dir(xml_dir)
        for problem in problems:
            report("", str(problem))
        tables.append(inventory_table(inventory))
    else:
        log.warning("no StationXML folder %s", xml_dir)
    for path in station_files:
        try:
            table, problems = read_station_file(Path(path), elevation_unit)
        except InputError as exc:
            report("", str(exc))
            continue
        for problem in problems:
            report("", str(problem))
        tables.append(table)
    stations = merge_station_tables(tables)
    if stations.empty:
        raise InputError(xml_dir, "no station metadata found (no readable StationXML here and no "
                         "usable stations.station_files)")
    if picks is None:
        log.info("no picks.csv yet (stage 3 not run): stations without metadata not checked")
    else:
        missing = stations_without_metadata(stations, picks, report)
        stations = pd.concat([stations, missing], ignore_index=True) if len(missing) else stations
    return stations.sort_values(KEY, kind="stable").reset_index(drop=True)


def read_station_file(path: Path, elevation_unit: str = "auto"):
    """A station list of any supported kind: ``(stations table, problems)``."""
    if path.suffix.lower() == ".xml":
        return inventory_table(read_stationxml(path)), []
    if not path.is_file():
        raise InputError(path, "station file not found")
    head = path.read_text(errors="replace")[:4096]
    if any(keyword in head for keyword in KEYWORDS):
        return read_nonlinloc_stations(path, elevation_unit)
    first_line = head.splitlines()[0] if head.strip() else ""
    if path.suffix.lower() == ".csv" or "," in first_line:
        return read_station_list_csv(path)
    raise InputError(path, "not a station list focalflow reads (CSV with station,latitude,longitude"
                     " columns, NonLinLoc LOCSRCE lines, or StationXML)")


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
            new = [(net, sta) not in known_pairs and (net or sta not in known_names)
                   for net, sta in zip(table["network"], table["station"])]
            table = table[new]
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
