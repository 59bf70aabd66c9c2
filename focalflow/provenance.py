"""What every output item was made from, so that a rerun redoes exactly what changed.

A stage keeps one ledger, ``<workdir>/.focalflow/<stage>.json``. For each output item (an
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

The ledger is saved under a lock and merged with what other runs saved meanwhile, so two runs
on different ``--events`` keep both sets of records.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping

from focalflow.errors import InputError
from focalflow.workdir import WorkDir, locked, write_text_atomic

MAX_NAMED = 3  # changed inputs named in a reason; the rest are counted


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


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


class Ledger:
    """The records of one stage's output items (see the module docstring).

    >>> ledger = Ledger(workdir, "6_run_hash")                     # doctest: +SKIP
    >>> reason = ledger.why_redo(event_id, params, inputs, outputs)
    >>> if reason is None: ...keep...; else: ...redo...; ledger.record(event_id, params, inputs, outputs)
    >>> ledger.save()
    """

    def __init__(self, workdir: WorkDir, stage: str):
        self.path = workdir.ledger_dir / f"{stage}.json"
        self.root = workdir.root
        self.records: dict[str, dict] = self._read()
        self._changed: dict[str, dict | None] = {}

    def _read(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            records = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # a damaged ledger only means everything is redone
        return records if isinstance(records, dict) else {}

    def why_redo(self, item: str, params: Mapping[str, Any], inputs: Mapping[str, str],
                 outputs: Iterable[Path | str] = (), overwrite: bool = False) -> str | None:
        """None when ``item`` was made from exactly these ``params`` and ``inputs`` and its
        ``outputs`` (paths, relative to the working directory or absolute; default: those
        recorded) still exist; else the reason it must be redone (``"--overwrite"`` with
        ``overwrite``)."""
        if overwrite:
            return "--overwrite"
        old = self.records.get(str(item))
        if old is None:
            return "new"
        old_params = old.get("params", {})
        changed = [f"{key} changed {_short(old_params.get(key))} -> {_short(params.get(key))}"
                   for key in sorted(set(old_params) | set(params))
                   if old_params.get(key) != params.get(key)]
        if changed:
            return "; ".join(changed)
        old_inputs = old.get("inputs", {})
        differ = sorted(k for k in set(old_inputs) | set(inputs) if old_inputs.get(k) != inputs.get(k))
        if differ:
            more = f" and {len(differ) - MAX_NAMED} more" if len(differ) > MAX_NAMED else ""
            return f"input {', '.join(differ[:MAX_NAMED])}{more} changed"
        for output in list(outputs) or old.get("outputs", []):
            path = Path(output)
            if not (path if path.is_absolute() else self.root / path).exists():
                return f"output {output} missing"
        return None

    def failures(self, item: str) -> list[tuple[str, str]]:
        """The (station, reason) problems recorded for ``item``."""
        return [tuple(f) for f in self.records.get(str(item), {}).get("failures", [])]

    def outputs(self, item: str) -> list[str]:
        return list(self.records.get(str(item), {}).get("outputs", []))

    def record(self, item: str, params: Mapping[str, Any], inputs: Mapping[str, str],
               outputs: Iterable[Path | str] = (),
               failures: Iterable[tuple[str, str]] = ()) -> None:
        """Remember what ``item`` was made from (kept in memory until :meth:`save`)."""
        entry = {"params": dict(params), "inputs": dict(inputs),
                 "outputs": sorted(str(o) for o in outputs),
                 "failures": [list(f) for f in failures]}
        self.records[str(item)] = entry
        self._changed[str(item)] = entry

    def forget(self, item: str) -> None:
        self.records.pop(str(item), None)
        self._changed[str(item)] = None

    def save(self) -> None:
        """Write this run's records, merged under a lock with records other runs saved."""
        if not self._changed:
            return
        with locked(self.path):
            merged = self._read()
            for item, entry in self._changed.items():
                if entry is None:
                    merged.pop(item, None)
                else:
                    merged[item] = entry
            write_text_atomic(self.path, json.dumps(merged, sort_keys=True, indent=0) + "\n")
        self.records = merged
        self._changed = {}


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
        parts = [f"{n} {reason}" if reason == "new" else f"{n}: {reason}"
                 for reason, n in self.reasons.most_common()]
        text = f"{self.redone} {self.noun} (re)computed"
        if parts:
            text += " (" + "; ".join(parts) + ")"
        return f"{text}; {self.kept} kept unchanged"
