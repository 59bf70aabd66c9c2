"""Hypoinverse-2000 archive (phase) files, as served by the SCEDC catalog search.

An archive is a sequence of events: one summary (header) line per event, then one line per
station/channel with a P and/or an S reading. A terminator line (blank station field) may close
an event (SCEDC leaves it out); shadow lines (starting with ``$``) are ignored. Fixed columns (1-based, as in the Hypoinverse-2000 manual):

Summary line: 1-4 year, 5-12 month day hour minute, 13-16 second (F4.2), 17-18 latitude degrees,
19 ``S`` for south, 20-23 latitude minutes (F4.2), 24-26 longitude degrees, 27 ``E`` for east,
28-31 longitude minutes (F4.2), 32-36 depth km (F5.2), 37-39 amplitude magnitude (F3.2),
71-73 coda magnitude (F3.2), 86-89 horizontal error km (F4.2), 90-93 vertical error km (F4.2),
137-146 event id, 147 preferred magnitude type, 148-150 preferred magnitude (F3.2).

Phase line: 1-5 station, 6-7 network, 9 one-letter component, 10-12 channel, 14 P onset (i/e),
15 ``P``, 16 P first motion (U/D, also C/+ and -), 17 P weight code (0-4), 18-29 year month day
hour minute, 30-34 P second (F5.2), 42-46 S second (F5.2), 47 S onset, 48 ``S``, 49 S first
motion, 50 S weight code, 112-113 location code. Seconds count from the line's minute.

Numbers without a decimal point carry an implied one (Fortran ``F4.2``: ``"3762"`` is 37.62).
Polarities are kept as the analyst gave them, i.e. on the recorded trace.
"""
from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pandas as pd
from obspy import UTCDateTime

from focalflow.errors import InputError
from focalflow.formats.common import (ReadProblem, check_codes, check_origin, frame, iso_time,
                                      parse_time, read_text_lines)
from focalflow.workdir import atomic_path

log = logging.getLogger("focalflow.formats.hypoinverse")

UP_CODES = {"U": "U", "C": "U", "+": "U", "u": "U", "c": "U"}
DOWN_CODES = {"D": "D", "-": "D", "d": "D"}
SUMMARY_LENGTH = 164
PHASE_LENGTH = 113


