"""Station lists of every kind a user may have, read into the stations table.

:func:`read_station_list` tells the kind from the file and returns ``(stations, problems)`` in
the stations.csv layout (see :mod:`focalflow.formats.stationxml`; elevation in metres, blank
network = any network, blank channel = every channel of the station):

- StationXML (``.xml``, or text starting with ``<``), with responses;
- FDSN text, as ``format=text`` web services return it: a ``#Network|Station|...`` header and
  ``|``-separated rows, at station or channel level;
- NonLinLoc ``GTSRCE``/``LOCSRCE`` lines (:mod:`focalflow.formats.nonlinloc`);
- CSV with ``station,latitude,longitude`` columns: focalflow's stations.csv, SKHASH's station
  file (:mod:`focalflow.formats.csv_tables`);
- HASH's fixed-width ``scsn.stations`` (:func:`focalflow.formats.hash_v12.read_scsn_stations`);
- plain whitespace lists ``[NET] STA LAT LON [ELEV]`` (:func:`read_whitespace_stations`).

Lines that cannot be read are problems naming the file and line; a file with nothing usable
is an InputError.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.common import (ReadProblem, check_codes, frame, iso_time, parse_time,
                                      read_text_lines)

# names a ``columns`` option may give to the fields of a whitespace list
WHITESPACE_COLUMNS = ("network", "station", "latitude", "longitude", "elevation", "elevation_km",
                      "ignore")
FDSN_TEXT_REQUIRED = ("network", "station", "latitude", "longitude")
SCSN_LINE_LENGTH = 67


def read_station_list(path: Path | str, columns: Optional[Sequence[str]] = None,
                      elevation_unit: str = "auto") -> tuple[pd.DataFrame, list[ReadProblem]]:
    """Any supported station list as ``(stations table, problems)``.

    ``columns`` names the fields of a whitespace list (see :func:`read_whitespace_stations`);
    ``elevation_unit`` (auto, m, km) applies to NonLinLoc lists.
    """
    from focalflow.formats.csv_tables import read_station_list_csv
    from focalflow.formats.nonlinloc import KEYWORDS, read_nonlinloc_stations
    from focalflow.formats.stationxml import inventory_table, read_stationxml

    path = Path(path)
    lines = read_text_lines(path)
    content = [line for line in lines if line.strip()]
    first = content[0].strip()
    if path.suffix.lower() == ".xml" or first.startswith("<"):
        return inventory_table(read_stationxml(path)), []
    if first.startswith("#") and "|" in first:
        return read_fdsn_text(path, lines)
    if any(line.split()[0] in KEYWORDS for line in content):
        return read_nonlinloc_stations(path, elevation_unit)
    if path.suffix.lower() == ".csv" or "," in first:
        return read_station_list_csv(path)
    if _looks_like_scsn(content):
        return read_scsn_station_list(path), []
    return read_whitespace_stations(path, columns, lines)


def read_fdsn_text(path: Path | str, lines: list[str] | None = None
                   ) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """An FDSN text station list (station or channel level), the ``|``-separated form of
    ``fdsnws/station/1/query?format=text``: elevation (m), azimuth and dip (SEED convention),
    sample rate (Hz), start and end times of each row."""
    path = Path(path)
    lines = read_text_lines(path) if lines is None else lines
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    header_line, header = numbered[0]
    names = [name.strip().lower() for name in header.lstrip("#").split("|")]
    missing = [name for name in FDSN_TEXT_REQUIRED if name not in names]
    if missing:
        raise InputError(path, f"FDSN text header lacks {', '.join(missing)} (has: "
                         f"{', '.join(names)})", line=header_line)
    rows, problems = [], []
    for number, line in numbered[1:]:
        if line.lstrip().startswith("#"):
            continue
        values = [value.strip() for value in line.split("|")]
        if len(values) != len(names):
            problems.append(ReadProblem(str(path), number, f"{len(values)} fields where the "
                                        f"header has {len(names)}"))
            continue
        record = dict(zip(names, values))
        try:
            rows.append(_fdsn_text_row(record))
        except ValueError as exc:
            problems.append(ReadProblem(str(path), number, str(exc)))
    if not rows:
        raise InputError(path, "no readable station row in the FDSN text list"
                         + (f" ({problems[0]})" if problems else ""))
    return frame(rows, "stations"), problems


def _fdsn_text_row(record: dict) -> dict:
    if not record["station"]:
        raise ValueError("blank station code")
    check_codes(record["network"], record["station"],
                record.get("location", "").replace("--", ""), record.get("channel", ""))
    return {"network": record["network"], "station": record["station"],
            "location": record.get("location", "").replace("--", ""),
            "channel": record.get("channel", ""),
            "latitude": _number(record, "latitude", -90, 90),
            "longitude": _number(record, "longitude", -180, 180),
            "elevation": _number(record, "elevation", -12000, 9000, default=0.0),
            "azimuth": _number(record, "azimuth", -360, 360),
            "dip": _number(record, "dip", -90, 90),
            "sampling_rate": _number(record, "samplerate", 0, 1e6),
            "start": _time(record.get("starttime", "")), "end": _time(record.get("endtime", "")),
            "has_metadata": True}


def _number(record: dict, name: str, low: float, high: float, default: float = math.nan) -> float:
    text = record.get(name, "").strip()
    if not text:
        if name in FDSN_TEXT_REQUIRED:
            raise ValueError(f"blank {name}")
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not low <= value <= high:
        raise ValueError(f"{name} {value} outside {low:g}..{high:g}")
    return value


def _time(text: str) -> str:
    return iso_time(parse_time(text)) if text.strip() else ""


def read_scsn_station_list(path: Path | str) -> pd.DataFrame:
    """HASH's ``scsn.stations`` as stations-table rows (read by HASH's own fixed columns)."""
    from focalflow.formats.hash_v12 import read_scsn_stations

    table = read_scsn_stations(path)
    if table.empty:
        raise InputError(path, "no line of the HASH scsn.stations layout (station, component, "
                         "latitude at columns 42-50, longitude at 52-61)")
    table = table.assign(azimuth=math.nan, dip=math.nan, sampling_rate=math.nan, start="",
                         end="", has_metadata=True)
    return frame(table.to_dict("records"), "stations")


def _looks_like_scsn(lines: list[str]) -> bool:
    """Most lines are long enough and hold numbers at HASH's latitude/longitude columns."""
    def fits(line: str) -> bool:
        try:
            float(line[41:50]), float(line[51:61])
        except ValueError:
            return False
        return len(line) >= SCSN_LINE_LENGTH
    return sum(map(fits, lines)) > len(lines) / 2


