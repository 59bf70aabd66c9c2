"""Stage 5: station metadata to stations.csv, and the polarity-reversal table to reversals.csv.

Reads every StationXML file of ``stations.stationxml_dir`` (default: the working directory's
``stations/``, filled by stage 1) and the lists in ``stations.station_files`` (CSV, NonLinLoc
``LOCSRCE`` lines, or StationXML). Writes ``stations.csv`` with one row per channel epoch,
sorted by network, station, location, channel, start; StationXML rows come first, a list adds
only stations not already there. Stations that have picks in ``picks.csv`` but no metadata get a
row with ``has_metadata`` False and blank coordinates, and a failures-table row. The reversal
table (``stations.reversals_file``: CSV or HASH scsn.reverse) is copied to ``reversals.csv``
(empty when none is configured). Unreadable files become failure rows; the rest goes on.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from focalflow.cli import StageContext
from focalflow.errors import InputError
from focalflow.formats.csv_tables import read_station_list_csv
from focalflow.formats.nonlinloc import KEYWORDS, read_nonlinloc_stations
from focalflow.formats.reversals import read_reversals, write_reversals
from focalflow.formats.stationxml import inventory_table, read_stationxml, read_stationxml_dir
from focalflow.tables import COLUMNS, empty_table, read_table, write_table

log = logging.getLogger("focalflow.convert_stations")
KEY = ["network", "station", "location", "channel", "start"]


def run(ctx: StageContext) -> dict:
    config = ctx.config.stations
    tables = []
    xml_dir = Path(config.stationxml_dir or ctx.workdir.stationxml_dir)
    if xml_dir.is_dir():
        inventory, problems = read_stationxml_dir(xml_dir)
        for problem in problems:
            ctx.failures.add(None, None, str(problem))
        tables.append(inventory_table(inventory))
    else:
        log.warning("no StationXML folder %s", xml_dir)
    for path in config.station_files:
        try:
            table, problems = read_station_file(Path(path), config.nonlinloc_elevation_unit)
        except InputError as exc:
            ctx.failures.add(None, None, str(exc))
            continue
        for problem in problems:
            ctx.failures.add(None, None, str(problem))
        tables.append(table)
    stations = merge_station_tables(tables)
    if stations.empty:
        raise InputError(xml_dir, "no station metadata found (no readable StationXML here and no "
                         "usable stations.station_files)")
    missing = _stations_without_metadata(ctx, stations)
    stations = pd.concat([stations, missing], ignore_index=True) if len(missing) else stations
    stations = stations.sort_values(KEY, kind="stable").reset_index(drop=True)
    write_table(stations, ctx.workdir.stations_csv, "stations")

    reversals = read_reversals(config.reversals_file) if config.reversals_file else empty_table("reversals")
    write_reversals(reversals, ctx.workdir.reversals_csv)
    return {"channels": int(stations["has_metadata"].sum()),
            "stations": int(stations.loc[stations["has_metadata"], ["network", "station"]]
                            .drop_duplicates().shape[0]),
            "without_metadata": len(missing), "reversals": len(reversals)}


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


def _stations_without_metadata(ctx: StageContext, stations: pd.DataFrame) -> pd.DataFrame:
    """Rows (has_metadata False) for picked channels of stations absent from ``stations``."""
    if not ctx.workdir.picks_csv.is_file():
        log.info("no picks.csv yet (stage 3 not run): stations without metadata not checked")
        return empty_table("stations")
    picks = read_table(ctx.workdir.picks_csv, "picks")
    known_pairs = set(zip(stations["network"], stations["station"]))
    any_network = set(stations.loc[stations["network"] == "", "station"])
    rows = []
    for (network, station), group in picks.groupby(["network", "station"], sort=True):
        if (network, station) in known_pairs or station in any_network:
            continue
        ctx.failures.add(None, f"{network}.{station}",
                         f"station has {len(group)} pick(s) but no metadata (StationXML or station list)")
        for location, channel in sorted(set(zip(group["location"], group["channel"]))):
            rows.append({"network": network, "station": station, "location": location,
                         "channel": channel, "has_metadata": False})
    return pd.DataFrame(rows, columns=COLUMNS["stations"])
