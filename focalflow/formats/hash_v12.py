"""HASH v1.2 input files and control files, read the way HASH's example drivers read them.

Readers return plain pandas tables in the working-directory layout (see :mod:`focalflow.tables`)
so the three entry modes of stage 6 share one path:

* :func:`read_phase_driver1` — ``north1.phase`` (FPFIT-like, take-off angle and azimuth given);
* :func:`read_phase_driver2` — ``north2.phase`` (polarities with network and component);
* :func:`read_amp_file` — ``north3.amp`` (noise and amplitudes of P and S);
* :func:`read_statcor` — ``north3.statcor`` (log10 S/P station corrections);
* :func:`read_scsn_stations` — ``scsn.stations`` (station coordinates);
* :func:`read_scsn_reverse` — ``scsn.reverse`` (polarity-reversal periods, by day);
* :func:`read_hash_inp` — the control files of drivers 1, 2 and 3 (``example1.inp`` ...);
* :func:`format_out_line` — one line of HASH's preferred-mechanism output file.

Conventions: polarities are +1 (U, u, +) / -1 (D, d, -) *as recorded* (before the reversal
table); ``impulsive`` is True for HASH quality 0 / onset I; take-off angles in degrees from
vertical-up (0 up, 180 down; FPFIT's down-measured angle in ``north1.phase`` is converted);
azimuths in degrees clockwise from north; depths and distances in km; times ISO 8601 UTC.
Fixed-width numbers follow Fortran rules: blanks are ignored and a field without a decimal
point has the format's implied decimals. Only numpy/pandas are imported (no ObsPy), so the
``--hash-inp`` mode starts quickly.
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
                time = _iso(year, month, day, hour, minute, second)
            except ValueError as exc:
                problems.append(f"{path}, line {number}: bad event line ({exc}); event skipped")
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
                time = _iso(year, month, day, hour, minute, second)
            except ValueError as exc:
                problems.append(f"{path}, line {number}: bad event line ({exc}); event skipped")
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
        polarity = POLARITY_CODES.get(_field(line, 16, 16))
        if polarity is None:
            continue
        observations.append({
            "event_id": current, "network": _field(line, 6, 7).strip(), "station": station,
            "location": "", "channel": _field(line, 10, 12).strip(), "p_polarity": polarity,
            "impulsive": _field(line, 14, 14).upper() == "I",
            "source": f"{Path(path).name}:{number}"})
    return (pd.DataFrame(events, columns=EVENT_COLUMNS),
            pd.DataFrame(observations, columns=POLARITY_COLUMNS), problems)


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
    component, latitude, longitude (degrees, signed), elevation (m), network. Lines whose
    coordinates do not parse are skipped (the real file has a few free-text lines)."""
    rows = []
    for line in _read_lines(path):
        if len(line) < 67:
            continue
        try:
            lat = float(line[41:50])
            lon = float(line[51:61])
            elevation = fortran_number(line[62:67])
        except ValueError:
            continue
        rows.append((line[90:92].strip(), line[0:4].strip(), "", line[5:8].strip(), lat, lon,
                     elevation))
    return pd.DataFrame(rows, columns=STATION_COLUMNS)


