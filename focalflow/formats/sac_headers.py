"""Events, picks and stations from the headers of SAC files (event-cut SAC folders such as the
ToC2ME data: one folder per event, the analyst's picks in the headers).

Header conventions read (SAC v101+, nvhdr 6):

- origin: reference time + ``o`` (files without ``o`` have no origin and give no event); event
  location ``evla``/``evlo`` (degrees) and ``evdp``, read as **km below the surface**; a value
  above :data:`MAX_DEPTH_KM` cannot be km and is read as metres, with a warning naming the
  event; ``mag``; ``kevnm`` as event id when set, else the name of the event's folder (when the
  folder holds that event only), else the origin time ``YYYYmmddHHMMSS.fff``;
- picks: P and S from the markers chosen by :class:`SacHeaderOptions` (``a``, ``t0`` ...
  ``t9``), with onset, phase, first motion and weight from the marker's label when it is a
  HYPO71-style code (``IPU0``: impulsive P, up, weight 0; ``EPD1``; ``P``; ``Pg`` ...), the
  first motion as recorded (``U``: up, compression ``C``/``+``; ``D``: down, ``-``). Markers
  whose label says they are theoretical times (``p_taup``, ``theo``, ``pred``, model names)
  are never picks unless ``theoretical`` is set;
- stations: ``stla``/``stlo`` (degrees), ``stel`` (m above sea level), ``cmpaz`` (degrees
  clockwise from north) and ``cmpinc`` (degrees from vertical up), stored as the SEED dip
  ``cmpinc - 90``; sampling rate ``1/delta``;
- the event's vertical uncertainty (km) from the header named by ``vert_uncert_header`` (e.g.
  ``user0``), when the user names one: SAC has no standard field for it.

All components of a station carry the same markers in most data sets; the pick is taken from
the vertical component when there is one. Files that are not SAC, or lack what an item needs,
are problem records naming the file.
"""
from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.common import (MAX_DEPTH_KM, ReadProblem, check_codes, check_origin, frame,
                                      iso_time)

log = logging.getLogger("focalflow.formats.sac_headers")

MARKERS = ("a",) + tuple(f"t{k}" for k in range(10))
# HYPO71-style pick codes: onset, phase (first arrivals only), first motion, weight
PICK_LABEL = re.compile(r"^([IE])?\s*([PS])([GNB*])?\s*([UDC+\-])?\s*([0-4])?$", re.IGNORECASE)
THEORETICAL = re.compile(r"taup|theo|pred|calc|synth|ak135|iasp|prem|model", re.IGNORECASE)
FIRST_MOTION = {"U": "U", "C": "U", "+": "U", "D": "D", "-": "D"}
SAME_ORIGIN_S = 0.01


@dataclass(frozen=True)
class SacHeaderOptions:
    """Which markers hold the picks (``auto``: the first of ``a``, ``t0`` ... ``t9`` whose label
    names the phase), whether theoretical markers may be picks, and where the vertical
    uncertainty is."""

    p_marker: str = "auto"
    s_marker: str = "auto"
    theoretical: bool = False
    vert_uncert_header: Optional[str] = None


def read_sac_header(path: Path | str) -> dict:
    """The header of one SAC file as a dict (times as UTCDateTime; unset values None);
    InputError naming the file when it is not SAC."""
    from obspy.io.sac import SACTrace

    path = Path(path)
    try:
        sac = SACTrace.read(str(path), headonly=True)
    except Exception as exc:  # ObsPy raises many kinds for garbage; one clear line
        raise InputError(path, f"not a readable SAC file ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    reftime = sac.reftime
    names = ("knetwk", "kstnm", "khole", "kcmpnm", "kevnm", "evla", "evlo", "evdp", "mag", "stla",
             "stlo", "stel", "stdp", "cmpaz", "cmpinc", "delta", "o")
    header = {name: getattr(sac, name) for name in names + tuple(f"user{k}" for k in range(10))}
    header = {k: (v.strip() or None) if isinstance(v, str) else _float32(v)
              for k, v in header.items()}
    header["path"] = path
    header["origin"] = reftime + header["o"] if header["o"] is not None else None
    header["markers"] = {}
    for name in MARKERS:
        offset = getattr(sac, name)
        if offset is not None and math.isfinite(offset):
            label = getattr(sac, f"k{name}")
            header["markers"][name] = (reftime + offset, label.strip() if label else "")
    return header


def _float32(value):
    """A header value without float32 noise (54.34733 rather than 54.347328186035156)."""
    if isinstance(value, float) and math.isfinite(value):
        return float(str(np.float32(value)))  # the shortest text that is this float32
    return value


def sac_files(root: Path | str) -> list[Path]:
    """The SAC files under ``root`` (any depth, any name: told by content), sorted."""
    from obspy.io.sac.core import _is_sac

    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "folder of SAC files not found")
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")
             and _is_sac(str(p))]
    if not files:
        raise InputError(root, "no SAC file in this folder or below it")
    return files


