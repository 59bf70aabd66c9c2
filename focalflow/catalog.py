"""Events and analyst picks of the configured catalog (``catalog.phase_file``).

:func:`read_event_catalog` reads a Hypoinverse-2000 archive, QuakeML, CSV, the headers of a
folder of SAC files (``sac_headers``; a folder is always read so) or a GaMMA catalog with
PhaseNet/GaMMA picks (``phasenet``) -- chosen by ``catalog.format`` or guessed -- into the
events.csv / picks.csv tables. Stages 1, 2 and 3 all use it, so they agree on the event list.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from focalflow.config import CatalogConfig
from focalflow.errors import ConfigError, InputError
from focalflow.formats.common import ReadProblem
from focalflow.formats.csv_tables import read_csv_catalog
from focalflow.formats.hypoinverse import read_hypoinverse
from focalflow.formats.ml_picks import read_gamma_catalog, read_ml_picks
from focalflow.formats.quakeml import read_quakeml
from focalflow.formats.sac_headers import SacHeaderOptions, read_sac_folder

FORMATS = ("hypoinverse", "quakeml", "csv", "sac_headers", "phasenet")


def guess_format(path: Path | str) -> str:
    """``sac_headers`` for a folder; ``hypoinverse``, ``quakeml``, ``csv`` or ``phasenet`` (a
    GaMMA catalog: an ``event_index`` column) from the file's extension, else its first line."""
    path = Path(path)
    if path.is_dir():
        return "sac_headers"
    suffix = path.suffix.lower()
    if suffix in (".xml", ".qml", ".quakeml"):
        return "quakeml"
    if suffix == ".csv":
        return "phasenet" if "event_index" in _header(path) else "csv"
    if not path.is_file():
        raise InputError(path, "file not found")
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("latin-1").lstrip()
    if not head:
        raise InputError(path, "file is empty")
    first = head.splitlines()[0]
    if head.startswith("<"):
        return "quakeml"
    if first[:12].isdigit():
        return "hypoinverse"
    if "event_id" in first and "," in first:
        return "csv"
    raise InputError(path, "cannot tell the format (not Hypoinverse-2000, QuakeML or CSV); "
                     "set catalog.format", line=1)


def _header(path: Path) -> list[str]:
    """The column names of a CSV file's first line (none when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return [c.strip() for c in handle.readline().decode("latin-1").split(",")]
    except OSError:
        return []


def read_event_catalog(catalog: CatalogConfig) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """Events, picks and problems of the configured catalog.

    ``events`` and ``picks`` have the events.csv / picks.csv columns in file order; ``problems``
    lists every skipped line (:class:`ReadProblem`: path, line, reason) for the caller to log
    (stage 3 puts them in the failures table). Raises InputError when the file cannot be read at
    all.
    """
    path = Path(catalog.phase_file)
    kind = guess_format(path) if catalog.format == "auto" else catalog.format
    if kind == "hypoinverse":
        return read_hypoinverse(path)
    if kind == "quakeml":
        return read_quakeml(path)
    if kind == "csv":
        return read_csv_catalog(path, catalog.picks_file)
    if kind == "sac_headers":
        options = catalog.sac_headers
        events, picks, _stations, problems = read_sac_folder(path, SacHeaderOptions(
            options.p_marker, options.s_marker, options.theoretical_picks,
            options.vert_uncert_header))
        return events, picks, problems
    if kind == "phasenet":
        return read_phasenet_catalog(path, catalog.picks_file, catalog.pick_window_s)
    raise ConfigError(f"catalog.format {kind!r} is not one of {', '.join(FORMATS)}")


def read_phasenet_catalog(events_path: Path, picks_path: Path | None, window_s: float
                          ) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """Events of a GaMMA catalog (or an events.csv) and the PhaseNet/GaMMA picks of
    ``catalog.picks_file`` tied to them (see :mod:`focalflow.formats.ml_picks`)."""
    if picks_path is None:
        raise ConfigError("catalog.format phasenet needs catalog.picks_file (the PhaseNet or "
                          "GaMMA picks CSV)")
    if "event_index" in _header(events_path):
        events, problems = read_gamma_catalog(events_path)
    else:
        events, _, problems = read_csv_catalog(events_path)
    picks, more = read_ml_picks(picks_path, events, window_s)
    return events, picks, problems + more