def read_scsn_reverse(path: Path | str) -> pd.DataFrame:
    """Read an FPFIT/HASH reversal list ``(a4,1x,i8,1x,i8)``: station, first and last day
    (yyyymmdd, 0 = open). Returns the reversals table (network blank = any; start at 00:00 of
    the first day, end at the end of the last day; blank when open)."""
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
        rows.append({"network": "", "station": _field(line, 1, 4).strip(),
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
    velocity_models: list[Path] = field(default_factory=list)


# The order in which each driver reads its control file (hash_driverN.f), by HashParams name.
_DRIVER_FIELDS = {
    1: ["reversal_file", "phase_file", "out_file", "out_file2", "npolmin", "max_agap_deg",
        "max_pgap_deg", "dang_deg", "nmc", "maxout", "badfrac", "delmax_km", "cangle_deg",
        "prob_max"],
    2: ["station_file", "reversal_file", "phase_file", "out_file", "out_file2", "npolmin",
        "max_agap_deg", "max_pgap_deg", "dang_deg", "nmc", "maxout", "badfrac", "delmax_km",
        "cangle_deg", "prob_max", "nmodels"],
    3: ["station_file", "reversal_file", "statcor_file", "amp_file", "phase_file", "out_file",
        "npolmin", "dang_deg", "nmc", "maxout", "ratmin", "badfrac", "qbadfac", "delmax_km",
        "cangle_deg", "prob_max", "nmodels"],
}
_PATH_FIELDS = {"reversal_file", "phase_file", "out_file", "out_file2", "station_file",
                "statcor_file", "amp_file"}
_INT_FIELDS = {"npolmin", "nmc", "maxout", "nmodels"}
#: What a HASH control file does not say, HASH v1.2 does: its own misfit weights (which
#: reproduce its quality letters) and, in driver 3, the polarity + S/P search for every event
#: with grades on probability and uncertainty only (no gap limits).
_DRIVER_BEHAVIOUR = {1: {"misfit_weights": "hash_v12"}, 2: {"misfit_weights": "hash_v12"},
                     3: {"misfit_weights": "hash_v12", "always_sp": True,
                         "max_agap_deg": 360.0, "max_pgap_deg": 90.0}}


def read_hash_inp(path: Path | str, driver: int, base_dir: Path | str | None = None) -> HashControl:
    """Read the control file of HASH driver ``driver`` (1, 2 or 3), one value per line in the
    order that driver asks for them; then, for drivers 2 and 3, the number of velocity models
    and one model file per line. Relative paths are resolved against ``base_dir`` (default the
    current folder, as HASH does). A value outside its allowed range is an InputError naming
    the line."""
    if driver not in _DRIVER_FIELDS:
        raise InputError(path, f"driver must be 1, 2 or 3, not {driver}")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    lines = [(n, line.strip()) for n, line in enumerate(_read_lines(path), 1) if line.strip()]
    names = _DRIVER_FIELDS[driver]
    if len(lines) < len(names):
        raise InputError(path, f"driver {driver} control file needs {len(names)} lines "
                         f"({', '.join(names)}); found {len(lines)}")
    files: dict = {}
    values: dict = dict(_DRIVER_BEHAVIOUR[driver])
    line_of: dict = {}
    for (number, text), name in zip(lines, names):
        token = text.split()[0]
        if name in _PATH_FIELDS:
            files[name] = base / token
            continue
        try:
            values[name] = int(token) if name in _INT_FIELDS else float(token)
        except ValueError:
            raise InputError(path, f"{name} should be a number, got {token!r}",
                             line=number) from None
        line_of[name] = number
    nmodels = values.pop("nmodels", 0)
    models = lines[len(names):len(names) + nmodels]
    if len(models) < nmodels:
        raise InputError(path, f"announces {nmodels} velocity models but lists {len(models)}")
    files["velocity_models"] = [base / text.split()[0] for _, text in models]
    try:
        params = HashParams(**values)
    except ValueError as exc:
        name = str(exc).split()[0]
        raise InputError(path, str(exc), line=line_of.get(name)) from None
    return HashControl(driver=driver, params=params, **files)


def format_out_line(event: dict, mechanism: dict, with_sp: bool = False) -> str:
    """One line of HASH's preferred-mechanism file (``example1.out`` layout) from an events
    row and a mechanisms.csv row; integers as HASH writes them, quality letter and ``*`` when
    the event has multiple solutions."""
    time = datetime.strptime(str(event["time"])[:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    second = time.second + time.microsecond / 1e6
    line = (f"{str(event['event_id']):>16s} {time.year:4d} {time.month:2d} {time.day:2d} "
            f"{time.hour:2d} {time.minute:2d} {second:6.3f} L {float(event['mag']):5.3f} X "
            f"{float(event['latitude']):9.5f} {float(event['longitude']):10.5f} "
            f"{float(event['depth']):7.3f} X {-9.0:7.3f} {float(event['horz_uncert_km']):7.3f} "
            f"{float(event['vert_uncert_km']):7.3f} {-9.0:7.3f}   {-18:4d} {-9:4d} {-9:4d} ")
    line += (f"{int(round(mechanism['strike'])):4d} {int(round(mechanism['dip'])):3d} "
             f"{int(round(mechanism['rake'])):4d}   "
             f"{int(round(mechanism['fault_plane_uncertainty'])):2d} "
             f"{int(round(mechanism['aux_plane_uncertainty'])):2d} "
             f"{int(mechanism['num_p_pol']):3d} {int(round(mechanism['polarity_misfit'])):2d} "
             f"{mechanism['quality']} {int(round(mechanism['prob_mech'])):3d} "
             f"{int(round(mechanism['sta_distribution_ratio'])):2d} ")
    if with_sp:
        line += (f"{int(mechanism['num_sp_ratios']):3d} "
                 f"{int(round(100 * mechanism['sp_misfit'])):3d} ")
    return line + ("*" if str(mechanism["mult_solution_flag"]) == "True" else " ")
