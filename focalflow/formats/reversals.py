"""Station polarity-reversal tables: periods in which a station's recorded polarity is flipped.

Two file forms are read into one table (the reversals.csv columns network, station, start, end;
times ISO 8601 UTC, blank start = since always, blank end = still reversed):

- CSV with a header ``network,station,start,end``. A blank network matches every network;
  station ``*`` (:data:`ALL_STATIONS`) every station, so the one line ``,*,,`` reverses a
  whole deployment recorded with inverted polarity (``stations.reversed: all`` adds it). A
  date without a time of day as ``end`` covers that whole day.
- HASH's ``scsn.reverse``: ``(a4,1x,i8,1x,i8)`` station, first day, last day as yyyymmdd, a last
  day of 0 meaning still reversed (a first day of 0: reversed since always). Both days are
  included (HASH compares dates).

The rule, the only one in focalflow: a pick at time t on a station is reversed when
start <= t <= end for one of its rows -- both instants included, so a period that ends at
12:00:00 still covers a pick at 12:00:00 (HASH compares whole days the same way). Stage 4
(CNN polarities), stage 6 (analyst polarities, HASH/SKHASH inputs,
:func:`focalflow.mechanisms.observations.apply_reversals`) and the waveform figures all use
:func:`reversed_mask` / :func:`is_reversed`.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.common import check_codes, iso_time, read_text_lines
from focalflow.tables import COLUMNS, write_table

_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
ALL_STATIONS = "*"


def all_stations_reversed() -> pd.DataFrame:
    """The one-line table that reverses every station at all times."""
    return pd.DataFrame([{"network": "", "station": ALL_STATIONS, "start": "", "end": ""}],
                        columns=COLUMNS["reversals"])


def read_reversals(path: Path | str) -> pd.DataFrame:
    """Read a reversal table (CSV or scsn.reverse, told apart by the first line).

    Raises InputError naming the file and line for anything malformed; a reversal table is small
    and safety-relevant, so a bad line stops the read rather than being skipped.
    """
    path = Path(path)
    lines = read_text_lines(path)
    first = next(line for line in lines if line.strip())
    if "," in first:
        rows = _read_csv_rows(path, lines)
    else:
        rows = _read_scsn_rows(path, lines)
    return pd.DataFrame(rows, columns=COLUMNS["reversals"])


def _read_csv_rows(path: Path, lines: list[str]) -> list[dict]:
    header = [c.strip().lower() for c in lines[0].split(",")]
    missing = [c for c in ("station", "start", "end") if c not in header]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} of a reversal table "
                         "(network,station,start,end)", line=1)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        values = dict(zip(header, (v.strip() for v in line.split(","))))
        station = values.get("station", "")
        if not station:
            raise InputError(path, "blank station", line=number)
        start_text, end_text = values.get("start", ""), values.get("end", "")
        start = _time(path, number, start_text, end_of_day=False) if start_text else ""
        end = _time(path, number, end_text, end_of_day=True) if end_text else ""
        rows.append(_row(path, number, values.get("network", ""), station, start, end))
    return rows


def _read_scsn_rows(path: Path, lines: list[str]) -> list[dict]:
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        station = line[:4].strip()
        fields = line[4:].split()
        if not station or len(fields) < 2 or not all(f.isdigit() for f in fields[:2]):
            raise InputError(path, f"not a scsn.reverse line 'STA  yyyymmdd yyyymmdd': {line.strip()!r}",
                             line=number)
        start = "" if int(fields[0]) == 0 else _time(path, number, fields[0], end_of_day=False)
        end = "" if int(fields[1]) == 0 else _time(path, number, fields[1], end_of_day=True)
        rows.append(_row(path, number, "", station, start, end))
    return rows


def _row(path: Path, number: int, network: str, station: str, start: str, end: str) -> dict:
    """A reversals.csv row; InputError for a period that ends before it starts."""
    try:  # a lone "*" is every station, on purpose; any other pattern is a mistake
        check_codes(network, None if station == ALL_STATIONS else station)
    except ValueError as exc:
        raise InputError(path, f"{exc}; a lone {ALL_STATIONS} names every station",
                         line=number) from None
    if start and end and end < start:  # ISO 8601 strings of one form sort as times
        raise InputError(path, f"the period ends ({end}) before it starts ({start})", line=number)
    return {"network": network, "station": station, "start": start, "end": end}


def _time(path: Path, number: int, text: str, end_of_day: bool) -> str:
    from obspy import UTCDateTime  # only reading needs it; the mask stays free of ObsPy

    try:
        time = UTCDateTime(text)
    except Exception:
        raise InputError(path, f"{text!r} is not a date or time", line=number) from None
    if end_of_day and _DATE_ONLY.match(text.strip()):
        time = time + 86400 - 1e-6
    return iso_time(time)


def write_reversals(reversals: pd.DataFrame, path: Path | str) -> Path:
    """Write the reversal table as reversals.csv (atomically)."""
    return write_table(reversals, path, "reversals")


def reversed_mask(reversals: pd.DataFrame | None, network, station, time) -> np.ndarray:
    """True where (network, station, time) falls in a reversal period (arrays of equal length).

    ``time`` holds ISO strings or UTCDateTimes; an unreadable time is never reversed. Vectorised
    over the picks, whose times are parsed only at the stations the table names; the loop is
    over the (few) rows of the reversal table.
    """
    network = np.asarray(network, dtype=str)
    station = np.asarray(station, dtype=str)
    mask = np.zeros(station.shape, dtype=bool)
    if reversals is None or reversals.empty:
        return mask
    codes = reversals["station"].astype(str).str.strip().to_numpy()
    named = np.isin(station, codes) | (ALL_STATIONS in codes)
    if not named.any():
        return mask
    times = np.full(station.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    times[named] = _datetimes(np.asarray(time, dtype=object).reshape(station.shape)[named])
    starts, ends = _datetimes(reversals["start"]), _datetimes(reversals["end"])
    for k, row in enumerate(reversals.itertuples(index=False)):
        code = str(row.station).strip()
        hit = named & (station == code) if code != ALL_STATIONS else named.copy()
        net = "" if _blank(getattr(row, "network", "")) else str(row.network).strip()
        if net:
            hit &= network == net
        if not np.isnat(starts[k]):
            hit &= times >= starts[k]
        if not np.isnat(ends[k]):
            hit &= times <= ends[k]
        mask |= hit
    return mask


def _datetimes(values) -> np.ndarray:
    """datetime64[ns] (UTC) of ISO time strings or UTCDateTimes; blank or unreadable -> NaT."""
    text = pd.Series(np.asarray(values, dtype=object)).astype(str).str.strip()
    text = text.replace({"": None, "nan": None, "None": None})
    return pd.to_datetime(text, utc=True, errors="coerce", format="mixed") \
        .dt.tz_convert(None).to_numpy("datetime64[ns]")


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def is_reversed(reversals: pd.DataFrame, network: str, station: str, time) -> bool:
    """True if the station's polarity is reversed at ``time`` (one pick; see :func:`reversed_mask`)."""
    return bool(reversed_mask(reversals, [network], [station], [time])[0])
