"""What every output item was made from, so that a rerun redoes exactly what changed.

A stage keeps one ledger, ``<workdir>/.focalflow/<stage>.sqlite``. For each output item (an
event's SAC files, its windows, its polarities, its mechanism, a figure) it records the
parameters that decide the item (dotted config keys and their values — only those, not the
whole config), digests of the inputs it was made from, the files it wrote and the problems it
reported. On a rerun :meth:`Ledger.why_redo` compares the item's current parameters and inputs
with the record and says why it must be redone (``"hash.dang_deg changed 5.0 -> 10.0"``), or
None when it is up to date; the stage then keeps the item and reports its recorded problems
again. :class:`RerunSummary` turns the reasons into the line a stage logs ("6 events
recomputed: hash.dang_deg changed 5.0 -> 10.0; 4 kept").

Input digests: :func:`file_digest` (size and modification time of a file, cheap) for files an
item reads whole, :func:`content_digest` for the part of a shared table that belongs to the
item (an event's rows of picks.csv), so an edit to one event's rows redoes that event only.

Each save writes only the records that changed, in one SQLite transaction, so two runs on
different ``--events`` keep both sets of records, and a catalog of a million events needs no
more memory than one of ten.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping

from focalflow.errors import InputError
from focalflow.workdir import FILE_MODE, WorkDir

MAX_NAMED = 3  # changed inputs named in a reason, reasons named in a summary; the rest are counted


def config_params(config, keys: Iterable[str]) -> dict[str, Any]:
    """``{dotted key: value}`` of ``config`` for ``keys``; a key naming a section gives every
    key under it. Paths become strings, so the result is JSON and compares across runs."""
    dumped = config.model_dump(mode="json")
    params: dict[str, Any] = {}
    for key in keys:
        value: Any = dumped
        for part in key.split("."):
            value = value[part]
        params.update(_flatten(key, value))
    return params


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, inner in value.items():
            out.update(_flatten(f"{prefix}.{name}", inner))
        return out
    return {prefix: value}


def file_digest(path: Path | str) -> str:
    """``size:mtime_ns`` of a file: changes whenever the file is rewritten.

    Raises InputError for a missing file: an item made from a file that is gone is an error,
    even when nothing else changed."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "input file not found") from None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def file_digests(root: Path | str, paths: Iterable[Path | str]) -> dict[str, str]:
    """``{name: file_digest}`` of files; the name of a file under ``root`` (the working
    directory) is relative to it, so records do not depend on where the working directory
    lies; other files keep their absolute path."""
    root = Path(root).absolute()
    digests = {}
    for path in paths:
        path = Path(path).absolute()
        name = path.relative_to(root) if path.is_relative_to(root) else path
        digests[name.as_posix()] = file_digest(path)
    return digests


def content_digest(value: Any) -> str:
    """SHA-256 (first 16 hex digits) of ``value``: bytes, text, a pandas frame (its CSV text)
    or anything JSON can write."""
    if hasattr(value, "to_csv"):
        value = value.to_csv(index=False)
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        value = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(value).hexdigest()[:16]


def frames_digest(frames: Iterable[Any], rows: int = 20_000) -> str:
    """SHA-256 (first 16 hex digits) of tables (pandas frames or series; None for an absent
    one), from their CSV text written ``rows`` rows at a time: a catalog's whole text is never
    held in memory."""
    digest = hashlib.sha256()
    for frame in frames:
        if frame is None:
            digest.update(b"\x00none\x00")
            continue
        digest.update(b"\x00table\x00")
        for start in range(0, max(len(frame), 1), rows):  # an empty table: its header
            digest.update(frame.iloc[start:start + rows].to_csv(index=False,
                                                                header=start == 0).encode())
    return digest.hexdigest()[:16]


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


