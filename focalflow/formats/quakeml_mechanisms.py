"""The mechanism catalog as QuakeML (``mechanisms.xml``) and back into focalflow tables.

One ObsPy :class:`~obspy.core.event.Event` per mechanism: its origin (and magnitude where
known), a :class:`~obspy.core.event.FocalMechanism` with both nodal planes (no
``preferred_plane``: first motions cannot tell the fault plane from the auxiliary one, so
nodal plane 1 is simply the one HASH reports first), the P, T and B
axes, misfit (fraction 0–1 of misfit polarities), station polarity count, azimuthal gap,
station distribution ratio (0–1), method ``smi:local/focalflow/method/HASH``, the quality letter
in a comment (``HASH quality A``) and HASH's other numbers as ``focalflow:`` extra elements,
and the polarities used as picks: pick ``polarity`` is the polarity HASH used (true ground
motion, after the station reversals), the arrival carries azimuth, distance and take-off angle.

Units and conventions follow QuakeML where they differ from focalflow's tables: depths and
uncertainties in m, distances in degrees, take-off angle from vertical DOWN (QuakeML) — the
tables use HASH's take-off from vertical UP, so ``takeoff_angle = 180 - takeoff``. Event ids are
the last element of the event's resource id (``smi:local/event/<event_id>``); every resource id
is derived from the event id, so writing the same tables twice gives the same file.
"""
from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from obspy import UTCDateTime, read_events
from obspy.core.event import Catalog, Event, FocalMechanism, Origin

from focalflow.errors import InputError
from focalflow.formats.common import parse_any_time
from focalflow.formats.quakeml import event_id_of
from focalflow.workdir import atomic_path
from hash_core.geometry import auxiliary_plane, axis_trend_plunge, pbt_axes, sdr_to_vectors

NAMESPACE = "http://focalflow.org/xmlns/mechanism/1.0"
KM_PER_DEGREE = 111.19
METHOD_ID = "smi:local/focalflow/method/HASH"
CATALOG_ID = "smi:local/focalflow/catalog"

POLINFO_USED = ["event_id", "sta_code", "network", "p_polarity", "azimuth", "takeoff",
                "sr_dist_km", "pol_agreement"]
# Columns of mechanisms.csv stored as focalflow extra elements (exact text round trip).
EXTRA_COLUMNS = ["quality", "fault_plane_uncertainty", "aux_plane_uncertainty", "num_sp_ratios",
                 "prob_mech", "sp_misfit", "mult_solution_flag", "takeoff_gap", "faulting_class"]


def mechanisms_catalog(mechanisms: pd.DataFrame, events: pd.DataFrame | None = None,
                       polinfo: pd.DataFrame | None = None,
                       picks: pd.DataFrame | None = None) -> Catalog:
    """An ObsPy Catalog of the mechanism table (the document :func:`write_mechanisms_quakeml`
    writes, read back by ObsPy; see the module docstring for the layout).

    ``events`` (events.csv) supplies origin time, uncertainties and magnitude where present;
    ``polinfo`` (polinfo.csv) the polarities used; ``picks`` (picks.csv) the P pick times (else
    the pick time is the origin time, and a comment on the pick says so).
    """
    buffer = io.BytesIO()
    with QuakemlWriter(buffer) as writer:
        writer.add(mechanisms, events, polinfo, picks)
    buffer.seek(0)
    return read_events(buffer, format="QUAKEML")


def write_mechanisms_quakeml(path: Path | str, mechanisms: pd.DataFrame,
                             events: pd.DataFrame | None = None,
                             polinfo: pd.DataFrame | None = None,
                             picks: pd.DataFrame | None = None) -> Path:
    """Write ``mechanisms.xml`` atomically; :func:`read_mechanisms_quakeml` reads it back."""
    with QuakemlWriter(path) as writer:
        writer.add(mechanisms, events, polinfo, picks)
    return Path(path)


HEADER = ("<?xml version='1.0' encoding='utf-8'?>\n"
          f'<q:quakeml xmlns:focalflow="{NAMESPACE}" xmlns="http://quakeml.org/xmlns/bed/1.2" '
          'xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">\n')


