"""Stage 1 end to end: FDSN through a loopback server with injected faults, SDS, the demo."""
from __future__ import annotations

import json
import socket

import pytest
from obspy import read, read_inventory

from fdsn_server import Fault, FdsnTestServer
from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.errors import StageFailed
from focalflow.stages import get_waveforms
from focalflow.tables import read_table
from focalflow.waveforms.download import NetworkGone
from waveform_case import ORIGINS, build_inventory, build_stream, case_config, sds_config

EXPECTED_FILES = sorted([
    "XX.NEAR..HHZ.mseed", "XX.NEAR..HHN.mseed", "XX.NEAR..HHE.mseed",
    "XX.TILT..HHZ.mseed", "XX.TILT..HH1.mseed", "XX.TILT..HH2.mseed",
    "XX.MIXD.00.BHZ.mseed", "XX.MIXD.00.BHN.mseed", "XX.MIXD.00.BHE.mseed",
    "XX.VERT..EHZ.mseed"])


@pytest.fixture(scope="module")
def network():
    return build_stream(), build_inventory()


def stage1(config, **kwargs) -> dict:
    return run_stage("1_get_waveforms", get_waveforms.run, config, **kwargs)


def event_files(config, event_id: str) -> list[str]:
    return sorted(p.name for p in (config.workdir / "mseed" / event_id).glob("*.mseed"))


def failures(config):
    table = read_table(config.workdir / "logs" / "failures.csv", "failures")
    return table[table["stage"] == "1_get_waveforms"]


def snapshot(config) -> dict[str, bytes]:
    root = config.workdir
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and "logs" not in p.parts}


def test_fdsn_survives_errors_stalls_and_truncation_then_a_rerun_fetches_nothing(tmp_path, network):
    faults = [Fault("error", "station", times=1),            # the first station query: HTTP 500
              Fault("stall", "station", station="TILT", times=1),  # TILT's StationXML stalls
              Fault("error", "dataselect", times=2),          # two waveform requests fail
              Fault("truncate", "dataselect", station="MIXD", times=1)]  # one is cut off
    with FdsnTestServer(*network, faults=faults, stall_s=60.0) as server:
        config = config_from_dict(case_config(tmp_path, url=server.url))
        summary = stage1(config)
        assert all(f.times == 0 for f in server.faults), "every injected fault was hit"
        statuses = [r.status for r in server.queries()]
        assert statuses.count(500) == 3 and 0 in statuses  # 0: the stalled request, abandoned

        assert summary["stations_ok"] == 8 and summary["skipped"] == 0
        for event_id in ORIGINS:
            assert event_files(config, event_id) == EXPECTED_FILES
        assert sorted(p.name for p in (config.workdir / "stations").glob("*.xml")) == \
            ["XX.MIXD.xml", "XX.NEAR.xml", "XX.TILT.xml", "XX.VERT.xml"]
        tilt = read_inventory(str(config.workdir / "stations" / "XX.TILT.xml"))
        assert tilt.select(channel="HH1")[0][0][0].response.instrument_sensitivity.value == 1.5e9
        z = read(str(config.workdir / "mseed" / "ev1" / "XX.MIXD.00.BHZ.mseed"))
        assert len(z) == 1 and z[0].stats.npts == 8001  # origin - 20 s ... origin + 60 s at 100 Hz
        assert z[0].stats.starttime == ORIGINS["ev1"] - 20
        assert failures(config).empty
        manifest = json.loads((config.workdir / "mseed" / "ev1" / "manifest.json").read_text())
        assert {s["status"] for s in manifest["stations"].values()} == {"ok"}

        before = snapshot(config)
        server.clear_log()
        again = stage1(config)
        assert server.requests == [], "a second run sends no request at all"
        assert again["events_skipped"] == 2
        assert snapshot(config) == before

        stage1(config, overwrite=True)
        assert len(server.queries("dataselect")) == 4 and len(server.queries("station")) == 6
        after = snapshot(config)
        assert after.keys() == before.keys()
        # same waveforms and manifests; StationXML carries the data centre's creation time
        assert {k: v for k, v in after.items() if "stations" not in k} == \
            {k: v for k, v in before.items() if "stations" not in k}


def test_what_could_not_be_fetched_is_recorded_and_only_that_is_tried_again(tmp_path, network):
    always = Fault("error", "dataselect", station="VERT", times=None)
    with FdsnTestServer(*network, faults=[always]) as server:
        config = config_from_dict(case_config(tmp_path, url=server.url,
                                              fdsn={"stations_per_request": 1}))
        summary = stage1(config)
        assert summary["stations_failed"] == 2 and summary["stations_ok"] == 6
        rows = failures(config)
        assert sorted(rows["event_id"]) == ["ev1", "ev2"] and set(rows["station"]) == {"XX.VERT"}
        assert rows["reason"].str.contains(r"failed 3 time\(s\).*Internal server error").all()
        assert "XX.VERT..EHZ.mseed" not in event_files(config, "ev1")

        always.times = 0  # the server recovers
        server.clear_log()
        summary = stage1(config)
        asked = server.queries()
        assert {r.service for r in asked} == {"dataselect", "station"}
        assert all("VERT" in r.query for r in asked), "only the failed station is asked again"
        assert len(server.queries("dataselect")) == 2  # one per event
        assert summary["stations_ok"] == 8 and failures(config).empty
        assert event_files(config, "ev2") == EXPECTED_FILES


