"""Reviewed polarities: the ``overrides.csv`` table that ``focalflow review`` writes and stage 6
honours on every run, so a reviewed event survives reruns.

One row per edit, appended in the order they were made (a later row for the same pick wins):

========== ===============================================================================
event_id   the event
network    station code parts; ``channel`` may be blank (the edit applies to every
station    channel of the station for that event)
location
channel
action     ``flip`` (reverse the polarity used), ``drop`` (leave the station out),
           ``set`` (use ``polarity``: +1 up, -1 down, true ground motion), ``restore``
           (undo earlier edits of this pick), ``accept`` (the whole event was reviewed and
           accepted; station columns blank)
polarity   +1/-1 for ``set``, blank otherwise
user       who made the edit
time       when (ISO 8601 UTC)
note       free text
========== ===============================================================================

Polarities in the table are true ground motion, the same convention as ``p_polarity`` of
the observations (after the station reversal table).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.tables import read_table

ACTIONS = ("flip", "drop", "set", "restore", "accept")
PICK_ACTIONS = ("flip", "drop", "set", "restore")


def read_overrides(path: Path | str) -> pd.DataFrame:
    """The overrides table; InputError naming the file and line for an unknown action or a
    ``set`` row without a polarity of +1 or -1."""
    table = read_table(path, "overrides")
    for k, row in enumerate(table.to_dict("records")):
        line = k + 2
        if row["action"] not in ACTIONS:
            raise InputError(path, f"action {row['action']!r} is not one of "
                             f"{', '.join(ACTIONS)}", line=line)
        if row["action"] == "set" and str(row["polarity"]).strip() not in ("1", "-1", "+1",
                                                                           "1.0", "-1.0"):
            raise InputError(path, f"action 'set' needs polarity +1 or -1, got "
                             f"{row['polarity']!r}", line=line)
        if row["action"] != "accept" and not row["station"]:
            raise InputError(path, f"action {row['action']!r} needs a station", line=line)
    return table


def effective_edits(overrides: pd.DataFrame) -> pd.DataFrame:
    """The last pick edit of each (event, network, station, location, channel), ``restore``
    edits removed: what stage 6 applies."""
    edits = overrides[overrides["action"].isin(PICK_ACTIONS)]
    keys = ["event_id", "network", "station", "location", "channel"]
    last = edits.drop_duplicates(keys, keep="last")
    return last[last["action"] != "restore"].reset_index(drop=True)


def accepted_events(overrides: pd.DataFrame) -> set[str]:
    """Event ids with an ``accept`` row."""
    return set(overrides.loc[overrides["action"] == "accept", "event_id"])


def apply_overrides(observations: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """``observations`` (polarity rows ``kind == "P"``; see :mod:`focalflow.mechanisms.solve`)
    with the reviewed edits applied: dropped picks removed, flipped ones reversed, set ones
    given the reviewed polarity. S/P rows of a dropped station are removed too. A ``set`` for a
    pick that has no polarity row is not added here (the caller adds the row it needs)."""
    edits = effective_edits(overrides)
    if edits.empty or observations.empty:
        return observations
    obs = observations.copy()
    polarity = obs["p_polarity"].astype(float).to_numpy().copy()
    keep = np.ones(len(obs), dtype=bool)
    is_p = (obs["kind"] == "P").to_numpy()
    for edit in edits.to_dict("records"):
        match = ((obs["event_id"] == edit["event_id"]) & (obs["network"] == edit["network"])
                 & (obs["station"] == edit["station"])
                 & (obs["location"] == edit["location"])).to_numpy()
        if edit["channel"]:
            match = match & (obs["channel"] == edit["channel"]).to_numpy()
        if edit["action"] == "drop":
            keep &= ~match
        elif edit["action"] == "flip":
            polarity[match & is_p] *= -1
        elif edit["action"] == "set":
            polarity[match & is_p] = float(edit["polarity"])
    obs["p_polarity"] = polarity
    return obs[keep].reset_index(drop=True)
