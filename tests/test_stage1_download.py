"""Stage 1 building blocks: instrument choice, retries, and the loopback FDSN server itself."""
from __future__ import annotations

import socket

import pytest
from obspy import UTCDateTime
from obspy.clients.fdsn import Client
from obspy.clients.fdsn.header import FDSNNoDataException

from fdsn_server import Fault, FdsnTestServer
from focalflow.config import FdsnConfig
from focalflow.waveforms.download import (DownloadError, FdsnSource, choose_instruments, fdsn_channel_query,
                                with_retries)
from waveform_case import EPICENTRE, ORIGINS, build_inventory, build_stream

PRIORITIES = ["HH[ZNE12]", "BH[ZNE12]", "EH[ZNE12]"]


@pytest.fixture(scope="module")
def inventory():
    return build_inventory()


@pytest.fixture(scope="module")
def stream():
    return build_stream()


def test_channel_query_turns_brackets_into_wildcards():
    assert fdsn_channel_query(["HH[ZNE12]", "BH[ZNE12]", "HH[ZNE]", "EHZ"]) == "HH?,BH?,EHZ"


def test_one_complete_instrument_per_station_within_the_radius(inventory):
    chosen = choose_instruments(inventory, *EPICENTRE, 150.0, PRIORITIES, ["", "00"],
                                ORIGINS["ev1"])
    by_code = {i.code: i for i in chosen}
    assert set(by_code) == {"XX.NEAR", "XX.TILT", "XX.MIXD", "XX.VERT"}  # XX.FAR is 300 km away
    assert by_code["XX.NEAR"].channels == ("HHE", "HHN", "HHZ")
    assert by_code["XX.TILT"].channels == ("HH1", "HH2", "HHZ")
    # a lone HHZ loses against a complete BH instrument, whatever the pattern order says
    assert (by_code["XX.MIXD"].location, by_code["XX.MIXD"].channels) == ("00", ("BHE", "BHN", "BHZ"))
    assert by_code["XX.VERT"].channels == ("EHZ",)  # a vertical-only station keeps its vertical
    assert [i.distance_km for i in chosen] == sorted(i.distance_km for i in chosen)
    assert 9.0 < by_code["XX.NEAR"].distance_km < 11.0


def test_channel_priorities_decide_between_complete_instruments(inventory):
    chosen = choose_instruments(inventory, *EPICENTRE, 150.0, ["EH?", "BH?"], [""], ORIGINS["ev1"])
    assert {i.code: i.channels for i in chosen} == {"XX.MIXD": ("BHE", "BHN", "BHZ"),
                                                   "XX.VERT": ("EHZ",)}


def test_retries_back_off_then_give_up_with_the_last_error():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("connection reset by peer")
        return "data"

    assert with_retries(flaky, retries=2, backoff_s=0.001, what="waveforms") == "data"
    assert len(calls) == 3

    calls.clear()
    with pytest.raises(DownloadError, match=r"waveforms of XX\.A: failed 2 time\(s\).*timed out"):
        with_retries(lambda: calls.append(1) or (_ for _ in ()).throw(TimeoutError("timed out")),
                     retries=1, backoff_s=0.001, what="waveforms of XX.A")
    assert len(calls) == 2


def test_no_data_is_an_answer_and_fatal_errors_are_not_retried():
    calls = []

    def no_data():
        calls.append(1)
        raise FDSNNoDataException("No data available for request.")

    assert with_retries(no_data, 3, 0.001, "x", no_data=(FDSNNoDataException,)) is None
    assert len(calls) == 1

    calls.clear()

    def bad_request():
        calls.append(1)
        raise ValueError("bad parameter")

    with pytest.raises(DownloadError, match="bad parameter"):
        with_retries(bad_request, 3, 0.001, "x", fatal=(ValueError,))
    assert len(calls) == 1


def test_loopback_server_speaks_fdsn_to_obspy(stream, inventory):
    t0, t1 = ORIGINS["ev1"] - 10, ORIGINS["ev1"] + 10
    with FdsnTestServer(stream, inventory) as server:
        client = Client(server.url, timeout=2)
        assert {"dataselect", "station"} <= set(client.services)
        channels = client.get_stations(network="XX", station="TILT", level="channel")
        assert [c.code for c in channels[0][0]] == ["HHZ", "HH1", "HH2"]
        assert channels[0][0][1].azimuth == 30 and channels[0][0][1].response is None
        responses = client.get_stations(network="XX", station="TILT", level="response")
        assert responses[0][0][0].response.instrument_sensitivity.value > 0
        near = client.get_stations(latitude=EPICENTRE[0], longitude=EPICENTRE[1], maxradius=0.25,
                                   level="station")
        assert sorted(s.code for s in near[0]) == ["MIXD", "NEAR", "TILT", "VERT"]
        st = client.get_waveforms("XX", "NEAR", "", "HH?", t0, t1)
        assert sorted(tr.stats.channel for tr in st) == ["HHE", "HHN", "HHZ"]
        assert abs(st[0].stats.starttime - t0) < 0.01 and abs(st[0].stats.endtime - t1) < 0.01
        bulk = client.get_waveforms_bulk([("XX", "MIXD", "00", "BHZ", t0, t1),
                                          ("XX", "VERT", "", "EHZ", t0, t1)])
        assert sorted(tr.id for tr in bulk) == ["XX.MIXD.00.BHZ", "XX.VERT..EHZ"]
        with pytest.raises(FDSNNoDataException):
            client.get_waveforms("XX", "NOPE", "", "HHZ", t0, t1)
        with pytest.raises(FDSNNoDataException):
            client.get_waveforms("XX", "NEAR", "", "HHZ", UTCDateTime(2001, 1, 1),
                                 UTCDateTime(2001, 1, 1, 0, 1))
    assert [r.status for r in server.queries("dataselect")] == [200, 200, 204, 204]


def test_fdsn_source_survives_errors_stalls_and_truncated_answers(stream, inventory):
    faults = [Fault("stall", "station", times=1), Fault("error", "dataselect", times=1),
              Fault("truncate", "dataselect", times=1)]
    config = FdsnConfig(timeout_s=0.5, retries=3, backoff_s=0.01)
    t0, t1 = ORIGINS["ev1"] - 5, ORIGINS["ev1"] + 5
    with FdsnTestServer(stream, inventory, faults, stall_s=60.0) as server:
        source = FdsnSource(server.url, config)
        found = source.stations(*EPICENTRE, 150.0, t0, t1, "HH?,BH?,EH?")
        assert {s.code for net in found for s in net} == {"NEAR", "TILT", "MIXD", "VERT"}
        st = source.waveforms([("XX", "NEAR", "", "HHZ", t0, t1)])
        assert len(st) == 1 and st[0].stats.npts == 1001
        assert source.waveforms([("XX", "NOPE", "", "HHZ", t0, t1)]).count() == 0
        # station: stalled (still unanswered), then answered; dataselect: 500, cut off, 200, 204
        assert [r.status for r in server.queries("station")] == [0, 200]
        assert [r.status for r in server.queries("dataselect")] == [500, 200, 200, 204]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_dead_server_gives_a_clear_error_after_the_retries():
    url = closed_port_url()
    source = FdsnSource(url, FdsnConfig(timeout_s=0.5, retries=1, backoff_s=0.01))
    with pytest.raises(DownloadError, match=rf"cannot reach FDSN provider {url}: "
                                            r"failed 2 time\(s\)"):
        source.waveforms([("XX", "NEAR", "", "HHZ", ORIGINS["ev1"], ORIGINS["ev1"] + 1)])
