"""focalflow.waveforms.assemble: reading miniSEED with clear errors, gap rules, rotation, SAC headers."""
from __future__ import annotations

import io

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime
from obspy.core.inventory import Channel, Inventory, Network, Station
from obspy.io.sac import SACTrace

from focalflow.formats.sac import write_sac
from focalflow.waveforms.assemble import (TraceRejected, merge_gaps, orientation, read_checked_mseed,
                                          rotate_to_zne, to_sac, vertical_up)

T0 = UTCDateTime("2021-06-01T12:00:00")


def trace(channel="HHZ", start=T0, npts=2000, data=None, station="A") -> Trace:
    values = data if data is not None else np.arange(npts, dtype=np.int32) % 50
    return Trace(values, header=dict(network="XX", station=station, channel=channel,
                                     sampling_rate=100.0, starttime=start))


def mseed_bytes(stream: Stream) -> bytes:
    buffer = io.BytesIO()
    stream.write(buffer, format="MSEED", reclen=512)
    return buffer.getvalue()


def inventory(orientations: dict[str, tuple[float, float]]) -> Inventory:
    channels = [Channel(code, "", 35.0, -117.0, 100.0, 0.0, azimuth=az, dip=dip,
                        sample_rate=100.0, start_date=UTCDateTime(2020, 1, 1))
                for code, (az, dip) in orientations.items()]
    return Inventory(networks=[Network("XX", stations=[
        Station("A", 35.0, -117.0, 100.0, channels=channels)])], source="test")


