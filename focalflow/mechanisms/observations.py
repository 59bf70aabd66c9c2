"""The observation table of stage 6: one row per polarity or S/P ratio an event is solved from.

Columns (:data:`OBS_COLUMNS`): the station codes; ``kind`` ``"P"`` (a polarity) or ``"SP"`` (an
S/P ratio); ``p_polarity`` +1/-1 of the *true ground motion* (after the station reversal table
and the reviewed edits of ``overrides.csv``; 0 on S/P rows); ``impulsive``; ``polarity_weight`` the
polarity's weight in [0, 1] (SKHASH's |p_polarity|; blank: HASH's unweighted counts); ``sp_ratio``
log10(S/P) after station correction (NaN on P rows); ``source`` (SKHASH's names: ``trad_p``
analyst, ``dl_p`` CNN, ``trad_sp`` measured ratio, ``review`` a polarity set in review); the
station coordinates; the epicentral ``distance_km`` and ``azimuth_deg``; and, where the
take-off angles are given (HASH driver 1, SKHASH precomputed angles), ``takeoff_deg`` and
``azimuth_deg`` with their sigmas.

:func:`build_observations` makes it from the working-directory tables in one order: polarities
of ``hash.polarity_source`` (analyst picks, as recorded, get the reversal table here, once;
CNN polarities already have it from stage 4; ``combined``: one polarity per pick by the
consensus rule), S/P ratios, reviewed edits, stations, distances. Polarity weights follow
``hash.polarity_weights`` (:data:`POLARITY_WEIGHTS`).
The HASH and SKHASH classic modes (:mod:`focalflow.mechanisms.classic`) use the same pieces.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from focalflow.formats.reversals import reversed_mask
from focalflow.formats.skhash import read_skhash_polarities
from focalflow.mechanisms.consensus import consensus_polarities
from focalflow.mechanisms.overrides import apply_overrides, effective_edits
from hash_core.geometry import flat_distance_azimuth

OBS_COLUMNS = ["event_id", "network", "station", "location", "channel", "kind", "p_polarity",
               "impulsive", "polarity_weight", "sp_ratio", "source", "station_lat", "station_lon",
               "station_elev_m", "distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg",
               "azimuth_sigma_deg"]
CODE_COLUMNS = ["event_id", "network", "station", "location", "channel"]

ProblemSink = Callable[[Optional[str], Optional[str], str], None]
POLARITY_SIGNS = {"U": 1.0, "D": -1.0, "+": 1.0, "-": -1.0}


def station_code(network: str, station: str, location: str, channel: str) -> str:
    """SKHASH's station code NET.STA.LOC.CHA (blank location as ``--``, blank network left out)."""
    parts = [network] if network else []
    return ".".join(parts + [station, location or "--", channel])


def empty_observations() -> pd.DataFrame:
    """An observations table without rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in OBS_COLUMNS})


def make_observations(frame: pd.DataFrame, **defaults) -> pd.DataFrame:
    """An observations table from ``frame`` (any subset of :data:`OBS_COLUMNS`), missing columns
    filled from ``defaults`` or with blanks/NaN."""
    out = pd.DataFrame(index=frame.index)
    for column in OBS_COLUMNS:
        if column in frame.columns:
            out[column] = frame[column]
        elif column in defaults:
            out[column] = defaults[column]
        elif column in ("network", "station", "location", "channel", "source", "kind"):
            out[column] = ""
        elif column == "impulsive":
            out[column] = True
        else:
            out[column] = np.nan
    for column in CODE_COLUMNS:
        out[column] = out[column].astype(str)
    return out.reset_index(drop=True)


def join_codes(columns: list[str]) -> Callable[[pd.DataFrame], pd.Series]:
    """A key function: the ``columns`` of a frame joined with dots (station matching)."""
    def key(frame: pd.DataFrame) -> pd.Series:
        out = frame[columns[0]].astype(str)
        for column in columns[1:]:
            out = out + "." + frame[column].astype(str)
        return out
    return key


def attach_stations(observations: pd.DataFrame, stations: pd.DataFrame,
                    key: Callable[[pd.DataFrame], pd.Series],
                    on_problem: ProblemSink) -> pd.DataFrame:
    """Fill station_lat/lon/elev_m of ``observations`` from ``stations`` (network, station,
    location, channel, latitude, longitude, elevation m), matching ``key(frame)`` strings; the
    first station row of a key wins. Observations without a station are reported and dropped."""
    if observations.empty:
        return observations
    table = stations.assign(_key=key(stations)).drop_duplicates("_key").set_index("_key")
    keys = key(observations)
    found = keys.isin(table.index).to_numpy()
    for _, row in observations[~found].iterrows():
        on_problem(row["event_id"], station_code(row["network"], row["station"], row["location"],
                                                 row["channel"]),
                   "station not in the station table; observation skipped")
    obs = observations[found].copy()
    matched = table.loc[keys[found]]
    obs["station_lat"] = matched["latitude"].to_numpy(float)
    obs["station_lon"] = matched["longitude"].to_numpy(float)
    obs["station_elev_m"] = pd.to_numeric(matched["elevation"], errors="coerce").to_numpy(float)
    return obs.reset_index(drop=True)


def add_distance_azimuth(observations: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Epicentral distance (km) and azimuth (degrees) from each observation's event to its
    station (HASH's flat-earth formula); rows that already have both keep them."""
    if observations.empty:
        return observations
    located = events.set_index("event_id")
    lat = located.loc[observations["event_id"], "latitude"].to_numpy(float)
    lon = located.loc[observations["event_id"], "longitude"].to_numpy(float)
    distance, azimuth = flat_distance_azimuth(lat, lon, observations["station_lat"].to_numpy(float),
                                              observations["station_lon"].to_numpy(float))
    obs = observations.copy()
    keep = obs["azimuth_deg"].notna() & obs["distance_km"].notna()
    obs["distance_km"] = np.where(keep, obs["distance_km"], distance)
    obs["azimuth_deg"] = np.where(keep, obs["azimuth_deg"], azimuth)
    return obs