class QuakemlWriter:
    """``mechanisms.xml`` written a chunk of events at a time (:meth:`add`), so a catalog of any
    size is written in flat memory and about a millisecond per event. The text is the one
    ObsPy writes for the same :class:`~obspy.core.event.Catalog` (elements in QuakeML's order,
    numbers as Python writes them, indented by two spaces), written directly. ``target``: a
    path, replaced atomically on :meth:`close` and only when its content changed, or an open
    binary file."""

    def __init__(self, target):
        self._stack = contextlib.ExitStack()
        if isinstance(target, (str, Path)):
            tmp = self._stack.enter_context(atomic_path(target, if_changed=True))
            self._handle = self._stack.enter_context(open(tmp, "wb"))
        else:
            self._handle = target
        self._count = 0

    def add(self, mechanisms: pd.DataFrame, events: pd.DataFrame | None = None,
            polinfo: pd.DataFrame | None = None, picks: pd.DataFrame | None = None) -> None:
        """The events of ``mechanisms`` (one or more rows each, the preferred solution first)."""
        event_rows = _by_event(events)
        pick_times = _pick_times(picks)
        polinfo_groups: dict[str, list[dict]] = {}
        if polinfo is not None and len(polinfo):
            for row in _records(polinfo, POLINFO_USED):
                polinfo_groups.setdefault(str(row["event_id"]), []).append(row)
        rows_by_event: dict[str, list[dict]] = {}
        for row in _records(mechanisms):
            rows_by_event.setdefault(str(row["event_id"]), []).append(row)
        lines: list[str] = []
        for event_id, rows in rows_by_event.items():
            if not self._count:
                lines.append(HEADER + f'  <eventParameters publicID="{CATALOG_ID}">')
            self._count += 1
            _event_xml(lines, event_id, rows, event_rows.get(event_id),
                       polinfo_groups.get(event_id), pick_times)
        if lines:
            self._handle.write(("\n".join(lines) + "\n").encode())

    def close(self, commit: bool = True) -> None:
        if commit:
            self._handle.write((b"  </eventParameters>\n</q:quakeml>\n" if self._count else
                                (HEADER + f'  <eventParameters publicID="{CATALOG_ID}"/>\n'
                                 "</q:quakeml>\n").encode()))
            self._stack.close()
        else:
            self._stack.__exit__(RuntimeError, RuntimeError("abandoned"), None)

    def __enter__(self) -> "QuakemlWriter":
        return self

    def __exit__(self, kind, *rest) -> None:
        self.close(commit=kind is None)


class _Xml:
    """Indented QuakeML elements appended to a list of lines."""

    def __init__(self, lines: list[str], depth: int):
        self.lines, self.depth = lines, depth

    def open(self, tag: str, **attributes) -> None:
        self.lines.append("  " * self.depth + f"<{tag}{_attributes(attributes)}>")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.lines.append("  " * self.depth + f"</{tag}>")

    def text(self, tag: str, value, **attributes) -> None:
        """``<tag>value</tag>``; nothing for None."""
        if value is not None:
            self.lines.append("  " * self.depth + f"<{tag}{_attributes(attributes)}>"
                              f"{escape(_str(value))}</{tag}>")

    def value(self, tag: str, value, uncertainty=None, always: bool = False) -> None:
        """A QuakeML quantity: ``<tag><value>..</value><uncertainty>..</uncertainty></tag>``."""
        if value is None:
            if always:
                self.lines.append("  " * self.depth + f"<{tag}/>")
            return
        self.open(tag)
        self.text("value", value)
        self.text("uncertainty", uncertainty)
        self.close(tag)


