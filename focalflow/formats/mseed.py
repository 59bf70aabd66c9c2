"""miniSEED through ObsPy's own reader and writer (``obspy.io.mseed``), looked up once.

``obspy.read(..., format="MSEED")`` and ``Stream.write(..., format="MSEED")`` find the format's
plug-in by name on every call, and ObsPy 1.5 parses its own package metadata for each lookup
(about 0.3 ms, as much as reading a small file). The functions here look the plug-in up once,
through the same entry points (``obspy.plugin.waveform.MSEED``), then call it directly.
"""
from __future__ import annotations

import functools
import importlib.metadata
from pathlib import Path
from typing import BinaryIO

from obspy import Stream, UTCDateTime


@functools.cache
def _plugin(method: str):
    """ObsPy's miniSEED ``readFormat`` or ``writeFormat`` function."""
    (entry_point,) = importlib.metadata.entry_points(group="obspy.plugin.waveform.MSEED",
                                                     name=method)
    return entry_point.load()


def read_mseed(source: Path | str | BinaryIO, starttime: UTCDateTime | None = None,
               endtime: UTCDateTime | None = None, sourcename: str | None = None) -> Stream:
    """The traces of a miniSEED file or buffer, as ``obspy.read`` returns them; with
    ``starttime``/``endtime`` only the records overlapping that span (whole records: cut
    them with ``Stream.trim``); ``sourcename`` (``NET.STA.LOC.CHA``, wildcards allowed) keeps
    only those records."""
    stream = _plugin("readFormat")(str(source) if isinstance(source, Path) else source,
                                   starttime=starttime, endtime=endtime, sourcename=sourcename)
    for trace in stream:
        trace.stats._format = "MSEED"
    return stream


def write_mseed(stream: Stream, target: Path | str | BinaryIO) -> None:
    """Write ``stream`` as miniSEED (ObsPy's defaults: encoding from the data type, 4096-byte
    records)."""
    if not stream:
        raise ValueError("cannot write an empty stream")
    _plugin("writeFormat")(stream, str(target) if isinstance(target, Path) else target)