class Ledger:
    """The records of one stage's output items (see the module docstring).

    Kept in ``<workdir>/.focalflow/<stage>.sqlite`` (SQLite, standard library): a record is
    looked up when asked about and written at :meth:`save`, so a catalog of a million events
    costs no memory, and each save writes only the records that changed. Parameters shared by
    many items are stored once (by digest). Two runs on different ``--events`` each write
    their own records; SQLite serialises the writes. A ledger of an older focalflow
    (``<stage>.json``) is read once and carried over.

    >>> ledger = Ledger(workdir, "6_run_hash")                     # doctest: +SKIP
    >>> reason = ledger.why_redo(event_id, params, inputs, outputs)
    >>> if reason is None: ...keep...; else: ...redo...; ledger.record(event_id, params, inputs, outputs)
    >>> ledger.save()
    """

    def __init__(self, workdir: WorkDir, stage: str):
        self.path = workdir.ledger_dir / f"{stage}.sqlite"
        self.root = workdir.root
        self._changed: dict[str, dict | None] = {}
        self._params: dict[str, str] = {}           # digest -> JSON of parameters to save
        self._read: dict[str, dict | None] = {}     # records looked up since the last save
        self._connection: sqlite3.Connection | None = None
        legacy = workdir.ledger_dir / f"{stage}.json"
        if legacy.is_file() and not self.path.exists():
            self._import_json(legacy)

    # ------------------------------------------------------------------ storage
    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            connection = sqlite3.connect(self.path, timeout=600.0, check_same_thread=False)
            with connection:
                connection.execute("CREATE TABLE IF NOT EXISTS params (digest TEXT PRIMARY "
                                   "KEY, params TEXT NOT NULL)")
                connection.execute("CREATE TABLE IF NOT EXISTS items (item TEXT PRIMARY KEY, "
                                   "params TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT "
                                   "NOT NULL, failures TEXT NOT NULL)")
            if new:
                os.chmod(self.path, FILE_MODE)
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __getstate__(self) -> dict:  # a connection does not travel to other processes
        return {**self.__dict__, "_connection": None}

    def prefetch(self, items: Iterable[str]) -> None:
        """Look up the records of many ``items`` at once (a chunk of a catalog)."""
        wanted = [str(i) for i in items if str(i) not in self._changed and str(i) not in self._read]
        self._read.update(self._stored(wanted))

    def _stored(self, items: list[str]) -> dict[str, dict | None]:
        """The saved records of ``items`` (None for those without one)."""
        found: dict[str, dict | None] = dict.fromkeys(items)
        if not self.path.is_file():
            return found
        for start in range(0, len(items), 500):
            part = items[start:start + 500]
            rows = self._connect().execute(
                "SELECT item, params, inputs, outputs, failures FROM items WHERE item IN "
                f"({', '.join('?' * len(part))})", part)
            for item, params, inputs, outputs, failures in rows:
                found[item] = _entry(params, inputs, outputs, failures)
        return found

    def _row(self, item: str) -> dict | None:
        item = str(item)
        if item in self._changed:
            return self._changed[item]
        if item not in self._read:
            self.prefetch([item])
        return self._read[item]

    def _params_of(self, digest: str) -> dict:
        if digest in self._params:
            return json.loads(self._params[digest])
        row = self._connect().execute("SELECT params FROM params WHERE digest = ?",
                                      (digest,)).fetchone()
        return json.loads(row[0]) if row else {}

    # ------------------------------------------------------------------ queries
    def items(self, prefix: str = "") -> list[str]:
        """The items recorded (saved or not), those starting with ``prefix`` when given."""
        found = set()
        if self.path.is_file():
            found = {row[0] for row in self._connect().execute(
                "SELECT item FROM items WHERE substr(item, 1, ?) = ?", (len(prefix), prefix))}
        for item, entry in self._changed.items():
            if item.startswith(prefix):
                (found.add if entry is not None else found.discard)(item)
        return sorted(found)

    def why_redo(self, item: str, params: Mapping[str, Any], inputs: Mapping[str, str],
                 outputs: Iterable[Path | str] = (), overwrite: bool = False) -> str | None:
        """None when ``item`` was made from exactly these ``params`` and ``inputs`` and its
        ``outputs`` (paths, relative to the working directory or absolute; default: those
        recorded) still exist; else the reason it must be redone (``"--overwrite"`` with
        ``overwrite``)."""
        if overwrite:
            return "--overwrite"
        old = self._row(item)
        if old is None:
            return "new"
        if old["params"] != _params_digest(params):
            old_params = self._params_of(old["params"])
            changed = [f"{key} changed {_short(old_params.get(key))} -> {_short(params.get(key))}"
                       for key in sorted(set(old_params) | set(params))
                       if old_params.get(key) != params.get(key)]
            return "; ".join(changed) or "parameters changed"
        old_inputs = old["inputs"]
        differ = sorted(k for k in set(old_inputs) | set(inputs) if old_inputs.get(k) != inputs.get(k))
        if differ:
            more = f" and {len(differ) - MAX_NAMED} more" if len(differ) > MAX_NAMED else ""
            return f"input {', '.join(differ[:MAX_NAMED])}{more} changed"
        for output in list(outputs) or old["outputs"]:
            path = Path(output)
            if not (path if path.is_absolute() else self.root / path).exists():
                return f"output {output} missing"
        return None

    def failures(self, item: str) -> list[tuple[str, str]]:
        """The (station, reason) problems recorded for ``item``."""
        row = self._row(item)
        return [tuple(f) for f in row["failures"]] if row else []

    def outputs(self, item: str) -> list[str]:
        row = self._row(item)
        return list(row["outputs"]) if row else []

    # ------------------------------------------------------------------ changes
    def record(self, item: str, params: Mapping[str, Any], inputs: Mapping[str, str],
               outputs: Iterable[Path | str] = (),
               failures: Iterable[tuple[str, str]] = ()) -> None:
        """Remember what ``item`` was made from (kept in memory until :meth:`save`)."""
        digest = _params_digest(params)
        if digest not in self._params:
            self._params[digest] = json.dumps(dict(params), sort_keys=True, default=str)
        self._changed[str(item)] = {"params": digest, "inputs": dict(inputs),
                                    "outputs": sorted(str(o) for o in outputs),
                                    "failures": [list(f) for f in failures]}

    def forget(self, item: str) -> None:
        self._changed[str(item)] = None

    def take_changes(self) -> tuple[dict, dict]:
        """The records made since the last save, taken out of memory (to be saved later with
        :meth:`put_changes`, once the outputs they describe are written)."""
        changes = (self._changed, self._params)
        self._changed, self._params, self._read = {}, {}, {}
        return changes

    def put_changes(self, changes: tuple[dict, dict]) -> None:
        changed, params = changes
        self._changed.update(changed)
        self._params.update(params)

    def save(self) -> None:
        """Write this run's records (one transaction; other runs' records are kept). Records
        equal to the stored ones are not written again, so a rerun that changes nothing leaves
        the file untouched."""
        stored = self._stored(list(self._changed))
        changed = {item: e for item, e in self._changed.items() if e != stored[item]}
        if not changed:
            self._changed, self._params, self._read = {}, {}, {}
            return
        rows = [(item, e["params"], json.dumps(e["inputs"], sort_keys=True),
                 json.dumps(e["outputs"]), json.dumps(e["failures"]))
                for item, e in changed.items() if e is not None]
        gone = [(item,) for item, e in changed.items() if e is None]
        needed = sorted({e["params"] for e in changed.values() if e is not None})
        known = set()
        for start in range(0, len(needed), 500):
            part = needed[start:start + 500]
            known |= {row[0] for row in self._connect().execute(
                f"SELECT digest FROM params WHERE digest IN ({', '.join('?' * len(part))})", part)}
        self._params = {d: text for d, text in self._params.items()
                        if d in set(needed) - known}
        connection = self._connect()
        with connection:
            connection.executemany("INSERT OR IGNORE INTO params VALUES (?, ?)",
                                   list(self._params.items()))
            connection.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)", rows)
            connection.executemany("DELETE FROM items WHERE item = ?", gone)
        self._changed, self._params, self._read = {}, {}, {}


