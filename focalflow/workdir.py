"""The working directory: where every table and folder of the pipeline lives.

Stages pass files through one folder (``workdir:`` in the config); this module is the single
place that names them. Writes go through :func:`atomic_path` (temporary file, then rename) so a
crash never leaves a half-written table behind; written files get the user's umask (0644 by
default), not the temporary file's 0600. :func:`locked` serialises read-modify-write updates of
a shared file between processes (two runs on different ``--events``).

A temporary file is named ``.NAME.<host>~<pid>.<random>.part`` after the process writing it, so
that :func:`remove_stale_parts` (run at the start of every stage) can tell the leftovers of a
killed run from a file another run is writing right now.
"""
from __future__ import annotations

import contextlib
import fcntl
import filecmp
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from typing import Iterator


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()
PART_SUFFIX = ".part"
HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
STALE_AFTER_S = 3600.0  # a temporary file of another machine untouched this long is a leftover
_PART_NAME = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9-]+)~(?P<pid>\d+)\.[^.]+\.part$")


class WorkDir:
    """Paths of the working directory's tables and folders."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    # tables
    @property
    def events_csv(self) -> Path: return self.root / "events.csv"
    @property
    def picks_csv(self) -> Path: return self.root / "picks.csv"
    @property
    def stations_csv(self) -> Path: return self.root / "stations.csv"
    @property
    def reversals_csv(self) -> Path: return self.root / "reversals.csv"
    @property
    def polarities_csv(self) -> Path: return self.root / "polarities.csv"
    @property
    def sp_ratios_csv(self) -> Path: return self.root / "sp_ratios.csv"
    @property
    def mechanisms_csv(self) -> Path: return self.root / "mechanisms.csv"
    @property
    def acceptable_csv(self) -> Path: return self.root / "mechanisms_acceptable.csv"
    @property
    def polinfo_csv(self) -> Path: return self.root / "polinfo.csv"
    @property
    def mechanisms_xml(self) -> Path: return self.root / "mechanisms.xml"
    @property
    def overrides_csv(self) -> Path: return self.root / "overrides.csv"
    @property
    def files_index_csv(self) -> Path: return self.root / "files_index.csv"

    # folders
    @property
    def mseed_dir(self) -> Path: return self.root / "mseed"
    @property
    def stationxml_dir(self) -> Path: return self.root / "stations"
    @property
    def sac_dir(self) -> Path: return self.root / "sac"
    @property
    def cut_dir(self) -> Path: return self.root / "cut"
    @property
    def store_dir(self) -> Path: return self.root / "store"
    @property
    def logs_dir(self) -> Path: return self.root / "logs"
    @property
    def figures_dir(self) -> Path: return self.root / "figures"
    @property
    def report_dir(self) -> Path: return self.root / "report"
    @property
    def failures_csv(self) -> Path: return self.logs_dir / "failures.csv"
    @property
    def ledger_dir(self) -> Path: return self.root / ".focalflow"

    def event_mseed_dir(self, event_id: str) -> Path:
        return self.mseed_dir / safe_name(event_id)

    def event_sac_dir(self, event_id: str) -> Path:
        return self.sac_dir / safe_name(event_id)

    def event_cut_dir(self, event_id: str) -> Path:
        return self.cut_dir / safe_name(event_id)

    def event_traces_file(self, event_id: str) -> Path:
        """The event's traces in the waveform store (stage 2)."""
        return self.store_dir / "traces" / f"{safe_name(event_id)}.h5"

    def event_windows_file(self, event_id: str) -> Path:
        """The event's P and S windows in the waveform store (stage 3)."""
        return self.store_dir / "windows" / f"{safe_name(event_id)}.h5"

    def event_figures_dir(self, event_id: str) -> Path:
        return self.figures_dir / safe_name(event_id)

    def create(self) -> "WorkDir":
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        return self


def safe_name(event_id: str) -> str:
    """An event id usable as a folder name (path separators and spaces replaced)."""
    name = str(event_id).strip().replace("/", "_").replace("\\", "_").replace(" ", "_")
    if not name or name in (".", ".."):
        raise ValueError(f"event id {event_id!r} cannot name a folder")
    return name


@contextlib.contextmanager
def atomic_path(path: Path | str, if_changed: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    With ``if_changed``, a result with the same bytes as the existing file is dropped and the
    file is left untouched (same modification time), so a rerun that changes nothing touches
    nothing.

    >>> with atomic_path("out.csv") as tmp:      # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{HOST}~{os.getpid()}.",
                                    suffix=PART_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not (if_changed and path.is_file() and filecmp.cmp(tmp, path, shallow=False)):
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_parts(root: Path | str) -> list[Path]:
    """Remove the temporary files under ``root`` that a killed run left behind; return them.

    A ``.*.part`` file is a leftover when the process named in it (this machine) is gone; one
    of another machine, or without a writer in its name, when untouched for an hour.
    """
    removed = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if not (name.startswith(".") and name.endswith(PART_SUFFIX)):
                continue
            path = Path(folder) / name
            match = _PART_NAME.match(name)
            try:
                if match and match["host"] == HOST:
                    if _running(int(match["pid"])):
                        continue
                elif time.time() - path.stat().st_mtime < STALE_AFTER_S:
                    continue
                path.unlink()
            except FileNotFoundError:  # its writer renamed or removed it meanwhile
                continue
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_text_atomic(path: Path | str, text: str, if_changed: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path` for ``if_changed``)."""
    with atomic_path(path, if_changed) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def locked(path: Path | str) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` (a hidden ``.NAME.lock`` beside it)
    while updating it; blocks until another holder lets go. Not re-entrant."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
