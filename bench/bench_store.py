#!/usr/bin/env python
"""Layouts of the waveform store, measured: how stages 2-3 write an event's traces and windows
and how stages 4 and 6 read them back.

    .venv/bin/python bench/bench_store.py [--events 50] [--stations 30]

Synthetic events like the demo's (``--stations`` three-component stations, 120 s traces at
100 Hz, 4 s P and 5 s S windows on every component) written and read four ways:

* ``sac``: one SAC file per trace and per window (focalflow before the store; ObsPy writes,
  the NumPy SAC reader of stage 4 reads);
* ``h5-datasets``: one HDF5 file per event, one dataset per trace or window, metadata in
  attributes;
* ``h5-table`` (chosen): one HDF5 file per event for traces and one for windows, each set's
  samples one after the other in one float32 dataset with a table of metadata;
* ``h5-shard``: the ``h5-table`` layout for ``--shard`` events per file.

Prints, per layout: files, bytes, the time to write an event's traces and windows, and the
time to read every vertical P window of all events (stage 4's access) and one event's P and S
windows (stage 6's S/P access); each with the ratio against ``h5-table``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from focalflow.polarity.predict import read_sac  # noqa: E402
from focalflow.waveforms.store import WindowSet, read_sets, write_sets  # noqa: E402


def event_sets(stations: int, g) -> tuple[WindowSet, dict[str, WindowSet]]:
    """One event's traces and P/S windows."""
    rows, samples = [], []
    for s in range(stations):
        for channel in ("HHZ", "HHN", "HHE"):
            rows.append({"network": "SY", "station": f"S{s:03d}", "location": "",
                         "channel": channel, "rate_hz": 100.0, "start_s": -30.0,
                         "p_s": 5.0 + s * 0.3, "s_s": 9.0 + s * 0.5})
            samples.append(g.normal(size=12001).astype(np.float32))
    traces = WindowSet.from_rows("traces", rows, samples)
    windows = {}
    for phase, npts, at in (("P", 401, "p_s"), ("S", 501, "s_s")):
        cut = [{**row, "pick_s": row[at], "start_s": row[at] - 2.0} for row in rows]
        windows[phase] = WindowSet.from_rows(phase, cut, [x[:npts] for x in samples])
    return traces, windows


def write_sac_layout(folder: Path, event: str, traces: WindowSet, windows: dict) -> None:
    from obspy.io.sac import SACTrace

    for name, sets in (("sac", {"": traces}), ("cut", windows)):
        out = folder / name / event
        out.mkdir(parents=True, exist_ok=True)
        for phase, rows in sets.items():
            for i in range(len(rows)):
                row = rows.table[i]
                sac = SACTrace(data=rows.samples(i), delta=0.01, b=float(row["start_s"]),
                               kstnm=rows.codes(i)[1], kcmpnm=rows.codes(i)[3])
                if phase:
                    sac.a = float(row["pick_s"])
                suffix = f".{phase}" if phase else ""
                sac.write(str(out / f"{'.'.join(rows.codes(i))}{suffix}.sac"))


def write_dataset_layout(folder: Path, event: str, traces: WindowSet, windows: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / f"{event}.h5", "w") as handle:
        for name, rows in {"traces": traces, **windows}.items():
            group = handle.create_group(name)
            for i in range(len(rows)):
                data = group.create_dataset(".".join(rows.codes(i)), data=rows.samples(i))
                for field in ("rate_hz", "start_s", "pick_s"):
                    data.attrs[field] = float(rows.table[i][field])


def write_table_layout(folder: Path, event: str, traces: WindowSet, windows: dict) -> None:
    write_sets(folder / "traces" / f"{event}.h5", [traces], {"event_id": event}, if_changed=False)
    write_sets(folder / "windows" / f"{event}.h5", list(windows.values()), {"event_id": event},
               if_changed=False)