def apply_reversals(observations: pd.DataFrame, events: pd.DataFrame,
                    reversals: pd.DataFrame | None) -> pd.DataFrame:
    """Polarities as recorded -> true ground motion: flip the P rows of stations reversed at
    their event's origin time (the rule, end instant included, is
    :func:`focalflow.formats.reversals.reversed_mask`'s)."""
    if observations.empty or reversals is None or reversals.empty:
        return observations
    times = events.set_index("event_id").loc[observations["event_id"], "time"].to_numpy(object)
    flip = reversed_mask(reversals, observations["network"].to_numpy(str),
                         observations["station"].to_numpy(str), times)
    polarity = observations["p_polarity"].to_numpy(float).copy()
    polarity[flip] *= -1
    return observations.assign(p_polarity=polarity)


def apply_review(observations: pd.DataFrame, overrides: pd.DataFrame | None,
                 event_ids) -> pd.DataFrame:
    """The reviewed edits of ``overrides.csv`` for ``event_ids`` (after the reversals): dropped,
    flipped and set polarities (:func:`~focalflow.mechanisms.overrides.apply_overrides`), and a
    new polarity row (source ``review``) for each ``set`` of a pick that had none."""
    if overrides is None or overrides.empty:
        return observations
    overrides = overrides[overrides["event_id"].isin(set(event_ids))]
    obs = apply_overrides(observations, overrides)
    sets = effective_edits(overrides)
    sets = sets[sets["action"] == "set"]
    if sets.empty:
        return obs
    have = set(zip(*(obs.loc[obs["kind"] == "P", c] for c in CODE_COLUMNS[:4])))
    new = sets[[k not in have for k in zip(*(sets[c] for c in CODE_COLUMNS[:4]))]]
    if new.empty:
        return obs
    added = make_observations(new.assign(kind="P", source="review",
                                         p_polarity=new["polarity"].astype(float)))
    return pd.concat([obs, added], ignore_index=True)


POLARITY_WEIGHTS = ("none", "onset", "cnn_probability")
#: SKHASH's polarity weights of Hypoinverse weight codes (0 best; 4 and above: not used).
WEIGHT_CODE_WEIGHTS = {"0": 1.0, "1": 0.5, "2": 0.2, "3": 0.1}


def analyst_polarities(picks: pd.DataFrame, event_ids, weights: str = "onset") -> pd.DataFrame:
    """P picks with a polarity (U/D/+/-, as recorded) of ``event_ids``. ``weights``
    (:data:`POLARITY_WEIGHTS`): ``onset`` marks onset ``i`` impulsive (HASH's two misfit
    counts), ``none`` counts every pick alike, ``cnn_probability`` weights each pick by its
    weight code as SKHASH reads Hypoinverse picks (:data:`WEIGHT_CODE_WEIGHTS`, blank 1)."""
    picks = picks[picks["event_id"].isin(set(event_ids)) & picks["phase"].str.upper().eq("P")]
    sign = picks["polarity"].str.upper().map(POLARITY_SIGNS)
    picks = picks[sign.notna()].assign(p_polarity=sign[sign.notna()])
    impulsive = picks["onset"].str.lower().eq("i") if weights == "onset" else True
    weight = np.nan
    if weights == "cnn_probability":
        code = picks["weight"].astype(str).str.strip()
        weight = code.map(WEIGHT_CODE_WEIGHTS).where(code != "", 1.0).fillna(0.0)
    picks = picks.assign(impulsive=impulsive, source="trad_p", polarity_weight=weight)
    return make_observations(picks, kind="P")