def _entry(params: str, inputs: str, outputs: str, failures: str) -> dict:
    return {"params": params, "inputs": json.loads(inputs), "outputs": json.loads(outputs),
            "failures": json.loads(failures)}


def _params_digest(params: Mapping[str, Any]) -> str:
    return content_digest(dict(params))


class RerunSummary:
    """Counts what a rerun redid and why, and says it in one line."""

    def __init__(self, noun: str = "events"):
        self.noun = noun
        self.kept = 0
        self.reasons: Counter[str] = Counter()

    def keep(self) -> None:
        self.kept += 1

    def redo(self, reason: str) -> None:
        self.reasons[reason] += 1

    @property
    def redone(self) -> int:
        return sum(self.reasons.values())

    def __str__(self) -> str:
        common = self.reasons.most_common()
        parts = [f"{n} {reason}" if reason == "new" else f"{n}: {reason}"
                 for reason, n in common[:MAX_NAMED]]
        if len(common) > MAX_NAMED:  # e.g. each event's own changed files: counted, not listed
            rest = common[MAX_NAMED:]
            parts.append(f"{sum(n for _, n in rest)}: {len(rest)} other reasons")
        text = f"{self.redone} {self.noun} (re)computed"
        if parts:
            text += " (" + "; ".join(parts) + ")"
        return f"{text}; {self.kept} kept unchanged"
