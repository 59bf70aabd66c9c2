"""QuakeML catalogs (through ObsPy) to and from the events/picks tables.

Picks keep the analyst's first motion as recorded: QuakeML ``polarity`` positive/negative is
``U``/``D`` (undecidable or missing is blank), ``onset`` impulsive/emergent is ``i``/``e``. The
weight of a pick is the Hypoinverse code found in the pick's comment ``weight=N`` (written by
:func:`write_quakeml`), else derived from the arrival's time weight (1 -> 0, 0 -> 4), else 0.
Event ids are the ``resource_id``'s last path element (``smi:local/event/38442575`` ->
``38442575``).

Catalogs as users have them are read too: picks and arrivals in any order, picks without an
arrival (kept; weight 0), a pick without phase hint takes its arrival's phase, and the first
arrivals ``Pg``/``Pn``/``Pb``/``P*`` (and ``Sg``...) are read as ``P`` (``S``); later phases
(``pP``, ``PmP``, ``PKP`` ...) are skipped with a problem record. QuakeML depths are metres: a
depth between 0 and 100 m is most likely a depth written in km, and is logged as a warning
naming the event (it is kept as written).
"""
from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pandas as pd
from obspy import read_events
from obspy.core.event import (Arrival, Catalog, Comment, Event, Magnitude, Origin,
                              OriginUncertainty, Pick, QuantityError, ResourceIdentifier,
                              WaveformStreamID)

from focalflow.errors import InputError
from focalflow.formats.common import (ReadProblem, check_codes, check_origin, frame, iso_time,
                                      parse_time, read_nonempty_bytes)
from focalflow.workdir import atomic_path

log = logging.getLogger("focalflow.formats.quakeml")

POLARITY_TO_CODE = {"positive": "U", "negative": "D"}
CODE_TO_POLARITY = {"U": "positive", "D": "negative"}
ONSET_TO_CODE = {"impulsive": "i", "emergent": "e"}
CODE_TO_ONSET = {"i": "impulsive", "e": "emergent"}
# first arrivals: direct (p, P), crustal (Pg, Pb) and head waves (Pn, P*); likewise S
FIRST_ARRIVAL = re.compile(r"^([PS])[gnb*]?$", re.IGNORECASE)
IMPLAUSIBLE_DEPTH_M = 100.0


