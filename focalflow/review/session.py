"""What the review page shows and changes: the catalog, one event's live mechanism with its
stations and P waveforms, and the edits written to ``overrides.csv``.

Everything is returned as plain JSON-ready dicts (angles in degrees, distances in km, positions
on the beachball in the unit circle of the lower-hemisphere equal-area projection, x east,
y north). A station is keyed ``NET.STA.LOC``; edits apply to every channel of the station for
that event (blank ``channel`` in ``overrides.csv``).
"""
from __future__ import annotations

import getpass
import math
import threading
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from focalflow.cli import StageContext
from focalflow.errors import FocalflowError
from focalflow.mechanisms.catalog import add_derived_columns
from focalflow.mechanisms.overrides import (ACTIONS, accepted_events, effective_edits,
                                            read_overrides)
from focalflow.products.plots.beachball import (beachball_svg, compressional_polygons,
                                                nodal_curve, project_takeoff, project_vectors)
from focalflow.review.solver import ReviewSolver
from focalflow.tables import COLUMNS, empty_table
from focalflow.workdir import atomic_path, locked
from hash_core.geometry import auxiliary_plane, flat_distance_azimuth, pbt_axes, sdr_to_vectors

WAVEFORM_BEFORE_S, WAVEFORM_AFTER_S = 1.0, 1.5
MAX_SAMPLES = 800
MAX_CLOUD = 150  # acceptable mechanisms drawn (evenly sampled): the cloud saturates before
MECHANISM_KEYS = ("strike", "dip", "rake", "strike2", "dip2", "rake2", "quality",
                  "polarity_misfit", "fault_plane_uncertainty", "aux_plane_uncertainty",
                  "num_p_pol", "num_sp_ratios", "prob_mech", "sta_distribution_ratio",
                  "sp_misfit", "azimuthal_gap", "takeoff_gap")


