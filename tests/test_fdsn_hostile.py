"""The FDSN client against hostile servers: each ends within its configured limits, named.

Each fault of the loopback server (``tests/fdsn_server.py``) is served on every request, and
the test bounds the wall time by the limits in the config plus a fixed slack (never by a speed
it measured).
"""
from __future__ import annotations

import socket
import time

import pytest

from fdsn_server import Fault, FdsnTestServer
from focalflow.config import FdsnConfig
from focalflow.errors import StageFailed
from focalflow.waveforms.download import DownloadError, FdsnSource, NetworkGone, require_reachable
from focalflow.waveforms.fdsn_http import NotFdsnAnswer, check_fdsn_body
from waveform_case import EPICENTRE, ORIGINS, build_inventory, build_stream

T0, T1 = ORIGINS["ev1"] - 5, ORIGINS["ev1"] + 5
SLACK_S = 5.0  # start-up and a loaded machine, beyond what the configured limits allow
CHANNELS = "HH?,BH?,EH?"


@pytest.fixture(scope="module")
def network():
    return build_stream(), build_inventory()


def ask_stations(source: FdsnSource):
    return source.stations(*EPICENTRE, 150.0, T0, T1, CHANNELS)


def timed(call):
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except DownloadError as exc:
        return exc, time.monotonic() - started


def test_a_trickling_answer_is_abandoned_below_the_minimum_rate(network):
    config = FdsnConfig(timeout_s=1.0, retries=1, backoff_s=0.01)  # rate checked every 1 s
    with FdsnTestServer(*network, faults=[Fault("trickle", "station", times=None)],
                        trickle_bytes_s=4) as server:
        error, elapsed = timed(lambda: ask_stations(FdsnSource(server.url, config)))
    assert isinstance(error, DownloadError)
    assert "failed 2 time(s)" in str(error) and "bytes/s, below the minimum of 1000" in str(error)
    assert elapsed < 2 * (1.0 + 0.25) + SLACK_S  # two tries of a rate window and a byte each


def test_a_body_that_keeps_coming_is_cut_at_the_request_deadline(network):
    config = FdsnConfig(timeout_s=1.0, retries=1, backoff_s=0.01, min_rate_bytes_s=0,
                        request_deadline_s=1.5)
    with FdsnTestServer(*network, faults=[Fault("trickle", "station", times=None)],
                        trickle_bytes_s=50) as server:
        error, elapsed = timed(lambda: ask_stations(FdsnSource(server.url, config)))
    assert "no complete answer within 1.5 s" in str(error)
    assert elapsed < 2 * 1.5 + SLACK_S


def test_the_event_deadline_ends_retries_and_waits(network):
    config = FdsnConfig(timeout_s=0.5, retries=10, backoff_s=0.2, event_deadline_s=1.0)
    with FdsnTestServer(*network, faults=[Fault("stall", "station", times=None)]) as server:
        source = FdsnSource(server.url, config)
        source.start_event()
        error, elapsed = timed(lambda: ask_stations(source))
    assert "the event's deadline (waveforms.fdsn.event_deadline_s) passed after" in str(error)
    assert elapsed < 1.0 + SLACK_S


def test_a_gzip_bomb_is_refused_after_the_size_limit_without_retrying(network):
    config = FdsnConfig(timeout_s=5.0, retries=3, backoff_s=0.01, max_answer_mb=32)
    with FdsnTestServer(*network, faults=[Fault("bomb", "station", times=None)]) as server:
        error, elapsed = timed(lambda: ask_stations(FdsnSource(server.url, config)))
        assert len(server.queries("station")) == 1, "a refused size is not asked again"
    assert "the answer inflates to more than 32 MiB (waveforms.fdsn.max_answer_mb)" in str(error)
    assert elapsed < 2 + SLACK_S  # never the 3 GiB: inflated 64 KiB at a time up to the limit


def test_an_html_page_is_named_as_such(network):
    config = FdsnConfig(timeout_s=1.0, retries=1, backoff_s=0.01)
    with FdsnTestServer(*network, faults=[Fault("html", times=None)]) as server:
        source = FdsnSource(server.url, config)
        error, _ = timed(lambda: ask_stations(source))
        assert "HTML page titled 'Scheduled maintenance' (status 200), not FDSN data" in str(error)
        error, _ = timed(lambda: source.waveforms([("XX", "NEAR", "", "HHZ", T0, T1)]))
        assert "NotFdsnAnswer" in str(error) and "HTML page" in str(error)


def test_text_where_data_was_asked_for_is_named():
    with pytest.raises(NotFdsnAnswer, match="dataselect query is not miniSEED.*'Service paused"):
        check_fdsn_body("http://x/fdsnws/dataselect/1/query", b"Service paused, retry later", "")
    with pytest.raises(NotFdsnAnswer, match="neither StationXML nor FDSN text"):
        check_fdsn_body("http://x/fdsnws/station/1/query", b"{\"error\": 1}", "application/json")
    check_fdsn_body("http://x/fdsnws/station/1/query", b"<?xml version='1.0'?>", "application/xml")
    check_fdsn_body("http://x/fdsnws/station/1/version", b"1.1.0", "text/plain")


