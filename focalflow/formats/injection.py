"""Hydraulic-stimulation tables: wells and their stages, and an injection-rate time series.

Wells CSV, one row per stage: ``well, stage, start, end, lat, lon, depth_km`` (times ISO 8601 or
any form :func:`focalflow.formats.common.parse_any_time` reads, UTC; the location is the
stage's injection point: latitude and longitude in degrees, depth in km below sea level).

Injection CSV: ``time`` and one rate column whose name starts with ``rate`` (its unit is the
user's and is kept in the name, e.g. ``rate_m3_min``); a ``well`` column is optional.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.common import iso_time, parse_any_time

WELL_COLUMNS = ["well", "stage", "start", "end", "lat", "lon", "depth_km"]


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV table: {exc}") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    return frame


def _times(frame: pd.DataFrame, column: str, path: Path) -> list[str]:
    out = []
    for line, text in enumerate(frame[column], start=2):
        time = parse_any_time(text)
        if time is None:
            raise InputError(path, f"{column} {text!r} is not a time", line=line)
        out.append(iso_time(time))
    return out


def _numbers(frame: pd.DataFrame, column: str, path: Path, low: float, high: float) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values) | (values < low) | (values > high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"{column} {frame[column].iloc[i]!r} is not a number in "
                         f"[{low:g}, {high:g}]", line=i + 2)
    return values


def read_wells(path: Path | str) -> pd.DataFrame:
    """The stages of a wells CSV (module docstring), sorted by start time; InputError naming the
    file and line for a missing column, a bad time or number, an end before its start or a
    stage listed twice."""
    path = Path(path)
    frame = _read_csv(path)
    missing = [c for c in WELL_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} (expected "
                         f"{', '.join(WELL_COLUMNS)})")
    if frame.empty:
        raise InputError(path, "no stage rows")
    wells = pd.DataFrame({"well": frame["well"].str.strip(), "stage": frame["stage"].str.strip(),
                          "start": _times(frame, "start", path), "end": _times(frame, "end", path),
                          "lat": _numbers(frame, "lat", path, -90, 90),
                          "lon": _numbers(frame, "lon", path, -180, 360),
                          "depth_km": _numbers(frame, "depth_km", path, -10, 100)})
    for i, row in wells.iterrows():
        if row["end"] < row["start"]:
            raise InputError(path, f"stage {row['well']}/{row['stage']} ends ({row['end']}) "
                             f"before it starts ({row['start']})", line=i + 2)
    twice = wells.duplicated(["well", "stage"])
    if twice.any():
        i = int(np.flatnonzero(twice)[0])
        raise InputError(path, f"stage {wells['well'][i]}/{wells['stage'][i]} is listed twice",
                         line=i + 2)
    return wells.sort_values("start", kind="stable").reset_index(drop=True)


def read_injection(path: Path | str) -> pd.DataFrame:
    """An injection-rate series (module docstring) sorted by time: columns ``time`` (ISO),
    the rate column under its own name and ``well`` ("" when absent)."""
    path = Path(path)
    frame = _read_csv(path)
    rates = [c for c in frame.columns if c.startswith("rate")]
    if "time" not in frame.columns or len(rates) != 1:
        raise InputError(path, "an injection table needs a 'time' column and one column whose "
                         f"name starts with 'rate' (found {', '.join(frame.columns)})")
    if frame.empty:
        raise InputError(path, "no rows")
    series = pd.DataFrame({"time": _times(frame, "time", path),
                           rates[0]: _numbers(frame, rates[0], path, 0, np.inf),
                           "well": frame["well"].str.strip() if "well" in frame.columns else ""})
    return series.sort_values("time", kind="stable").reset_index(drop=True)
