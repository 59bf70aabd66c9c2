"""Events and analyst picks of the configured catalog (``catalog.phase_file``).

:func:`read_event_catalog` reads a Hypoinverse-2000 archive, QuakeML or CSV (chosen by
``catalog.format`` or guessed) into the events.csv / picks.csv tables. Stages 1, 2 and 3 all use
it, so they agree on the event list.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from focalflow.config import CatalogConfig
from focalflow.errors import ConfigError, InputError
from focalflow.formats.common import ReadProblem
from focalflow.formats.csv_tables import read_csv_catalog
from focalflow.formats.hypoinverse import read_hypoinverse
from focalflow.formats.quakeml import read_quakeml

FORMATS = ("hypoinverse", "quakeml", "csv")


def guess_format(path: Path | str) -> str:
    """``hypoinverse``, ``quakeml`` or ``csv`` from the file's extension, else its first line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xml", ".qml", ".quakeml"):
        return "quakeml"
    if suffix == ".csv":
        return "csv"
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
    raise ConfigError(f"catalog.format {kind!r} is not one of {', '.join(FORMATS)}")
