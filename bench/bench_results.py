"""Time the catalog products on a real catalog (default: the 2,519 ToC2ME mechanisms).

    .venv/bin/python bench/bench_results.py [CATALOG] [--dpi 150] [--out DIR]

Prints the time to read and classify the catalog, to draw each catalog figure, the whole
``python -m focalflow.products.analyze`` run as a subprocess (start-up included), and the
classification counts. Target (issue 5): all catalog figures of the 2,519 mechanisms < 60 s.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("FOCALFLOW_SHARED", REPO.parent / "shared"))
DEFAULT = SHARED / "data/toc2me/skhash_demo/mt_solution_20241114_SKHASH_quality_A.txt"
STATIONS = SHARED / "data/toc2me/stationlist_ToC2ME.txt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("catalog", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not args.catalog.is_file():
        print(f"catalog not found: {args.catalog}")
        return 1
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_results_"))

    from focalflow.products.analyze import average_mechanism, read_station_list
    from focalflow.mechanisms.catalog import read_catalog
    from focalflow.products.plots import catalog as plots
    from focalflow.products.plots.style import save_figure

    started = time.perf_counter()
    catalog = read_catalog(args.catalog)
    read_s = time.perf_counter() - started
    stations = read_station_list(STATIONS) if args.catalog == DEFAULT and STATIONS.is_file() \
        else None
    rows = [("read + classify", read_s)]
    makers = {"map": lambda: plots.plot_mechanism_map(catalog, stations),
              "ternary": lambda: plots.plot_ternary(catalog),
              "magnitudes": lambda: plots.plot_magnitudes(catalog),
              "orientations": lambda: plots.plot_orientations_over_time(catalog),
              "roses": lambda: plots.plot_roses(catalog),
              "quality": lambda: plots.plot_quality_summary(catalog)}
    for key, make in makers.items():
        t0 = time.perf_counter()
        save_figure(make(), out / plots.CATALOG_FIGURES[key], args.dpi)
        rows.append((f"figure {key}", time.perf_counter() - t0))
    t0 = time.perf_counter()
    mean = average_mechanism(catalog)
    rows.append(("average mechanism", time.perf_counter() - t0))
    in_process = sum(s for _, s in rows)

    command = [sys.executable, "-m", "focalflow.products.analyze", str(args.catalog), "--out",
               str(out / "cli"), "--dpi", str(args.dpi), "--average"]
    if stations is not None:
        command += ["--stations", str(STATIONS)]
    t0 = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    cli_s = time.perf_counter() - t0

    print(f"catalog: {args.catalog.name}, {len(catalog)} mechanisms, dpi {args.dpi}")
    for name, seconds in rows:
        print(f"  {name:<22s} {seconds:7.2f} s")
    print(f"  {'total in process':<22s} {in_process:7.2f} s")
    print(f"  {'analyze command':<22s} {cli_s:7.2f} s (subprocess, start-up included, rc "
          f"{result.returncode})  target < 60 s: ratio {60.0 / cli_s:.1f}x")
    counts = catalog["faulting_class"].value_counts()
    print("classes: " + ", ".join(f"{k} {int(v)} ({100 * v / len(catalog):.1f}%)"
                                  for k, v in counts.items()))
    print(f"average: {mean['strike']}/{mean['dip']}/{mean['rake']} ({mean['faulting_class']}), "
          f"rotation to it median {mean['median_rotation_deg']}°, RMS {mean['rms_rotation_deg']}°")
    print(f"figures in {out}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
