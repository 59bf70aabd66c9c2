"""Pick tables as machine-learning pickers write them: PhaseNet's ``picks.csv`` and GaMMA's
associated picks and catalog.

Picks: one row per pick with a station id (``station_id``, or GaMMA's older ``id``:
``NET.STA.LOC.CHA`` where CHA may be the band and instrument code only, e.g. ``CI.CCC..HH``),
the phase time (``phase_time`` / ``timestamp``, ISO 8601, UTC), the phase type (``phase_type``
/ ``type``: P or S) and the probability (``phase_score`` / ``prob``). PhaseNet's
``phase_polarity`` column, when present, gives the first motion on the recorded trace: ``U``/
``D`` (``N`` or blank: none), or a number in [-1, 1] whose sign is the motion and whose size
the confidence (below :data:`MIN_POLARITY_SCORE` it is no call, as SKHASH's
``min_polarity_weight``). The probability becomes the weight code ``round(4 (1 - p))`` (0 best),
as for QuakeML time weights.

Events: a GaMMA catalog (``time``, ``latitude``, ``longitude``, ``depth_km`` or ``z(km)``,
``event_index``, optional ``magnitude``) or focalflow's events.csv. Picks are tied to events by
GaMMA's ``event_index`` (-1: not associated, skipped) or an ``event_id`` column; without
either, a pick belongs to the latest event whose origin precedes it by at most
``window_s`` seconds.
"""
from __future__ import annotations

import bisect
import math
from pathlib import Path

import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.common import (ReadProblem, check_codes, check_origin, frame, iso_time,
                                      parse_time)

MIN_POLARITY_SCORE = 0.1
PICK_ALIASES = {"station_id": ("station_id", "id"), "phase_time": ("phase_time", "timestamp"),
                "phase_type": ("phase_type", "type"), "phase_score": ("phase_score", "prob")}
GAMMA_EVENT_ALIASES = {"time": ("time",), "latitude": ("latitude",),
                       "longitude": ("longitude",), "depth_km": ("depth_km", "z(km)"),
                       "event_index": ("event_index", "event_idx")}


def read_gamma_catalog(path: Path | str) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """A GaMMA catalog CSV as the events table; the event id is GaMMA's ``event_index``."""
    path = Path(path)
    raw = _read_csv(path)
    columns = _resolve(path, raw, GAMMA_EVENT_ALIASES)
    rows, problems, seen = [], [], set()
    for line, record in zip(range(2, len(raw) + 2), raw.to_dict("records")):
        try:
            event_id = _event_index(record[columns["event_index"]])
            if event_id is None:
                raise ValueError("event_index is negative")
            if event_id in seen:
                raise ValueError(f"duplicate event_index {event_id}")
            magnitude = str(record.get("magnitude", "")).strip()
            time = parse_time(record[columns["time"]])
            depth = _float(record[columns["depth_km"]], "depth_km", -math.inf, math.inf)
            check_origin(time, depth)
            rows.append({"event_id": event_id, "time": iso_time(time),
                         "latitude": _float(record[columns["latitude"]], "latitude", -90, 90),
                         "longitude": _float(record[columns["longitude"]], "longitude", -180, 180),
                         "depth": depth,
                         "horz_uncert_km": math.nan, "vert_uncert_km": math.nan,
                         "mag": _float(magnitude, "magnitude", -10, 12) if magnitude else math.nan})
            seen.add(event_id)
        except ValueError as exc:
            problems.append(ReadProblem(str(path), line, str(exc)))
    if not rows:
        raise InputError(path, "no readable event" + (f" ({problems[0]})" if problems else ""))
    return frame(rows, "events"), problems


