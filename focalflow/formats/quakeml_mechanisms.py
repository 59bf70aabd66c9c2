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

import math
from pathlib import Path

import numpy as np
import pandas as pd
from obspy import UTCDateTime, read_events
from obspy.core.event import (Arrival, Axis, Catalog, Comment, Event, FocalMechanism, Magnitude,
                              NodalPlane, NodalPlanes, Origin, OriginUncertainty, Pick,
                              PrincipalAxes, QuantityError, ResourceIdentifier, WaveformStreamID)
from obspy.core.util import AttribDict

from focalflow.errors import InputError
from focalflow.formats.common import parse_any_time
from focalflow.formats.quakeml import event_id_of
from focalflow.workdir import atomic_path
from hash_core.geometry import auxiliary_plane, axis_trend_plunge, pbt_axes, sdr_to_vectors

NAMESPACE = "http://focalflow.org/xmlns/mechanism/1.0"
KM_PER_DEGREE = 111.19
METHOD_ID = "smi:local/focalflow/method/HASH"

# Columns of mechanisms.csv stored as focalflow extra elements (exact text round trip).
EXTRA_COLUMNS = ["quality", "fault_plane_uncertainty", "aux_plane_uncertainty", "num_sp_ratios",
                 "prob_mech", "sp_misfit", "mult_solution_flag", "takeoff_gap", "faulting_class"]


def mechanisms_catalog(mechanisms: pd.DataFrame, events: pd.DataFrame | None = None,
                       polinfo: pd.DataFrame | None = None,
                       picks: pd.DataFrame | None = None) -> Catalog:
    """An ObsPy Catalog of the mechanism table (see the module docstring for the layout).

    ``events`` (events.csv) supplies origin time, uncertainties and magnitude where present;
    ``polinfo`` (polinfo.csv) the polarities used; ``picks`` (picks.csv) the P pick times (else
    the pick time is the origin time, and a comment on the pick says so).
    """
    event_rows = _by_event(events)
    pick_times = _pick_times(picks)
    polinfo_groups = ({str(k): g for k, g in polinfo.groupby(polinfo["event_id"].astype(str),
                                                               sort=False)}
                      if polinfo is not None and len(polinfo) else {})
    catalog = Catalog(resource_id=ResourceIdentifier("smi:local/focalflow/catalog"))
    rows_by_event: dict[str, list[dict]] = {}
    for row in mechanisms.to_dict("records"):
        rows_by_event.setdefault(str(row["event_id"]), []).append(row)
    for event_id, rows in rows_by_event.items():
        catalog.append(_event(event_id, rows, event_rows.get(event_id),
                              polinfo_groups.get(event_id), pick_times))
    return catalog


def write_mechanisms_quakeml(path: Path | str, mechanisms: pd.DataFrame,
                             events: pd.DataFrame | None = None,
                             polinfo: pd.DataFrame | None = None,
                             picks: pd.DataFrame | None = None) -> Path:
    """Write ``mechanisms.xml`` atomically; :func:`read_mechanisms_quakeml` reads it back."""
    catalog = mechanisms_catalog(mechanisms, events, polinfo, picks)
    with atomic_path(path) as tmp:
        catalog.write(str(tmp), format="QUAKEML", nsmap={"focalflow": NAMESPACE})
    return Path(path)


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


def _event(event_id: str, rows: list[dict], event_row: dict | None,
           polinfo: pd.DataFrame | None, pick_times: dict) -> Event:
    """One event; its first mechanism row is the preferred one, others (HASH's multiple
    solutions) follow as further focal mechanisms."""
    rid = lambda kind: ResourceIdentifier(f"smi:local/{kind}/{event_id}")  # noqa: E731
    row = rows[0]
    event = Event(resource_id=rid("event"), event_type="earthquake")
    event.extra = AttribDict({"event_id": {"value": event_id, "namespace": NAMESPACE}})
    origin = _origin(event_id, row, event_row)
    event.origins.append(origin)
    event.preferred_origin_id = origin.resource_id
    mag = _number((event_row or {}).get("mag", row.get("mag")))
    if mag is not None:
        magnitude = Magnitude(resource_id=rid("magnitude"), mag=mag, origin_id=origin.resource_id)
        event.magnitudes.append(magnitude)
        event.preferred_magnitude_id = magnitude.resource_id
    for number, solution in enumerate(rows):
        event.focal_mechanisms.append(_focal_mechanism(event_id, number, solution, origin))
    event.preferred_focal_mechanism_id = event.focal_mechanisms[0].resource_id
    if polinfo is not None:
        used = [obs for obs in polinfo.to_dict("records")
                if _number(obs.get("p_polarity")) is not None]  # S/P rows carry no polarity
        for index, obs in enumerate(used):
            pick, arrival = _pick_arrival(event_id, index, obs, origin.time, pick_times)
            event.picks.append(pick)
            origin.arrivals.append(arrival)
    return event


def _origin(event_id: str, row: dict, event_row: dict | None) -> Origin:
    source = event_row or {}
    time = parse_any_time(source.get("time", row.get("time")))
    latitude = _number(source.get("latitude", row.get("origin_lat")))
    longitude = _number(source.get("longitude", row.get("origin_lon")))
    depth_km = _number(source.get("depth", row.get("origin_depth_km")))
    origin = Origin(resource_id=ResourceIdentifier(f"smi:local/origin/{event_id}"),
                    time=time if time is not None else UTCDateTime(0),
                    latitude=latitude, longitude=longitude,
                    depth=None if depth_km is None else depth_km * 1000.0)
    horizontal = _number(source.get("horz_uncert_km", row.get("horz_uncert_km")))
    vertical = _number(source.get("vert_uncert_km", row.get("vert_uncert_km")))
    if vertical is not None:
        origin.depth_errors = QuantityError(uncertainty=vertical * 1000.0)
    if horizontal is not None:
        origin.origin_uncertainty = OriginUncertainty(
            horizontal_uncertainty=horizontal * 1000.0,
            preferred_description="horizontal uncertainty")
    return origin


