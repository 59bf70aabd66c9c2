"""Logging for stage runs and the failures table.

Each stage run writes ``logs/<stage>_<UTC time>.log``. Every item a stage skips (an event, a
trace, a pick) is recorded with :meth:`FailureLog.add` and lands in ``logs/failures.csv``
(stage, event_id, station, reason); a rerun of a stage replaces that stage's earlier rows
(only those of the selected events when ``--events`` is given).
"""
from __future__ import annotations

import logging
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from focalflow.tables import COLUMNS, empty_table, read_table, write_table
from focalflow.workdir import locked

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(stage: str, logs_dir: Path | None = None, verbose: bool = False) -> Path | None:
    """Log to the terminal (INFO, or DEBUG with ``verbose``) and, given ``logs_dir``, to a file."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(console)
    for noisy in ("matplotlib", "numba", "urllib3", "tensorflow", "absl", "h5py", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # ObsPy notes on every SAC file of 500 Hz and the like that it rounded the sample spacing to
    # the microsecond: true, harmless and nothing the user can act on
    warnings.filterwarnings("ignore", message="Sample spacing read from SAC", category=UserWarning)
    if logs_dir is None:
        return None
    logs_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = logs_dir / f"{stage}_{stamp}.log"
    file_handler = logging.FileHandler(path)
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(file_handler)
    return path


class FailureLog:
    """Collects the items a stage skipped; :meth:`save` merges them into ``failures.csv``."""

    def __init__(self, stage: str, path: Path | None = None, events: set[str] | None = None):
        self.stage = stage
        self.path = path
        self.events = events
        self.rows: list[dict[str, str]] = []
        self._log = logging.getLogger(f"focalflow.{stage}")

    def add(self, event_id: str | None, station: str | None, reason: str) -> None:
        """Record one skipped item and log it as a warning."""
        self.rows.append({"stage": self.stage, "event_id": event_id or "", "station": station or "",
                          "reason": str(reason)})
        where = " ".join(x for x in (f"event {event_id}" if event_id else "",
                                      f"station {station}" if station else "") if x)
        self._log.warning("skipped %s: %s", where or "item", reason)

    def __len__(self) -> int:
        return len(self.rows)

    def save(self) -> None:
        """Replace this stage's rows in the failures table with this run's rows.

        With an event selection, rows of this stage for events outside it are kept; rows about
        no event (a bad catalog line, an unreadable station file) are replaced on every run, as
        every run reads those inputs whole. The update holds a lock, so runs on different events
        never lose each other's rows; a table that does not change is not rewritten.
        """
        if self.path is None:
            return
        with locked(self.path):
            self._merge()

    def _merge(self) -> None:
        old = read_table(self.path, "failures") if self.path.is_file() else empty_table("failures")
        redone = old["stage"] == self.stage
        if self.events is not None:
            redone &= old["event_id"].isin(self.events) | (old["event_id"] == "")
        # this run's rows go where the replaced ones were, so an unchanged rerun writes the same
        at = int(redone.to_numpy().argmax()) if redone.any() else len(old)
        new = pd.DataFrame(self.rows, columns=COLUMNS["failures"])
        parts = [old[:at], new, old[at:][~redone[at:]]]
        merged = pd.concat([df for df in parts if len(df)], ignore_index=True) \
            if any(len(df) for df in parts) else empty_table("failures")
        write_table(merged, self.path, "failures", if_changed=True)