def read_hypoinverse(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """Read a Hypoinverse-2000 archive file.

    Returns ``(events, picks, problems)``: frames with the events.csv and picks.csv columns
    (times ISO 8601 UTC, depth km, polarity U/D/"" as recorded, onset i/e/"", weight the 0-4
    code, source ``file:line``) and a list of :class:`ReadProblem` for each line skipped. A bad
    summary line skips its whole event. Raises InputError for a missing, empty or binary file,
    or one with no event at all.
    """
    path = Path(path)
    lines = read_text_lines(path)
    events: list[dict] = []
    picks: list[dict] = []
    problems: list[ReadProblem] = []
    seen_ids: set[str] = set()
    summary_lines: dict[str, int] = {}  # event id -> line of its summary
    current: dict | None = None      # the event that phase lines belong to
    skipping = 0                     # line of a rejected summary; its phase lines are skipped
    skipped_lines = 0

    def close_skip() -> None:
        nonlocal skipped_lines
        if skipped_lines:
            problems.append(ReadProblem(str(path), skipping, f"{skipped_lines} phase line(s) of "
                                        "this rejected event skipped"))
        skipped_lines = 0

    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("$"):     # "$" starts Hypoinverse shadow lines
            continue
        if _is_summary(line):
            close_skip()
            try:
                event = _parse_summary(line)
                if event["event_id"] in seen_ids:
                    raise ValueError(f"duplicate event id {event['event_id']}")
            except ValueError as exc:
                problems.append(ReadProblem(str(path), number, f"bad summary line: {exc}"))
                current, skipping = None, number
                continue
            seen_ids.add(event["event_id"])
            summary_lines[event["event_id"]] = number
            events.append(event)
            current, skipping = event, 0
            continue
        if _is_terminator(line):
            close_skip()
            current, skipping = None, 0
            continue
        if skipping:
            skipped_lines += 1
            continue
        if current is None:
            problems.append(ReadProblem(str(path), number, "phase line before any event summary line"))
            continue
        try:
            picks.extend(_parse_phase(line, current["event_id"], f"{path.name}:{number}"))
        except ValueError as exc:
            problems.append(ReadProblem(str(path), number, f"bad phase line: {exc}"))
    close_skip()
    _warn_of_missing_readings(path, lines, summary_lines,
                              events[:-1] if current is not None else events, picks)
    if events and current is events[-1]:
        incomplete = _incomplete_last_event(path, lines, picks, current["event_id"])
        if incomplete is not None:
            number, reason = incomplete
            kept = [p for p in picks if p["event_id"] != current["event_id"]]
            problems = [p for p in problems if p.line != number]
            problems.append(ReadProblem(str(path), number, f"{reason}; event {current['event_id']} "
                                        f"skipped with its {len(picks) - len(kept)} reading(s)"))
            events, picks = events[:-1], kept
    if not events:
        first = problems[0].reason if problems else "no summary line found"
        raise InputError(path, f"no event could be read as Hypoinverse-2000 ({first})")
    return frame(events, "events"), frame(picks, "picks"), problems


def _announced_readings(line: str) -> int | None:
    """Readings with weight above 0.1 that a summary line announces (columns 40-42)."""
    text = _field(line, 40, 42).strip()
    return int(text) if text.isdigit() else None


def _warn_of_missing_readings(path: Path, lines: list[str], summary_lines: dict[str, int],
                              events: list[dict], picks: list[dict]) -> None:
    """One warning for events with fewer readings than their summary lines announce (lines
    taken out by hand, or lost)."""
    counts: dict[str, int] = {}
    for pick in picks:
        counts[pick["event_id"]] = counts.get(pick["event_id"], 0) + 1
    short = []
    for event in events:
        number = summary_lines[event["event_id"]]
        announced = _announced_readings(lines[number - 1])
        if announced is not None and counts.get(event["event_id"], 0) < announced:
            short.append((event["event_id"], number, announced))
    if short:
        event_id, number, announced = short[0]
        log.warning("%s: %d event(s) have fewer readings than their summary lines announce "
                    "(columns 40-42), e.g. event %s (line %d): %d of %d", path, len(short),
                    event_id, number, counts.get(event_id, 0), announced)


def _incomplete_last_event(path: Path, lines: list[str], picks: list[dict],
                           event_id: str) -> tuple[int, str] | None:
    """(line, why) when the file's last event is cut short (an interrupted download or copy).

    Cut inside a line: the file does not end with a line end and its last line is shorter
    than the other lines of its kind. Cut between lines: the event has fewer readings than its
    summary line announces in columns 40-42 (readings with weight above 0.1).
    """
    number = max(i for i, line in enumerate(lines, start=1) if line.strip())
    last = lines[number - 1]
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        ends_with_newline = handle.read(1) in b"\r\n"
    kind = _is_summary(last)
    others = [len(line) for line in lines[:number - 1]
              if line.strip() and not line.startswith("$") and _is_summary(line) == kind]
    if not ends_with_newline and (not others or len(last) < min(others)):
        return number, "the file ends in the middle of this line (cut off?)"
    summary_number = max(i for i, line in enumerate(lines[:number], start=1) if _is_summary(line))
    announced = _announced_readings(lines[summary_number - 1])
    readings = sum(1 for pick in picks if pick["event_id"] == event_id)
    if announced is not None and readings < announced:
        return summary_number, (f"the last event's summary line announces {announced} readings, "
                                f"the file ends after {readings} (cut off?)")
    return None


def _is_summary(line: str) -> bool:
    return len(line) >= 36 and line[:12].isdigit()


def _is_terminator(line: str) -> bool:
    return not line[:5].strip()


def _field(line: str, start: int, end: int) -> str:
    """Columns ``start``..``end`` (1-based, inclusive) of ``line``, padded with blanks."""
    return line[start - 1:end].ljust(end - start + 1)


def _number(line: str, start: int, end: int, decimals: int, name: str) -> float:
    """A Fortran F field; implied decimals when no point is written; NaN when blank."""
    text = _field(line, start, end).strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} in columns {start}-{end} is not a number") from None
    return value if "." in text else value / 10 ** decimals


def _integer(line: str, start: int, end: int, name: str) -> int:
    text = _field(line, start, end).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"{name} {text!r} in columns {start}-{end} is not an integer")
    return int(text)


def _minute(line: str, start: int, name: str) -> UTCDateTime:
    """The yyyymmddhhmm time starting at column ``start``."""
    text = _field(line, start, start + 11)
    if not text.isdigit():
        raise ValueError(f"{name} {text!r} in columns {start}-{start + 11} is not yyyymmddhhmm")
    try:
        return UTCDateTime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                           int(text[10:12]))
    except ValueError as exc:
        raise ValueError(f"{name} {text!r}: {exc}") from None