def read_p_sac(folder: Path, events: list[str]) -> int:
    count = 0
    for event in events:
        for path in sorted((folder / "cut" / event).glob("*Z.P.sac")):
            read_sac(path)
            count += 1
    return count


def read_p_datasets(folder: Path, events: list[str]) -> int:
    count = 0
    for event in events:
        with h5py.File(folder / f"{event}.h5", "r") as handle:
            for name, data in handle["P"].items():
                if name.endswith("Z"):
                    data[()], dict(data.attrs)
                    count += 1
    return count


def read_p_table(folder: Path, events: list[str]) -> int:
    count = 0
    for event in events:
        windows = read_sets(folder / "windows" / f"{event}.h5", ["P"])["P"]
        vertical = np.char.endswith(windows.column("channel"), "Z")
        count += len([windows.samples(i) for i in np.flatnonzero(vertical)])
    return count


def shard_layout(folder: Path, events: list[str], sets: dict, shard: int) -> None:
    """The h5-table layout, ``shard`` events per file (one group per event)."""
    folder.mkdir(parents=True, exist_ok=True)
    for first in range(0, len(events), shard):
        with h5py.File(folder / f"shard{first // shard:04d}.h5", "w") as handle:
            for event in events[first:first + shard]:
                traces, windows = sets[event]
                for name, rows in {"traces": traces, **windows}.items():
                    group = handle.create_group(f"{event}/{name}")
                    group.create_dataset("table", data=rows.table)
                    group.create_dataset("data", data=rows.data)


def read_p_shard(folder: Path, events: list[str], shard: int) -> int:
    count = 0
    for first in range(0, len(events), shard):
        with h5py.File(folder / f"shard{first // shard:04d}.h5", "r") as handle:
            for event in events[first:first + shard]:
                group = handle[f"{event}/P"]
                windows = WindowSet("P", group["table"][()], group["data"][()])
                vertical = np.char.endswith(windows.column("channel"), "Z")
                count += len([windows.samples(i) for i in np.flatnonzero(vertical)])
    return count


def usage(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--stations", type=int, default=30)
    parser.add_argument("--shard", type=int, default=25)
    args = parser.parse_args()
    g = np.random.default_rng(0)
    events = [f"ev{k:04d}" for k in range(args.events)]
    sets = {event: event_sets(args.stations, g) for event in events}
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_store_") as tmp:
        root = Path(tmp)
        layouts = {
            "sac": (lambda e: write_sac_layout(root / "sac", e, *sets[e]),
                    lambda: read_p_sac(root / "sac", events)),
            "h5-datasets": (lambda e: write_dataset_layout(root / "h5d", e, *sets[e]),
                            lambda: read_p_datasets(root / "h5d", events)),
            "h5-table": (lambda e: write_table_layout(root / "h5t", e, *sets[e]),
                         lambda: read_p_table(root / "h5t", events)),
        }
        for name, (write, read) in layouts.items():
            write_s = sum(timed(lambda e=e: write(e)) for e in events) / len(events)
            os.sync()
            read_s = timed(read)
            folder = root / {"sac": "sac", "h5-datasets": "h5d", "h5-table": "h5t"}[name]
            results[name] = (write_s, read_s, *usage(folder))
        write_s = timed(lambda: shard_layout(root / "h5s", events, sets, args.shard)) / len(events)
        read_s = timed(lambda: read_p_shard(root / "h5s", events, args.shard))
        results["h5-shard"] = (write_s, read_s, *usage(root / "h5s"))
    base = results["h5-table"]
    print(f"{args.events} events x {args.stations} stations x 3 components, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'layout':12s} {'files':>7s} {'MB':>8s} {'write ms/event':>15s} {'x':>6s} "
          f"{'read all P s':>13s} {'x':>6s}")
    for name, (write_s, read_s, files, size) in results.items():
        print(f"{name:12s} {files:7d} {size / 1e6:8.1f} {1000 * write_s:15.1f} "
              f"{write_s / base[0]:6.2f} {read_s:13.3f} {read_s / base[1]:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
