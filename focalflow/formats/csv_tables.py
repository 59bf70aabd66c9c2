"""Event and pick tables as CSV: focalflow's own events.csv / picks.csv, and SKHASH's inputs.

Events: the events.csv columns (SKHASH's ``eq_catalog`` file has the same names; its ``--``
for a missing magnitude is read as blank). Picks: the picks.csv columns; a SKHASH ``pol`` file
(event_id, station, network, location, channel, p_polarity with +1/-1/0) is read as P picks
without time, polarity ``U``/``D``/blank, location ``--`` as blank. Columns beyond these are
ignored, missing optional ones (onset, polarity, weight, location, uncertainties, mag) are
blank. Rows that cannot be read become problem records with their line number.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.common import (ReadProblem, check_codes, check_origin, frame, iso_time,
                                      parse_time)
from focalflow.tables import write_table

EVENT_REQUIRED = ["event_id", "time", "latitude", "longitude", "depth"]
PICK_REQUIRED = ["event_id", "network", "station", "phase", "time"]
SKHASH_POL_REQUIRED = ["event_id", "station", "network", "p_polarity"]
MISSING = {"", "--", "nan", "NaN", "None"}


def read_csv_catalog(events_path: Path | str, picks_path: Path | str | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """Read an events CSV (and, given, a picks CSV) into ``(events, picks, problems)``.

    Picks of events not in the events table become problems. Raises InputError for a missing
    or empty file, or one that lacks a required column.
    """
    problems: list[ReadProblem] = []
    events = read_events_csv(events_path, problems)
    if picks_path is None:
        return events, frame([], "picks"), problems
    picks = read_picks_csv(picks_path, problems)
    known = set(events["event_id"])
    orphan = ~picks["event_id"].isin(known)
    for row in picks[orphan].itertuples():
        problems.append(ReadProblem(str(picks_path), _line_of(row.source),
                                    f"pick of event {row.event_id}, which is not in {Path(events_path).name}"))
    return events, picks[~orphan].reset_index(drop=True), problems


def read_events_csv(path: Path | str, problems: list[ReadProblem] | None = None) -> pd.DataFrame:
    """Events table (events.csv or SKHASH eq_catalog); bad rows go to ``problems``."""
    problems = [] if problems is None else problems
    raw = _read_raw(path, EVENT_REQUIRED)
    if raw.empty:
        raise InputError(path, "no event rows, only a header")
    rows, seen = [], set()
    for index, record in enumerate(raw.to_dict("records")):
        line = index + 2
        try:
            event_id = _code(record["event_id"])
            if not event_id:
                raise ValueError("blank event_id")
            if event_id in seen:
                raise ValueError(f"duplicate event id {event_id}")
            time, depth = parse_time(record["time"]), _float(record, "depth", -math.inf, math.inf)
            check_origin(time, depth)
            row = {"event_id": event_id, "time": iso_time(time),
                   "latitude": _float(record, "latitude", -90, 90),
                   "longitude": _float(record, "longitude", -180, 180), "depth": depth}
            for column in ("horz_uncert_km", "vert_uncert_km", "mag"):
                row[column] = _float(record, column, -10, 1e4, optional=True)
        except ValueError as exc:
            problems.append(ReadProblem(str(path), line, str(exc)))
            continue
        seen.add(event_id)
        rows.append(row)
    return frame(rows, "events")


def read_picks_csv(path: Path | str, problems: list[ReadProblem] | None = None) -> pd.DataFrame:
    """Picks table (picks.csv or SKHASH pol); bad rows go to ``problems``."""
    problems = [] if problems is None else problems
    header = _read_raw(path, [], nrows=0).columns
    skhash_pol = "p_polarity" in header and "phase" not in header
    raw = _read_raw(path, SKHASH_POL_REQUIRED if skhash_pol else PICK_REQUIRED)
    rows = []
    name = Path(path).name
    for index, record in enumerate(raw.to_dict("records")):
        line = index + 2
        try:
            row = _skhash_pol_row(record) if skhash_pol else _pick_row(record)
        except ValueError as exc:
            problems.append(ReadProblem(str(path), line, str(exc)))
            continue
        rows.append({**row, "source": f"{name}:{line}"})
    return frame(rows, "picks")


def _pick_row(record: dict) -> dict:
    phase = _code(record["phase"]).upper()
    if phase not in ("P", "S"):
        raise ValueError(f"phase {record['phase']!r} is neither P nor S")
    polarity = _code(record.get("polarity", "")).upper()
    if polarity not in ("U", "D", ""):
        raise ValueError(f"polarity {record['polarity']!r} is not U, D or blank")
    onset = _code(record.get("onset", "")).lower()
    if onset not in ("i", "e", ""):
        raise ValueError(f"onset {record['onset']!r} is not i, e or blank")
    weight = _float(record, "weight", 0, 1e6, optional=True)
    return {**_codes(record), "phase": phase, "time": iso_time(parse_time(record["time"])),
            "onset": onset, "polarity": polarity, "weight": 0 if math.isnan(weight) else weight}


def _skhash_pol_row(record: dict) -> dict:
    try:
        value = int(float(_code(record["p_polarity"]) or 0))
    except ValueError:
        raise ValueError(f"p_polarity {record['p_polarity']!r} is not a number") from None
    polarity = "U" if value > 0 else "D" if value < 0 else ""
    return {**_codes(record), "phase": "P", "time": "", "onset": "", "polarity": polarity,
            "weight": 0}


def _codes(record: dict) -> dict:
    codes = {"event_id": _code(record["event_id"]), "network": _code(record["network"]),
             "station": _code(record["station"]), "location": _code(record.get("location", "")),
             "channel": _code(record.get("channel", ""))}
    if not codes["event_id"] or not codes["station"]:
        raise ValueError("blank event_id or station")
    check_codes(codes["network"], codes["station"], codes["location"], codes["channel"])
    return codes


def write_csv_catalog(events: pd.DataFrame, picks: pd.DataFrame, events_path: Path | str,
                      picks_path: Path | str) -> None:
    """Write the two tables (atomically); :func:`read_csv_catalog` reads them back."""
    write_table(events, events_path, "events")
    write_table(picks, picks_path, "picks")


def _read_raw(path: Path | str, required: list[str], nrows: int | None = None) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=nrows,
                          skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(path, "file is empty (expected a CSV header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV table: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} (has: {', '.join(raw.columns)})",
                         line=1)
    return raw


def _code(value) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text in MISSING else text


def _float(record: dict, column: str, low: float, high: float, optional: bool = False) -> float:
    text = _code(record.get(column, ""))
    if not text:
        if optional:
            return math.nan
        raise ValueError(f"{column} is blank")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a number") from None
    if not low <= value <= high:
        raise ValueError(f"{column} {value} outside {low}..{high}")
    return value


def _line_of(source: str) -> int | None:
    tail = str(source).rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None



STATION_REQUIRED = ["station", "latitude", "longitude"]


def read_station_list_csv(path: Path | str) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """A CSV station list (stations.csv columns, or SKHASH's station,location,channel,latitude,
    longitude,elevation) as stations-table rows; network, location, channel and elevation (m)
    may be absent (blank network matches any network)."""
    raw = _read_raw(path, STATION_REQUIRED)
    rows, problems = [], []
    for index, record in enumerate(raw.to_dict("records")):
        try:
            station = _code(record["station"])
            if not station:
                raise ValueError("blank station")
            check_codes(_code(record.get("network", "")), station, _code(record.get("location", "")),
                        _code(record.get("channel", "")))
            elevation = _float(record, "elevation", -12000, 9000, optional=True)
            rows.append({"network": _code(record.get("network", "")), "station": station,
                         "location": _code(record.get("location", "")),
                         "channel": _code(record.get("channel", "")),
                         "latitude": _float(record, "latitude", -90, 90),
                         "longitude": _float(record, "longitude", -180, 180),
                         "elevation": 0.0 if math.isnan(elevation) else elevation,
                         "azimuth": _float(record, "azimuth", -360, 360, optional=True),
                         "dip": _float(record, "dip", -90, 90, optional=True),
                         "sampling_rate": _float(record, "sampling_rate", 0, 1e6, optional=True),
                         "start": _code(record.get("start", "")), "end": _code(record.get("end", "")),
                         "has_metadata": True})
        except ValueError as exc:
            problems.append(ReadProblem(str(path), index + 2, str(exc)))
    return frame(rows, "stations"), problems