def _parse_summary(line: str) -> dict:
    minute = _minute(line, 1, "origin time")
    second = _number(line, 13, 16, 2, "origin second")
    if math.isnan(second) or not 0 <= second < 120:
        raise ValueError(f"origin second {_field(line, 13, 16)!r} out of range")
    lat = _integer(line, 17, 18, "latitude degrees") + _number(line, 20, 23, 2, "latitude minutes") / 60
    lon = _integer(line, 24, 26, "longitude degrees") + _number(line, 28, 31, 2, "longitude minutes") / 60
    if math.isnan(lat) or math.isnan(lon):
        raise ValueError("latitude or longitude minutes missing")
    lat = -lat if _field(line, 19, 19).upper() == "S" else lat
    lon = lon if _field(line, 27, 27).upper() == "E" else -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"location {lat:.4f}, {lon:.4f} out of range")
    depth = _number(line, 32, 36, 2, "depth")
    if math.isnan(depth):
        raise ValueError("depth missing")
    # SCEDC writes two-letter magnitude types (``lr``) where the format has one letter, which
    # pushes the columns after 124 one to the right (the preferred one's value once more).
    shift = 1 if _field(line, 123, 124).isalpha() else 0
    mag = _preferred_magnitude(line, 147 + shift)
    for start, end, name in ((71, 73, "coda magnitude"), (37, 39, "amplitude magnitude")):
        if not math.isnan(mag):
            break
        mag = _number(line, start, end, 2, name)
    time = minute + second
    check_origin(time, depth)
    event_id = _field(line, 137 + shift, 146 + shift).strip() or time.strftime("%Y%m%d%H%M%S%f")[:16]
    return {"event_id": event_id, "time": iso_time(time), "latitude": round(lat, 6),
            "longitude": round(lon, 6), "depth": depth,
            "horz_uncert_km": _number(line, 86, 89, 2, "horizontal error"),
            "vert_uncert_km": _number(line, 90, 93, 2, "vertical error"), "mag": mag}


def _preferred_magnitude(line: str, start: int) -> float:
    """Preferred magnitude: type letter at column ``start`` (147), F3.2 value after it.

    A two-letter type (SCEDC's ``lr``) pushes the value one column to the right.
    """
    text = _field(line, start, start + 4)
    if not text.strip():
        return math.nan
    match = _MAGNITUDE.match(text)
    if match is None:
        raise ValueError(f"preferred magnitude {text!r} in columns {start}-{start + 4} is not "
                         "a type and a number")
    value = match.group(2)
    return float(value) if "." in value else float(value) / 100


_MAGNITUDE = re.compile(r"([A-Za-z]{0,2})\s*(-?[0-9.]+)\s*$")


def _parse_phase(line: str, event_id: str, source: str) -> list[dict]:
    station = _field(line, 1, 5).strip()
    network = _field(line, 6, 7).strip()
    channel = _field(line, 10, 12).strip()
    location = _field(line, 112, 113).strip()
    location = "" if location == "--" else location
    if not network:
        raise ValueError("blank network code (columns 6-7)")
    check_codes(network, station, location, channel)
    has_p = _field(line, 15, 15).upper() == "P"
    has_s = _field(line, 48, 48).upper() == "S"
    if not (has_p or has_s):
        raise ValueError("neither a P (column 15) nor an S (column 48) reading")
    minute = _minute(line, 18, "reading time")
    base = {"event_id": event_id, "network": network, "station": station, "location": location,
            "channel": channel, "source": source}
    readings = []
    for phase, present, onset_col, sec_cols, fm_col, weight_col in (
            ("P", has_p, 14, (30, 34), 16, 17), ("S", has_s, 47, (42, 46), 49, 50)):
        if not present:
            continue
        second = _number(line, *sec_cols, 2, f"{phase} second")
        if math.isnan(second):
            raise ValueError(f"{phase} reading without a time (columns {sec_cols[0]}-{sec_cols[1]})")
        weight_text = _field(line, weight_col, weight_col).strip() or "0"
        if not weight_text.isdigit() or int(weight_text) > 9:
            raise ValueError(f"{phase} weight code {weight_text!r} in column {weight_col} not 0-9")
        onset = _field(line, onset_col, onset_col).strip().lower()
        motion = _field(line, fm_col, fm_col)
        readings.append({**base, "phase": phase, "time": iso_time(minute + second),
                         "onset": onset if onset in ("i", "e") else "",
                         "polarity": UP_CODES.get(motion) or DOWN_CODES.get(motion) or "",
                         "weight": int(weight_text)})
    return readings


def write_hypoinverse(events: pd.DataFrame, picks: pd.DataFrame, path: Path | str) -> Path:
    """Write events and picks (events.csv / picks.csv columns) as a Hypoinverse-2000 archive.

    One summary line per event (in the order of ``events``), then one phase line per pick of
    that event (in the order of ``picks``), SCEDC style without terminator lines. Event ids
    must fit 10 characters, stations 5, networks 2, locations 2; weights must be the 0-4 codes
    (blank is written as 0). Times are rounded to 0.01 s, as the format holds. Written
    atomically. Raises ValueError naming the event or pick that does not fit the format.
    """
    lines: list[str] = []
    by_event = {str(k): g for k, g in picks.groupby(picks["event_id"].astype(str), sort=False)}
    for event in events.itertuples(index=False):
        lines.append(_summary_line(event))
        for pick in by_event.get(str(event.event_id), picks.iloc[:0]).itertuples(index=False):
            lines.append(_phase_line(pick))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return Path(path)