def _focal_mechanism(event_id: str, number: int, row: dict, origin: Origin) -> FocalMechanism:
    strike, dip, rake = (float(row[k]) for k in ("strike", "dip", "rake"))
    if all(_number(row.get(k)) is not None for k in ("strike2", "dip2", "rake2")):
        strike2, dip2, rake2 = (float(row[k]) for k in ("strike2", "dip2", "rake2"))
    else:
        strike2, dip2, rake2 = (float(v) for v in auxiliary_plane(strike, dip, rake))
    fault_uncertainty = _number(row.get("fault_plane_uncertainty"))
    aux_uncertainty = _number(row.get("aux_plane_uncertainty"))

    def plane(s, d, r, uncertainty):
        errors = (lambda: QuantityError(uncertainty=uncertainty)) if uncertainty is not None \
            else (lambda: None)
        return NodalPlane(strike=s, dip=d, rake=r, strike_errors=errors(), dip_errors=errors(),
                          rake_errors=errors())

    normal, slip = sdr_to_vectors(strike, dip, rake)
    axes = {}
    for name, vector in zip("ptn", pbt_axes(normal, slip)):
        trend, plunge = axis_trend_plunge(vector)
        axes[name] = Axis(azimuth=float(trend), plunge=float(plunge), length=1.0)
    mechanism_id = f"smi:local/focal_mechanism/{event_id}" + (f"/{number}" if number else "")
    mechanism = FocalMechanism(
        resource_id=ResourceIdentifier(mechanism_id),
        triggering_origin_id=origin.resource_id,
        nodal_planes=NodalPlanes(nodal_plane_1=plane(strike, dip, rake, fault_uncertainty),
                                 nodal_plane_2=plane(strike2, dip2, rake2, aux_uncertainty)),
        principal_axes=PrincipalAxes(t_axis=axes["t"], p_axis=axes["p"], n_axis=axes["n"]),
        method_id=ResourceIdentifier(METHOD_ID), evaluation_mode="automatic")
    misfit = _number(row.get("polarity_misfit"))
    mechanism.misfit = None if misfit is None else misfit / 100.0
    count = _number(row.get("num_p_pol"))
    mechanism.station_polarity_count = None if count is None else int(count)
    mechanism.azimuthal_gap = _number(row.get("azimuthal_gap"))
    ratio = _number(row.get("sta_distribution_ratio"))
    mechanism.station_distribution_ratio = None if ratio is None else ratio / 100.0
    quality = str(row.get("quality", "") or "").strip()
    if quality:
        mechanism.comments.append(Comment(
            text=f"HASH quality {quality}",
            resource_id=ResourceIdentifier(f"{mechanism_id}/quality")))
    mechanism.extra = AttribDict({
        column: {"value": _extra_value(row[column]), "namespace": NAMESPACE}
        for column in EXTRA_COLUMNS if column in row and _extra_value(row[column]) != ""})
    return mechanism


def _pick_arrival(event_id: str, index: int, obs: dict, origin_time: UTCDateTime,
                  pick_times: dict) -> tuple[Pick, Arrival]:
    network, station, location, channel = split_sta_code(obs.get("sta_code", ""))
    network = str(obs.get("network", network) or network)
    pick_id = ResourceIdentifier(f"smi:local/pick/{event_id}/mechanism/{index}")
    time = pick_times.get((event_id, network, station)) or pick_times.get((event_id, "", station))
    pick = Pick(resource_id=pick_id, time=time or origin_time, phase_hint="P",
                waveform_id=WaveformStreamID(network, station, location, channel),
                evaluation_mode="automatic")
    if time is None:
        pick.comments.append(Comment(text="pick time not known here: origin time given",
                                     resource_id=ResourceIdentifier(f"{pick_id}/comment")))
    polarity = _number(obs.get("p_polarity")) or 0.0
    pick.polarity = "positive" if polarity > 0 else "negative" if polarity < 0 else "undecidable"
    arrival = Arrival(resource_id=ResourceIdentifier(f"smi:local/arrival/{event_id}/{index}"),
                      pick_id=pick_id, phase="P", time_weight=abs(polarity))
    azimuth = _number(obs.get("azimuth"))
    arrival.azimuth = None if azimuth is None else azimuth % 360.0
    takeoff = _number(obs.get("takeoff"))
    arrival.takeoff_angle = None if takeoff is None else 180.0 - takeoff
    distance = _number(obs.get("sr_dist_km"))
    arrival.distance = None if distance is None else distance / KM_PER_DEGREE
    agreement = _number(obs.get("pol_agreement"))
    if agreement is not None:
        arrival.extra = AttribDict({"pol_agreement": {"value": _extra_value(agreement),
                                                      "namespace": NAMESPACE}})
    return pick, arrival


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
    for row in picks[picks["phase"].astype(str).str.upper() == "P"].to_dict("records"):
        time = parse_any_time(row["time"])
        if time is None:
            continue
        event_id, station = str(row["event_id"]), str(row["station"])
        times.setdefault((event_id, str(row["network"]), station), time)
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
