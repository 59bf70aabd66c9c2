"""HASH v1.2 input files and control files, read the way HASH's example drivers read them.

Readers return plain pandas tables in the working-directory layout (see :mod:`focalflow.tables`)
so the three entry modes of stage 6 share one path:

* :func:`read_phase_driver1` — ``north1.phase`` (FPFIT-like, take-off angle and azimuth given);
* :func:`read_phase_driver2` — ``north2.phase`` (polarities with network and component; also
  driver 5's polarity file);
* :func:`read_phase_driver4` — SCEDC phase files of driver 4 (8-digit dates, 5-character
  station codes, ``north4.phase``);
* :func:`read_simulps` — driver 5's take-off angles and azimuths from a SIMULPS/SIMUL2000 ray
  file;
* :func:`read_amp_file` — ``north3.amp`` (noise and amplitudes of P and S);
* :func:`read_statcor` — ``north3.statcor`` (log10 S/P station corrections);
* :func:`read_scsn_stations` — ``scsn.stations`` (station coordinates), and
  :func:`read_scsn_stations_5char` its 5-character form (``scsn.stations_5char``);
* :class:`HashStationList` — a station list searched as HASH's GETSTAT_TRI/GETSTAT_SCSN do;
* :func:`read_scsn_reverse` — ``scsn.reverse`` (polarity-reversal periods, by day);
* :func:`read_hash_inp` — the control files of drivers 1 to 5 (``example1.inp`` ...);
* :func:`format_out_line` — one line of HASH's preferred-mechanism output file.

Conventions: polarities are +1 (U, u, +) / -1 (D, d, -) *as recorded* (before the reversal
table); ``impulsive`` is True for HASH quality 0 / onset I; take-off angles in degrees from
vertical-up (0 up, 180 down; FPFIT's down-measured angle in ``north1.phase`` is converted);
azimuths in degrees clockwise from north; depths and distances in km; times ISO 8601 UTC.
Fixed-width numbers follow Fortran rules: blanks are ignored and a field without a decimal
point has the format's implied decimals. A file that does not fit its driver (its first event
line does not parse, or parses to an impossible date or position) is an InputError naming the
file and line; a later malformed event is a problem and is skipped. Only numpy/pandas are
imported (no ObsPy), so the ``--hash-inp`` mode starts quickly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

import pandas as pd

from focalflow.errors import InputError
from hash_core.params import HashParams

EVENT_COLUMNS = ["event_id", "time", "latitude", "longitude", "depth", "horz_uncert_km",
                 "vert_uncert_km", "mag"]
POLARITY_COLUMNS = ["event_id", "network", "station", "location", "channel", "p_polarity",
                    "impulsive", "source"]
ANGLE_COLUMNS = ["distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg",
                 "azimuth_sigma_deg"]
AMP_COLUMNS = ["event_id", "network", "station", "location", "channel", "amp_p", "amp_s",
               "noise_p", "noise_s", "source"]
STATION_COLUMNS = ["network", "station", "location", "channel", "latitude", "longitude",
                   "elevation"]
STATCOR_COLUMNS = ["network", "station", "location", "channel", "sta_correction"]
REVERSAL_COLUMNS = ["network", "station", "start", "end"]

POLARITY_CODES = {"U": 1, "u": 1, "+": 1, "D": -1, "d": -1, "-": -1}


def fortran_number(text: str, decimals: int = 0) -> float:
    """A Fortran ``F``/``I`` field: blanks ignored, implied ``decimals`` without a point, blank 0.

    >>> fortran_number(" 1813", 2), fortran_number("18.13", 2), fortran_number("   ")
    (18.13, 18.13, 0.0)
    """
    compact = text.replace(" ", "")
    if not compact:
        return 0.0
    value = float(compact)
    if "." not in compact and "e" not in compact.lower() and decimals:
        value /= 10 ** decimals
    return value


def _field(line: str, first: int, last: int) -> str:
    """Columns ``first``..``last`` (1-based, inclusive) of a fixed-width line, blank-padded."""
    return line[first - 1:last].ljust(last - first + 1)


def _iso(year: int, month: int, day: int, hour: int, minute: int, second: float) -> str:
    # HASH files may carry 60.00 s; timedelta arithmetic carries it into the minute.
    base = datetime(year, month, day, hour, minute)
    return (base + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_event(year: int, month: int, day: int, hour: int, minute: int, second: float,
                 lat_minutes: float, lon_minutes: float, depth: float) -> None:
    """ValueError naming the first field of an event line that cannot be what it claims."""
    for name, value, low, high in (("year", year, 1800, 2200), ("month", month, 1, 12),
                                   ("day", day, 1, 31), ("hour", hour, 0, 23),
                                   ("minute", minute, 0, 59), ("seconds", second, 0, 61),
                                   ("latitude minutes", lat_minutes, 0, 60),
                                   ("longitude minutes", lon_minutes, 0, 60),
                                   ("depth", depth, -10, 800)):
        if not low <= value <= high:
            raise ValueError(f"{name} {value:g} is not between {low} and {high}")


def _event_problem(path, number: int, exc: Exception, first: bool, what: str) -> str:
    """The problem text of a bad event line; the first event line of a file must parse (a file
    of another format, e.g. another driver's, stops here)."""
    if first:
        raise InputError(path, f"not a {what}: the first event line does not fit it ({exc})",
                         line=number)
    return f"{path}, line {number}: bad event line ({exc}); event skipped"


def _event_row(event_id: str, time: str, lat: float, lon: float, depth: float, seh: float,
               sez: float, mag: float) -> dict:
    return {"event_id": event_id, "time": time, "latitude": lat, "longitude": lon, "depth": depth,
            "horz_uncert_km": seh, "vert_uncert_km": sez, "mag": mag}


def _read_lines(path: Path | str) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(path, "binary file, not text")
    return raw.decode("latin-1").splitlines()


def _degrees_minutes(deg: str, hemisphere: str, minutes: str, negative: str, decimals: int,
                     west_default: bool = False) -> float:
    value = fortran_number(deg) + fortran_number(minutes, decimals) / 60.0
    if west_default:  # longitudes in these files are west unless flagged 'E'
        return value if hemisphere.upper() == "E" else -value
    return -value if hemisphere.upper() == negative else value


def read_phase_driver1(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read a ``north1.phase`` file (HASH driver 1: angles given).

    Event line ``(5i2,f4.2,i2,a1,f4.2,i3,a1,f4.2,f5.2,f2.1,44x,2f4.2,34x,a16)``; observation lines
    ``(a4,2x,a1,i1,50x,f4.1,i3,10x,i3,1x,i3,1x,i3)`` = station, polarity, quality (0 impulsive),
    distance km, FPFIT take-off (measured from down; converted to 180 - value), azimuth,
    take-off sigma, azimuth sigma; the component, when present, in columns 96-98. A line with a
    blank station ends the event. Lines with other polarity characters are skipped (HASH does).

    Returns ``(events, observations, problems)``: events in the events.csv columns;
    observations with :data:`POLARITY_COLUMNS` + :data:`ANGLE_COLUMNS`; problems are
    "file, line N: reason" strings for skipped malformed lines (a bad event line skips the
    whole event).
    """
    lines = _read_lines(path)
    events, observations, problems = [], [], []
    current: Optional[str] = None
    skipping = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if current is None and not skipping:
            try:
                year, month, day, hour, minute = (int(fortran_number(_field(line, c, c + 1)))
                                                  for c in range(1, 11, 2))
                year += 2000 if year < 50 else 1900  # 2-digit years as HASH's driver 1
                second = fortran_number(_field(line, 11, 14), 2)
                lat = _degrees_minutes(_field(line, 15, 16), _field(line, 17, 17),
                                       _field(line, 18, 21), "S", 2)
                lon = _degrees_minutes(_field(line, 22, 24), _field(line, 25, 25),
                                       _field(line, 26, 29), "", 2, west_default=True)
                depth = fortran_number(_field(line, 30, 34), 2)
                mag = fortran_number(_field(line, 35, 36), 1)
                seh = fortran_number(_field(line, 81, 84), 2)
                sez = fortran_number(_field(line, 85, 88), 2)
                event_id = _field(line, 123, 138).strip()
                if not event_id:
                    raise ValueError("no event id in columns 123-138")
                _check_event(year, month, day, hour, minute, second,
                             fortran_number(_field(line, 18, 21), 2),
                             fortran_number(_field(line, 26, 29), 2), depth)
                time = _iso(year, month, day, hour, minute, second)
            except ValueError as exc:
                problems.append(_event_problem(path, number, exc, not events and not problems,
                                               "HASH driver-1 phase file (north1.phase)"))
                skipping = True
                continue
            events.append(_event_row(event_id, time, lat, lon, depth, seh, sez, mag))
            current = event_id
            continue
        station = _field(line, 1, 4).strip()
        if not station:  # the terminator line ends the event (it repeats the id)
            current, skipping = None, False
            continue
        if skipping:
            continue
        polarity = POLARITY_CODES.get(_field(line, 7, 7))
        if polarity is None:
            continue
        try:
            quality = int(fortran_number(_field(line, 8, 8)))
            distance = fortran_number(_field(line, 59, 62), 1)
            takeoff_fpfit = fortran_number(_field(line, 63, 65))
            azimuth = fortran_number(_field(line, 76, 78))
            sigma_takeoff = fortran_number(_field(line, 80, 82))
            sigma_azimuth = fortran_number(_field(line, 84, 86))
        except ValueError as exc:
            problems.append(f"{path}, line {number}: bad observation line ({exc}); skipped")
            continue
        observations.append({
            "event_id": current, "network": "", "station": station, "location": "",
            "channel": _field(line, 96, 98).strip(), "p_polarity": polarity,
            "impulsive": quality == 0, "source": f"{Path(path).name}:{number}",
            "distance_km": distance, "takeoff_deg": 180.0 - takeoff_fpfit, "azimuth_deg": azimuth,
            "takeoff_sigma_deg": sigma_takeoff, "azimuth_sigma_deg": sigma_azimuth})
    return (pd.DataFrame(events, columns=EVENT_COLUMNS),
            pd.DataFrame(observations, columns=POLARITY_COLUMNS + ANGLE_COLUMNS), problems)


def read_phase_driver2(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read a ``north2.phase`` file (HASH drivers 2 and 3: station locations, no angles).

    Event line: year (1-4), month/day/hour/minute (5-12, 4i2), seconds (13-17, f5.2), latitude
    degrees (18-19), 'S' (20), minutes (21-25, f5.2), longitude degrees (26-28), 'E' (29),
    minutes (30-34, f5.2), depth km (35-39, f5.2), horizontal and vertical uncertainty km
    (89-93, 95-99), magnitude (140-143, f4.2), event id (150-165). Polarity lines: station
    (1-4), network (6-7), component (10-12), onset I/E (14), polarity U/D/+/- (16). A line with
    a blank station ends the event. Returns ``(events, observations, problems)`` like
    :func:`read_phase_driver1`, without the angle columns.
    """
    lines = _read_lines(path)
    events, observations, problems = [], [], []
    current: Optional[str] = None
    skipping = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if current is None and not skipping:
            try:
                year = int(fortran_number(_field(line, 1, 4)))
                month, day, hour, minute = (int(fortran_number(_field(line, c, c + 1)))
                                            for c in range(5, 13, 2))
                second = fortran_number(_field(line, 13, 17), 2)
                lat = _degrees_minutes(_field(line, 18, 19), _field(line, 20, 20),
                                       _field(line, 21, 25), "S", 2)
                lon = _degrees_minutes(_field(line, 26, 28), _field(line, 29, 29),
                                       _field(line, 30, 34), "", 2, west_default=True)
                depth = fortran_number(_field(line, 35, 39), 2)
                seh = fortran_number(_field(line, 89, 93), 2)
                sez = fortran_number(_field(line, 95, 99), 2)
                mag = fortran_number(_field(line, 140, 143), 2)
                event_id = _field(line, 150, 165).strip()
                if not event_id:
                    raise ValueError("no event id in columns 150-165")
                _check_event(year, month, day, hour, minute, second,
                             fortran_number(_field(line, 21, 25), 2),
                             fortran_number(_field(line, 30, 34), 2), depth)
                time = _iso(year, month, day, hour, minute, second)
            except ValueError as exc:
                problems.append(_event_problem(path, number, exc, not events and not problems,
                                               "HASH driver-2/3 phase file (north2.phase)"))
                skipping = True
                continue
            events.append(_event_row(event_id, time, lat, lon, depth, seh, sez, mag))
            current = event_id
            continue
        station = _field(line, 1, 4).strip()
        if not station:
            current, skipping = None, False
            continue
        if skipping:
            continue
        observations += _polarity_rows(path, number, line, current, station)
    return (pd.DataFrame(events, columns=EVENT_COLUMNS),
            pd.DataFrame(observations, columns=POLARITY_COLUMNS), problems)


def _polarity_rows(path, number: int, line: str, event_id: str, station: str) -> list[dict]:
    """The observation of a driver-2/4 phase line (network 6-7, component 10-12, onset 14,
    polarity 16); none where the polarity is not U/D/+/-."""
    polarity = POLARITY_CODES.get(_field(line, 16, 16))
    if polarity is None:
        return []
    return [{"event_id": event_id, "network": _field(line, 6, 7).strip(), "station": station,
             "location": "", "channel": _field(line, 10, 12).strip(), "p_polarity": polarity,
             "impulsive": _field(line, 14, 14).upper() == "I",
             "source": f"{Path(path).name}:{number}"}]


def read_phase_driver4(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read an SCEDC phase file as HASH's driver 4 does (``north4.phase``).

    Event line ``(i4,4i2,f4.2,i2,a1,f4.2,i3,a1,f4.2,f5.2,94x,a16,1x,f3.2)``: 8-digit date and
    hour/minute (1-12), seconds (13-16), latitude degrees, 'S', minutes (17-23), longitude
    degrees, 'E', minutes (24-31), depth km (32-36), event id (131-146), magnitude (148-150).
    Phase lines ``(a5,a2,2x,a3,1x,a1,a1,a1,31x,a1)``: station (1-5, five characters), network
    (6-7), component (10-12), onset I/E (14), 'P' (15), polarity U/D/+/- (16), 'S' (48); the
    first line that is neither a P nor an S line starts the next event (no terminator line).
    Driver 4 gives no location uncertainties: the vertical one is HASH's 1 km. Returns
    ``(events, observations, problems)`` like :func:`read_phase_driver2`.
    """
    lines = _read_lines(path)
    events, observations, problems = [], [], []
    current: Optional[str] = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if current is not None and (_field(line, 15, 15) == "P" or _field(line, 48, 48) == "S"):
            station = _field(line, 1, 5).strip()
            if station:
                observations += _polarity_rows(path, number, line, current, station)
            continue
        try:
            year = int(fortran_number(_field(line, 1, 4)))
            month, day, hour, minute = (int(fortran_number(_field(line, c, c + 1)))
                                        for c in range(5, 13, 2))
            second = fortran_number(_field(line, 13, 16), 2)
            lat = _degrees_minutes(_field(line, 17, 18), _field(line, 19, 19),
                                   _field(line, 20, 23), "S", 2)
            lon = _degrees_minutes(_field(line, 24, 26), _field(line, 27, 27),
                                   _field(line, 28, 31), "", 2, west_default=True)
            depth = fortran_number(_field(line, 32, 36), 2)
            mag = fortran_number(_field(line, 148, 150), 2)
            event_id = _field(line, 131, 146).strip()
            if not event_id:
                raise ValueError("no event id in columns 131-146")
            _check_event(year, month, day, hour, minute, second,
                         fortran_number(_field(line, 20, 23), 2),
                         fortran_number(_field(line, 28, 31), 2), depth)
            time = _iso(year, month, day, hour, minute, second)
        except ValueError as exc:
            problems.append(_event_problem(path, number, exc, not events and not problems,
                                           "HASH driver-4 phase file (north4.phase)"))
            current = "\0skipped"  # its phase lines are skipped too
            continue
        events.append(_event_row(event_id, time, lat, lon, depth, 0.0, 1.0, mag))
        current = event_id
    observations = [o for o in observations if o["event_id"] != "\0skipped"]
    return (pd.DataFrame(events, columns=EVENT_COLUMNS),
            pd.DataFrame(observations, columns=POLARITY_COLUMNS), problems)


def read_simulps(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read the take-off angles of a SIMULPS/SIMUL2000 ray file as HASH's driver 5 does.

    Two header lines; per event two lines, the event line
    ``(1x,3i2,1x,2i2,1x,f5.2,1x,i2,a1,f5.2,1x,i3,a1,f5.2,1x,f6.2,3x,f4.2,i3,1x,a8,f5.2)``
    (yymmdd, hhmm, seconds, latitude degrees/minutes (north), longitude degrees/minutes (west),
    depth km, magnitude, number of readings, event id (8 characters), rms), two more lines,
    then station lines ``(1x,a4,1x,f5.1,i4,i4,46x,f4.0,f4.0)`` (station, distance km, azimuth,
    take-off angle measured from down, azimuth and take-off sigmas, 0 read as 0.5) until a
    blank station. Returns ``(events, rays, problems)``: rays with ``station``, ``distance_km``,
    ``azimuth_deg``, ``takeoff_deg`` (from up) and their sigmas, in file order.
    """
    lines = _read_lines(path)
    events, rays, problems = [], [], []
    number = 2  # two header lines
    while number + 2 < len(lines):
        number += 2  # two lines before each event line
        line = lines[number]
        number += 1
        if not line.strip():
            break
        try:
            yy, mm, dd = (int(fortran_number(_field(line, c, c + 1))) for c in (2, 4, 6))
            hour, minute = (int(fortran_number(_field(line, c, c + 1))) for c in (9, 11))
            second = fortran_number(_field(line, 14, 18), 2)
            lat = fortran_number(_field(line, 20, 21)) + fortran_number(_field(line, 23, 27), 2) / 60.0
            lon = -(fortran_number(_field(line, 29, 31)) + fortran_number(_field(line, 33, 37), 2) / 60.0)
            depth = fortran_number(_field(line, 39, 44), 2)
            mag = fortran_number(_field(line, 48, 51), 2)
            event_id = _field(line, 56, 63).strip()
            if not event_id:
                raise ValueError("no event id in columns 56-63")
            year = yy + (2000 if yy < 50 else 1900)
            _check_event(year, mm, dd, hour, minute, second,
                         fortran_number(_field(line, 23, 27), 2),
                         fortran_number(_field(line, 33, 37), 2), depth)
            time = _iso(year, mm, dd, hour, minute, second)
        except ValueError as exc:
            if not events:
                raise InputError(path, "not a SIMULPS ray file (HASH driver 5): the first event "
                                 f"line does not fit it ({exc})", line=number) from None
            raise InputError(path, f"bad event line ({exc})", line=number) from None
        events.append(_event_row(event_id, time, lat, lon, depth, 0.0, 0.0, mag))
        number += 2
        while number < len(lines):
            line = lines[number]
            number += 1
            station = _field(line, 2, 5).strip()
            if not station:
                break
            try:
                distance = fortran_number(_field(line, 7, 11), 1)
                azimuth = fortran_number(_field(line, 12, 15))
                takeoff = fortran_number(_field(line, 16, 19))
                sigma_azimuth = fortran_number(_field(line, 66, 69)) or 0.5
                sigma_takeoff = fortran_number(_field(line, 70, 73)) or 0.5
            except ValueError as exc:
                raise InputError(path, f"bad station line ({exc})", line=number) from None
            rays.append({"event_id": event_id, "station": station, "distance_km": distance,
                         "azimuth_deg": azimuth, "takeoff_deg": 180.0 - takeoff,
                         "azimuth_sigma_deg": sigma_azimuth, "takeoff_sigma_deg": sigma_takeoff,
                         "source": f"{Path(path).name}:{number}"})
    return (pd.DataFrame(events, columns=EVENT_COLUMNS),
            pd.DataFrame(rays, columns=["event_id", "station", "distance_km", "azimuth_deg",
                                        "takeoff_deg", "azimuth_sigma_deg", "takeoff_sigma_deg",
                                        "source"]), problems)


def read_driver5_polarities(path: Path | str, event_ids) -> pd.DataFrame:
    """Driver 5's polarity file (the ``north2.phase`` layout) read as driver 5 reads it: per
    event (matched on the last 8 characters of the id, columns 158-165) the magnitude (140-143)
    and polarity lines ``(a4,11x,a1,i1)`` = station, polarity (16), quality 0/1 (17; blank 0,
    above 1 not used) until a blank station; the first block of each event counts."""
    wanted = {str(e)[-8:].strip(): str(e) for e in event_ids}
    lines = _read_lines(path)
    rows, seen, number = [], set(), 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.strip():
            continue
        key = _field(line, 158, 165).strip()
        event_id = wanted.get(key) if key not in seen else None
        seen.add(key)
        mag = fortran_number(_field(line, 140, 143), 2) if event_id else 0.0
        while number < len(lines):
            line = lines[number]
            number += 1
            station = _field(line, 1, 4).strip()
            if not station:
                break
            if event_id is None:
                continue
            polarity = POLARITY_CODES.get(_field(line, 16, 16))
            try:
                quality = int(fortran_number(_field(line, 17, 17)))
            except ValueError:
                raise InputError(path, f"quality {_field(line, 17, 17)!r} in column 17 is not a "
                                 "digit", line=number) from None
            if polarity is None or quality > 1:
                continue
            rows.append({"event_id": event_id, "station": station, "p_polarity": polarity,
                         "impulsive": quality == 0, "mag": mag,
                         "source": f"{Path(path).name}:{number}"})
    return pd.DataFrame(rows, columns=["event_id", "station", "p_polarity", "impulsive", "mag",
                                       "source"])


def read_amp_file(path: Path | str) -> tuple[pd.DataFrame, list[str]]:
    """Read a ``north3.amp`` file: per event a free-format line ``event_id nobs``, then ``nobs``
    lines ``(a4,1x,a3,1x,a2,17x,4(f10.3,1x))`` = station, component, network, noise before P,
    noise before S, P amplitude (signed), S amplitude (the order HASH's code uses; the manual's
    column list differs). Returns ``(amplitudes, problems)`` with :data:`AMP_COLUMNS`.
    """
    lines = _read_lines(path)
    rows, problems = [], []
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.strip():
            continue
        parts = line.split()
        try:
            event_id, count = parts[0], int(parts[1])
        except (IndexError, ValueError):
            problems.append(f"{path}, line {number}: expected 'event_id number_of_lines', "
                            f"got {line.strip()!r}")
            continue
        for _ in range(count):
            if number >= len(lines):
                problems.append(f"{path}, line {number}: event {event_id} announces {count} "
                                "lines but the file ends")
                break
            line = lines[number]
            number += 1
            try:
                noise_p, noise_s, amp_p, amp_s = (fortran_number(_field(line, c, c + 9), 3)
                                                  for c in (29, 40, 51, 62))
            except ValueError as exc:
                problems.append(f"{path}, line {number}: bad amplitude line ({exc}); skipped")
                continue
            rows.append({"event_id": event_id, "network": _field(line, 10, 11).strip(),
                         "station": _field(line, 1, 4).strip(), "location": "",
                         "channel": _field(line, 6, 8).strip(), "amp_p": amp_p, "amp_s": amp_s,
                         "noise_p": noise_p, "noise_s": noise_s,
                         "source": f"{Path(path).name}:{number}"})
    return pd.DataFrame(rows, columns=AMP_COLUMNS), problems


def read_statcor(path: Path | str) -> pd.DataFrame:
    """Read a HASH station-correction file ``(a4,2x,a3,a2,1x,f7.4)``: station, component,
    network, log10(S/P) correction; read as whitespace-separated ``STA COMP [NET] value`` so
    hand-made variants load too. HASH matches corrections on station and component only (see
    :func:`hash_component_key`)."""
    rows = []
    for number, line in enumerate(_read_lines(path), 1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            if len(tokens) not in (3, 4):
                raise ValueError
            correction = float(tokens[-1])
        except ValueError:
            raise InputError(path, f"expected 'STA COMP NET correction', got {line.strip()!r}",
                             line=number) from None
        rows.append({"network": tokens[2] if len(tokens) == 4 else "", "station": tokens[0],
                     "location": "", "channel": tokens[1], "sta_correction": correction})
    return pd.DataFrame(rows, columns=STATCOR_COLUMNS)


def read_scsn_stations(path: Path | str) -> pd.DataFrame:
    """Read an SCSN station list ``(a4,1x,a3,33x,f9.5,1x,f10.5,1x,i5,23x,a2)``: station,
    component, latitude, longitude (degrees, signed), elevation (m), network; rows in file
    order (HASH binary-searches them: keep the file sorted by station). A line whose
    coordinates do not parse is an InputError naming it (HASH would stop there too)."""
    return _station_list(path, lambda line: (line[90:92], line[0:4], line[5:8], line[41:50],
                                             line[51:61], line[62:67]), 67,
                         "SCSN station list (scsn.stations: station in columns 1-4, latitude 42-50)")


def read_scsn_stations_5char(path: Path | str) -> pd.DataFrame:
    """Read the 5-character SCSN station list of HASH's driver 4 (``scsn.stations_5char``,
    ``(a2,2x,a5,1x,a3,37x,f9.5,1x,f10.5,1x,i5)``): network (1-2), station (5-9), component
    (11-13), latitude (51-59), longitude (61-70), elevation m (72-76); as
    :func:`read_scsn_stations`."""
    return _station_list(path, lambda line: (line[0:2], line[4:9], line[10:13], line[50:59],
                                             line[60:70], line[71:76]), 70,
                         "5-character SCSN station list (scsn.stations_5char: network in "
                         "columns 1-2, station 5-9, latitude 51-59)")


def _station_list(path, fields, min_length: int, what: str) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(_read_lines(path), 1):
        if not line.strip():
            continue
        network, station, component, lat, lon, elevation = fields(line.ljust(min_length))
        try:
            lat, lon = float(lat), float(lon)
            elevation = fortran_number(elevation)
            if not (-90 <= lat <= 90 and -360 <= lon <= 360) or not station.strip():
                raise ValueError(f"latitude {lat}, longitude {lon}")
        except ValueError as exc:
            raise InputError(path, f"not a {what}: {exc}", line=number) from None
        rows.append((network.strip(), station.strip(), "", component.strip(), lat, lon, elevation))
    return pd.DataFrame(rows, columns=STATION_COLUMNS)


class HashStationList:
    """A HASH station list searched as GETSTAT_TRI and GETSTAT_SCSN search it: a binary search
    on the station name over the rows in file order (the file must be sorted by name), then
    from the row found forward, then backward, for the first row of that name whose component
    matches on two characters (V and E alike) and whose network matches ('XX'/'XX' matches
    any). Which of several matching rows is used follows from where the search lands, as in
    HASH. ``network_matters`` False: the component alone (GET_COR's station corrections)."""

    def __init__(self, frame: pd.DataFrame, network_matters: bool = True):
        self.frame = frame.reset_index(drop=True)
        self.names = [str(n) for n in self.frame["station"]]
        self.components = [str(c)[:2] for c in self.frame["channel"]]
        self.networks = [str(n) for n in self.frame["network"]]
        self.network_matters = network_matters

    def _matches(self, i: int, name: str, component: str, network: str) -> bool:
        if self.names[i] != name:
            return False
        other = {"V": "E", "E": "V"}.get(component[:1], component[:1]) + component[1:2]
        if not self.network_matters:
            return self.components[i] in (component[:2], other)
        if component[:2] == "XX" and network == "XX":
            return True
        return self.components[i] in (component[:2], other) and self.networks[i] == network

    def find(self, station: str, component: str, network: str = "") -> Optional[int]:
        """Row index of the station HASH would use, or None (HASH: "station not found")."""
        name, component = str(station).strip(), str(component)
        low, high = 0, len(self.names) - 1
        for _ in range(30):
            if low > high or high < 0:
                return None
            i = (low + high) // 2
            if self.names[i] == name:
                break
            if low == high:
                return None
            if name < self.names[i]:
                high = i - 1
            else:
                low = i + 1
        else:
            return None
        network = str(network)
        j = i
        while j < len(self.names) and self.names[j] == name:  # forward from the row found
            if self._matches(j, name, component, network):
                return j
            j += 1
        j = i - 1
        while j >= 0 and self.names[j] == name:  # then backward
            if self._matches(j, name, component, network):
                return j
            j -= 1
        return None


def read_scsn_reverse(path: Path | str) -> pd.DataFrame:
    """Read an FPFIT/HASH reversal list ``(a4,1x,i8,1x,i8)`` (driver 4: ``(a5,i8,1x,i8)``, the
    same columns): station, first and last day (yyyymmdd, 0 = open). Returns the reversals
    table (network blank = any; start at 00:00 of the first day, end at the end of the last
    day; blank when open)."""
    rows = []
    for number, line in enumerate(_read_lines(path), 1):
        if not line.strip():
            continue
        try:
            first = int(fortran_number(_field(line, 6, 13)))
            last = int(fortran_number(_field(line, 15, 22)))
            start = datetime.strptime(str(first), "%Y%m%d") if first else None
            end = (datetime.strptime(str(last), "%Y%m%d") + timedelta(days=1, microseconds=-1)
                   if last else None)
        except ValueError:
            raise InputError(path, f"bad reversal line {line.strip()!r} (expected "
                             "'STA  yyyymmdd yyyymmdd')", line=number) from None
        rows.append({"network": "", "station": _field(line, 1, 5).strip(),
                     "start": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if start else "",
                     "end": end.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if end else ""})
    return pd.DataFrame(rows, columns=REVERSAL_COLUMNS)


def hash_component_key(channel: str) -> str:
    """The part of a component code HASH matches on: its first two characters, V read as E
    (``VHZ`` and ``EHZ`` are the same short-period sensor)."""
    code = (channel or "")[:2].upper()
    return "E" + code[1:] if code.startswith("V") else code


@dataclass
class HashControl:
    """A HASH v1.2 control file (``exampleN.inp``): its input/output files and the
    :class:`~hash_core.params.HashParams` it sets.

    Paths are as written in the file, resolved against ``base_dir`` (HASH opens them relative
    to the folder it runs in)."""

    driver: int
    phase_file: Path
    reversal_file: Optional[Path]
    out_file: Path
    params: HashParams
    out_file2: Optional[Path] = None
    station_file: Optional[Path] = None
    statcor_file: Optional[Path] = None
    amp_file: Optional[Path] = None
    simulps_file: Optional[Path] = None
    velocity_models: list[Path] = field(default_factory=list)


_POLARITY_ONLY = ["npolmin", "max_agap_deg", "max_pgap_deg", "dang_deg", "nmc", "maxout",
                  "badfrac", "delmax_km", "cangle_deg", "prob_max"]
# The order in which each driver reads its control file (hash_driverN.f), by HashParams name.
_DRIVER_FIELDS = {
    1: ["reversal_file", "phase_file", "out_file", "out_file2", *_POLARITY_ONLY],
    2: ["station_file", "reversal_file", "phase_file", "out_file", "out_file2", *_POLARITY_ONLY,
        "nmodels"],
    3: ["station_file", "reversal_file", "statcor_file", "amp_file", "phase_file", "out_file",
        "npolmin", "dang_deg", "nmc", "maxout", "ratmin", "badfrac", "qbadfac", "delmax_km",
        "cangle_deg", "prob_max", "nmodels"],
    4: ["station_file", "reversal_file", "phase_file", "out_file", "out_file2", *_POLARITY_ONLY,
        "nmodels"],
    5: ["reversal_file", "simulps_file", "phase_file", "out_file", "out_file2", *_POLARITY_ONLY],
}
_OUTPUT_FIELDS = {"out_file", "out_file2"}
_PATH_FIELDS = {"reversal_file", "phase_file", "station_file", "statcor_file", "amp_file",
                "simulps_file"} | _OUTPUT_FIELDS
_INT_FIELDS = {"npolmin", "nmc", "maxout", "nmodels"}
_ALL_DRIVERS = {"misfit_weights": "hash_v12", "table_edges": "hash_v12", "honest_quality": False,
                "gap_skips_search": True}
#: What a HASH control file does not say, HASH v1.2 does: its own misfit weights (which
#: reproduce its quality letters), its take-off table edges (999 degree angles) and letters;
#: in driver 3, the polarity + S/P search for every event with grades on probability and
#: uncertainty only (no gap limits), and no distance limit (driver 3 reads delmax but never
#: uses it).
_DRIVER_BEHAVIOUR = {1: _ALL_DRIVERS, 2: _ALL_DRIVERS, 4: _ALL_DRIVERS, 5: _ALL_DRIVERS,
                     3: {**_ALL_DRIVERS, "always_sp": True, "max_agap_deg": 360.0,
                         "max_pgap_deg": 90.0, "delmax_km": float("inf")}}
DRIVERS = tuple(_DRIVER_FIELDS)


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None


def read_hash_inp(path: Path | str, driver: int, base_dir: Path | str | None = None) -> HashControl:
    """Read the control file of HASH driver ``driver`` (1 to 5), one value per line in the
    order that driver asks for them; then, for drivers 2 to 4, the number of velocity models
    and one model file per line. Relative paths are resolved against ``base_dir`` (default the
    current folder, as HASH does).

    The file must fit the driver: a number where a file name belongs, a name where a number
    belongs, an input file that does not exist, an output that names an input, or lines left
    over after the last value the driver reads are InputErrors naming the line (a control file
    of another driver stops here, before anything is read or written); so is a value outside
    its allowed range."""
    if driver not in _DRIVER_FIELDS:
        raise InputError(path, f"driver must be one of {', '.join(map(str, DRIVERS))}, not {driver}")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    lines = [(n, line.strip()) for n, line in enumerate(_read_lines(path), 1) if line.strip()]
    names = _DRIVER_FIELDS[driver]
    hint = f"is this a control file for driver {driver}?"
    if len(lines) < len(names):
        raise InputError(path, f"driver {driver} control file needs {len(names)} lines "
                         f"({', '.join(names)}); found {len(lines)}: {hint}")
    files: dict = {}
    values: dict = {}
    line_of: dict = {}
    for (number, text), name in zip(lines, names):
        token = text.split()[0]
        if name in _PATH_FIELDS:
            if _number(token) is not None:
                raise InputError(path, f"expected a file name ({name}), got the number {token}: "
                                 f"{hint}", line=number)
            files[name] = base / token
            line_of[name] = number
            continue
        value = _number(token)
        if value is None or (name in _INT_FIELDS and value != int(value)):
            raise InputError(path, f"{name} should be {'an integer' if name in _INT_FIELDS else 'a number'}"
                             f", got {token!r}: {hint}", line=number)
        values[name] = int(value) if name in _INT_FIELDS else value
        line_of[name] = number
    used = len(names)
    nmodels = values.pop("nmodels", 0)
    if "nmodels" in names and not 1 <= nmodels <= 10:
        raise InputError(path, f"number of velocity models {nmodels} is not between 1 and 10",
                         line=line_of["nmodels"])
    models = lines[used:used + nmodels]
    if len(models) < nmodels:
        raise InputError(path, f"announces {nmodels} velocity models but lists {len(models)}")
    files["velocity_models"] = [base / text.split()[0] for _, text in models]
    used += nmodels
    if len(lines) > used:
        number, text = lines[used]
        raise InputError(path, f"driver {driver} reads {used} values but the file goes on "
                         f"({text!r}): {hint}", line=number)
    try:
        params = HashParams(**{**values, **_DRIVER_BEHAVIOUR[driver]})
    except ValueError as exc:
        name = str(exc).split()[0]
        raise InputError(path, str(exc), line=line_of.get(name)) from None
    inputs = {name: p for name, p in files.items() if name in _PATH_FIELDS - _OUTPUT_FIELDS}
    for name, where in inputs.items():
        if not where.is_file():
            raise InputError(path, f"{name} {where} not found", line=line_of[name])
    for (_, model_text), model in zip(models, files["velocity_models"]):
        if not model.is_file():
            raise InputError(path, f"velocity model {model} not found",
                             line=next(n for n, t in models if t == model_text))
    for name in _OUTPUT_FIELDS & set(files):
        clash = [n for n, p in inputs.items() if p.resolve() == files[name].resolve()]
        if clash:
            raise InputError(path, f"{name} {files[name]} is also the {clash[0]}: {hint}",
                             line=line_of[name])
    return HashControl(driver=driver, params=params, **files)


def format_out_line(event: dict, mechanism: dict, with_sp: bool = False) -> str:
    """One line of HASH's preferred-mechanism file (``example1.out`` layout) from an events
    row and an unrounded mechanisms row; integers as HASH's nint writes them (halves away from
    zero), quality letter and ``*`` when the event has multiple solutions."""
    from hash_core.fortran import nint

    time = datetime.strptime(str(event["time"])[:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    second = time.second + time.microsecond / 1e6
    line = (f"{str(event['event_id']):>16s} {time.year:4d} {time.month:2d} {time.day:2d} "
            f"{time.hour:2d} {time.minute:2d} {second:6.3f} L {float(event['mag']):5.3f} X "
            f"{float(event['latitude']):9.5f} {float(event['longitude']):10.5f} "
            f"{float(event['depth']):7.3f} X {-9.0:7.3f} {float(event['horz_uncert_km']):7.3f} "
            f"{float(event['vert_uncert_km']):7.3f} {-9.0:7.3f}   {-18:4d} {-9:4d} {-9:4d} ")
    line += (f"{nint(mechanism['strike']):4d} {nint(mechanism['dip']):3d} "
             f"{nint(mechanism['rake']):4d}   "
             f"{nint(mechanism['fault_plane_uncertainty']):2d} "
             f"{nint(mechanism['aux_plane_uncertainty']):2d} "
             f"{int(mechanism['num_p_pol']):3d} {nint(mechanism['polarity_misfit']):2d} "
             f"{mechanism['quality']} {nint(mechanism['prob_mech']):3d} "
             f"{nint(mechanism['sta_distribution_ratio']):2d} ")
    if with_sp:
        line += (f"{int(mechanism['num_sp_ratios']):3d} "
                 f"{nint(100 * mechanism['sp_misfit']):3d} ")
    return line + ("*" if str(mechanism["mult_solution_flag"]) == "True" else " ")