class _Line:
    """A fixed-column line being filled (1-based columns, as the manual counts them)."""

    def __init__(self, length: int):
        self.chars = [" "] * length

    def put(self, start: int, text: str, width: int, what: str) -> None:
        if len(text) > width:
            raise ValueError(f"{what} {text!r} does not fit {width} columns")
        self.chars[start - 1:start - 1 + width] = list(text.rjust(width))

    def put_left(self, start: int, text: str, width: int, what: str) -> None:
        if len(text) > width:
            raise ValueError(f"{what} {text!r} does not fit {width} columns")
        self.chars[start - 1:start - 1 + width] = list(text.ljust(width))

    def put_number(self, start: int, value: float, width: int, decimals: int, what: str) -> None:
        """Write ``value`` with an implied decimal point (blank for NaN/None)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        self.put(start, str(int(round(float(value) * 10 ** decimals))), width, what)

    def text(self) -> str:
        return "".join(self.chars)


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _summary_line(event) -> str:
    what = f"event {event.event_id}"
    time = parse_time(event.time)
    # round to the format's 0.01 s first, so that 59.999 s does not print as second 60.00
    time = UTCDateTime(round(time.timestamp, 2))
    line = _Line(SUMMARY_LENGTH)
    line.put(1, time.strftime("%Y%m%d%H%M"), 12, f"{what} time")
    line.put_number(13, time.second + time.microsecond / 1e6, 4, 2, f"{what} second")
    lat, lon = float(event.latitude), float(event.longitude)
    lat_min, lon_min = round(abs(lat) * 60, 2), round(abs(lon) * 60, 2)
    line.put(17, str(int(lat_min // 60)), 2, f"{what} latitude")
    line.put(19, "S" if lat < 0 else " ", 1, what)
    line.put_number(20, lat_min % 60, 4, 2, f"{what} latitude minutes")
    line.put(24, str(int(lon_min // 60)), 3, f"{what} longitude")
    line.put(27, "E" if lon > 0 else " ", 1, what)
    line.put_number(28, lon_min % 60, 4, 2, f"{what} longitude minutes")
    line.put_number(32, float(event.depth), 5, 2, f"{what} depth")
    for column, start in (("horz_uncert_km", 86), ("vert_uncert_km", 90)):
        value = getattr(event, column)
        if not _is_blank(value):
            line.put_number(start, float(value), 4, 2, f"{what} {column}")
    line.put(137, str(event.event_id), 10, f"{what}: event id")
    if not _is_blank(event.mag):
        line.put_number(148, float(event.mag), 3, 2, f"{what} magnitude")
    return line.text()


def _phase_line(pick) -> str:
    what = f"pick {pick.network}.{pick.station}.{pick.channel} {pick.phase} of event {pick.event_id}"
    phase = str(pick.phase).upper()
    if phase not in ("P", "S"):
        raise ValueError(f"{what}: phase must be P or S")
    time = UTCDateTime(round(parse_time(pick.time).timestamp, 2))
    minute = UTCDateTime(time.year, time.month, time.day, time.hour, time.minute)
    weight = 0 if _is_blank(pick.weight) else float(pick.weight)
    if weight != int(weight) or not 0 <= weight <= 4:
        raise ValueError(f"{what}: weight {pick.weight!r} is not a Hypoinverse code 0-4")
    polarity = "" if _is_blank(pick.polarity) else str(pick.polarity).upper()
    onset = "" if _is_blank(pick.onset) else str(pick.onset).lower()
    location = "" if _is_blank(pick.location) else str(pick.location)
    channel = str(pick.channel)
    line = _Line(PHASE_LENGTH)
    line.put_left(1, str(pick.station), 5, f"{what}: station")
    line.put_left(6, str(pick.network), 2, f"{what}: network")
    line.put(9, "V" if channel.endswith("Z") else channel[-1:], 1, what)
    line.put_left(10, channel, 3, f"{what}: channel")
    onset_col, phase_col, second_col = (14, 15, 30) if phase == "P" else (47, 48, 42)
    line.put(onset_col, onset, 1, f"{what}: onset")
    line.put(phase_col, phase, 1, what)
    line.put(phase_col + 1, polarity if polarity in ("U", "D") else "", 1, f"{what}: polarity")
    line.put(phase_col + 2, str(int(weight)), 1, f"{what}: weight")
    line.put(18, minute.strftime("%Y%m%d%H%M"), 12, f"{what}: time")
    line.put_number(second_col, time - minute, 5, 2, f"{what}: second")
    line.put_left(112, location, 2, f"{what}: location")
    return line.text()