def read_sac_folder(root: Path | str, options: SacHeaderOptions = SacHeaderOptions()
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """``(events, picks, stations, problems)`` from the headers of every SAC file under
    ``root`` (tables in the events.csv, picks.csv and stations.csv layouts)."""
    headers, problems = [], []
    for path in sac_files(root):
        try:
            headers.append(read_sac_header(path))
        except InputError as exc:
            problems.append(ReadProblem(str(path), None, exc.message))
    events, picks, stations, more = header_tables(headers, options, Path(root))
    return events, picks, stations, problems + more


def header_tables(headers: list[dict], options: SacHeaderOptions, root: Path | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """The three tables from headers of :func:`read_sac_header` (see the module docstring)."""
    problems: list[ReadProblem] = []
    groups = _events(headers, problems)
    folders = Counter(h["path"].parent for group in groups for h in group)
    events, picks = [], []
    for group in groups:
        event = _event_row(group, folders, root, options, problems)
        if event is None:
            continue
        events.append(event)
        picks += _pick_rows(event["event_id"], group, options, problems)
    ids = Counter(e["event_id"] for e in events)
    for event_id in [e for e, n in ids.items() if n > 1]:
        problems.append(ReadProblem(str(root or ""), None, f"{ids[event_id]} events share the id "
                                    f"{event_id} (kevnm or folder name); only the first is kept"))
    seen, unique = set(), []
    for event in events:
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            unique.append(event)
    picks = [p for p in picks if p["event_id"] in seen]
    return (frame(unique, "events"), frame(picks, "picks"), _station_table(headers, problems),
            problems)


def _events(headers: list[dict], problems: list[ReadProblem]) -> list[list[dict]]:
    """Headers grouped by event: by ``kevnm`` where set, else by origin time."""
    groups: dict[object, list[dict]] = defaultdict(list)
    for header in headers:
        if header["origin"] is None:
            problems.append(ReadProblem(str(header["path"]), None, "no origin time (header o "
                                        "unset): not part of any event"))
            continue
        key = header["kevnm"] or round(float(header["origin"].timestamp) / SAME_ORIGIN_S)
        groups[key].append(header)
    return sorted(groups.values(), key=lambda g: (g[0]["origin"], str(g[0]["path"])))


def _event_row(group: list[dict], folders: Counter, root: Path | None,
               options: SacHeaderOptions, problems: list[ReadProblem]) -> dict | None:
    first = group[0]
    values = {}
    for name in ("evla", "evlo", "evdp"):
        found = Counter(h[name] for h in group if h[name] is not None
                        and math.isfinite(h[name]))
        if not found:
            problems.append(ReadProblem(str(first["path"].parent), None, f"event at "
                                        f"{first['origin']}: header {name} unset in all "
                                        f"{len(group)} file(s); event skipped"))
            return None
        values[name] = found.most_common(1)[0][0]
        if len(found) > 1:
            log.warning("%s: the files of the event at %s disagree on %s (%s); using %s",
                        first["path"].parent, first["origin"], name,
                        ", ".join(f"{v:g}" for v in found), values[name])
    event_id = _event_id(group, folders, root)
    depth_km = values["evdp"]
    if depth_km > MAX_DEPTH_KM:
        log.warning("event %s: SAC evdp %g cannot be km (deeper than %g km); read as metres "
                    "(%g km)", event_id, depth_km, MAX_DEPTH_KM, depth_km / 1000.0)
        depth_km /= 1000.0
    try:
        check_origin(first["origin"], depth_km)
    except ValueError as exc:
        problems.append(ReadProblem(str(first["path"].parent), None,
                                    f"event {event_id}: {exc}; event skipped"))
        return None
    magnitudes = [h["mag"] for h in group if h["mag"] is not None and math.isfinite(h["mag"])]
    return {"event_id": event_id, "time": iso_time(first["origin"]),
            "latitude": values["evla"], "longitude": values["evlo"], "depth": depth_km,
            "horz_uncert_km": math.nan,
            "vert_uncert_km": _vertical_uncertainty(group, options, event_id),
            "mag": Counter(magnitudes).most_common(1)[0][0] if magnitudes else math.nan}


def _event_id(group: list[dict], folders: Counter, root: Path | None) -> str:
    if group[0]["kevnm"]:
        return group[0]["kevnm"]
    parents = {h["path"].parent for h in group}
    if len(parents) == 1:
        parent = parents.pop()
        if parent != root and folders[parent] == len(group):
            return parent.name
    return group[0]["origin"].strftime("%Y%m%d%H%M%S.%f")[:-3]


def _vertical_uncertainty(group: list[dict], options: SacHeaderOptions, event_id: str) -> float:
    name = options.vert_uncert_header
    if name is None:
        return math.nan
    values = [h.get(name) for h in group]
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        log.warning("event %s: header %s (the vertical uncertainty, km) is unset", event_id, name)
        return math.nan
    return float(Counter(values).most_common(1)[0][0])


def _marker_pick(header: dict, phase: str, marker: str, theoretical: bool) -> dict | None:
    """The ``phase`` pick of one file: time, onset, polarity, weight; None when it has none."""
    names = MARKERS if marker == "auto" else (marker,)
    for name in names:
        if name not in header["markers"]:
            continue
        time, label = header["markers"][name]
        if THEORETICAL.search(label) and not theoretical:
            continue
        code = PICK_LABEL.match(label)
        if code is not None and code.group(2).upper() != phase:
            continue
        if code is None and marker == "auto":
            continue  # an unlabelled or unknown marker is a pick only when named
        onset, _, _, motion, weight = code.groups() if code else (None,) * 5
        return {"time": time, "marker": name, "onset": (onset or "").lower(),
                "polarity": FIRST_MOTION.get((motion or "").upper(), ""),
                "weight": int(weight) if weight else 0}
    return None


def _pick_rows(event_id: str, group: list[dict], options: SacHeaderOptions,
               problems: list[ReadProblem]) -> list[dict]:
    """One P and one S pick per instrument (network, station, location, band)."""
    by_instrument: dict[tuple, list[dict]] = defaultdict(list)
    for header in group:
        if not header["kstnm"]:
            problems.append(ReadProblem(str(header["path"]), None, "no station code (kstnm)"))
            continue
        try:
            check_codes(header["knetwk"] or "", header["kstnm"], header["khole"] or "",
                        header["kcmpnm"] or "")
        except ValueError as exc:
            problems.append(ReadProblem(str(header["path"]), None, f"{exc}; file not used"))
            continue
        channel = header["kcmpnm"] or ""
        by_instrument[(header["knetwk"] or "", header["kstnm"], header["khole"] or "",
                       channel[:2])].append(header)
    rows = []
    for (network, station, location, _), headers in sorted(by_instrument.items()):
        headers = sorted(headers, key=lambda h: not (h["kcmpnm"] or "").endswith("Z"))
        for phase, marker in (("P", options.p_marker), ("S", options.s_marker)):
            found = [(h, _marker_pick(h, phase, marker, options.theoretical)) for h in headers]
            found = [(h, pick) for h, pick in found if pick is not None]
            if not found:
                continue
            header, pick = found[0]
            spread = max(abs(p["time"] - pick["time"]) for _, p in found)
            if spread > (header["delta"] or 0.0):
                log.warning("event %s: %s pick of %s.%s differs by %.3f s between components; "
                            "using %s's", event_id, phase, network, station, spread,
                            header["kcmpnm"])
            rows.append({"event_id": event_id, "network": network, "station": station,
                         "location": location, "channel": header["kcmpnm"] or "",
                         "phase": phase, "time": iso_time(pick["time"]), "onset": pick["onset"],
                         "polarity": pick["polarity"], "weight": pick["weight"],
                         "source": f"{header['path'].name}:{pick['marker']}"})
    return rows


def _station_table(headers: Iterable[dict], problems: list[ReadProblem]) -> pd.DataFrame:
    """One row per channel with coordinates (the first file's where files disagree)."""
    rows: dict[tuple, dict] = {}
    for header in headers:
        if not header["kstnm"] or header["stla"] is None or header["stlo"] is None:
            continue
        key = (header["knetwk"] or "", header["kstnm"], header["khole"] or "",
               header["kcmpnm"] or "")
        cmpinc = header["cmpinc"]
        row = {"network": key[0], "station": key[1], "location": key[2], "channel": key[3],
               "latitude": header["stla"], "longitude": header["stlo"],
               "elevation": header["stel"] if header["stel"] is not None else 0.0,
               "azimuth": header["cmpaz"] if header["cmpaz"] is not None else math.nan,
               "dip": cmpinc - 90.0 if cmpinc is not None else math.nan,
               "sampling_rate": 1.0 / header["delta"] if header["delta"] else math.nan,
               "start": "", "end": "", "has_metadata": True}
        old = rows.setdefault(key, row)
        if (abs(old["latitude"] - row["latitude"]) > 1e-4
                or abs(old["longitude"] - row["longitude"]) > 1e-4):
            problems.append(ReadProblem(str(header["path"]), None, f"station {key[0]}.{key[1]} at "
                                        f"{row['latitude']:g}, {row['longitude']:g} here but at "
                                        f"{old['latitude']:g}, {old['longitude']:g} in another "
                                        "file; the first is kept"))
    return frame(rows.values(), "stations")
