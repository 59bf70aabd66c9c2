"""P and S windows cut around picks (stage 3).

:func:`cut_event` cuts one event's windows from its traces in the waveform store
(``store/traces/<event_id>.h5``, stage 2) into its windows file (``store/windows/<event_id>.h5``,
sets ``P`` and ``S``; :mod:`focalflow.waveforms.store`), on every component of the instrument
that carries the station's pick: a P window only around a real P pick (the station's
best-weighted one), an S window around the best S pick or, where the station has none, around
the time predicted from the P travel time (:func:`predicted_s_time`, marked ``predicted``).
Each window records whether the station's polarity is reversed at its pick (the reversal
table). :func:`cut_window` cuts one window on the trace's own sample grid. With
``sac.write_files`` the windows are also written as ``cut/<event_id>/NET.STA.LOC.CHA.{P,S}.sac``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from obspy import UTCDateTime

from focalflow.errors import FocalflowError, InputError
from focalflow.formats.common import iso_time, parse_time
from focalflow.formats.reversals import reversed_mask
from focalflow.formats.sac import sac_trace, write_sac_folder
from focalflow.waveforms.store import WindowSet, read_sets, write_sets


class WindowOutside(FocalflowError):
    """A window around a pick that the waveform does not cover; the message says by how much."""


def cut_window(samples: np.ndarray, rate_hz: float, start_s: float, pick_s: float,
               before_s: float, after_s: float, phase: str,
               origin: UTCDateTime | None = None) -> tuple[int, int]:
    """``(first sample, number of samples)`` of the window from ``before_s`` before to
    ``after_s`` after ``pick_s`` on a trace starting at ``start_s`` (seconds after the origin).

    The window starts on the trace's own sample grid and always has
    ``round((before_s + after_s) * rate_hz) + 1`` samples. Raises :class:`WindowOutside` when
    the trace does not cover the whole window (times in the message are absolute with
    ``origin``)."""
    first = int(round((pick_s - before_s - start_s) * rate_hz))
    count = int(round((before_s + after_s) * rate_hz)) + 1
    if first < 0 or first + count > len(samples):
        end_s = start_s + (len(samples) - 1) / rate_hz
        where = "outside" if not start_s <= pick_s <= end_s else "too close to the edge of"
        origin = origin or UTCDateTime(0)
        raise WindowOutside(f"{phase} pick {iso_time(origin + pick_s)} is {where} the waveform "
                            f"({iso_time(origin + start_s)} - {iso_time(origin + end_s)}) for a "
                            f"window of -{before_s:g} s to +{after_s:g} s")
    return first, count


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
    """What :func:`cut_event` did: files written, problems (station, reason), counts."""

    written: list[Path]
    failures: list[tuple[str, str]]
    p_windows: int = 0
    s_windows: int = 0
    s_predicted: int = 0


def cut_event(traces_file: Path, windows_file: Path, event: dict, picks: pd.DataFrame, phases,
              reversals: pd.DataFrame | None = None, sac_dir: Path | None = None,
              if_changed: bool = False) -> EventWindows:
    """Cut one event's windows (see the module docstring) into ``windows_file``.

    ``event`` is the event's events.csv row, ``picks`` its picks.csv rows, ``phases`` the
    ``phases`` config section (window lengths in s, ``predict_s_from_p``, ``vp_vs``),
    ``reversals`` the station reversal table. With ``if_changed`` a windows file that comes out
    identical is left untouched, so stage 4 sees it unchanged; and stage 4 redoes an event only
    when its P windows changed (a new S window length does not redo the P windows' polarities).
    """
    result = EventWindows([], [])
    try:
        traces = read_sets(traces_file, ["traces"]).get("traces")
    except InputError as exc:
        result.failures.append(("", str(exc)))
        return result
    if traces is None:
        result.failures.append(("", f"{traces_file}: no traces in the store file"))
        return result
    origin = parse_time(event["time"])
    groups = traces_by_station(traces)
    by_station: dict[tuple[str, str], list[dict]] = {}
    for pick in picks.to_dict("records"):
        by_station.setdefault((pick["network"], pick["station"]), []).append(pick)
    rows: dict[str, list] = {"P": [], "S": []}
    for (network, station), station_picks in sorted(by_station.items()):
        name = f"{network}.{station}"
        timed = [pick for pick in station_picks if str(pick["time"]).strip()]
        if len(timed) < len(station_picks):
            result.failures.append((name, "pick without a time; no window cut for it"))
        p_pick, s_pick = best_pick(timed, "P"), best_pick(timed, "S")
        if p_pick is None and s_pick is None:
            continue
        instrument = choose_instrument(groups.get((network, station), {}),
                                       p_pick if p_pick is not None else s_pick)
        if not instrument:
            result.failures.append((name, f"no trace in {traces_file} for the station's picks"))
            continue
        windows = station_windows(p_pick, s_pick, origin, phases)
        problems: dict[str, str] = {}      # one failure row per station and reason
        for i in instrument:
            for problem in _cut_trace(traces, i, origin, windows, rows):
                problems.setdefault(problem.split(":", 1)[-1], problem)
        result.failures += [(name, problem) for problem in problems.values()]
    sets = [_window_set(phase, traces, rows[phase], origin, reversals) for phase in ("P", "S")]
    attributes = {"event_id": str(event["event_id"]), "origin": str(event["time"]),
                  "latitude": float(event["latitude"]), "longitude": float(event["longitude"]),
                  "depth_km": float(event["depth"]),
                  "mag": float(pd.to_numeric(pd.Series([event.get("mag")]), errors="coerce")[0])}
    result.written.append(write_sets(windows_file, sets, attributes, if_changed))
    if sac_dir is not None:
        result.written += write_sac_folder(sac_dir, [
            (".".join(w.codes(i)) + f".{w.name}.sac", sac_trace(w.table[i], w.samples(i),
                                                                 attributes, w.name))
            for w in sets for i in range(len(w))], if_changed)
    result.p_windows, result.s_windows = len(sets[0]), len(sets[1])
    result.s_predicted = int(sets[1].table["predicted"].sum())
    return result


def _cut_trace(traces: WindowSet, i: int, origin: UTCDateTime, windows: list[Window],
               rows: dict[str, list]) -> list[str]:
    """Cut ``windows`` from trace ``i``, adding (trace, first, count, window) to ``rows``;
    return why any could not be cut."""
    row = traces.table[i]
    label = ".".join(traces.codes(i))
    problems = []
    for window in windows:
        pick_s = float(window.time - origin)
        try:
            first, count = cut_window(traces.samples(i), float(row["rate_hz"]),
                                      float(row["start_s"]), pick_s, window.before_s,
                                      window.after_s, window.phase, origin)
        except WindowOutside as exc:
            what = "predicted S" if window.predicted else window.phase
            problems.append(f"{label}: no {what} window: {exc}")
            continue
        bad = np.count_nonzero(~np.isfinite(traces.samples(i)[first:first + count]))
        if bad:  # traces from elsewhere than stage 2 may hold them
            problems.append(f"{label}: no {window.phase} window: {bad} sample(s) in it are "
                            "NaN or infinite")
            continue
        rows[window.phase].append((i, first, count, pick_s, window.predicted))
    return problems


def _window_set(phase: str, traces: WindowSet, cuts: list, origin: UTCDateTime,
                reversals: pd.DataFrame | None) -> WindowSet:
    """The windows of one phase: each trace's row with the window's start, pick and flags."""
    table = traces.table[[i for i, *_ in cuts]].copy() if cuts else traces.table[:0].copy()
    samples = []
    for k, (i, first, count, pick_s, predicted) in enumerate(cuts):
        table[k]["start_s"] = traces.table[i]["start_s"] + first / traces.table[i]["rate_hz"]
        table[k]["pick_s"] = pick_s
        table[k]["predicted"] = predicted
        samples.append(traces.samples(i)[first:first + count])
    if len(table):
        table["reversed"] = reversed_mask(
            reversals, table["network"].astype(str), table["station"].astype(str),
            np.array([iso_time(origin + float(t)) for t in table["pick_s"]], dtype=object))
    table["npts"] = [len(x) for x in samples]
    table["offset"] = np.concatenate([[0], np.cumsum(table["npts"])[:-1]]) if len(table) else []
    data = np.concatenate(samples).astype(np.float32) if samples else np.zeros(0, np.float32)
    return WindowSet(phase, table, data)


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


def traces_by_station(traces: WindowSet) -> dict[tuple[str, str], dict[tuple[str, str], list[int]]]:
    """Rows of an event's traces: (network, station) -> (location, band+instrument) -> rows."""
    groups: dict = {}
    for i in range(len(traces)):
        network, station, location, channel = traces.codes(i)
        groups.setdefault((network, station), {}).setdefault((location, channel[:2]), []).append(i)
    return groups


def choose_instrument(groups: dict[tuple[str, str], list[int]], pick: dict) -> list[int]:
    """The traces of the instrument to cut: the pick's location and band if present, else the
    first."""
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