def cnn_polarities(polarities: pd.DataFrame, event_ids, weights: str = "onset") -> pd.DataFrame:
    """Decided (non-zero) CNN polarities of ``event_ids``, already true ground motion (stage 4
    applies the reversal table). ``weights``: ``onset`` marks clarity ``I`` impulsive, ``none``
    counts all alike, ``cnn_probability`` weights each by the model's probability of the
    first motion it read on the recorded trace (``prob_up`` or ``prob_down``)."""
    cnn = polarities[polarities["event_id"].isin(set(event_ids))]
    cnn = cnn[pd.to_numeric(cnn["p_polarity"], errors="coerce").fillna(0) != 0]
    impulsive = cnn["clarity"].astype(str).str.upper().eq("I") if weights == "onset" else True
    weight = np.nan
    if weights == "cnn_probability":
        true = pd.to_numeric(cnn["p_polarity"], errors="coerce")
        recorded = (pd.to_numeric(cnn["recorded_polarity"], errors="coerce").fillna(true)
                    if "recorded_polarity" in cnn.columns else true)   # absent: not stage 4's table
        weight = np.where(recorded > 0, pd.to_numeric(cnn["prob_up"], errors="coerce"),
                          pd.to_numeric(cnn["prob_down"], errors="coerce"))
    cnn = cnn.assign(impulsive=impulsive, source="dl_p", polarity_weight=weight)
    return make_observations(cnn, kind="P")


def polarity_settings(hash_config) -> dict:
    """:func:`build_observations`' polarity arguments from the config's ``hash`` section: the
    weights policy, the consensus rule and, with ``polarity_source: combined``, the
    ``polarity_files`` (read here, whole; each observation's source ``file:NAME``)."""
    files = ([(f"file:{Path(path).name}", read_skhash_polarities(path))
              for path in hash_config.polarity_files]
             if hash_config.polarity_source == "combined" else [])
    return {"weights": hash_config.polarity_weights, "consensus": hash_config.consensus,
            "polarity_files": files}


def file_polarities(frame: pd.DataFrame, event_ids, source: str) -> pd.DataFrame:
    """Polarities of an SKHASH polarity file (``p_polarity`` a signed weight of the true ground
    motion) of ``event_ids``, weighted by |p_polarity|, with ``source`` (``con_p`` ...)."""
    rows = frame[frame["event_id"].astype(str).isin(set(event_ids))]
    value = pd.to_numeric(rows["p_polarity"], errors="coerce").fillna(0.0)
    rows = rows[value != 0].assign(p_polarity=np.sign(value[value != 0]),
                                   polarity_weight=np.abs(value[value != 0]),
                                   impulsive=True, source=source)
    return make_observations(rows, kind="P")


def sp_observations(sp_ratios: pd.DataFrame, event_ids) -> pd.DataFrame:
    """The usable (finite) S/P ratios of ``event_ids`` from an ``sp_ratios`` table."""
    sp = sp_ratios[sp_ratios["event_id"].isin(set(event_ids))]
    sp = sp[np.isfinite(pd.to_numeric(sp["sp_ratio"], errors="coerce"))]
    return make_observations(sp.assign(source="trad_sp"), kind="SP", p_polarity=0.0,
                             impulsive=False)


def build_observations(events: pd.DataFrame, polarity_source: str, stations: pd.DataFrame,
                       on_problem: ProblemSink, picks: pd.DataFrame | None = None,
                       polarities: pd.DataFrame | None = None,
                       reversals: pd.DataFrame | None = None,
                       sp_ratios: pd.DataFrame | None = None,
                       overrides: pd.DataFrame | None = None, weights: str = "onset",
                       consensus: str = "analyst_first",
                       polarity_files: Sequence[tuple[str, pd.DataFrame]] = ()) -> pd.DataFrame:
    """The observations of ``events`` from the working-directory tables (module docstring).

    ``polarity_source``: ``analyst`` (``picks``, with ``reversals`` applied), ``cnn``
    (``polarities``) or ``combined`` (every source, one polarity per pick by the
    ``consensus`` rule, :mod:`focalflow.mechanisms.consensus`); ``polarity_files``: more
    sources, (source name, SKHASH polarity table) pairs. ``weights``
    (:data:`POLARITY_WEIGHTS`): how polarities count in the search. ``sp_ratios`` None:
    polarities only. Stations are matched on network, station and location; an observation
    without a station is reported and dropped.
    """
    ids = events["event_id"]
    parts = []
    if polarity_source in ("analyst", "combined"):
        parts.append(apply_reversals(analyst_polarities(picks, ids, weights), events, reversals))
    if polarity_source in ("cnn", "combined"):
        parts.append(cnn_polarities(polarities, ids, weights))
    if polarity_source == "combined":
        parts += [file_polarities(frame, ids, name) for name, frame in polarity_files]
        candidates = pd.concat([p for p in parts if len(p)] or [empty_observations()],
                               ignore_index=True)
        parts = [consensus_polarities(candidates, consensus, on_problem)]
    if sp_ratios is not None:
        parts.append(sp_observations(sp_ratios, ids))
    parts = [p for p in parts if len(p)]
    obs = pd.concat(parts, ignore_index=True) if parts else empty_observations()
    obs["p_polarity"] = obs["p_polarity"].astype(float)
    obs = apply_review(obs, overrides, ids)
    obs = attach_stations(obs, stations, join_codes(["network", "station", "location"]),
                          on_problem)
    return add_distance_azimuth(obs, events)
