"""StationXML files (through ObsPy) and the stations table (one row per channel epoch).

stations.csv columns: network, station, location, channel, latitude, longitude (degrees),
elevation (m above sea level), azimuth (degrees clockwise from north), dip (degrees down from
horizontal, -90 = up, the SEED convention), sampling_rate (Hz), start, end (ISO 8601 UTC, blank
end = open), has_metadata (True where coordinates come from metadata).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from obspy import Inventory, read_inventory

from focalflow.errors import InputError
from focalflow.formats.common import ReadProblem, check_codes, iso_time, read_nonempty_bytes
from focalflow.tables import COLUMNS


def read_stationxml(path: Path | str) -> Inventory:
    """One StationXML file; InputError naming the file when it is missing, empty, not
    StationXML, or holds a code outside the FDSN character set (a wildcard, a dot ...)."""
    path = Path(path)
    read_nonempty_bytes(path)
    try:
        inventory = read_inventory(str(path), format="STATIONXML")
    except Exception as exc:  # ObsPy raises many kinds for garbage; report one clear line
        raise InputError(path, f"not a readable StationXML file ({type(exc).__name__}: {exc})") from None
    problems = drop_invalid_codes(inventory.copy())
    if problems:
        raise InputError(path, problems[0])
    return inventory


def drop_invalid_codes(inventory: Inventory) -> list[str]:
    """Remove the stations and channels whose codes are not FDSN codes (in place); say why.

    A station code ``*`` would otherwise become a pattern matching every station in an SDS
    query, and a dot would break ``NET.STA.LOC.CHA`` file names.
    """
    problems = []
    for network in inventory:
        kept_stations = []
        for station in network:
            where = f"{network.code}.{station.code}"
            try:
                check_codes(network.code, station.code)
            except ValueError as exc:
                problems.append(str(exc).replace(" is not", f" of {where} is not", 1))
                continue
            kept_channels = []
            for channel in station:
                try:
                    check_codes(location=channel.location_code or "", channel=channel.code)
                except ValueError as exc:
                    seed_id = f"{where}.{channel.location_code}.{channel.code}"
                    problems.append(str(exc).replace(" is not", f" of {seed_id} is not", 1))
                    continue
                kept_channels.append(channel)
            station.channels = kept_channels
            kept_stations.append(station)
        network.stations = kept_stations
    return problems


def read_stationxml_dir(folder: Path | str) -> tuple[Inventory, list[ReadProblem]]:
    """All ``*.xml`` files of a folder merged into one Inventory; unreadable files are problems."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "StationXML folder not found")
    inventory, problems = Inventory(networks=[], source="focalflow"), []
    for path in sorted(folder.glob("*.xml")):
        try:
            inventory.extend(read_stationxml(path).networks)
        except InputError as exc:
            problems.append(ReadProblem(str(path), None, exc.message))
    return inventory, problems


def inventory_table(inventory: Inventory) -> pd.DataFrame:
    """The stations table of an Inventory: one row per channel epoch, coordinates of the channel
    (of the station where the channel has none)."""
    rows = []
    for network in inventory:
        for station in network:
            for channel in station:
                latitude = channel.latitude if channel.latitude is not None else station.latitude
                longitude = channel.longitude if channel.longitude is not None else station.longitude
                elevation = channel.elevation if channel.elevation is not None else station.elevation
                rows.append({
                    "network": network.code, "station": station.code,
                    "location": channel.location_code or "", "channel": channel.code,
                    "latitude": latitude, "longitude": longitude, "elevation": elevation,
                    "azimuth": channel.azimuth, "dip": channel.dip,
                    "sampling_rate": channel.sample_rate,
                    "start": iso_time(channel.start_date) if channel.start_date else "",
                    "end": iso_time(channel.end_date) if channel.end_date else "",
                    "has_metadata": True})
    return pd.DataFrame(rows, columns=COLUMNS["stations"])
