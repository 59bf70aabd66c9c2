"""What stage 6 redoes on a rerun: per-item fingerprints kept in the stage's ledger.

Items (keys of ``<workdir>/.focalflow/6_run_hash.json``, see :mod:`focalflow.provenance`):

* ``sp/<event>`` — an event's S/P ratios: the ``hash.sp_*`` and ``hash.ratmin`` keys, the
  correction file, and the content digests of the event's P and S windows in the store;
* ``mechanism/<event>`` — an event's mechanism: the ``hash.*`` keys that decide it
  (:data:`MECHANISM_KEYS`: not the S/P measurement keys, which reach it through its S/P rows,
  nor ``hash.threads``), the velocity model files, and a digest of the event's row and of its
  observation rows after source selection, reversals and reviewed edits;
* ``figures/<event>``, ``catalog_figures``, ``quakeml``, ``report`` — the products
  (:mod:`focalflow.products.results`).

:class:`ItemRerun` compares an item's fingerprint with its record and says what it redoes.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from focalflow.config import HashConfig
from focalflow.provenance import Ledger, RerunSummary, config_params, content_digest, file_digest
from focalflow.waveforms.store import set_digest

log = logging.getLogger("focalflow.6_run_hash")

SP_KEYS = ["hash.sp_freqmin_hz", "hash.sp_freqmax_hz", "hash.sp_p_window_s",
           "hash.sp_s_window_s", "hash.sp_noise_window_s", "hash.ratmin"]
_NOT_MECHANISM = {"velocity_models", "threads", "ratmin", "sp_corrections_file"}
MECHANISM_KEYS = [f"hash.{name}" for name in HashConfig.model_fields
                  if name not in _NOT_MECHANISM and not name.startswith("sp_")]

Fingerprint = tuple[Mapping[str, Any], Mapping[str, str]]


class ItemRerun:
    """Which items of one kind (``prefix``) to redo, and their records once redone.

    ``outputs``: files (relative to the working directory) every item lives in; a missing one
    redoes the item. ``overwrite``: redo every item asked about.
    """

    def __init__(self, ledger: Ledger, prefix: str, outputs: Iterable[str], overwrite: bool,
                 noun: str = "events"):
        self.ledger, self.prefix, self.outputs = ledger, prefix, list(outputs)
        self.overwrite = overwrite
        self.summary = RerunSummary(noun)
        self.fingerprints: dict[str, Fingerprint] = {}

    def item(self, key: str) -> str:
        return "/".join(part for part in (self.prefix, key) if part)

    def plan(self, fingerprints: Mapping[str, Fingerprint], all_or_none: str = "") -> list[str]:
        """The keys to redo, in order; with ``all_or_none`` (the reason), redo every key as
        soon as one must be redone (e.g. HASH's single random stream)."""
        self.fingerprints = dict(fingerprints)
        reasons = {}
        for key, (params, inputs) in self.fingerprints.items():
            reasons[key] = "--overwrite" if self.overwrite else self.ledger.why_redo(
                self.item(key), params, inputs, self.outputs)
        if all_or_none and any(reasons.values()):
            reasons = {key: reason or all_or_none for key, reason in reasons.items()}
        redo = [key for key, reason in reasons.items() if reason]
        for key, reason in reasons.items():
            self.summary.redo(reason) if reason else self.summary.keep()
        return redo

    def record(self, key: str, failures: Iterable[tuple[str, str]] = ()) -> None:
        params, inputs = self.fingerprints[key]
        self.ledger.record(self.item(key), params, inputs, self.outputs, failures)

    def kept_failures(self, redone: Iterable[str]) -> list[tuple[str, str, str]]:
        """(key, station, reason) recorded for the items kept (not in ``redone``)."""
        redone = set(redone)
        return [(key, *failure) for key in self.fingerprints if key not in redone
                for failure in self.ledger.failures(self.item(key))]


def model_digests(paths: Iterable[Path]) -> dict[str, str]:
    """``{"velocity:<path>": file digest}``; a missing model file is an InputError."""
    return {f"velocity:{path}": file_digest(path) for path in paths}


def rows_by_event(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if frame is None or frame.empty:
        return {}
    return {str(k): rows for k, rows in frame.groupby(frame["event_id"].astype(str), sort=False)}


def mechanism_fingerprints(config, events: pd.DataFrame, observations: pd.DataFrame,
                           models: Mapping[str, str]) -> dict[str, Fingerprint]:
    """``{event_id: (params, inputs)}`` of each event's mechanism (module docstring)."""
    params = config_params(config, MECHANISM_KEYS)
    by_event = rows_by_event(observations)
    empty = observations.iloc[:0]
    return {str(event["event_id"]): (params, {
        **models, "event+observations": content_digest(
            [event, by_event.get(str(event["event_id"]), empty).to_csv(index=False)])})
        for event in events.to_dict("records")}


def sp_fingerprints(config, workdir, event_ids: Iterable[str]) -> dict[str, Fingerprint]:
    """``{event_id: (params, inputs)}`` of each event's S/P ratios (module docstring)."""
    params = config_params(config, SP_KEYS)
    corrections = config.hash.sp_corrections_file
    common = {"sp_corrections_file": file_digest(corrections)} if corrections else {}
    return {str(e): (params, {**common, "windows": set_digest(workdir.event_windows_file(e),
                                                              "P", "S")})
            for e in event_ids}