def read_whitespace_stations(path: Path | str, columns: Optional[Sequence[str]] = None,
                             lines: list[str] | None = None
                             ) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """A plain list, one station per line, fields separated by blanks, ``#`` comments.

    Without ``columns`` the layout is told from the values: one or two codes (station, or
    network and station in either order: the network is the column of codes of at most two
    characters, else the one with fewer distinct values) followed by the two coordinates and an
    optional elevation in metres. The coordinates may come in either order when a value beyond
    +-90 shows which is the longitude; otherwise, or when the codes cannot be told apart,
    ``columns`` must name the fields in order, from :data:`WHITESPACE_COLUMNS` (e.g.
    ``[station, network, longitude, latitude]``; ``elevation_km`` for an elevation in km,
    ``ignore`` for a field to skip).
    """
    path = Path(path)
    lines = read_text_lines(path) if lines is None else lines
    records = [(number, line.split("#", 1)[0].split()) for number, line in enumerate(lines, 1)]
    records = [(number, fields) for number, fields in records if fields]
    if not records:
        raise InputError(path, "no station line (only comments)")
    problems: list[ReadProblem] = []
    if columns is None:
        columns = _guess_columns(path, records, problems)
    else:
        unknown = [c for c in columns if c not in WHITESPACE_COLUMNS]
        if unknown or not {"station", "latitude", "longitude"} <= set(columns):
            raise InputError(path, f"stations.columns {list(columns)} must name station, latitude "
                             f"and longitude, from {', '.join(WHITESPACE_COLUMNS)}")
    bad = {problem.line for problem in problems}
    rows = []
    for number, fields in records:
        if number in bad:
            continue
        try:
            rows.append(_whitespace_row(fields, columns))
        except ValueError as exc:
            problems.append(ReadProblem(str(path), number, f"{exc} in {' '.join(fields)!r} "
                                        f"(columns {' '.join(columns)})"))
    if not rows:
        raise InputError(path, f"no readable station line ({problems[0]})")
    return frame(rows, "stations"), problems


