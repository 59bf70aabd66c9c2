"""P and S windows cut around picks (stage 3).

:func:`cut_event` cuts one event's windows from its SAC folder (``sac/<event_id>/``, stage 2)
into ``cut/<event_id>/NET.STA.LOC.CHA.{P,S}.sac``, on every component of the instrument that
carries the station's pick: a P window only around a real P pick (the station's best-weighted
one), an S window around the best S pick or, where the station has none, around the time
predicted from the P travel time (:func:`predicted_s_time`, marked ``kuser0 = 'predS'``).
:func:`cut_window` cuts one window on the trace's own sample grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from obspy import UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.errors import FocalflowError
from focalflow.formats.common import iso_time, parse_time
from focalflow.workdir import atomic_path


class WindowOutside(FocalflowError):
    """A window around a pick that the waveform does not cover; the message says by how much."""


def cut_window(sac: SACTrace, pick_time: UTCDateTime, before_s: float, after_s: float,
               phase: str, predicted: bool = False) -> SACTrace:
    """A copy of ``sac`` holding ``before_s`` before to ``after_s`` after ``pick_time``.

    The window starts on the trace's own sample grid and always has
    ``round((before_s + after_s) / delta) + 1`` samples. Every header is kept; ``a``/``ka`` are
    set to the pick (seconds after the reference time) and its phase, and a predicted pick is
    marked ``kuser0 = 'predS'``. Raises :class:`WindowOutside` when the trace does not cover the
    whole window.
    """
    start = sac.reftime + sac.b
    first = int(round((pick_time - before_s - start) / sac.delta))
    count = int(round((before_s + after_s) / sac.delta)) + 1
    if first < 0 or first + count > sac.npts:
        end = start + (sac.npts - 1) * sac.delta
        where = "outside" if not start <= pick_time <= end else "too close to the edge of"
        raise WindowOutside(f"{phase} pick {iso_time(pick_time)} is {where} the waveform "
                            f"({iso_time(start)} - {iso_time(end)}) for a window of "
                            f"-{before_s:g} s to +{after_s:g} s")
    window = sac.copy()
    window.data = np.array(sac.data[first:first + count])
    window.b = sac.b + first * sac.delta
    window.a = float(pick_time - sac.reftime)
    window.ka = phase
    if predicted:
        window.kuser0 = "predS"
    return window


def predicted_s_time(origin: UTCDateTime, p_time: UTCDateTime, vp_vs: float) -> UTCDateTime:
    """S arrival predicted from the P travel time: origin + vp_vs * (P - origin)."""
    return origin + vp_vs * (p_time - origin)


@dataclass(frozen=True)
class Window:
    """One window to cut: phase, pick time, seconds before and after it, predicted or picked."""

    phase: str
    time: UTCDateTime
    before_s: float
    after_s: float
    predicted: bool = False


@dataclass
class EventWindows:
    """What :func:`cut_event` did: files written (names), problems (station, reason), counts."""

    written: list[str]
    failures: list[tuple[str, str]]
    p_windows: int = 0
    s_windows: int = 0
    s_predicted: int = 0


def cut_event(sac_dir: Path, cut_dir: Path, origin_time: str, picks: pd.DataFrame,
              phases, if_changed: bool = False) -> EventWindows:
    """Cut one event's windows (see the module docstring); window files of the event that this
    cut does not write (left by an earlier run) are deleted.

    ``origin_time`` is the event's ISO time, ``picks`` its picks.csv rows, ``phases`` the
    ``phases`` config section (window lengths in s, ``predict_s_from_p``, ``vp_vs``). With
    ``if_changed`` a window that comes out identical is left untouched, so stage 4 sees it
    unchanged (a new S window length does not redo the P windows' polarities).
    """
    result = EventWindows([], [])
    if not sac_dir.is_dir():
        result.failures.append(("", f"no SAC folder {sac_dir} (has stage 2 run?)"))
        return result
    files = sac_files_by_station(sac_dir)
    origin = parse_time(origin_time)
    by_station: dict[tuple[str, str], list[dict]] = {}
    for pick in picks.to_dict("records"):
        by_station.setdefault((pick["network"], pick["station"]), []).append(pick)
    for (network, station), station_picks in sorted(by_station.items()):
        name = f"{network}.{station}"
        timed = [pick for pick in station_picks if str(pick["time"]).strip()]
        if len(timed) < len(station_picks):
            result.failures.append((name, "pick without a time; no window cut for it"))
        p_pick, s_pick = best_pick(timed, "P"), best_pick(timed, "S")
        if p_pick is None and s_pick is None:
            continue
        instrument = choose_instrument(files.get((network, station), {}),
                                       p_pick if p_pick is not None else s_pick)
        if not instrument:
            result.failures.append((name, f"no SAC file in {sac_dir} for the station's picks"))
            continue
        windows = station_windows(p_pick, s_pick, origin, phases)
        problems: dict[str, str] = {}      # one failure row per station and reason
        for path in instrument:
            for problem in _cut_file(path, cut_dir, windows, result, if_changed):
                problems.setdefault(problem.split(":", 1)[-1], problem)
        result.failures += [(name, problem) for problem in problems.values()]
    for stale in cut_dir.glob("*.sac"):
        if stale.name not in result.written:
            stale.unlink()
    result.written.sort()
    return result


def station_windows(p_pick: dict | None, s_pick: dict | None, origin: UTCDateTime,
                    phases) -> list[Window]:
    """The P and S windows of one station's best picks."""
    windows = []
    if p_pick is not None:
        windows.append(Window("P", parse_time(p_pick["time"]), phases.p_before_s, phases.p_after_s))
    if s_pick is not None:
        windows.append(Window("S", parse_time(s_pick["time"]), phases.s_before_s, phases.s_after_s))
    elif p_pick is not None and phases.predict_s_from_p:
        s_time = predicted_s_time(origin, parse_time(p_pick["time"]), phases.vp_vs)
        windows.append(Window("S", s_time, phases.s_before_s, phases.s_after_s, predicted=True))
    return windows


def _cut_file(path: Path, cut_dir: Path, windows: list[Window], result: EventWindows,
              if_changed: bool) -> list[str]:
    """Cut ``windows`` from one SAC file into ``cut_dir``; return why any could not be cut."""
    try:
        sac = SACTrace.read(str(path))
    except Exception as exc:  # a garbage or truncated SAC file: skip the trace, go on
        return [f"{path.name}: not a readable SAC file ({type(exc).__name__}: {exc})"]
    problems = []
    for window in windows:
        try:
            cut = cut_window(sac, window.time, window.before_s, window.after_s, window.phase,
                             window.predicted)
        except WindowOutside as exc:
            what = "predicted S" if window.predicted else window.phase
            problems.append(f"{path.name}: no {what} window: {exc}")
            continue
        bad = np.count_nonzero(~np.isfinite(cut.data))
        if bad:  # SAC files from elsewhere than stage 2 may hold them
            problems.append(f"{path.name}: no {window.phase} window: {bad} sample(s) in it are "
                            "NaN or infinite")
            continue
        name = f"{path.stem}.{window.phase}.sac"
        cut_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(cut_dir / name, if_changed) as tmp:
            cut.write(str(tmp), byteorder="little")
        result.written.append(name)
        if window.phase == "P":
            result.p_windows += 1
        else:
            result.s_windows += 1
            result.s_predicted += window.predicted
    return problems


def sac_files_by_station(sac_dir: Path) -> dict[tuple[str, str], dict[tuple[str, str], list[Path]]]:
    """SAC files of an event: (network, station) -> (location, band+instrument) -> files."""
    files: dict = {}
    for path in sorted(sac_dir.glob("*.sac")):
        parts = path.stem.split(".")
        if len(parts) != 4:
            continue
        network, station, location, channel = parts
        files.setdefault((network, station), {}).setdefault((location, channel[:2]), []).append(path)
    return files


def choose_instrument(groups: dict[tuple[str, str], list[Path]], pick: dict) -> list[Path]:
    """The files of the instrument to cut: the pick's location and band if present, else the first."""
    if not groups:
        return []
    wanted = (str(pick["location"]), str(pick["channel"])[:2])
    if wanted in groups:
        return groups[wanted]
    same_location = [key for key in sorted(groups) if key[0] == wanted[0]]
    return groups[same_location[0] if same_location else sorted(groups)[0]]


def best_pick(picks: list[dict], phase: str) -> dict | None:
    """The station's pick of ``phase`` with the best (lowest) weight code, first in file order."""
    rows = [pick for pick in picks if pick["phase"] == phase]
    return min(rows, key=lambda pick: _weight(pick["weight"])) if rows else None


def _weight(value) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(weight) else weight