def test_no_data_then_data_is_asked_again(network):
    config = FdsnConfig(timeout_s=1.0, retries=3, backoff_s=0.01)
    with FdsnTestServer(*network, faults=[Fault("nodata", "station", times=1)]) as server:
        source = FdsnSource(server.url, config)
        assert not ask_stations(source).networks, "204 is an answer: no data, no retry"
        assert {s.code for net in ask_stations(source) for s in net} == {"NEAR", "TILT", "MIXD", "VERT"}
        assert [r.status for r in server.queries("station")] == [204, 200]


def test_a_request_too_large_is_split_until_it_fits(network):
    config = FdsnConfig(timeout_s=1.0, retries=1, backoff_s=0.01)
    bulk = [("XX", sta, loc, cha, T0, T1) for sta, loc, cha in
            [("NEAR", "", "HHZ"), ("NEAR", "", "HHN"), ("NEAR", "", "HHE"), ("TILT", "", "HHZ"),
             ("TILT", "", "HH1"), ("MIXD", "00", "BHZ"), ("VERT", "", "EHZ")]]
    with FdsnTestServer(*network, max_bulk_lines=2) as server:
        stream = FdsnSource(server.url, config).waveforms(bulk)
        statuses = [r.status for r in server.queries("dataselect")]
    assert sorted(tr.id for tr in stream) == sorted(".".join(b[:4]) for b in bulk)
    assert statuses.count(413) == 3 and statuses.count(200) == 4  # 7 -> 3 + 4 -> 1 + 2 + 2 + 2


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_an_unreachable_provider_is_named_once_and_then_answers_at_once():
    url = closed_port_url()
    source = FdsnSource(url, FdsnConfig(timeout_s=0.5, retries=1, backoff_s=0.01))
    error, _ = timed(lambda: ask_stations(source))
    assert str(error) == (f"cannot reach FDSN provider {url}: failed 2 time(s), last error "
                          "ConnectionError: [Errno 111] Connection refused; check the network "
                          "or use waveforms.source: sds/files")
    again, elapsed = timed(lambda: source.waveforms([("XX", "A", "", "HHZ", T0, T1)]))
    assert str(again) == str(source.unreachable) and elapsed < 1.0  # no retries, no waits
    with pytest.raises(NetworkGone, match=f"cannot reach FDSN provider {url}") as stop:
        require_reachable([source])
    assert stop.value.exit_status == 1


def test_one_reachable_provider_is_enough_to_go_on(network):
    dead = FdsnSource(closed_port_url(), FdsnConfig(timeout_s=0.5, retries=0))
    with FdsnTestServer(*network) as server:
        alive = FdsnSource(server.url, FdsnConfig(timeout_s=0.5, retries=0))
        assert ask_stations(alive).networks
        with pytest.raises(DownloadError, match="cannot reach"):
            ask_stations(dead)
        require_reachable([alive, dead])


# ---- stage 1 end to end: every hostile server ends within the configured deadlines ----

def stage1(config, **kwargs) -> dict:
    from focalflow.cli import run_stage
    from focalflow.stages import get_waveforms

    return run_stage("1_get_waveforms", get_waveforms.run, config, **kwargs)


def stage1_fails(config, **kwargs) -> float:
    """Run stage 1 expecting it to get no waveforms at all (exit status 1); its run time."""
    started = time.monotonic()
    with pytest.raises(StageFailed, match="no waveforms for any of the"):
        stage1(config, **kwargs)
    return time.monotonic() - started


def stage1_failures(config):
    from focalflow.tables import read_table

    table = read_table(config.workdir / "logs" / "failures.csv", "failures")
    return table[table["stage"] == "1_get_waveforms"]


def hostile_config(tmp_path, url, **fdsn):
    from focalflow.config import config_from_dict
    from waveform_case import case_config

    return config_from_dict(case_config(tmp_path, url=url, fdsn=fdsn))


def test_stage1_against_a_trickling_server_ends_within_its_deadlines(tmp_path, network):
    """Issue 13, case 1: timeout_s 5, retries 1 against one byte per second was still running
    after 150 s. Now each try is abandoned after one rate window (5 s)."""
    faults = [Fault("trickle", "station", times=None)]
    with FdsnTestServer(*network, faults=faults) as server:
        config = hostile_config(tmp_path, server.url, timeout_s=5, retries=1)
        elapsed = stage1_fails(config, events={"ev1"})
    assert elapsed < 2 * (5 + 1) + SLACK_S, elapsed
    (reason,) = stage1_failures(config)["reason"]
    assert "station list from" in reason and "below the minimum of 1000 bytes/s" in reason


