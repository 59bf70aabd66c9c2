"""Stages 1-5 on the demo: first run against reruns with nothing changed and after one edit.

    .venv/bin/python bench/bench_reruns.py [--repeat 3] [--out DIR]

Generates the demo (seed 0) into ``--out`` (default: a temporary folder), runs the stage
scripts 1-5 once, then each stage ``--repeat`` more times with nothing changed (each must log
"0 ... (re)computed"), then each of stages 2-4 once after an edit of one of its parameters
(``sac.max_gap_s``, ``phases.s_after_s``, ``polarity.min_confidence``: every event redone).
Prints for each stage the wall time of a whole script run (Python start-up and imports
included) and the time the stage itself reports (``done in``), best of the repeats, and their
ratios to the first run. The machine is shared: the load average is printed.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = ["1_get_waveforms", "2_mseed2sac", "3_convert_phases", "4_polarity_predict",
          "5_convert_stations"]
EDITS = {"2_mseed2sac": ("sac", "max_gap_s", 0.5), "3_convert_phases": ("phases", "s_after_s", 2.5),
         "4_polarity_predict": ("polarity", "min_confidence", 0.6)}


def run_stage(stage: str, config: Path) -> tuple[float, float, str]:
    """(wall s, the stage's own 'done in' s, its log) of one script run."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(REPO / f"{stage}.py"), "--config", str(config)],
                          cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{stage} failed:\n{done.stderr[-2000:]}")
    inside = float(re.search(r"done in ([\d.]+) s", done.stderr).group(1))
    return wall, inside, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_reruns_"))
    sys.path.insert(0, str(REPO))
    from focalflow.demo import generate

    generate(out / "demo_data", seed=0)
    settings = {"workdir": str(out / "work"),
                "catalog": {"phase_file": str(out / "demo_data" / "phases.arc")},
                "waveforms": {"source": "sds", "sds": {"root": str(out / "demo_data" / "sds"),
                                                       "stationxml_dir": str(out / "demo_data" / "stationxml")}},
                "stations": {"reversals_file": str(out / "demo_data" / "reversals.csv")}}
    config = out / "config.yaml"
    config.write_text(yaml.safe_dump(settings))

    first = {stage: run_stage(stage, config)[:2] for stage in STAGES}
    again = {}
    for stage in STAGES:
        runs = [run_stage(stage, config) for _ in range(args.repeat)]
        assert all(re.search(r"\b0 \w+ \(re\)computed", log) for _, _, log in runs), stage
        again[stage] = (min(r[0] for r in runs), min(r[1] for r in runs))
    edited = {}
    for stage, (section, key, value) in EDITS.items():
        settings.setdefault(section, {})[key] = value
        config.write_text(yaml.safe_dump(settings))
        wall, inside, log = run_stage(stage, config)
        assert "10 events (re)computed" in log, log[-1000:]
        edited[stage] = (wall, inside)

    print(f"demo in {out}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'stage':20s} {'first run':>16s} {'rerun, no change':>18s} {'rerun after edit':>18s}"
          f" {'no change / first':>18s}")
    for stage in STAGES:
        (w0, i0), (w1, i1) = first[stage], again[stage]
        edit = "{:7.2f} ({:5.2f})".format(*edited[stage]) if stage in edited else ""
        print(f"{stage:20s} {w0:7.2f} s ({i0:5.2f}) {w1:9.2f} s ({i1:5.2f}) {edit:>18s}"
              f" {w1 / w0:9.2f} ({i1 / max(i0, 0.05):5.2f})")
    print("wall s of the script (in parentheses: the stage's own 'done in' s)")


if __name__ == "__main__":
    main()
