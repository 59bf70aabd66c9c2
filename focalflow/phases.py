"""Events and analyst picks from the configured catalog, and P/S windows cut around picks.

:func:`read_catalog` reads ``catalog.phase_file`` (Hypoinverse-2000 archive, QuakeML or CSV,
chosen by ``catalog.format`` or guessed) into the events.csv / picks.csv tables. Stages 1 and 3
both use it, so they agree on the event list. :func:`cut_window` and :func:`predicted_s_time`
are the window helpers of stage 3.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from obspy import UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.config import CatalogConfig
from focalflow.errors import ConfigError, FocalflowError, InputError
from focalflow.formats.common import ReadProblem, iso_time
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


def read_catalog(catalog: CatalogConfig) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
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


class WindowOutside(FocalflowError):
    """A window around a pick that the waveform does not cover; the message says by how much."""


def cut_window(sac: SACTrace, pick_time: UTCDateTime, before_s: float, after_s: float,
               phase: str, predicted: bool = False) -> SACTrace:
    """A copy of ``sac`` holding ``before_s`` before to ``after_s`` after ``pick_time``.

    The window starts on the trace's own sample grid and always has
    ``round((before_s + after_s) / delta) + 1`` samples. Every header is kept; ``a``/``ka`` are
    set to the pick (seconds after the reference time) and its phase, and a predicted pick is
    marked ``kuser0 = 'predS'``. Raises :class:`WindowOutside` when the trace does not cover the
    whole window.
    """
    start = sac.reftime + sac.b
    first = int(round((pick_time - before_s - start) / sac.delta))
    count = int(round((before_s + after_s) / sac.delta)) + 1
    if first < 0 or first + count > sac.npts:
        end = start + (sac.npts - 1) * sac.delta
        where = "outside" if not start <= pick_time <= end else "too close to the edge of"
        raise WindowOutside(f"{phase} pick {iso_time(pick_time)} is {where} the waveform "
                            f"({iso_time(start)} - {iso_time(end)}) for a window of "
                            f"-{before_s:g} s to +{after_s:g} s")
    window = sac.copy()
    window.data = np.array(sac.data[first:first + count])
    window.b = sac.b + first * sac.delta
    window.a = float(pick_time - sac.reftime)
    window.ka = phase
    if predicted:
        window.kuser0 = "predS"
    return window


def predicted_s_time(origin: UTCDateTime, p_time: UTCDateTime, vp_vs: float) -> UTCDateTime:
    """S arrival predicted from the P travel time: origin + vp_vs * (P - origin)."""
    return origin + vp_vs * (p_time - origin)
