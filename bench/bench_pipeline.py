#!/usr/bin/env python
"""The demo pipeline end to end, cold and warm, per stage, and the per-event figures.

    .venv/bin/python bench/bench_pipeline.py [--out DIR] [--repeat 2]

On the seeded demo (ten events, thirty stations) it runs the six stages in one process (as
``bash run_pipeline.sh`` does) on a fresh working directory, twice:

* cold: numba's cache empty (a new machine: the kernels compile, "compiling kernels, once");
* warm: the kernels cached (best of ``--repeat`` runs);

and prints each stage's CPU time (user + system, this process and its children; the imports a
stage is the first to need are counted in it) and wall time, and the totals. Then it redraws
the ten events' figures (``python -m focalflow.figures``, in this process) and prints the CPU
per event. Target (issue 11): warm total <= 15 s of CPU; figures <= 0.1 s of CPU per event.
The machine is shared: the load average is printed; CPU times vary less than wall times.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("1_get_waveforms", "2_mseed2sac", "3_convert_phases", "4_polarity_predict",
          "5_convert_stations", "6_run_hash")


def cpu_now() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run_stages(config: str) -> None:
    """In this process: the six stages one after the other; prints a JSON line per stage."""
    sys.path.insert(0, str(REPO))
    from focalflow.commands import stage_main

    for stage in STAGES:
        cpu, wall = cpu_now(), time.perf_counter()
        status = stage_main(stage, ["--config", config])
        print(json.dumps({"stage": stage, "status": status, "cpu": cpu_now() - cpu,
                          "wall": time.perf_counter() - wall}), flush=True)


def draw_figures(config: str) -> None:
    """In this process: every event's figures redrawn on demand; prints one JSON line."""
    sys.path.insert(0, str(REPO))
    from focalflow.cli import make_context
    from focalflow.config import load_config
    from focalflow.products.figures import draw_on_demand
    from focalflow.tables import read_table

    ctx = make_context("figures", load_config(config), overwrite=True)
    events = list(read_table(ctx.workdir.events_csv, "events")["event_id"])
    draw_on_demand(ctx, events[:1])                      # the sheet is built once per process
    cpu, wall = cpu_now(), time.perf_counter()
    drawn = draw_on_demand(ctx, events)
    print(json.dumps({"figures": drawn, "cpu": cpu_now() - cpu,
                      "wall": time.perf_counter() - wall}), flush=True)


def child(mode: str, config: Path, env: dict) -> list[dict]:
    result = subprocess.run([sys.executable, __file__, mode, str(config)], cwd=REPO, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr[-3000:])
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] in ("--run-stages", "--draw-figures"):
        (run_stages if sys.argv[1] == "--run-stages" else draw_figures)(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="folder to work in (kept)")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs (best is shown)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from focalflow.demo import generate

    root = args.out or Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    demo = generate(root / "demo_data", seed=0)
    config = root / "config.yaml"
    config.write_text(f"workdir: {root / 'work'}\n"
                      f"catalog: {{phase_file: {demo / 'phases.arc'}}}\n"
                      f"waveforms: {{source: sds, sds: {{root: {demo / 'sds'}, "
                      f"stationxml_dir: {demo / 'stationxml'}}}}}\n"
                      f"stations: {{reversals_file: {demo / 'reversals.csv'}}}\n"
                      f"hash: {{velocity_models: [{REPO / 'velocity' / 'demo.txt'}]}}\n")
    cache = root / "numba_cache"
    runs = {}
    for label in ["cold"] + [f"warm{k}" for k in range(args.repeat)]:
        shutil.rmtree(root / "work", ignore_errors=True)
        if label == "cold":
            shutil.rmtree(cache, ignore_errors=True)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
        runs[label] = {row["stage"]: row for row in child("--run-stages", config, env)}
        assert all(row["status"] == 0 for row in runs[label].values()), runs[label]
    warm = min((k for k in runs if k != "cold"), key=lambda k: sum(r["cpu"] for r in runs[k].values()))
    figures = child("--draw-figures", config, {**os.environ, "NUMBA_CACHE_DIR": str(cache)})[0]

    print(f"demo pipeline in one process, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores ({root})")
    print(f"{'stage':22s} {'cold CPU s':>11s} {'cold wall s':>12s} {'warm CPU s':>11s} "
          f"{'warm wall s':>12s}")
    for stage in STAGES:
        cold, hot = runs["cold"][stage], runs[warm][stage]
        print(f"{stage:22s} {cold['cpu']:11.2f} {cold['wall']:12.2f} {hot['cpu']:11.2f} "
              f"{hot['wall']:12.2f}")
    total = {k: (sum(r["cpu"] for r in runs[k].values()), sum(r["wall"] for r in runs[k].values()))
             for k in ("cold", warm)}
    print(f"{'total':22s} {total['cold'][0]:11.2f} {total['cold'][1]:12.2f} "
          f"{total[warm][0]:11.2f} {total[warm][1]:12.2f}")
    per_event = figures["cpu"] / max(figures["figures"], 1)
    print(f"per-event figures: {figures['figures']} events, {per_event:.3f} s CPU per event "
          f"(both PNGs, data read included)")
    print(f"targets: warm total {total[warm][0]:.1f} s CPU / 15 s = {total[warm][0] / 15:.2f}; "
          f"figures {per_event:.3f} s / 0.1 s = {per_event / 0.1:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