def read_quakeml(path: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """Read a QuakeML file into ``(events, picks, problems)`` (events.csv / picks.csv columns).

    Uses each event's preferred origin (else its first) and preferred magnitude (else its
    first). An event without origin, or a pick without time, phase or station code, becomes a
    problem record and is skipped. Raises InputError for a missing, empty or non-QuakeML file.
    """
    path = Path(path)
    read_nonempty_bytes(path)
    try:
        catalog = read_events(str(path), format="QUAKEML")
    except Exception as exc:  # ObsPy raises many kinds for garbage; report one clear line
        raise InputError(path, f"not a readable QuakeML file ({type(exc).__name__}: {exc})") from None
    events, picks, problems = [], [], []
    seen: set[str] = set()
    for number, event in enumerate(catalog, start=1):
        event_id = event_id_of(event, number)
        where = f"event {number} ({event_id})"
        origin = event.preferred_origin() or (event.origins[0] if event.origins else None)
        if origin is None or origin.time is None or origin.latitude is None or origin.longitude is None:
            problems.append(ReadProblem(str(path), None, f"{where}: no origin with time and location"))
            continue
        if event_id in seen:
            problems.append(ReadProblem(str(path), None, f"{where}: duplicate event id"))
            continue
        try:
            check_origin(origin.time, origin.depth / 1000.0 if origin.depth is not None else 0.0)
        except ValueError as exc:
            problems.append(ReadProblem(str(path), None, f"{where}: {exc}"))
            continue
        seen.add(event_id)
        magnitude = event.preferred_magnitude() or (event.magnitudes[0] if event.magnitudes else None)
        horizontal, vertical = _uncertainties(origin)
        _check_depth_unit(path, event_id, origin.depth, vertical)
        events.append({"event_id": event_id, "time": iso_time(origin.time),
                       "latitude": origin.latitude, "longitude": origin.longitude,
                       "depth": origin.depth / 1000.0 if origin.depth is not None else math.nan,
                       "horz_uncert_km": horizontal, "vert_uncert_km": vertical,
                       "mag": magnitude.mag if magnitude is not None else math.nan})
        arrivals = {str(a.pick_id): a for a in origin.arrivals if a.pick_id}
        for index, pick in enumerate(event.picks, start=1):
            row = _pick_row(pick, event_id, arrivals.get(str(pick.resource_id)),
                            f"{path.name}:event {number} pick {index}")
            if isinstance(row, str):
                problems.append(ReadProblem(str(path), None, f"{where} pick {index}: {row}"))
            else:
                picks.append(row)
    if not events and not problems:
        raise InputError(path, "QuakeML file holds no event")
    return frame(events, "events"), frame(picks, "picks"), problems


def event_id_of(event: Event, number: int) -> str:
    """The event id: last element of the resource id (``.../event/123`` -> ``123``)."""
    text = str(event.resource_id.id) if event.resource_id is not None else ""
    text = text.rstrip("/").rsplit("/", 1)[-1].split("=")[-1].strip()
    return text or str(number)


def _uncertainties(origin: Origin) -> tuple[float, float]:
    horizontal = math.nan
    uncertainty = origin.origin_uncertainty
    if uncertainty is not None and uncertainty.horizontal_uncertainty is not None:
        horizontal = uncertainty.horizontal_uncertainty / 1000.0
    elif origin.latitude_errors and origin.latitude_errors.uncertainty is not None:
        horizontal = origin.latitude_errors.uncertainty * 111.19
    vertical = math.nan
    if origin.depth_errors and origin.depth_errors.uncertainty is not None:
        vertical = origin.depth_errors.uncertainty / 1000.0
    return horizontal, vertical


def _check_depth_unit(path: Path, event_id: str, depth_m, vertical_km: float) -> None:
    """Warn about a depth that looks written in km where QuakeML wants metres."""
    if depth_m is None or not 0 < depth_m < IMPLAUSIBLE_DEPTH_M:
        return
    uncertainty = f" with an uncertainty of {vertical_km * 1000:g} m" if math.isfinite(vertical_km) else ""
    log.warning("%s: event %s has depth %g m%s; QuakeML depths are metres, so this looks like "
                "a depth in km (kept as %g m = %g km; correct the file if it is km)", path,
                event_id, depth_m, uncertainty, depth_m, depth_m / 1000.0)


def phase_code(hint: str | None) -> str | None:
    """``P`` or ``S`` for a first-arrival phase name (``P``, ``Pg``, ``Sn`` ...), else None."""
    match = FIRST_ARRIVAL.match((hint or "").strip())
    return match.group(1).upper() if match else None


def _pick_row(pick: Pick, event_id: str, arrival: Arrival | None, source: str) -> dict | str:
    """A picks.csv row, or the reason the pick is skipped."""
    wid = pick.waveform_id
    if wid is None or not wid.station_code:
        return "no station code"
    if pick.time is None:
        return "no time"
    try:
        check_codes(wid.network_code or "", wid.station_code, wid.location_code or "",
                    wid.channel_code or "")
    except ValueError as exc:
        return str(exc)
    hint = pick.phase_hint or (arrival.phase if arrival is not None else None)
    phase = phase_code(hint)
    if phase is None:
        return f"phase hint {hint!r} is not a first P or S arrival (P, Pg, Pn, Pb, P*, S, Sg ...)"
    time_weight = arrival.time_weight if arrival is not None else None
    weight = 0
    for comment in pick.comments:
        if comment.text and comment.text.startswith("weight="):
            try:
                weight = int(comment.text.split("=", 1)[1])
            except ValueError:
                return f"comment {comment.text!r} is not weight=<0-4>"
            break
    else:
        if time_weight is not None:
            weight = int(round(4 * (1 - min(max(float(time_weight), 0.0), 1.0))))
    channel = wid.channel_code or ""
    return {"event_id": event_id, "network": wid.network_code or "", "station": wid.station_code,
            "location": wid.location_code or "", "channel": channel, "phase": phase,
            "time": iso_time(pick.time), "onset": ONSET_TO_CODE.get(pick.onset or "", ""),
            "polarity": POLARITY_TO_CODE.get(pick.polarity or "", ""), "weight": weight,
            "source": source}


def catalog_from_tables(events: pd.DataFrame, picks: pd.DataFrame) -> Catalog:
    """An ObsPy Catalog of the events and picks tables (one origin, magnitude and arrivals each)."""
    catalog = Catalog()
    by_event = {str(k): g for k, g in picks.groupby(picks["event_id"].astype(str), sort=False)}
    for row in events.itertuples(index=False):
        event_id = str(row.event_id)
        event = Event(resource_id=ResourceIdentifier(f"smi:local/event/{event_id}"))
        origin = Origin(resource_id=ResourceIdentifier(f"smi:local/origin/{event_id}"),
                        time=parse_time(row.time), latitude=float(row.latitude),
                        longitude=float(row.longitude), depth=float(row.depth) * 1000.0)
        if _present(row.vert_uncert_km):
            origin.depth_errors = QuantityError(uncertainty=float(row.vert_uncert_km) * 1000.0)
        if _present(row.horz_uncert_km):
            origin.origin_uncertainty = OriginUncertainty(
                horizontal_uncertainty=float(row.horz_uncert_km) * 1000.0,
                preferred_description="horizontal uncertainty")
        event.origins.append(origin)
        event.preferred_origin_id = origin.resource_id
        if _present(row.mag):
            magnitude = Magnitude(resource_id=ResourceIdentifier(f"smi:local/magnitude/{event_id}"),
                                  mag=float(row.mag), origin_id=origin.resource_id)
            event.magnitudes.append(magnitude)
            event.preferred_magnitude_id = magnitude.resource_id
        group = by_event.get(event_id)
        for index, pick_row in enumerate(group.itertuples(index=False) if group is not None else []):
            pick_id = ResourceIdentifier(f"smi:local/pick/{event_id}/{index}")
            weight = int(float(pick_row.weight)) if _present(pick_row.weight) else 0
            pick = Pick(resource_id=pick_id, time=parse_time(pick_row.time),
                        phase_hint=str(pick_row.phase),
                        waveform_id=WaveformStreamID(str(pick_row.network), str(pick_row.station),
                                                     _text(pick_row.location), _text(pick_row.channel)),
                        comments=[Comment(text=f"weight={weight}")])
            if _text(pick_row.polarity).upper() in CODE_TO_POLARITY:
                pick.polarity = CODE_TO_POLARITY[_text(pick_row.polarity).upper()]
            if _text(pick_row.onset).lower() in CODE_TO_ONSET:
                pick.onset = CODE_TO_ONSET[_text(pick_row.onset).lower()]
            event.picks.append(pick)
            origin.arrivals.append(Arrival(pick_id=pick_id, phase=str(pick_row.phase),
                                           time_weight=1 - weight / 4 if weight <= 4 else 0.0))
        catalog.append(event)
    return catalog


def write_quakeml(events: pd.DataFrame, picks: pd.DataFrame, path: Path | str) -> Path:
    """Write the events and picks tables as QuakeML (atomically); :func:`read_quakeml` reads it back."""
    catalog = catalog_from_tables(events, picks)
    with atomic_path(path) as tmp:
        catalog.write(str(tmp), format="QUAKEML")
    return Path(path)


def _present(value) -> bool:
    return not (value is None or (isinstance(value, float) and math.isnan(value))
                or str(value).strip() == "")


def _text(value) -> str:
    return str(value) if _present(value) else ""