def _str(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _attributes(attributes: dict) -> str:
    return "".join(f' {name}="{escape(str(value), {chr(34): "&quot;"})}"'
                   for name, value in attributes.items())


def _records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """The rows of ``frame`` (only ``columns`` where it has them) as dicts; much faster than
    ``DataFrame.to_dict("records")`` for text columns."""
    names = [c for c in (columns or frame.columns) if c in frame.columns]
    values = [frame[c].to_numpy(dtype=object) for c in names]
    return [dict(zip(names, row)) for row in zip(*values)]


def _event_xml(lines: list[str], event_id: str, rows: list[dict], event_row: dict | None,
               polinfo: list[dict] | None, pick_times: dict) -> None:
    """One event; its first mechanism row is the preferred one, others (HASH's multiple
    solutions) follow as further focal mechanisms."""
    row, source = rows[0], event_row or {}
    origin_id = f"smi:local/origin/{event_id}"
    x = _Xml(lines, 2)
    x.open("event", publicID=f"smi:local/event/{event_id}")
    x.text("preferredOriginID", origin_id)
    mag = _number(source.get("mag", row.get("mag")))
    if mag is not None:
        x.text("preferredMagnitudeID", f"smi:local/magnitude/{event_id}")
    x.text("preferredFocalMechanismID", f"smi:local/focal_mechanism/{event_id}")
    x.text("type", "earthquake")
    time = parse_any_time(source.get("time", row.get("time")))
    time = time if time is not None else UTCDateTime(0)
    used = [obs for obs in polinfo or () if _number(obs.get("p_polarity")) is not None]
    _origin_xml(x, event_id, row, source, time, used)
    if mag is not None:
        x.open("magnitude", publicID=f"smi:local/magnitude/{event_id}")
        x.value("mag", mag)
        x.text("originID", origin_id)
        x.close("magnitude")
    for index, obs in enumerate(used):
        _pick_xml(x, event_id, index, obs, time, pick_times)
    for number, solution in enumerate(rows):
        _focal_mechanism_xml(x, event_id, number, solution, origin_id)
    x.text("focalflow:event_id", event_id)
    x.close("event")


def _origin_xml(x: _Xml, event_id: str, row: dict, source: dict, time: UTCDateTime,
                used: list[dict]) -> None:
    x.open("origin", publicID=f"smi:local/origin/{event_id}")
    x.value("time", time, always=True)
    x.value("latitude", _number(source.get("latitude", row.get("origin_lat"))), always=True)
    x.value("longitude", _number(source.get("longitude", row.get("origin_lon"))), always=True)
    depth_km = _number(source.get("depth", row.get("origin_depth_km")))
    vertical = _number(source.get("vert_uncert_km", row.get("vert_uncert_km")))
    if depth_km is not None:
        x.value("depth", depth_km * 1000.0, None if vertical is None else vertical * 1000.0)
    horizontal = _number(source.get("horz_uncert_km", row.get("horz_uncert_km")))
    if horizontal is not None:
        x.open("originUncertainty")
        x.text("preferredDescription", "horizontal uncertainty")
        x.text("horizontalUncertainty", horizontal * 1000.0)
        x.close("originUncertainty")
    for index, obs in enumerate(used):
        polarity = _number(obs.get("p_polarity")) or 0.0
        azimuth, takeoff = _number(obs.get("azimuth")), _number(obs.get("takeoff"))
        distance, agreement = _number(obs.get("sr_dist_km")), _number(obs.get("pol_agreement"))
        x.open("arrival", publicID=f"smi:local/arrival/{event_id}/{index}")
        x.text("pickID", f"smi:local/pick/{event_id}/mechanism/{index}")
        x.text("phase", "P")
        x.text("azimuth", None if azimuth is None else azimuth % 360.0)
        x.text("distance", None if distance is None else distance / KM_PER_DEGREE)
        x.value("takeoffAngle", None if takeoff is None else 180.0 - takeoff)
        x.text("timeWeight", abs(polarity))
        x.text("focalflow:pol_agreement", None if agreement is None else _extra_value(agreement))
        x.close("arrival")
    x.close("origin")


def _pick_xml(x: _Xml, event_id: str, index: int, obs: dict, origin_time: UTCDateTime,
              pick_times: dict) -> None:
    network, station, location, channel = split_sta_code(obs.get("sta_code", ""))
    network = str(obs.get("network", network) or network)
    pick_id = f"smi:local/pick/{event_id}/mechanism/{index}"
    time = pick_times.get((event_id, network, station)) or pick_times.get((event_id, "", station))
    polarity = _number(obs.get("p_polarity")) or 0.0
    x.open("pick", publicID=pick_id)
    x.value("time", time or origin_time, always=True)
    x.lines.append("  " * x.depth + "<waveformID" + _attributes(
        {"networkCode": network, "stationCode": station, "locationCode": location,
         "channelCode": channel}) + "></waveformID>")
    x.text("phaseHint", "P")
    x.text("polarity", "positive" if polarity > 0 else "negative" if polarity < 0
           else "undecidable")
    x.text("evaluationMode", "automatic")
    if time is None:
        x.open("comment", id=f"{pick_id}/comment")
        x.text("text", "pick time not known here: origin time given")
        x.close("comment")
    x.close("pick")


def _focal_mechanism_xml(x: _Xml, event_id: str, number: int, row: dict, origin_id: str) -> None:
    strike, dip, rake = (float(row[k]) for k in ("strike", "dip", "rake"))
    if all(_number(row.get(k)) is not None for k in ("strike2", "dip2", "rake2")):
        strike2, dip2, rake2 = (float(row[k]) for k in ("strike2", "dip2", "rake2"))
    else:
        strike2, dip2, rake2 = (float(v) for v in auxiliary_plane(strike, dip, rake))
    mechanism_id = f"smi:local/focal_mechanism/{event_id}" + (f"/{number}" if number else "")
    misfit, count = _number(row.get("polarity_misfit")), _number(row.get("num_p_pol"))
    ratio = _number(row.get("sta_distribution_ratio"))
    x.open("focalMechanism", publicID=mechanism_id)
    x.text("triggeringOriginID", origin_id)
    x.text("azimuthalGap", _number(row.get("azimuthal_gap")))
    x.text("stationPolarityCount", None if count is None else int(count))
    x.text("misfit", None if misfit is None else misfit / 100.0)
    x.text("stationDistributionRatio", None if ratio is None else ratio / 100.0)
    x.open("nodalPlanes")
    for tag, (s, d, r), column in (("nodalPlane1", (strike, dip, rake), "fault_plane_uncertainty"),
                                   ("nodalPlane2", (strike2, dip2, rake2), "aux_plane_uncertainty")):
        uncertainty = _number(row.get(column))
        x.open(tag)
        for name, value in (("strike", s), ("dip", d), ("rake", r)):
            x.value(name, value, uncertainty)
        x.close(tag)
    x.close("nodalPlanes")
    p_axis, t_axis, n_axis = pbt_axes(*sdr_to_vectors(strike, dip, rake))
    x.open("principalAxes")
    for tag, vector in (("tAxis", t_axis), ("pAxis", p_axis), ("nAxis", n_axis)):
        trend, plunge = axis_trend_plunge(vector)
        x.open(tag)
        x.value("azimuth", float(trend))
        x.value("plunge", float(plunge))
        x.value("length", 1.0)
        x.close(tag)
    x.close("principalAxes")
    x.text("methodID", METHOD_ID)
    x.text("evaluationMode", "automatic")
    quality = str(row.get("quality", "") or "").strip()
    if quality:
        x.open("comment", id=f"{mechanism_id}/quality")
        x.text("text", f"HASH quality {quality}")
        x.close("comment")
    for column in EXTRA_COLUMNS:
        if column in row and _extra_value(row[column]) != "":
            x.text(f"focalflow:{column}", _extra_value(row[column]))
    x.close("focalMechanism")


def read_mechanisms_quakeml(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a mechanism QuakeML file into ``(mechanisms, polinfo)`` frames.

    ``mechanisms`` has mechanisms.csv columns (plus ``mag``), one row per focal mechanism,
    the preferred one of each event first; ``polinfo`` has event_id,
    sta_code (NET.STA.LOC.CHA, blank location ``--``, blank network left out), p_polarity, sr_dist_km, takeoff (from up), azimuth,
    pol_agreement. Events without a focal mechanism are left out.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        catalog = read_events(str(path), format="QUAKEML")
    except Exception as exc:  # ObsPy raises many kinds for garbage; report one clear line
        raise InputError(path, f"not a readable QuakeML file ({type(exc).__name__}: {exc})") \
            from None
    mechanisms, polinfo = [], []
    for number, event in enumerate(catalog, start=1):
        preferred = event.preferred_focal_mechanism()
        solutions = sorted((m for m in event.focal_mechanisms if m.nodal_planes is not None),
                           key=lambda m: m is not preferred)
        if not solutions:
            continue
        event_id = _extra_text(event, "event_id") or event_id_of(event, number)
        origin = event.preferred_origin() or (event.origins[0] if event.origins else None)
        magnitude = event.preferred_magnitude() or (event.magnitudes[0] if event.magnitudes
                                                     else None)
        mechanisms += [_mechanism_row(event_id, m, origin, magnitude) for m in solutions]
        if origin is not None:
            polinfo.extend(_polinfo_rows(event_id, event, origin))
    polinfo_columns = ["event_id", "sta_code", "p_polarity", "sr_dist_km", "takeoff", "azimuth",
                       "pol_agreement"]
    return pd.DataFrame(mechanisms), pd.DataFrame(polinfo, columns=polinfo_columns)


def split_sta_code(code: str) -> tuple[str, str, str, str]:
    """(network, station, location, channel) of a polinfo ``sta_code``.

    Accepts NET.STA.LOC.CHA, SKHASH's STA.LOC.CHA and a bare station; ``--`` is a blank code.
    """
    parts = ["" if p == "--" else p for p in str(code).strip().split(".")]
    if len(parts) >= 4:
        return parts[0], parts[1], parts[2], ".".join(parts[3:])
    if len(parts) == 3:
        return "", parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1], "", ""
    return "", parts[0], "", ""


def _mechanism_row(event_id: str, mechanism: FocalMechanism, origin, magnitude) -> dict:
    planes = mechanism.nodal_planes
    first, second = planes.nodal_plane_1, planes.nodal_plane_2
    extra = {k: v.get("value") for k, v in (mechanism.get("extra") or {}).items()}
    row = {"event_id": event_id, "strike": first.strike, "dip": first.dip, "rake": first.rake,
           "quality": extra.get("quality", _quality_from_comments(mechanism))}
    for column in ("fault_plane_uncertainty", "aux_plane_uncertainty", "num_sp_ratios",
                   "prob_mech", "sp_misfit", "takeoff_gap"):
        row[column] = _number(extra.get(column))
    row["num_p_pol"] = mechanism.station_polarity_count
    row["polarity_misfit"] = None if mechanism.misfit is None else mechanism.misfit * 100.0
    row["sta_distribution_ratio"] = (None if mechanism.station_distribution_ratio is None
                                     else mechanism.station_distribution_ratio * 100.0)
    flag = extra.get("mult_solution_flag")
    row["mult_solution_flag"] = None if flag is None else str(flag).strip().lower() == "true"
    if origin is not None:
        row.update(time=str(origin.time), origin_lat=origin.latitude, origin_lon=origin.longitude,
                   origin_depth_km=None if origin.depth is None else origin.depth / 1000.0,
                   horz_uncert_km=(origin.origin_uncertainty.horizontal_uncertainty / 1000.0
                                   if origin.origin_uncertainty is not None
                                   and origin.origin_uncertainty.horizontal_uncertainty
                                   is not None else None),
                   vert_uncert_km=(origin.depth_errors.uncertainty / 1000.0
                                   if origin.depth_errors and origin.depth_errors.uncertainty
                                   is not None else None))
    if second is not None:
        row.update(strike2=second.strike, dip2=second.dip, rake2=second.rake)
    row["azimuthal_gap"] = mechanism.azimuthal_gap
    row["faulting_class"] = extra.get("faulting_class")
    row["mag"] = magnitude.mag if magnitude is not None else None
    return row


def _polinfo_rows(event_id: str, event: Event, origin: Origin) -> list[dict]:
    picks = {str(p.resource_id): p for p in event.picks}
    rows = []
    for arrival in origin.arrivals:
        pick = picks.get(str(arrival.pick_id))
        if pick is None or pick.waveform_id is None:
            continue
        wid = pick.waveform_id
        polarity = {"positive": 1.0, "negative": -1.0}.get(pick.polarity or "", 0.0)
        weight = arrival.time_weight if arrival.time_weight is not None else 1.0
        extra = arrival.get("extra") or {}
        agreement = extra.get("pol_agreement", {}).get("value") if extra else None
        rows.append({
            "event_id": event_id,
            "sta_code": ".".join(([wid.network_code] if wid.network_code else [])
                                 + [wid.station_code or "", wid.location_code or "--",
                                    wid.channel_code or ""]),
            "p_polarity": polarity * weight,
            "sr_dist_km": None if arrival.distance is None else arrival.distance * KM_PER_DEGREE,
            "takeoff": None if arrival.takeoff_angle is None else 180.0 - arrival.takeoff_angle,
            "azimuth": arrival.azimuth,
            "pol_agreement": _number(agreement)})
    return rows


def _quality_from_comments(mechanism: FocalMechanism) -> str:
    for comment in mechanism.comments:
        if comment.text and comment.text.startswith("HASH quality "):
            return comment.text.split()[-1]
    return ""


def _extra_text(event: Event, name: str) -> str:
    extra = event.get("extra") or {}
    return str(extra[name]["value"]).strip() if name in extra else ""


def _by_event(events: pd.DataFrame | None) -> dict[str, dict]:
    if events is None or not len(events):
        return {}
    return {str(r["event_id"]): r for r in events.to_dict("records")}


def _pick_times(picks: pd.DataFrame | None) -> dict:
    """{(event_id, network, station): P pick time}, also keyed with a blank network."""
    times: dict = {}
    if picks is None or not len(picks):
        return times
    picks = picks[picks["phase"].astype(str).str.upper() == "P"]
    parsed = pd.to_datetime(picks["time"].astype(str), format="ISO8601", utc=True,
                            errors="coerce")
    for event_id, network, station, text, stamp in zip(
            picks["event_id"].astype(str), picks["network"].astype(str),
            picks["station"].astype(str), picks["time"], parsed):
        time = (UTCDateTime(ns=int(stamp.value)) if stamp is not pd.NaT and stamp.nanosecond == 0
                else parse_any_time(text))
        if time is None:
            continue
        times.setdefault((event_id, network, station), time)
        times.setdefault((event_id, "", station), time)
    return times


def _number(value) -> float | None:
    """A finite float, or None for blanks, NaN and text that is not a number."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _extra_value(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower()
    return str(value).strip()
