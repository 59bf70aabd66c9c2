"""Stages 1 and 2 throughput on the synthetic demo: SDS and loopback FDSN fetching, SAC writing.

    .venv/bin/python bench/bench_waveforms.py                 # generates the demo in a temp dir
    .venv/bin/python bench/bench_waveforms.py --demo demo_data --events 4

Times, on ``--events`` events of the demo (30 three-component stations each):

* ``stage1 sds``: ``1_get_waveforms`` from the demo's SDS archive;
* ``stage1 fdsn``: the same through the loopback FDSN server of the tests (real HTTP, ObsPy's
  client, ``--per-request`` stations per bulk request);
* ``stage1 rerun``: the FDSN run again (nothing left to fetch; requests sent are counted);
* ``stage2``: ``2_mseed2sac`` (read, gap check, rotation, SAC headers, write).

Prints seconds, channels per second and the rerun/first-run ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from obspy import Inventory, Stream, UTCDateTime, read_inventory  # noqa: E402
from obspy.clients.filesystem.sds import Client as SdsClient  # noqa: E402

from conftest import demo_config_dict  # noqa: E402
from fdsn_server import FdsnTestServer  # noqa: E402
from focalflow.cli import run_stage  # noqa: E402
from focalflow.config import config_from_dict  # noqa: E402
from focalflow.catalog import read_event_catalog  # noqa: E402
from focalflow.stages import get_waveforms, mseed2sac  # noqa: E402


def timed(label: str, call) -> float:
    """Run ``call()``, print its time and summary, return the seconds."""
    started = time.perf_counter()
    summary = call()
    seconds = time.perf_counter() - started
    print(f"{label:13s} {seconds:7.2f} s  {summary}")
    return seconds


def rate(label: str, channels: int, seconds: float) -> None:
    print(f"{label:13s} {channels / seconds:7.1f} channels/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, help="existing demo folder (default: generate one)")
    parser.add_argument("--events", type=int, default=3, help="number of demo events to use")
    parser.add_argument("--per-request", type=int, default=10, help="stations per bulk request")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        demo = args.demo
        if demo is None:
            from focalflow.demo import generate

            demo = generate(tmp / "demo_data", seed=0)
        base = demo_config_dict(demo, tmp / "sds_work")
        config = config_from_dict(base, base_dir=REPO)
        events_table = read_event_catalog(config.catalog)[0]
        events = set(events_table["event_id"][: args.events])

        sds = timed("stage1 sds", lambda: run_stage(
            "1_get_waveforms", get_waveforms.run, config, events=events))
        channels = sum(1 for _ in (config.workdir / "mseed").rglob("*.mseed"))
        rate("stage1 sds", channels, sds)
        sac = timed("stage2", lambda: run_stage("2_mseed2sac", mseed2sac.run, config,
                                                events=events))
        rate("stage2", channels, sac)

        # the same data served over HTTP
        archive = SdsClient(str(demo / "sds"))
        stream = Stream()
        for event in events_table[events_table["event_id"].isin(events)].itertuples():
            origin = UTCDateTime(event.time)
            stream += archive.get_waveforms("*", "*", "*", "*", origin - 40, origin + 100)
        inventory = Inventory(networks=[])
        for path in sorted((demo / "stationxml").glob("*.xml")):
            inventory += read_inventory(str(path))
        with FdsnTestServer(stream, inventory) as server:
            fdsn = dict(base, workdir=str(tmp / "fdsn_work"))
            fdsn["waveforms"] = dict(fdsn["waveforms"], source="fdsn", fdsn={
                "providers": [server.url], "timeout_s": 30, "stations_per_request": args.per_request})
            fdsn_config = config_from_dict(fdsn, base_dir=REPO)
            first = timed("stage1 fdsn", lambda: run_stage(
                "1_get_waveforms", get_waveforms.run, fdsn_config, events=events))
            rate("stage1 fdsn", channels, first)
            sent = len(server.requests)
            server.clear_log()
            again = timed("stage1 rerun", lambda: run_stage(
                "1_get_waveforms", get_waveforms.run, fdsn_config, events=events))
            print(f"requests: first run {sent}, rerun {len(server.requests)}; "
                  f"rerun/first time ratio {again / first:.3f}")


if __name__ == "__main__":
    main()
