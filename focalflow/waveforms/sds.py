"""Reading one channel's time span from an SDS archive (SeisComP Data Structure).

Day files of miniSEED at ``ROOT/YEAR/NET/STA/CHA.TYPE/NET.STA.LOC.CHA.TYPE.YEAR.DOY`` (type
``D``: data). A record may start before midnight and be filed with the day before, so the
day files within a border of the span are read too: 30 s, or 5,000 samples at the band's
nominal rate where that is longer (ObsPy's SDS client's rule). Codes are exact, never patterns.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from obspy import Stream, UTCDateTime
from obspy.io.mseed import ObsPyMSEEDFilesizeTooSmallError

from focalflow.formats.mseed import read_mseed

BORDER_S = 30.0
BORDER_SAMPLES = 5000
# nominal sampling rates (Hz) of the SEED band codes, for the border of low-rate channels
BAND_RATE_HZ = {"F": 1000.0, "G": 1000.0, "D": 250.0, "C": 250.0, "E": 80.0, "H": 80.0,
                "S": 10.0, "B": 10.0, "M": 1.0, "L": 1.0, "V": 0.1, "U": 0.01}


def day_files(root: Path | str, network: str, station: str, location: str, channel: str,
              start: UTCDateTime, end: UTCDateTime, sds_type: str = "D") -> list[Path]:
    """The existing day files that may hold samples between ``start`` and ``end``, in time
    order."""
    border = max(BORDER_S, BORDER_SAMPLES / BAND_RATE_HZ.get(channel[:1], 20.0))
    first, last = (start - border).datetime.date(), (end + border).datetime.date()
    folder = Path(root)
    paths = []
    day = first
    while day <= last:
        name = f"{network}.{station}.{location}.{channel}.{sds_type}.{day.year}." \
               f"{day.timetuple().tm_yday:03d}"
        path = folder / str(day.year) / network / station / f"{channel}.{sds_type}" / name
        if path.is_file():
            paths.append(path)
        day += timedelta(days=1)
    return paths


def read_sds(root: Path | str, network: str, station: str, location: str, channel: str,
             start: UTCDateTime, end: UTCDateTime, sds_type: str = "D") -> Stream:
    """The channel's traces from ``start`` to ``end``, cut to them; traces that join without a
    gap (e.g. across midnight) are merged into one, gaps and overlaps kept as they are. Empty
    when the archive has nothing in the span."""
    if not start < end:
        raise ValueError(f"the end {end} is not after the start {start}")
    sourcename = f"{network}.{station}.{location}.{channel}"
    stream = Stream()
    for path in day_files(root, network, station, location, channel, start, end, sds_type):
        try:
            stream += read_mseed(path, starttime=start, endtime=end, sourcename=sourcename)
        except ObsPyMSEEDFilesizeTooSmallError:  # a day file being started right now
            continue
    stream = stream.select(network=network, station=station, location=location, channel=channel)
    stream.trim(start, end)
    stream.merge(-1)
    return stream