def _whitespace_row(fields: list[str], columns: Sequence[str]) -> dict:
    if len(fields) < sum(1 for c in columns if not c.startswith("elevation")):
        raise ValueError(f"{len(fields)} fields where {len(columns)} columns are named")
    values = dict(zip(columns, fields))
    check_codes(values.get("network", ""), values["station"])
    record = {"latitude": values["latitude"], "longitude": values["longitude"],
              "elevation": values.get("elevation", values.get("elevation_km", ""))}
    elevation = _number(record, "elevation", -12000, 9000, default=0.0)
    if "elevation_km" in values:
        elevation *= 1000.0
    return {"network": values.get("network", ""), "station": values["station"], "location": "",
            "channel": "", "latitude": _number(record, "latitude", -90, 90),
            "longitude": _number(record, "longitude", -180, 180), "elevation": elevation,
            "azimuth": math.nan, "dip": math.nan, "sampling_rate": math.nan, "start": "",
            "end": "", "has_metadata": True}


def _is_decimal(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "." in text


def _guess_columns(path: Path, records: list, problems: list[ReadProblem]) -> list[str]:
    """The column names of a whitespace list without a ``columns`` option (see above)."""
    layouts = {}
    for number, fields in records:
        codes = next((i for i, f in enumerate(fields) if _is_decimal(f)), len(fields))
        numbers = len(fields) - codes
        if codes in (1, 2) and numbers in (2, 3):
            layouts[number] = (codes, numbers)
        else:
            problems.append(ReadProblem(str(path), number, "expected '[NET] STA LAT LON [ELEV]' (co"
                                        "ordinates with a decimal point), got "
                                        f"{' '.join(fields)!r}"))
    if not layouts:
        raise InputError(path, f"not a station list focalflow reads ({problems[0]}); "
                         "set stations.columns to name the fields")
    (codes, numbers), _ = Counter(layouts.values()).most_common(1)[0]
    for number, layout in layouts.items():
        if layout != (codes, numbers):
            problems.append(ReadProblem(str(path), number, f"{sum(layout)} fields where most "
                                        f"lines have {codes + numbers}"))
    kept = [fields for number, fields in records if layouts.get(number) == (codes, numbers)]
    names = ["station"] if codes == 1 else _code_columns(path, kept)
    pairs = [(abs(float(f[codes])), abs(float(f[codes + 1]))) for f in kept]
    first_is_longitude = sum(a > 90 >= b for a, b in pairs)
    second_is_longitude = sum(b > 90 >= a for a, b in pairs)
    if first_is_longitude == second_is_longitude:
        raise InputError(path, "cannot tell latitude from longitude (no value beyond +-90 degrees"
                         " shows which is the longitude); set stations.columns, e.g. "
                         f"[{', '.join(names)}, latitude, longitude]")
    names += (["longitude", "latitude"] if first_is_longitude > second_is_longitude
              else ["latitude", "longitude"])
    return names + ["elevation"] * (numbers == 3)


def _code_columns(path: Path, rows: list[list[str]]) -> list[str]:
    """Which of two leading code columns is the network (see :func:`read_whitespace_stations`)."""
    short = [all(len(row[k]) <= 2 for row in rows) for k in (0, 1)]
    if short[0] != short[1]:
        return ["network", "station"] if short[0] else ["station", "network"]
    distinct = [len({row[k] for row in rows}) for k in (0, 1)]
    if distinct[0] == distinct[1]:
        raise InputError(path, "cannot tell the network column from the station column; set "
                         "stations.columns, e.g. [network, station, latitude, longitude]")
    return ["network", "station"] if distinct[0] < distinct[1] else ["station", "network"]
