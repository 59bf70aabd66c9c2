"""Column layouts of the working-directory tables and their CSV reading/writing.

Column names follow SKHASH where SKHASH has the same table, so the files also feed SKHASH.
Conventions: times are ISO 8601 UTC strings; depth in km (positive down); elevation in m;
polarity columns in picks.csv are the analyst's ``U``/``D``/blank as recorded on the trace;
``p_polarity`` in polarities.csv is +1/-1/0 after the station reversal table.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.provenance import content_digest
from focalflow.workdir import atomic_path, locked

COLUMNS: dict[str, list[str]] = {
    "events": ["event_id", "time", "latitude", "longitude", "depth", "horz_uncert_km",
               "vert_uncert_km", "mag"],
    "picks": ["event_id", "network", "station", "location", "channel", "phase", "time", "onset",
              "polarity", "weight", "source"],
    "stations": ["network", "station", "location", "channel", "latitude", "longitude", "elevation",
                 "azimuth", "dip", "sampling_rate", "start", "end", "has_metadata"],
    "reversals": ["network", "station", "start", "end"],
    "polarities": ["event_id", "network", "station", "location", "channel", "p_polarity", "prob_up",
                   "prob_down", "prob_undecided", "clarity", "model"],
    "sp_ratios": ["event_id", "network", "station", "location", "channel", "sp_ratio", "amp_p",
                  "amp_s", "noise_p", "noise_s"],
    "failures": ["stage", "event_id", "station", "reason"],
    "overrides": ["event_id", "network", "station", "location", "channel", "action", "polarity",
                  "user", "time", "note"],
}

# Columns read as strings, never as numbers (codes like "00" or station "1107" keep their form).
STRING_COLUMNS = {"event_id", "network", "station", "location", "channel", "phase", "onset",
                  "polarity", "source", "time", "start", "end", "clarity", "model", "stage",
                  "reason", "quality", "action", "user", "note"}


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the columns of table ``name``."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS[name]})


def read_table(path: Path | str, name: str | None = None) -> pd.DataFrame:
    """Read a working-directory CSV; with ``name``, check that its columns are present.

    Code columns (network, station, location, ...) are read as strings with blanks as "".
    """
    return next(iter(read_table_chunks(path, name, rows=None)))


def read_table_chunks(path: Path | str, name: str | None = None, rows: int | None = 200_000,
                      as_text: bool = False) -> Iterator[pd.DataFrame]:
    """:func:`read_table` ``rows`` rows at a time (None: the whole table in one piece), so
    that tables larger than memory can be streamed. ``as_text``: every column as the text of
    the file (blanks "")."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found (has the stage that writes it been run?)")
    if as_text:
        options = {"dtype": str, "keep_default_na": False}
    else:
        options = {"dtype": {c: str for c in STRING_COLUMNS}, "keep_default_na": False,
                   "na_values": {c: [""] for c in _numeric_columns(name)} if name else None}
    try:
        reader = pd.read_csv(path, chunksize=rows, **options)
        pieces = [reader] if rows is None else reader
        for k, frame in enumerate(pieces):
            if k == 0 and name is not None:
                missing = [c for c in COLUMNS[name] if c not in frame.columns]
                if missing:
                    raise InputError(path, f"missing column(s) {', '.join(missing)} of the "
                                           f"{name} table")
            yield frame
    except pd.errors.EmptyDataError:
        raise InputError(path, "file is empty (expected a CSV header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV table: {exc}") from None


def picks_digest(picks: pd.DataFrame) -> str:
    """Digest of one event's picks (picks.csv rows) apart from their ``source``: a line added
    to the phase file moves the ``file:line`` of every later pick, not the picks themselves."""
    return content_digest(picks.drop(columns="source", errors="ignore"))


def picks_digests(picks: pd.DataFrame) -> dict[str, str]:
    """:func:`picks_digest` of each event's rows of ``picks``, keyed by ``event_id`` (as text),
    from one CSV rendering of the whole table instead of one per event (a value is written the
    same whatever the rows around it)."""
    body = picks.drop(columns="source", errors="ignore")
    header, _, text = body.to_csv(index=False).partition("\n")
    lines = text.split("\n")[:-1]
    event_ids = body["event_id"].astype(str).tolist()
    if len(lines) != len(event_ids):  # a quoted value spans lines: render each event apart
        return {str(e): picks_digest(rows) for e, rows in picks.groupby("event_id", sort=False)}
    by_event: dict[str, list[str]] = {}
    for event_id, line in zip(event_ids, lines):
        by_event.setdefault(event_id, []).append(line)
    return {event_id: content_digest(header + "\n" + "".join(line + "\n" for line in rows))
            for event_id, rows in by_event.items()}


def _numeric_columns(name: str) -> list[str]:
    return [c for c in COLUMNS[name] if c not in STRING_COLUMNS]


def write_table(frame: pd.DataFrame, path: Path | str, name: str | None = None,
                if_changed: bool = False) -> Path:
    """Write ``frame`` as CSV atomically; with ``name``, the table's columns come first in order.

    With ``if_changed`` an identical table leaves the file untouched."""
    if name is not None:
        missing = [c for c in COLUMNS[name] if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} table lacks column(s) {missing}")
        extra = [c for c in frame.columns if c not in COLUMNS[name]]
        frame = frame[COLUMNS[name] + extra]
    with atomic_path(path, if_changed) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


def update_event_rows(path: Path | str, frame: pd.DataFrame, event_ids: Iterable[str],
                      order: Sequence[str] | None = None, name: str | None = None) -> None:
    """Replace the rows of ``event_ids`` in the CSV table at ``path`` by ``frame``'s rows.

    Every other event's rows are kept byte for byte (the table is handled as text), so
    ``--events`` never drops or reformats other events' rows. With ``order`` (event ids in
    catalog order) rows are sorted by it, events not in it last, each event's rows in their
    own order. The read-modify-write holds a lock: two runs on different events keep both. A
    merge that changes nothing leaves the file untouched.
    """
    path = Path(path)
    replaced = {str(e) for e in event_ids}
    if name is not None:
        frame = frame[COLUMNS[name] + [c for c in frame.columns if c not in COLUMNS[name]]]
    with locked(path):
        old = None
        if path.is_file() and path.stat().st_size:
            old = pd.read_csv(path, dtype=str, keep_default_na=False)
            old = old[~old["event_id"].isin(replaced)]
        if old is None or (not len(old) and list(old.columns) == list(frame.columns)):
            merged = frame  # no row kept: written as it comes (the same text)
        else:
            new = _as_text(frame)
            columns = list(old.columns) + [c for c in new.columns if c not in old.columns]
            merged = pd.concat([old.reindex(columns=columns, fill_value=""),
                                new.reindex(columns=columns, fill_value="")], ignore_index=True)
        if order is not None:
            rank = {str(e): k for k, e in enumerate(order)}
            ranks = pd.Series([rank.get(str(e), len(rank)) for e in merged["event_id"].tolist()])
            if not ranks.is_monotonic_increasing:
                merged = merged.iloc[np.argsort(ranks.to_numpy(), kind="stable")] \
                    .reset_index(drop=True)
        with atomic_path(path, if_changed=True) as tmp:
            merged.to_csv(tmp, index=False)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the strings ``to_csv`` writes."""
    return pd.read_csv(io.StringIO(frame.to_csv(index=False)), dtype=str, keep_default_na=False)
