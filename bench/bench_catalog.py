#!/usr/bin/env python
"""Stage 6 on synthetic catalogs of growing size, on threads and through a Dask LocalCluster.

    .venv/bin/python bench/bench_catalog.py [--sizes 1000,10000] [--dask 10000]
                                            [--workers 1,2] [--out DIR]

For each size of ``--sizes`` it makes a synthetic catalog (``bench/synthetic_catalog.py``: 40
CNN polarities per event, no S/P ratios, no per-event figures; QuakeML, catalog figures and
the report are written) and runs ``6_run_hash.py`` on it in a fresh process, on this
machine's threads, printing the wall time and CPU time per event and the peak memory (the
process's maximum resident set, measured by the launcher with ``wait4``), then the ratios
against the first (smallest) size. With ``--dask N`` it runs the N-event catalog again on
``--workers`` threads and through a ``dask.distributed`` LocalCluster of that many worker
processes (``parallel.scheduler: local``; the cluster's start is included), checks that every
run wrote byte-identical mechanisms (mechanisms.csv, mechanisms_acceptable.csv, polinfo.csv,
mechanisms.xml) and prints each throughput against the threaded run's with as many workers.

Targets (issue 11): 100,000 events: peak memory < 1 GB and within 1.3x of the 1,000-event
run, time per event within 1.2x; 10,000 events through 2 Dask workers: byte-identical and
throughput within 1.2x of 2 threads. A 100,000-event run takes about an hour on 2 cores: run
it when the machine is quiet (the load average is printed before and after each run).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("mechanisms.csv", "mechanisms_acceptable.csv", "polinfo.csv", "mechanisms.xml")


def catalog(root: Path, events: int) -> Path:
    """The synthetic catalog of ``events`` events (made once, kept under ``root``)."""
    folder = root / f"catalog_{events}"
    if not (folder / "config.yaml").is_file():
        subprocess.run([sys.executable, str(REPO / "bench" / "synthetic_catalog.py"),
                        str(folder), "--events", str(events)], check=True)
    return folder


def measured(folder: Path, label: str, **settings) -> dict:
    """Stage 6 in a fresh process on a clean copy of the catalog's inputs (``settings``:
    config sections to change): its wall time, CPU time and peak memory (``wait4``), and
    digests of its outputs."""
    base = yaml.safe_load((folder / "config.yaml").read_text())
    work = folder / f"run_{label}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    for name in ("events.csv", "stations.csv", "polarities.csv", "picks.csv", "reversals.csv"):
        os.link(folder / "work" / name, work / name)
    (work / "logs").mkdir()
    config = {**base, "workdir": str(work)}
    for section, values in settings.items():
        config[section] = {**config.get(section, {}), **values}
    path = folder / f"config_{label}.yaml"
    path.write_text(yaml.safe_dump(config))
    load = os.getloadavg()[0]
    log = open(folder / f"{label}.log", "w")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(REPO / "6_run_hash.py"), "--config",
                                str(path)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    log.close()
    if status:
        sys.exit(f"{label}: stage 6 failed, see {folder / f'{label}.log'}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024.0, "load": (load, os.getloadavg()[0]),
            "digests": {name: _sha256(work / name) for name in OUTPUTS}}


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:  # read in blocks: mechanisms.xml is gigabytes at 100k
        return hashlib.file_digest(handle, "sha256").hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000",
                        help="catalog sizes, comma separated (the first is the baseline)")
    parser.add_argument("--dask", type=int, default=0, help="size run through Dask (0: none)")
    parser.add_argument("--workers", default="1,2", help="Dask worker counts")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "catalog")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows = []
    for events in sizes:
        result = measured(catalog(args.out, events), f"threads_{events}")
        rows.append((events, result))
        print(f"{events:>8d} events: {result['wall']:8.1f} s wall ({1000 * result['wall'] / events:6.2f}"
              f" ms/event), {result['cpu']:8.1f} s CPU ({1000 * result['cpu'] / events:6.2f} "
              f"ms/event), peak {result['peak_mb']:6.0f} MB, load {result['load'][0]:.1f} -> "
              f"{result['load'][1]:.1f}", flush=True)
    if len(rows) > 1:
        base_events, base = rows[0]
        print(f"\nratios against {base_events} events (time per event, peak memory):")
        for events, result in rows[1:]:
            wall = (result["wall"] / events) / (base["wall"] / base_events)
            cpu = (result["cpu"] / events) / (base["cpu"] / base_events)
            print(f"{events:>8d} events: wall/event x{wall:.2f}, CPU/event x{cpu:.2f}, peak memory "
                  f"x{result['peak_mb'] / base['peak_mb']:.2f} ({result['peak_mb']:.0f} MB)")
    if args.dask:
        folder = catalog(args.out, args.dask)
        print(f"\n{args.dask} events: threads against a Dask LocalCluster")
        reference = None
        for workers in [int(w) for w in args.workers.split(",") if w]:
            threads = measured(folder, f"threads{workers}_{args.dask}",
                               hash={"threads": workers})
            dask = measured(folder, f"dask{workers}_{args.dask}",
                            parallel={"scheduler": "local", "workers": workers})
            reference = reference or threads["digests"]
            same = threads["digests"] == reference and dask["digests"] == reference
            for label, result in ((f"{workers} thread(s)", threads),
                                  (f"Dask, {workers} worker(s)", dask)):
                print(f"  {label:20s} {args.dask / result['wall']:8.1f} events/s "
                      f"({result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU in the "
                      f"launcher's child, peak {result['peak_mb']:.0f} MB, load "
                      f"{result['load'][0]:.1f})")
            print(f"  Dask/threads throughput with {workers} worker(s): "
                  f"x{threads['wall'] / dask['wall']:.2f}; mechanisms byte-identical to the "
                  f"first run: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
