"""Small pieces shared by the format readers: problem records, time strings, frames, and the
one check of station codes and of origins that every reader applies."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

import pandas as pd

from focalflow.errors import InputError
from focalflow.tables import COLUMNS

if TYPE_CHECKING:  # ObsPy is imported where used, so plain-text readers start fast
    from obspy import UTCDateTime


@dataclass(frozen=True)
class ReadProblem:
    """One skipped item of an input file: which file, which line (1-based, if known), and why.

    >>> str(ReadProblem("phases.arc", 12, "bad latitude 'x9'"))
    "phases.arc, line 12: bad latitude 'x9'"
    """

    path: str
    line: Optional[int]
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


def iso_time(time: UTCDateTime) -> str:
    """ISO 8601 UTC with microseconds, the form every time column of the working directory uses."""
    from obspy import UTCDateTime

    return UTCDateTime(time).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> UTCDateTime:
    """A UTCDateTime from an ISO 8601 string; ValueError with the text if it is not a time."""
    from obspy import UTCDateTime

    try:
        return UTCDateTime(str(text).strip())
    except Exception:
        raise ValueError(f"not a time: {text!r}") from None


def frame(rows: Iterable[dict], name: str) -> pd.DataFrame:
    """A frame of table ``name`` (its columns, in order) from row dicts."""
    return pd.DataFrame(list(rows), columns=COLUMNS[name])


def read_nonempty_bytes(path: Path | str) -> bytes:
    """The bytes of a file; InputError naming it when it is missing or holds only white space."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(path, "file is empty")
    return raw


def read_text_lines(path: Path | str) -> list[str]:
    """The lines of a text file; InputError for a missing, empty or binary file."""
    raw = read_nonempty_bytes(path)
    if b"\x00" in raw[:4096]:
        raise InputError(path, "binary file, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.splitlines()


# "2016-11-25 05时14分08秒" (SKHASH under some locales), "20161128051644.670" (ToC2ME ids)
_DIGITS_TIME = re.compile(r"^\s*(\d{4})\D?(\d{2})\D?(\d{2})\D*?(\d{2})\D?(\d{2})\D?(\d{2}(?:\.\d*)?)")


def parse_any_time(value) -> UTCDateTime | None:
    """A UTCDateTime from ISO text, ``YYYYmmddHHMMSS.sss`` or any text with the date and time
    digits in order; None for blanks and text without a time."""
    from obspy import UTCDateTime

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, UTCDateTime):
        return value
    text = str(value).strip()
    if not text or text.lower() in ("nan", "nat", "none"):
        return None
    try:
        return UTCDateTime(text)
    except Exception:
        pass
    match = _DIGITS_TIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    try:
        return UTCDateTime(year, month, day, hour, minute, 0) + float(match.group(6))
    except Exception:
        return None


# FDSN source identifier codes (network, station: 1-8 letters or digits; location: 0-8 letters,
# digits or '-'; channel: 1-3 letters or digits). Lower case is accepted; wildcards, dots,
# blanks and path characters are not: they would become patterns in archive queries or break
# NET.STA.LOC.CHA file names.
_CODE_PATTERNS = {"network": re.compile(r"[A-Za-z0-9]{1,8}"), "station": re.compile(r"[A-Za-z0-9]{1,8}"),
                  "location": re.compile(r"[A-Za-z0-9-]{0,8}"), "channel": re.compile(r"[A-Za-z0-9]{1,3}")}
_CODE_RULES = {"network": "1-8 letters or digits", "station": "1-8 letters or digits",
               "location": "up to 8 letters, digits or '-'", "channel": "1-3 letters or digits"}


def check_codes(network: str | None = None, station: str | None = None,
                location: str | None = None, channel: str | None = None) -> None:
    """Raise ValueError naming the first code that is not an FDSN code; None skips a code and
    a blank network or channel is allowed (station lists may leave them out)."""
    for kind, code in (("network", network), ("station", station), ("location", location),
                       ("channel", channel)):
        if code is None or (code == "" and kind in ("network", "location", "channel")):
            continue
        if not _CODE_PATTERNS[kind].fullmatch(code):
            hint = "; wildcards are not codes" if any(c in code for c in "*?[]") else ""
            raise ValueError(f"{kind} code {code!r} is not an FDSN code "
                             f"({_CODE_RULES[kind]}{hint})")


# Plausible origins: an event more than 3 km above sea level or deeper than 800 km, or one that
# has not happened yet, is a typo or a unit error (m for km), never data.
MIN_DEPTH_KM = -3.0
MAX_DEPTH_KM = 800.0
FUTURE_MARGIN_S = 86400.0


def check_origin(time: UTCDateTime, depth_km: float) -> None:
    """Raise ValueError when an origin's depth or time cannot be right (see MIN_DEPTH_KM)."""
    from obspy import UTCDateTime

    if depth_km < MIN_DEPTH_KM:
        raise ValueError(f"depth {depth_km:g} km is more than {-MIN_DEPTH_KM:g} km above sea "
                         "level (negative depths are heights)")
    if depth_km > MAX_DEPTH_KM:
        raise ValueError(f"depth {depth_km:g} km is below {MAX_DEPTH_KM:g} km, deeper than any "
                         "earthquake (a depth in m?)")
    if time > UTCDateTime() + FUTURE_MARGIN_S:
        raise ValueError(f"origin time {iso_time(time)} is in the future")