def test_read_mseed_names_the_file_and_the_problem(tmp_path):
    good = mseed_bytes(Stream([trace()]))
    cases = {"empty.mseed": (b"", "empty.mseed: empty file"),
             "garbage.mseed": (b"GET / HTTP/1.1\r\n" * 64, "garbage.mseed: not valid miniSEED"),
             "cut.mseed": (good[:len(good) - 200], "cut.mseed: truncated or corrupt miniSEED"),
             "tiny.mseed": (good[:100], "tiny.mseed: not valid miniSEED")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(TraceRejected, match=message):
            read_checked_mseed(tmp_path / name)
    (tmp_path / "good.mseed").write_bytes(good)
    assert read_checked_mseed(tmp_path / "good.mseed")[0].stats.npts == 2000


def test_short_gaps_are_filled_long_ones_and_rejected_policy_refuse():
    first = trace(npts=1000)
    after_short = trace(start=T0 + 10.5, npts=1000)   # 0.5 s gap (49 missing samples)
    after_long = trace(start=T0 + 15.0, npts=1000)    # 5 s gap
    merged = merge_gaps(Stream([after_short, first]), "merge", 1.0, "interpolate")
    assert len(merged) == 1 and merged[0].stats.npts == 2050
    assert not np.ma.isMaskedArray(merged[0].data)
    zeros = merge_gaps(Stream([first, after_short]), "merge", 1.0, "zeros")
    assert np.all(zeros[0].data[1000:1050] == 0)
    with pytest.raises(TraceRejected, match=r"XX\.A\.\.HHZ: gap of 5 s is longer than "
                                            r"sac.max_gap_s = 1 s"):
        merge_gaps(Stream([first, after_long]), "merge", 1.0, "interpolate")
    with pytest.raises(TraceRejected, match=r"1 gap\(s\) up to 0\.5 s \(sac.gap_policy is reject\)"):
        merge_gaps(Stream([first, after_short]), "reject", 1.0, "interpolate")
    assert merge_gaps(Stream([first]), "reject", 0.0, "zeros")[0].stats.npts == 1000


def test_rotation_recovers_north_and_east_from_tilted_horizontals():
    rng = np.random.default_rng(1)
    up, north, east = rng.normal(size=(3, 3000))
    az1, az2 = np.radians(30.0), np.radians(120.0)
    h1 = north * np.cos(az1) + east * np.sin(az1)
    h2 = north * np.cos(az2) + east * np.sin(az2)
    stream = Stream([trace("HHZ", data=up), trace("HH1", data=h1), trace("HH2", data=h2)])
    stream[1].stats.starttime += 0.001  # within half a sample: same sample times
    rotated = rotate_to_zne(stream, inventory({"HHZ": (0, -90), "HH1": (30, 0), "HH2": (120, 0)}))
    by_channel = {tr.stats.channel: tr.data for tr in rotated}
    assert sorted(by_channel) == ["HHE", "HHN", "HHZ"]
    np.testing.assert_allclose(by_channel["HHZ"], up, atol=1e-9)
    np.testing.assert_allclose(by_channel["HHN"], north, atol=1e-9)
    np.testing.assert_allclose(by_channel["HHE"], east, atol=1e-9)


def test_rotation_trims_to_the_common_span_and_turns_a_downward_vertical_up():
    data = np.arange(1000, dtype=float)
    stream = Stream([trace("HHZ", data=-data), trace("HHN", start=T0 + 1, data=data[:800]),
                     trace("HHE", data=data)])
    rotated = rotate_to_zne(stream, inventory({"HHZ": (0, 90), "HHN": (0, 0), "HHE": (90, 0)}))
    assert [tr.stats.starttime for tr in rotated] == [T0 + 1] * 3
    assert [tr.stats.npts for tr in rotated] == [800] * 3
    np.testing.assert_allclose(rotated.select(channel="HHZ")[0].data, data[100:900])
    lone = vertical_up(trace("HHZ", data=-data), {"dip": 90.0})
    np.testing.assert_allclose(lone.data, data)


def test_rotation_refuses_what_it_cannot_solve():
    parallel = inventory({"HHZ": (0, -90), "HH1": (30, 0), "HH2": (30, 0)})
    stream = Stream([trace("HHZ"), trace("HH1"), trace("HH2")])
    with pytest.raises(TraceRejected, match="orientations are not independent"):
        rotate_to_zne(stream, parallel)
    apart = Stream([trace("HHZ"), trace("HH1", start=T0 + 100), trace("HH2")])
    with pytest.raises(TraceRejected, match="do not overlap"):
        rotate_to_zne(apart, parallel)


def test_sac_headers_use_the_origin_as_reference(tmp_path):
    origin = UTCDateTime("2021-06-01T11:59:50.1234")
    sac = to_sac(trace("HHN"), origin, {"latitude": 35.5, "longitude": -117.5, "depth": 7.5,
                                         "mag": 3.1},
                 {"latitude": 35.0, "longitude": -117.0, "elevation": 100.0, "local_depth": 0.0},
                 *orientation("HHN", None), p_time=origin + 8.25, s_time=origin + 14.0)
    write_sac(sac, tmp_path / "XX.A..HHN.sac")
    back = SACTrace.read(str(tmp_path / "XX.A..HHN.sac"))
    assert abs(back.reftime - origin) < 0.001 and back.iztype == "io" and abs(back.o) < 0.001
    assert back.b == pytest.approx(9.8766, abs=1e-3)  # trace starts 9.8766 s after the origin
    assert back.t1 == pytest.approx(8.25, abs=1e-3) and back.kt1.strip() == "P"
    assert back.t2 == pytest.approx(14.0, abs=1e-3) and back.kt2.strip() == "S"
    assert (back.cmpaz, back.cmpinc) == (0.0, 90.0)
    assert (back.evdp, back.mag, back.stel) == (7.5, pytest.approx(3.1), 100.0)
    assert back.dist == pytest.approx(71.4, abs=0.5) and 0 < back.baz < 360
    assert back.npts == 2000 and back.data[1] == 1.0
    assert orientation("HH1", {"azimuth": 390.0, "dip": 0.0}) == (30.0, 90.0)
    assert orientation("HHZ", {"azimuth": 0.0, "dip": -90.0}) == (0.0, 0.0)