class ReviewSession:
    """The review state of one working directory: its tables (read once), the warm solver,
    and the live mechanisms of the events looked at or edited since the server started."""

    def __init__(self, ctx: StageContext, user: str | None = None):
        wd = ctx.workdir
        self.ctx = ctx
        self.user = user or getpass.getuser()
        self.solver = ReviewSolver(ctx)
        self.lock = threading.Lock()  # one solve or edit at a time
        self.mechanisms = _mechanisms_table(wd.mechanisms_csv)
        self.polarities = self.solver.tables["polarities"]
        self.picks = self.solver.tables["picks"]
        self.live: dict[str, dict] = {}
        self._waveforms: dict[str, dict] = {}
        self._balls: dict[tuple, str] = {}
        self._stored = _stored_mechanisms(self.mechanisms)
        self._events = {e["event_id"]: _event_info(e)
                        for e in self.solver.events.to_dict("records")}

    # ------------------------------------------------------------------ overrides.csv
    def overrides(self) -> pd.DataFrame:
        path = self.ctx.workdir.overrides_csv
        return read_overrides(path) if path.is_file() else empty_table("overrides")

    def _append(self, row: dict) -> None:
        """Append one edit to ``overrides.csv`` (locked read-modify-write, atomic)."""
        path = self.ctx.workdir.overrides_csv
        row = {**{c: "" for c in COLUMNS["overrides"]}, **row, "user": self.user,
               "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        with locked(path):
            old = pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() \
                else empty_table("overrides")
            table = pd.concat([old, pd.DataFrame([row])[COLUMNS["overrides"]]],
                              ignore_index=True)
            with atomic_path(path) as tmp:
                table.to_csv(tmp, index=False)

    # ------------------------------------------------------------------ catalog
    def catalog(self) -> dict:
        """Every event of events.csv with its stage-6 mechanism (or the live one where edited
        here), its review state and a small beachball (SVG)."""
        overrides = self.overrides()
        return {"workdir": str(self.ctx.workdir.root), "user": self.user,
                "events": [self._catalog_row(event_id, overrides)
                           for event_id in self.solver.events.index],
                "pending": self._pending(overrides)}

    def _catalog_row(self, event_id: str, overrides: pd.DataFrame) -> dict:
        mine = overrides[overrides["event_id"] == event_id]
        mechanism = self.live[event_id] if event_id in self.live else self._stored.get(event_id)
        return {**self._events[event_id],
                "mechanism": mechanism, "ball": self._ball_svg(mechanism),
                "accepted": event_id in accepted_events(mine),
                "edits": len(effective_edits(mine)), "live": event_id in self.live}

    def _pending(self, overrides: pd.DataFrame) -> list[str]:
        """Events with edits in effect (stage 6 must be rerun to write their mechanisms)."""
        known = set(self.solver.events.index)
        return sorted(set(effective_edits(overrides)["event_id"]) & known)

    def _ball_svg(self, mechanism: dict | None) -> str | None:
        from focalflow.mechanisms.classify import CLASS_COLORS

        if mechanism is None:
            return None
        key = (mechanism["strike"], mechanism["dip"], mechanism["rake"])
        if key not in self._balls:
            self._balls[key] = beachball_svg(
                *key, size_px=26, color=CLASS_COLORS.get(mechanism["faulting_class"], "#555555"))
        return self._balls[key]

    # ------------------------------------------------------------------ one event
    def event(self, event_id: str) -> dict:
        """The event with its live mechanism (solved now with the current edits), stations and
        edit history."""
        if event_id not in self.solver.events.index:
            raise FocalflowError(f"event {event_id!r} is not in events.csv")
        with self.lock:
            overrides = self.overrides()
            observations = self.solver.event_observations(event_id, overrides)
            started = time.perf_counter()
            result = self.solver.solve(event_id, observations)
            elapsed = time.perf_counter() - started
        mine = overrides[overrides["event_id"] == event_id]
        payload = {**self._events[event_id],
                   "elapsed_s": round(elapsed, 3),
                   "problems": [p[2] for p in self.solver.problems],
                   "stored": self._stored.get(event_id),
                   "accepted": event_id in accepted_events(mine),
                   "history": mine.to_dict("records"),
                   "ball": None}
        solved = result["mechanisms"][pd.to_numeric(result["mechanisms"]["strike"],
                                                    errors="coerce").notna()]
        payload["solutions"] = [_mechanism(m) for m in solved.to_dict("records")]
        if payload["solutions"]:
            acceptable = result["acceptable"][["strike", "dip", "rake"]].to_numpy(float)
            payload["ball"] = _ball(payload["solutions"], acceptable)
        polinfo = result["polinfo"]
        self.live[event_id] = {**payload["solutions"][0], "solutions": len(payload["solutions"])} \
            if payload["solutions"] else None
        payload["mechanism"] = payload["solutions"][0] if payload["solutions"] else None
        payload["stations"] = self._stations(event_id, observations, polinfo,
                                             effective_edits(mine))
        payload["row"] = self._catalog_row(event_id, overrides)  # the catalog table's row
        payload["pending"] = self._pending(overrides)
        return payload

    def _stations(self, event_id: str, observations: pd.DataFrame,
                  polinfo: pd.DataFrame | None, edits: pd.DataFrame) -> list[dict]:
        """One entry per station with a P pick, a CNN polarity or an observation: what was
        used (after edits), where it plots, what the CNN and the analyst said."""
        stations: dict[str, dict] = {}

        def entry(network, station, location) -> dict:
            key = f"{network}.{station}.{location}"
            return stations.setdefault(key, {
                "key": key, "network": network, "station": station, "location": location,
                "label": f"{network}.{station}" if network else station,
                "polarity": None, "takeoff": None, "azimuth": None, "distance_km": None,
                "x": None, "y": None, "misfit": False, "sp_ratio": None, "prob_up": None,
                "prob_down": None, "cnn": None, "analyst": None, "reversed": False,
                "edit": None})

        for table, kind in ((self.picks, "picks"), (self.polarities, "polarities")):
            if table is None:
                continue
            rows = table[table["event_id"] == event_id]
            if kind == "picks":
                rows = rows[rows["phase"].str.upper() == "P"]
            for row in rows.to_dict("records"):
                item = entry(row["network"], row["station"], row["location"])
                if kind == "picks" and row["polarity"].upper() in ("U", "D"):
                    item["analyst"] = row["polarity"].upper()
                if kind == "polarities":
                    item.update(prob_up=_float(row["prob_up"]), prob_down=_float(row["prob_down"]),
                                cnn=_float(row["p_polarity"]),
                                reversed=str(row.get("reversed", "")).lower() == "true")
        for row in observations.to_dict("records"):
            item = entry(row["network"], row["station"], row["location"])
            if row["kind"] == "P":
                item["polarity"] = float(np.sign(row["p_polarity"]))
            else:
                item["sp_ratio"] = _float(row["sp_ratio"])
            item["azimuth"] = _float(row["azimuth_deg"])
            item["distance_km"] = _float(row["distance_km"])
        if polinfo is not None and len(polinfo):
            for row in polinfo.to_dict("records"):
                network, station, location = _codes(row["sta_code"])
                item = stations.get(f"{network}.{station}.{location}")
                if item is None or _float(row["p_polarity"]) is None:
                    continue
                x, y = project_takeoff(float(row["takeoff"]), float(row["azimuth"]))
                item.update(takeoff=_float(row["takeoff"]), azimuth=_float(row["azimuth"]),
                            x=round(float(x), 4), y=round(float(y), 4),
                            misfit=_float(row["pol_agreement"]) == 0)
        self._fill_distances(event_id, stations)
        for edit in edits.to_dict("records"):
            item = stations.get(f"{edit['network']}.{edit['station']}.{edit['location']}")
            if item is not None:
                item["edit"] = edit["action"] + (f" {int(float(edit['polarity'])):+d}"
                                                 if edit["action"] == "set" else "")
        return sorted(stations.values(), key=lambda s: (s["azimuth"] is None,
                                                        s["azimuth"] or 0.0, s["key"]))

    def _fill_distances(self, event_id: str, stations: dict[str, dict]) -> None:
        """Azimuth and distance of stations without an observation row (from stations.csv)."""
        missing = [s for s in stations.values() if s["azimuth"] is None]
        if not missing:
            return
        table = self.solver.stations.drop_duplicates(["network", "station", "location"])
        located = table.set_index(table["network"] + "." + table["station"] + "."
                                  + table["location"])
        event = self.solver.events.loc[event_id]
        for item in missing:
            if item["key"] in located.index:
                site = located.loc[item["key"]]
                distance, azimuth = flat_distance_azimuth(
                    float(event["latitude"]), float(event["longitude"]),
                    float(site["latitude"]), float(site["longitude"]))
                item.update(distance_km=round(float(distance), 3),
                            azimuth=round(float(azimuth), 1))

    # ------------------------------------------------------------------ waveforms
    def waveforms(self, event_id: str) -> dict:
        """The vertical P window of every station of the event, as ground motion (flipped
        where the station is reversed), scaled to ±1, times in s from the pick."""
        if event_id in self._waveforms:
            return self._waveforms[event_id]
        from focalflow.products.plots.event import window_samples
        from focalflow.products.results import p_windows

        names = pd.DataFrame([
            {"label": key, "network": network, "station": station}
            for key, network, station in self._station_codes(event_id)])
        windows = p_windows(self.ctx.workdir, event_id, names) \
            if len(names) else {}
        traces = {}
        for key, window in windows.items():
            times, values, peak = window_samples(window, WAVEFORM_BEFORE_S, WAVEFORM_AFTER_S)
            step = max(1, int(np.ceil(len(values) / MAX_SAMPLES)))
            traces[key] = {"t": np.round(times[::step], 4).tolist(),
                           "v": np.round(values[::step], 4).tolist(),
                           "peak": float(peak) if np.isfinite(peak) else None,
                           "reversed": window.reversed}
        self._waveforms[event_id] = {"event_id": event_id, "traces": traces}
        return self._waveforms[event_id]

    def _station_codes(self, event_id: str) -> list[tuple[str, str, str]]:
        keys = set()
        for table in (self.picks, self.polarities):
            if table is not None:
                rows = table[table["event_id"] == event_id]
                keys |= set(zip(rows["network"], rows["station"], rows["location"]))
        return [(f"{n}.{s}.{loc}", n, s) for n, s, loc in sorted(keys)]

    # ------------------------------------------------------------------ edits
    def edit(self, event_id: str, action: str, network: str, station: str, location: str = "",
             polarity: float | None = None, note: str = "") -> dict:
        """Record one edit of a station's polarity (``flip``, ``drop``, ``set`` with
        ``polarity`` +1/-1, ``restore``) and return the event recomputed."""
        if action not in ACTIONS or action == "accept":
            raise FocalflowError(f"unknown edit {action!r}; use flip, drop, set or restore")
        if event_id not in self.solver.events.index:
            raise FocalflowError(f"event {event_id!r} is not in events.csv")
        if not station:
            raise FocalflowError("an edit needs a station")
        if action == "set" and polarity not in (1, -1, 1.0, -1.0):
            raise FocalflowError(f"set needs polarity +1 or -1, got {polarity!r}")
        self._append({"event_id": event_id, "network": network, "station": station,
                      "location": location, "action": action,
                      "polarity": f"{int(polarity):+d}" if action == "set" else "",
                      "note": note})
        return self.event(event_id)

    def accept(self, event_id: str, note: str = "") -> dict:
        """Mark the event as reviewed and accepted."""
        if event_id not in self.solver.events.index:
            raise FocalflowError(f"event {event_id!r} is not in events.csv")
        self._append({"event_id": event_id, "action": "accept", "note": note})
        return self.event(event_id)

    def warm_up(self) -> None:
        """Solve one event so the grid-search kernels are compiled before the first click."""
        if len(self.solver.events):
            self.event(str(self.solver.events.index[0]))


def _mechanisms_table(path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    return pd.read_csv(path, keep_default_na=False, na_values=[""],
                       dtype={"event_id": str, "quality": str, "time": str})


def _float(value) -> float | None:
    """A finite number rounded for the page, or None (blank, NaN, text)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 4) if math.isfinite(number) else None


def _codes(sta_code: str) -> tuple[str, str, str]:
    from focalflow.formats.quakeml_mechanisms import split_sta_code

    network, station, location, _ = split_sta_code(sta_code)
    return network, station, location


def _event_info(event: dict) -> dict:
    return {"event_id": str(event["event_id"]), "time": str(event.get("time") or ""),
            "latitude": _float(event.get("latitude")),
            "longitude": _float(event.get("longitude")), "depth_km": _float(event.get("depth")),
            "mag": _float(event.get("mag"))}


def _mechanism(row: dict, faulting_class: str | None = None) -> dict:
    out = {key: (str(row.get(key, "")) if key == "quality" else _float(row.get(key)))
           for key in MECHANISM_KEYS}
    if out["strike2"] is None:
        out["strike2"], out["dip2"], out["rake2"] = (
            round(float(v), 1) for v in auxiliary_plane(out["strike"], out["dip"], out["rake"]))
    if faulting_class is None:
        frame = pd.DataFrame([{k: out[k] for k in ("strike", "dip", "rake")}])
        faulting_class = str(add_derived_columns(frame)["faulting_class"].iloc[0])
    out["faulting_class"] = faulting_class
    return out


def _stored_mechanisms(mechanisms: pd.DataFrame | None) -> dict[str, dict]:
    """{event_id: its stage-6 preferred mechanism (and how many solutions)}, classified in
    one pass (a catalog of thousands of events opens at once)."""
    if mechanisms is None or not len(mechanisms):
        return {}
    solved = mechanisms[pd.to_numeric(mechanisms["strike"], errors="coerce").notna()]
    counts = solved["event_id"].value_counts()
    first = add_derived_columns(solved.drop_duplicates("event_id").reset_index(drop=True)
                                .drop(columns=["faulting_class"], errors="ignore"))
    return {row["event_id"]: {**_mechanism(row, row["faulting_class"]),
                              "solutions": int(counts[row["event_id"]])}
            for row in first.to_dict("records")}


def _curve(points: np.ndarray) -> list[list[float]]:
    return np.round(points, 4).tolist()


def _ball(solutions: list[dict], acceptable: np.ndarray) -> dict:
    """The beachball of the preferred solution on the unit circle: compressional polygons,
    both nodal planes, the other solutions' planes, the acceptable cloud, P and T axes."""
    first = solutions[0]
    strike, dip, rake = first["strike"], first["dip"], first["rake"]

    def planes(s: dict, n: int) -> list:
        return [_curve(nodal_curve(s["strike"], s["dip"], n)),
                _curve(nodal_curve(s["strike2"], s["dip2"], n))]

    cloud = []
    if len(acceptable):
        sample = acceptable[np.unique(np.linspace(0, len(acceptable) - 1,
                                                  min(len(acceptable), MAX_CLOUD)).astype(int))]
        aux = np.column_stack([np.atleast_1d(a) for a in auxiliary_plane(*sample.T)])
        cloud = [_curve(nodal_curve(s, d, 31)) for s, d in
                 np.vstack([sample[:, :2], aux[:, :2]])]
    normal, slip = sdr_to_vectors(strike, dip, rake)
    p_axis, t_axis, _ = pbt_axes(normal, slip)
    return {"compressional": [_curve(p) for p in compressional_polygons(strike, dip, rake, 60)],
            "planes": planes(first, 91), "others": [planes(s, 61) for s in solutions[1:]],
            "cloud": cloud, "acceptable": int(len(acceptable)),
            "p_axis": _curve(np.array(project_vectors(np.asarray(p_axis).reshape(3)))),
            "t_axis": _curve(np.array(project_vectors(np.asarray(t_axis).reshape(3))))}