def test_stage1_event_deadline_bounds_each_event_and_a_rerun_fetches_it(tmp_path, network):
    stall = Fault("stall", "dataselect", times=None)
    with FdsnTestServer(*network, faults=[stall], stall_s=30) as server:
        config = hostile_config(tmp_path, server.url, timeout_s=1, retries=10, backoff_s=0.5,
                                event_deadline_s=3)
        elapsed = stage1_fails(config)
        assert elapsed < 2 * (3 + 1) + SLACK_S, elapsed
        rows = stage1_failures(config)
        assert len(rows) == 8 and rows["reason"].str.contains("event's deadline").all()
        stall.times = 0  # the server recovers
        assert stage1(config)["stations_ok"] == 8


def test_stage1_against_a_gzip_bomb_fails_those_stations_quickly(tmp_path, network):
    with FdsnTestServer(*network, faults=[Fault("bomb", "dataselect", times=None)]) as server:
        config = hostile_config(tmp_path, server.url, max_answer_mb=16)
        assert stage1_fails(config, events={"ev1"}) < 2 + SLACK_S
    rows = stage1_failures(config)
    assert len(rows) == 4 and rows["reason"].str.contains("inflates to more than 16 MiB").all()


def test_stage1_names_an_html_page(tmp_path, network):
    with FdsnTestServer(*network, faults=[Fault("html", "station", times=None)]) as server:
        config = hostile_config(tmp_path, server.url, retries=1)
        stage1_fails(config)
    reasons = stage1_failures(config)["reason"]
    assert len(reasons) == 2 and reasons.str.contains("HTML page titled 'Scheduled maintenance'").all()


def test_stage1_asks_again_after_the_station_service_had_no_data(tmp_path, network):
    """Issue 13, case 6: a 204 from the station service was cached forever."""
    with FdsnTestServer(*network, faults=[Fault("nodata", "station", times=2)]) as server:
        config = hostile_config(tmp_path, server.url)
        stage1_fails(config)
        assert stage1_failures(config)["reason"].str.contains("no station").all()
        second = stage1(config)
    assert second["stations_ok"] == 8 and stage1_failures(config).empty


def test_stage1_splits_requests_the_data_centre_finds_too_large(tmp_path, network):
    with FdsnTestServer(*network, max_bulk_lines=4) as server:
        config = hostile_config(tmp_path, server.url, stations_per_request=4)
        summary = stage1(config)
        statuses = [r.status for r in server.queries("dataselect")]
    assert summary["stations_ok"] == 8 and 413 in statuses


def test_stage1_stops_after_the_first_event_when_the_provider_is_unreachable(tmp_path, repo_dir):
    """Issue 9: offline, stage 1 tried every event for ~18 s and exited 0; now it stops after
    the first, within 30 s with the default retries, exit status 1 and one line."""
    import subprocess
    import sys

    import yaml
    from waveform_case import case_config

    url = closed_port_url()
    settings = case_config(tmp_path, url=url)
    settings["waveforms"]["fdsn"] = {"providers": [url]}  # default timeout, retries, back-off
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings))
    started = time.monotonic()
    done = subprocess.run(["bash", str(repo_dir / "run_pipeline.sh"), str(config)],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHON": sys.executable})
    elapsed = time.monotonic() - started
    assert done.returncode == 1 and elapsed < 30, (elapsed, done.stderr[-2000:])
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [f"ERROR cannot reach FDSN provider {url}: failed 4 time(s), last error "
                      "ConnectionError: [Errno 111] Connection refused; check the network or use "
                      "waveforms.source: sds/files"]
    assert "stage 1_get_waveforms failed; later stages not run" in done.stderr
    assert "=== 2_mseed2sac ===" not in done.stdout
    failures = (tmp_path / "work" / "logs" / "failures.csv").read_text().splitlines()
    assert len(failures) == 2 and ",ev1," in failures[1], "stopped after the first event"


def test_a_gzip_answer_of_several_members_is_inflated_whole(network):
    """gzip allows members one after another; each boundary must lose and repeat nothing,
    whatever the size of what each member inflates to."""
    import gzip
    import io

    _, inventory = network
    buffer = io.BytesIO()
    inventory.select(station="NEAR").write(buffer, format="STATIONXML")
    xml = buffer.getvalue().replace(b"<Source>", b"<!--" + b" " * 300_000 + b"--><Source>", 1)
    cuts = [0, 1000, 150_000, 290_000, len(xml)]
    body = b"".join(gzip.compress(xml[a:b], mtime=0) for a, b in zip(cuts, cuts[1:]))
    fault = Fault("body", "station", times=None, body=body, encoding="gzip")
    with FdsnTestServer(*network, faults=[fault]) as server:
        found = ask_stations(FdsnSource(server.url, FdsnConfig(timeout_s=2, retries=0)))
    assert [s.code for net in found for s in net] == ["NEAR"]
