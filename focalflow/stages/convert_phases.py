"""Stage 3: the catalog's events and picks to events.csv / picks.csv, and P/S windows to cut/.

Reads ``catalog.phase_file`` (Hypoinverse-2000, QuakeML or CSV) and writes ``events.csv`` and
``picks.csv`` (all events, in the catalog's order; picks as the analyst gave them). Then, for
each selected event, cuts windows around the picks from ``sac/<event_id>/`` into
``cut/<event_id>/NET.STA.LOC.CHA.P.sac`` and ``.S.sac`` for every component of the station's
instrument (lengths from ``phases``; header ``a``/``ka`` = the window's pick). A P window comes
only from a real P pick. Where a station has no S pick, its S window is centred on the time
predicted from the P travel time and ``phases.vp_vs``, marked ``kuser0 = 'predS'``. Existing
windows are kept unless ``--overwrite``; missing SAC files, unreadable files and picks the
waveform does not cover become rows of the failures table.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd
from obspy import UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.cli import StageContext
from focalflow.catalog import read_event_catalog
from focalflow.waveforms.windows import WindowOutside, cut_window, predicted_s_time
from focalflow.tables import write_table
from focalflow.workdir import atomic_path

log = logging.getLogger("focalflow.convert_phases")


def run(ctx: StageContext) -> dict:
    events, picks, problems = read_event_catalog(ctx.config.catalog)
    for problem in problems:
        ctx.failures.add(None, None, str(problem))
    write_table(events, ctx.workdir.events_csv, "events")
    write_table(picks, ctx.workdir.picks_csv, "picks")
    log.info("%d events and %d picks written to %s", len(events), len(picks), ctx.workdir.root)

    counts = {"events": len(events), "picks": len(picks), "P_windows": 0, "S_windows": 0,
              "S_predicted": 0, "kept_existing": 0}
    for unknown in sorted((ctx.events or set()) - set(events["event_id"])):
        ctx.failures.add(unknown, None, "event given with --events is not in the catalog")
    by_event = {k: g for k, g in picks.groupby("event_id", sort=False)}
    for event in events.itertuples(index=False):
        if not ctx.selected(event.event_id):
            continue
        event_picks = by_event.get(event.event_id)
        if event_picks is None or event_picks.empty:
            ctx.failures.add(event.event_id, None, "event has no picks; no windows cut")
            continue
        try:
            _cut_event(ctx, event, event_picks, counts)
        except (OSError, ValueError) as exc:  # e.g. a full disk or an unreadable folder: next event
            ctx.failures.add(event.event_id, None, f"windows not cut: {type(exc).__name__}: {exc}")
    return counts


def _cut_event(ctx: StageContext, event, picks: pd.DataFrame, counts: dict) -> None:
    sac_dir = ctx.workdir.event_sac_dir(event.event_id)
    cut_dir = ctx.workdir.event_cut_dir(event.event_id)
    if not sac_dir.is_dir():
        ctx.failures.add(event.event_id, None, f"no SAC folder {sac_dir} (has stage 2 run?)")
        return
    if ctx.overwrite and cut_dir.is_dir():
        for old in cut_dir.glob("*.sac"):
            old.unlink()
    files = _sac_files_by_station(sac_dir)
    origin = UTCDateTime(event.time)
    phases = ctx.config.phases
    by_station: dict[tuple[str, str], list[dict]] = {}
    for pick in picks.to_dict("records"):
        by_station.setdefault((pick["network"], pick["station"]), []).append(pick)
    for (network, station), station_picks in sorted(by_station.items()):
        name = f"{network}.{station}"
        timed = [pick for pick in station_picks if str(pick["time"]).strip()]
        if len(timed) < len(station_picks):
            ctx.failures.add(event.event_id, name, "pick without a time; no window cut for it")
        p_pick, s_pick = _best_pick(timed, "P"), _best_pick(timed, "S")
        if p_pick is None and s_pick is None:
            continue
        instrument = _instrument(files.get((network, station), {}), p_pick if p_pick is not None else s_pick)
        if not instrument:
            ctx.failures.add(event.event_id, name, f"no SAC file in {sac_dir} for the station's picks")
            continue
        windows = []
        if p_pick is not None:
            windows.append(("P", UTCDateTime(p_pick["time"]), phases.p_before_s, phases.p_after_s, False))
        if s_pick is not None:
            windows.append(("S", UTCDateTime(s_pick["time"]), phases.s_before_s, phases.s_after_s, False))
        elif p_pick is not None and phases.predict_s_from_p:
            s_time = predicted_s_time(origin, UTCDateTime(p_pick["time"]), phases.vp_vs)
            windows.append(("S", s_time, phases.s_before_s, phases.s_after_s, True))
        problems: dict[str, str] = {}      # one failure row per station and reason
        for path in instrument:
            for problem in _cut_file(ctx, path, cut_dir, windows, counts):
                problems.setdefault(problem.split(":", 1)[-1], problem)
        for problem in problems.values():
            ctx.failures.add(event.event_id, name, problem)


def _cut_file(ctx: StageContext, path: Path, cut_dir: Path, windows: list, counts: dict) -> list[str]:
    """Cut ``windows`` from one SAC file; return why any could not be cut."""
    outputs = [(cut_dir / f"{path.stem}.{window[0]}.sac", window) for window in windows]
    todo = [(out, window) for out, window in outputs if ctx.overwrite or not out.is_file()]
    counts["kept_existing"] += len(outputs) - len(todo)
    if not todo:
        return []
    try:
        sac = SACTrace.read(str(path))
    except Exception as exc:  # a garbage or truncated SAC file: skip the trace, go on
        return [f"{path.name}: not a readable SAC file ({type(exc).__name__}: {exc})"]
    problems = []
    for out, (phase, time, before, after, predicted) in todo:
        try:
            window = cut_window(sac, time, before, after, phase, predicted)
        except WindowOutside as exc:
            what = "predicted S" if predicted else phase
            problems.append(f"{path.name}: no {what} window: {exc}")
            continue
        cut_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            window.write(str(tmp), byteorder="little")
        counts[f"{phase}_windows"] += 1
        counts["S_predicted"] += predicted
    return problems


def _sac_files_by_station(sac_dir: Path) -> dict[tuple[str, str], dict[tuple[str, str], list[Path]]]:
    """SAC files of an event: (network, station) -> (location, band+instrument) -> files."""
    files: dict = {}
    for path in sorted(sac_dir.glob("*.sac")):
        parts = path.stem.split(".")
        if len(parts) != 4:
            continue
        network, station, location, channel = parts
        files.setdefault((network, station), {}).setdefault((location, channel[:2]), []).append(path)
    return files


def _instrument(groups: dict[tuple[str, str], list[Path]], pick: dict) -> list[Path]:
    """The files of the instrument to cut: the pick's location and band if present, else the first."""
    if not groups:
        return []
    wanted = (str(pick["location"]), str(pick["channel"])[:2])
    if wanted in groups:
        return groups[wanted]
    same_location = [key for key in sorted(groups) if key[0] == wanted[0]]
    return groups[same_location[0] if same_location else sorted(groups)[0]]


def _best_pick(picks: list[dict], phase: str) -> dict | None:
    """The station's pick of ``phase`` with the best (lowest) weight code, first in file order."""
    rows = [pick for pick in picks if pick["phase"] == phase]
    return min(rows, key=lambda pick: _weight(pick["weight"])) if rows else None


def _weight(value) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(weight) else weight
