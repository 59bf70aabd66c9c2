"""Mechanism catalogs from any source as one table, with the columns the analyses need.

:func:`read_mechanism_catalog` reads focalflow's ``mechanisms.csv``, SKHASH's ``out.csv``, a
whitespace-separated table ``event_id lat lon depth strike dip rake [...]`` (the ToC2ME
``mt_solution_*.txt`` layout; columns after the seventh are ignored) or ``mechanisms.xml``.
One row per event (its first, preferred, solution; rows without angles are left out).
The result uses mechanisms.csv column names (``origin_lat``, ``origin_lon``,
``origin_depth_km``, ``strike``…), with ``mag`` (NaN where unknown), ``time`` as ISO 8601 UTC
(blank where unknown), and :func:`add_derived_columns` adds the second nodal plane, the P/T/B
trends and plunges (degrees, lower hemisphere) and the Frohlich ``faulting_class``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from obspy import UTCDateTime

from focalflow.errors import InputError
from focalflow.formats.common import parse_any_time
from focalflow.formats.quakeml_mechanisms import read_mechanisms_quakeml
from focalflow.mechanisms.classify import classify_plunges, mechanism_axes
from hash_core.geometry import auxiliary_plane

ALIASES = {"latitude": "origin_lat", "lat": "origin_lat", "longitude": "origin_lon",
           "lon": "origin_lon", "depth": "origin_depth_km", "depth_km": "origin_depth_km",
           "magnitude": "mag", "id": "event_id"}


def read_mechanism_catalog(path: Path | str) -> pd.DataFrame:
    """Read a mechanism catalog (any layout named in the module docstring) with derived columns."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    head = path.read_bytes()[:4096]
    if not head.strip():
        raise InputError(path, "file is empty")
    if head.lstrip().startswith(b"<"):
        frame, _ = read_mechanisms_quakeml(path)
    else:
        first_line = head.decode("utf-8", "replace").splitlines()[0]
        frame = _read_csv(path) if "," in first_line else _read_whitespace(path)
    return add_derived_columns(_normalise(frame, path))


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype={"event_id": str, "quality": str, "time": str},
                            keep_default_na=False, na_values=[""], comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV table: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.rename(columns={k: v for k, v in ALIASES.items() if k in frame.columns
                                 and v not in frame.columns})


def _read_whitespace(path: Path) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 7:
            raise InputError(path, f"expected event_id lat lon depth strike dip rake, got "
                             f"{len(fields)} field(s)", line=number)
        try:
            lat, lon, depth, strike, dip, rake = (float(x) for x in fields[1:7])
        except ValueError:
            raise InputError(path, f"non-numeric value among {' '.join(fields[1:7])!r}",
                             line=number) from None
        time = parse_any_time(fields[0])
        rows.append({"event_id": fields[0], "time": "" if time is None else _iso(time),
                     "origin_lat": lat, "origin_lon": lon, "origin_depth_km": depth,
                     "strike": strike, "dip": dip, "rake": rake})
    if not rows:
        raise InputError(path, "no mechanism lines")
    return pd.DataFrame(rows)


def _normalise(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    missing = [c for c in ("event_id", "strike", "dip", "rake") if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} of a mechanism catalog")
    frame = frame.copy()
    frame["event_id"] = frame["event_id"].astype(str)
    for column in ("strike", "dip", "rake"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise InputError(path, f"{column} {frame[column].iloc[line - 2]!r} is not a number "
                             f"(event {frame['event_id'].iloc[line - 2]})", line=line)
        frame[column] = values.astype(float)
    # events without a mechanism have blank angles; HASH's further solutions follow the first
    frame = frame.dropna(subset=["strike", "dip", "rake"]).drop_duplicates("event_id")
    for column in ("origin_lat", "origin_lon", "origin_depth_km", "mag"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce") \
            if column in frame.columns else np.nan
    times = frame["time"] if "time" in frame.columns else pd.Series([""] * len(frame))
    frame["time"] = [_iso(t) if (t := parse_any_time(v)) is not None else "" for v in times]
    if "quality" not in frame.columns:
        frame["quality"] = ""
    frame["quality"] = frame["quality"].fillna("").astype(str).str.strip()
    return frame.reset_index(drop=True)


def add_derived_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Add strike2/dip2/rake2 (if absent), P/T/B trend and plunge, and ``faulting_class``."""
    frame = frame.copy()
    strike, dip, rake = (frame[c].to_numpy(float) for c in ("strike", "dip", "rake"))
    if not all(c in frame.columns for c in ("strike2", "dip2", "rake2")) or \
            frame[["strike2", "dip2", "rake2"]].isna().any().any():
        strike2, dip2, rake2 = (np.atleast_1d(a) for a in auxiliary_plane(strike, dip, rake))
        frame["strike2"], frame["dip2"], frame["rake2"] = (np.round(strike2, 1),
                                                          np.round(dip2, 1), np.round(rake2, 1))
    if len(frame):
        axes = mechanism_axes(strike, dip, rake)
        for key, values in axes.items():
            frame[key] = np.round(values, 1)
        frame["faulting_class"] = classify_plunges(axes["p_plunge"], axes["t_plunge"],
                                                   axes["b_plunge"])
    else:
        for key in ("p_trend", "p_plunge", "t_trend", "t_plunge", "b_trend", "b_plunge",
                    "faulting_class"):
            frame[key] = pd.Series(dtype=float if key != "faulting_class" else object)
    return frame


def select(catalog: pd.DataFrame, region: tuple[float, float, float, float] | None = None,
           start: str | None = None, end: str | None = None,
           classes: list[str] | None = None, qualities: str | None = None) -> pd.DataFrame:
    """Mechanisms inside ``region`` (lat_min, lat_max, lon_min, lon_max, degrees), from
    ``start`` to ``end`` (times, inclusive), of the given faulting ``classes`` and quality
    letters (e.g. ``"AB"``)."""
    keep = np.ones(len(catalog), dtype=bool)
    if region is not None:
        lat_min, lat_max, lon_min, lon_max = region
        keep &= catalog["origin_lat"].between(lat_min, lat_max).to_numpy()
        keep &= catalog["origin_lon"].between(lon_min, lon_max).to_numpy()
    if start is not None or end is not None:
        times = times_of(catalog)
        if start is not None:
            keep &= (times >= _as_datetime64(start))
        if end is not None:
            keep &= (times <= _as_datetime64(end))
    if classes:
        keep &= catalog["faulting_class"].isin(classes).to_numpy()
    if qualities:
        keep &= catalog["quality"].str.upper().isin(list(qualities.upper())).to_numpy()
    return catalog[keep].reset_index(drop=True)


def times_of(catalog: pd.DataFrame) -> np.ndarray:
    """Origin times as numpy datetime64[ms] (NaT where unknown)."""
    return np.array([np.datetime64(t.rstrip("Z"), "ms") if t else np.datetime64("NaT", "ms")
                     for t in catalog["time"]], dtype="datetime64[ms]")


def _as_datetime64(text: str) -> np.datetime64:
    time = parse_any_time(text)
    if time is None:
        raise ValueError(f"not a time: {text!r}")
    return np.datetime64(_iso(time).rstrip("Z"), "ms")


def _iso(time: UTCDateTime) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