def read_ml_picks(path: Path | str, events: pd.DataFrame, window_s: float
                  ) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """PhaseNet/GaMMA picks of ``events`` as the picks table (see the module docstring)."""
    path = Path(path)
    raw = _read_csv(path)
    columns = _resolve(path, raw, PICK_ALIASES)
    link = next((c for c in ("event_index", "event_idx", "event_id") if c in raw.columns), None)
    known = set(events["event_id"].astype(str))
    origins = sorted((parse_time(t), str(e)) for t, e in zip(events["time"], events["event_id"]))
    times = [t for t, _ in origins]
    rows, problems = [], []
    for line, record in zip(range(2, len(raw) + 2), raw.to_dict("records")):
        try:
            time = parse_time(record[columns["phase_time"]])
            if link is None:
                event_id = _event_by_time(time, origins, times, window_s)
            else:
                event_id = (str(record[link]).strip() if link == "event_id"
                            else _event_index(record[link]))
                if not event_id:
                    continue  # GaMMA: not associated with any event
                if event_id not in known:
                    raise ValueError(f"{link} {event_id} is not an event of the catalog")
            rows.append({"event_id": event_id, **_station_codes(record[columns["station_id"]]),
                         "phase": _phase(record[columns["phase_type"]]), "time": iso_time(time),
                         "onset": "", "polarity": _polarity(record.get("phase_polarity", "")),
                         "weight": _weight(record[columns["phase_score"]]),
                         "source": f"{path.name}:{line}"})
        except ValueError as exc:
            problems.append(ReadProblem(str(path), line, str(exc)))
    if len(raw) and not rows and problems:
        raise InputError(path, f"no readable pick ({problems[0]})")
    return frame(rows, "picks"), problems


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(path, "file is empty (expected a CSV header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV table: {' '.join(str(exc).split())}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def _resolve(path: Path, raw: pd.DataFrame, aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """The column holding each field; InputError (line 1) naming the ones missing."""
    found, missing = {}, []
    for field, names in aliases.items():
        name = next((n for n in names if n in raw.columns), None)
        if name is None:
            missing.append(" or ".join(names))
        else:
            found[field] = name
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} (has: "
                         f"{', '.join(raw.columns)})", line=1)
    return found


def _station_codes(station_id: str) -> dict:
    parts = str(station_id).strip().split(".")
    if not parts[-1] and len(parts) > 1:  # "CI.CCC." style: trailing dot
        parts = parts[:-1]
    if len(parts) == 4:
        network, station, location, channel = parts
    elif len(parts) == 3:
        (network, station, channel), location = parts, ""
    elif len(parts) == 2:
        (network, station), location, channel = parts, "", ""
    else:
        network, station, location, channel = "", parts[0], "", ""
    if not station or len(parts) > 4:
        raise ValueError(f"station id {station_id!r} is not NET.STA.LOC.CHA")
    check_codes(network, station, location, channel)
    return {"network": network, "station": station, "location": location, "channel": channel}


def _phase(text: str) -> str:
    phase = str(text).strip().upper()
    if phase not in ("P", "S"):
        raise ValueError(f"phase type {text!r} is neither P nor S")
    return phase


def _polarity(value) -> str:
    text = str(value).strip().upper()
    if text in ("", "N", "NAN", "X"):
        return ""
    if text in ("U", "D"):
        return text
    try:
        score = float(text)
    except ValueError:
        raise ValueError(f"phase_polarity {value!r} is not U, D, N or a number") from None
    if not -1 <= score <= 1:
        raise ValueError(f"phase_polarity {score} outside -1..1")
    return "" if abs(score) < MIN_POLARITY_SCORE else ("U" if score > 0 else "D")


def _weight(value) -> int:
    score = _float(value, "phase_score", 0, 1)
    return int(round(4 * (1 - score)))


def _float(value, name: str, low: float, high: float) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not low <= number <= high:
        raise ValueError(f"{name} {number} outside {low:g}..{high:g}")
    return number


def _event_index(value) -> str | None:
    """GaMMA's event index as an event id (``3.0`` -> ``3``); None for -1 (not associated)."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"event index {text!r} is not a number") from None
    if number < 0:
        return None
    if number != int(number):
        raise ValueError(f"event index {text!r} is not a whole number")
    return str(int(number))


def _event_by_time(time, origins: list, times: list, window_s: float) -> str:
    index = bisect.bisect_right(times, time) - 1
    if index < 0 or time - times[index] > window_s:
        raise ValueError(f"pick at {time} follows no event origin within {window_s:g} s")
    return origins[index][1]
