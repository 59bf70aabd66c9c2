"""Reading an SDS archive and miniSEED files: the same traces as ObsPy's SDS client and
``obspy.read``, across midnight and with records filed under the neighbouring day."""
import io

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime, read
from obspy.clients.filesystem.sds import Client

from focalflow.formats.mseed import read_mseed, write_mseed
from focalflow.waveforms.sds import day_files, read_sds

MIDNIGHT = UTCDateTime(2024, 5, 7)


def day_file(root, trace: Trace, day: UTCDateTime):
    s = trace.stats
    return (root / str(day.year) / s.network / s.station / f"{s.channel}.D"
            / f"{trace.id}.D.{day.year}.{day.julday:03d}")


@pytest.fixture
def archive(tmp_path):
    """Two days of one 100 Hz channel split at midnight, the first record of the second day
    filed with the first day (as real archives have it), plus a second channel."""
    rng = np.random.default_rng(3)
    whole = Trace(rng.integers(-1000, 1000, 2 * 3600 * 100).astype(np.int32),
                  header={"network": "XX", "station": "ABC", "location": "00", "channel": "HHZ",
                          "sampling_rate": 100.0, "starttime": MIDNIGHT - 3600})
    before = whole.slice(endtime=MIDNIGHT + 0.5)  # 0.5 s of the new day filed with the old
    after = whole.slice(starttime=MIDNIGHT + 0.51)
    other = whole.copy()
    other.stats.channel = "HHN"
    for trace, day in ((before, MIDNIGHT - 1), (after, MIDNIGHT), (other, MIDNIGHT)):
        path = day_file(tmp_path, trace, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_mseed(Stream([trace]), path)
    return tmp_path, whole


@pytest.mark.parametrize("start, end", [(-60.0, 60.0), (-1800.0, -1700.0), (0.2, 30.0),
                                        (3000.0, 4000.0), (-7200.0, -3590.0)])
def test_sds_reads_what_obspys_client_reads(archive, start, end):
    root, whole = archive
    t0, t1 = MIDNIGHT + start, MIDNIGHT + end
    ours = read_sds(root, "XX", "ABC", "00", "HHZ", t0, t1)
    theirs = Client(str(root)).get_waveforms("XX", "ABC", "00", "HHZ", t0, t1)
    assert len(ours) == len(theirs) == 1
    assert ours[0].stats.starttime == theirs[0].stats.starttime
    assert np.array_equal(ours[0].data, theirs[0].data)
    expected = whole.slice(t0, t1)
    assert np.array_equal(ours[0].data, expected.data)


def test_sds_reads_the_neighbouring_day_only_near_midnight(archive):
    root, _ = archive
    near = day_files(root, "XX", "ABC", "00", "HHZ", MIDNIGHT + 10, MIDNIGHT + 20)
    assert [p.name[-3:] for p in near] == ["127", "128"]
    far = day_files(root, "XX", "ABC", "00", "HHZ", MIDNIGHT + 3000, MIDNIGHT + 3100)
    assert [p.name[-3:] for p in far] == ["128"]
    assert len(read_sds(root, "XX", "ABC", "00", "HHZ", MIDNIGHT + 9e4, MIDNIGHT + 9.1e4)) == 0
    assert len(read_sds(root, "XX", "NOPE", "00", "HHZ", MIDNIGHT, MIDNIGHT + 10)) == 0
    with pytest.raises(ValueError, match="not after the start"):
        read_sds(root, "XX", "ABC", "00", "HHZ", MIDNIGHT, MIDNIGHT)


def test_mseed_round_trip_matches_obspy(tmp_path):
    trace = Trace(np.arange(5000, dtype=np.float32),
                  header={"network": "XX", "station": "ABC", "channel": "HHZ",
                          "sampling_rate": 200.0, "starttime": MIDNIGHT})
    write_mseed(Stream([trace]), tmp_path / "a.mseed")
    Stream([trace]).write(str(tmp_path / "b.mseed"), format="MSEED")
    assert (tmp_path / "a.mseed").read_bytes() == (tmp_path / "b.mseed").read_bytes()
    ours = read_mseed(io.BytesIO((tmp_path / "a.mseed").read_bytes()))
    theirs = read(str(tmp_path / "a.mseed"))
    assert ours == theirs and ours[0].stats._format == "MSEED"
    with pytest.raises(ValueError, match="empty stream"):
        write_mseed(Stream(), tmp_path / "c.mseed")