def test_station_without_data_is_recorded_and_not_asked_again(tmp_path, network):
    stream, inventory = network
    with FdsnTestServer(stream.select(station="NEAR"), inventory) as server:  # data of NEAR only
        config = config_from_dict(case_config(tmp_path, url=server.url))
        stage1(config, events={"ev1"})
        rows = failures(config)
        assert sorted(rows["station"]) == ["XX.MIXD", "XX.TILT", "XX.VERT"]
        assert (rows["reason"] == "no waveform data in the window").all()
        assert event_files(config, "ev1") == ["XX.NEAR..HHE.mseed", "XX.NEAR..HHN.mseed",
                                              "XX.NEAR..HHZ.mseed"]
        assert not (config.workdir / "mseed" / "ev2").exists()  # --events ev1
        server.clear_log()
        stage1(config, events={"ev1"})
        assert server.requests == []
        assert len(failures(config)) == 3  # still reported on the rerun


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_unreachable_server_stops_the_stage_after_the_first_event(tmp_path):
    url = closed_port_url()
    config = config_from_dict(case_config(tmp_path, url=url, fdsn={"retries": 1}))
    with pytest.raises(NetworkGone, match=f"cannot reach FDSN provider {url}") as stop:
        stage1(config)
    assert stop.value.exit_status == 1
    rows = failures(config)
    assert list(rows["event_id"]) == ["ev1"]
    assert rows["reason"].str.contains(f"cannot reach FDSN provider {url}").all()
    assert not list((config.workdir / "mseed").glob("*/manifest.json"))


def test_a_second_provider_that_fails_is_asked_again_but_data_is_not_refetched(tmp_path, network):
    dead = closed_port_url()
    with FdsnTestServer(*network) as server:
        config = config_from_dict(case_config(tmp_path, url=server.url,
                                              fdsn={"providers": [server.url, dead], "retries": 0}))
        assert stage1(config)["stations_ok"] == 8
        rows = failures(config)
        assert list(rows["event_id"]) == ["ev1", "ev2"] and set(rows["station"]) == {""}
        assert rows["reason"].str.contains(f"cannot reach FDSN provider {dead}").all()
        server.clear_log()
        assert stage1(config)["stations_ok"] == 8
        assert [r.service for r in server.queries()] == ["station", "station"]  # no waveforms
        assert len(failures(config)) == 2


def test_sds_archive_gives_the_same_files(tmp_path):
    config = config_from_dict(sds_config(tmp_path))
    summary = stage1(config)
    assert summary["stations_ok"] == 8 and summary["skipped"] == 0
    assert event_files(config, "ev2") == EXPECTED_FILES
    tilt = read(str(config.workdir / "mseed" / "ev2" / "XX.TILT..HH2.mseed"))
    assert tilt[0].stats.starttime == ORIGINS["ev2"] - 20 and tilt[0].stats.npts == 8001
    before = snapshot(config)
    assert stage1(config)["events_skipped"] == 2
    assert snapshot(config) == before
    xml = config.workdir / "stations" / "XX.NEAR.xml"
    mtime = xml.stat().st_mtime_ns
    assert stage1(config, overwrite=True)["stations_ok"] == 8
    assert xml.stat().st_mtime_ns != mtime, "--overwrite fetches the StationXML again"
    assert snapshot(config) == before


def test_sds_settings_change_refetches_the_event(tmp_path, caplog):
    settings = sds_config(tmp_path)
    stage1(config_from_dict(settings))
    settings["waveforms"]["channel_priorities"] = ["EH[ZNE12]"]
    config = config_from_dict(settings)
    with caplog.at_level("INFO", logger="focalflow"):
        stage1(config)
    assert "2 events (re)computed (2: waveforms.channel_priorities changed" in caplog.text
    assert event_files(config, "ev1") == ["XX.VERT..EHZ.mseed"]
    config.waveforms.fdsn.timeout_s = 5.0           # how data come, not which: nothing refetched
    assert stage1(config)["events_skipped"] == 2
    settings["waveforms"]["max_radius_km"] = 5.0
    config = config_from_dict(settings)
    with pytest.raises(StageFailed, match="no waveforms for any of the 2 selected event"):
        stage1(config)  # exit status 1: the later stages would have nothing to work on
    assert event_files(config, "ev1") == []
    assert list(failures(config)["reason"]) == [
        "no station within waveforms.max_radius_km = 5 km has channels matching "
        "waveforms.channel_priorities"] * 2


def test_deleted_waveform_file_is_fetched_again_alone(tmp_path, caplog):
    config = config_from_dict(sds_config(tmp_path))
    stage1(config)
    gone = config.workdir / "mseed" / "ev2" / "XX.TILT..HH1.mseed"
    kept = config.workdir / "mseed" / "ev2" / "XX.NEAR..HHZ.mseed"
    content, mtime = gone.read_bytes(), kept.stat().st_mtime_ns
    gone.unlink()
    with caplog.at_level("INFO", logger="focalflow"):
        summary = stage1(config)
    assert "1 events (re)computed (1: stations failed or missing before, asked again); " \
           "1 kept unchanged" in caplog.text
    assert summary["events_skipped"] == 1 and gone.read_bytes() == content
    assert kept.stat().st_mtime_ns == mtime


def test_missing_sds_archive_is_a_clear_error(tmp_path):
    settings = sds_config(tmp_path)
    settings["waveforms"]["sds"]["root"] = str(tmp_path / "nowhere")
    from focalflow.errors import FocalflowError

    with pytest.raises(FocalflowError, match="waveforms.sds.root: SDS archive folder .*nowhere"):
        stage1(config_from_dict(settings))


def test_demo_archive(demo_config):
    from focalflow.catalog import read_event_catalog

    events = set(read_event_catalog(demo_config.catalog)[0]["event_id"][:2])
    summary = stage1(demo_config, events=events)
    assert summary["events"] == 2 and summary["skipped"] == 0
    for event_id in events:
        files = event_files(demo_config, event_id)
        assert len(files) % 3 == 0 and len(files) >= 30
    assert len(list((demo_config.workdir / "stations").glob("*.xml"))) >= 10
