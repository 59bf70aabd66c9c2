#!/usr/bin/env python
"""Benchmark of stage 6 (HASH v1.2's method in hash_core) against HASH v1.2 and SKHASH.

Prints, at HASH's settings (dang 5, nmc 30):
  * JIT: the first call in a process with an empty numba cache (compile) and with the cache
    (load), apart from warm times;
  * warm events/s and the grid-search share on HASH example 1 and example 3, one thread;
  * a synthetic catalog (default 1,000 events) on 1 and 2 cores (``RunPolicy.threads``: with
    the default numpy stream, events are solved concurrently, one per core), and the speed-up;
  * a whole ``6_run_hash.py --hash-inp example3.inp --driver 3`` run in a fresh process
    (start-up included, wall time) and its peak memory (ru_maxrss);
  * with ``--skhash-venv PATH``, the same example 3 run by SKHASH in that environment;
then a table of figures, the reference figures of ``../shared/notes/hash_v1.2.md`` and ratios.

With ``--baseline PATH`` (another checkout, e.g. ``git archive main | tar -x -C PATH``) it
instead compares this checkout with that one in the same run: warm one-thread times of
examples 1 and 3 and of a synthetic catalog at the default parameters, each measured in a fresh
process per version, the versions alternating for ``--rounds`` rounds (best of each kept), so
the machine's load falls on both alike.

    .venv/bin/python bench/bench_hash.py [--shared ../shared] [--events 1000]
                                         [--skhash-venv PATH] [--skip-catalog]
                                         [--baseline PATH [--rounds 3]]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    sys.path.insert(0, str(REPO))

# Reference runs (2 cores, ../shared/notes/hash_v1.2.md): seconds for 24 events.
HASH_EX1_S, HASH_EX3_S = 4.66, 11.2
SKHASH_EX1_S, SKHASH_EX3_S = 9.7, 23.2

JIT_PROBE = """
import time, numpy as np
t = time.perf_counter()
from hash_core import focal
from hash_core.params import HashParams
from hash_core.rng import make_rng
t_import = time.perf_counter() - t
rng = make_rng("numpy", 0)
g = np.random.default_rng(1)
n = 20
takeoff, azimuth = focal.perturb_given_angles(g.uniform(20, 160, n), g.uniform(0, 360, n),
                                              np.full(n, 5.0), np.full(n, 2.0), 30, rng)
pol = np.where(g.uniform(size=n) > 0.5, 1, -1)
sp = np.full(n, np.nan)
sp[:4] = 0.5
pol_sp = pol.copy()
pol_sp[:4] = 0
times = []
for with_sp in (False, True, False, True):
    t = time.perf_counter()
    focal.focal_mechanism(takeoff, azimuth, pol_sp if with_sp else pol, None,
                          sp if with_sp else None, HashParams(dang_deg=10), rng)
    times.append(time.perf_counter() - t)
print(t_import, times[0] + times[1], times[2] + times[3])
"""


def jit_times() -> dict:
    """First-call time with an empty numba cache (compile) and with the cache (load)."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label, env in (("cold", {"NUMBA_CACHE_DIR": cache}), ("cached", {"NUMBA_CACHE_DIR": cache})):
            result = subprocess.run([sys.executable, "-c", JIT_PROBE], capture_output=True,
                                    text=True, env={**os.environ, **env}, cwd=REPO, check=True)
            t_import, first, warm = map(float, result.stdout.split()[-3:])
            out[label] = (t_import, first, warm)
    return out


def example_inputs(shared: Path, name: str, driver: int):
    from focalflow.formats import hash_v12
    from focalflow.mechanisms.classic import _Problems, load_hash_inputs

    folder = shared / "data" / "hash_examples"
    control = hash_v12.read_hash_inp(folder / name, driver, base_dir=folder)
    return (*load_hash_inputs(control, _Problems()), control.params)


def timed_catalog(events, obs, params, policy, tables, repeats: int = 1) -> tuple[float, float]:
    """(total seconds, seconds inside the grid search, summed over threads) of the best of
    ``repeats`` warm runs."""
    from hash_core import focal
    from focalflow.mechanisms.solve import solve_catalog

    spent = [0.0]
    originals = focal.search_polarities, focal.search_polarities_sp

    def wrap(function):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t
        return timed

    focal.search_polarities, focal.search_polarities_sp = map(wrap, originals)
    try:
        best = (np.inf, np.inf)
        for _ in range(repeats):
            spent[0] = 0.0
            t = time.perf_counter()
            solve_catalog(events, obs, params, policy, tables, lambda *a: None)
            best = min(best, (time.perf_counter() - t, spent[0]))
        return best
    finally:
        focal.search_polarities, focal.search_polarities_sp = originals


def synthetic_catalog(n_events: int, seed: int = 0):
    """Events with 20-60 given-angle polarities of random mechanisms, 5 % flipped (driver-1
    style: take-off sigma 5 deg, azimuth sigma 2 deg)."""
    import pandas as pd
    from hash_core.geometry import ray_vectors, sdr_to_vectors
    from focalflow.mechanisms.observations import make_observations

    g = np.random.default_rng(seed)
    events, rows = [], []
    for k in range(n_events):
        event_id = f"syn{k:05d}"
        events.append({"event_id": event_id, "time": "2020-01-01T00:00:00Z", "latitude": 0.0,
                       "longitude": 0.0, "depth": 10.0, "horz_uncert_km": 0.5,
                       "vert_uncert_km": 1.0, "mag": 2.0})
        n = int(g.integers(20, 61))
        takeoff = np.degrees(np.arccos(g.uniform(-0.6, 0.9, n)))
        azimuth = g.uniform(0, 360, n)
        normal, slip = sdr_to_vectors(g.uniform(0, 360), np.degrees(np.arccos(g.uniform(0, 1))),
                                      g.uniform(-180, 180))
        rays = ray_vectors(takeoff, azimuth)
        pol = np.where((rays @ normal) * (rays @ slip) > 0, 1, -1)
        pol[g.uniform(size=n) < 0.05] *= -1
        for i in range(n):
            rows.append({"event_id": event_id, "station": f"S{i:03d}", "p_polarity": pol[i],
                         "impulsive": bool(g.uniform() < 0.7), "kind": "P",
                         "distance_km": 30.0, "takeoff_deg": takeoff[i], "azimuth_deg": azimuth[i],
                         "takeoff_sigma_deg": 5.0, "azimuth_sigma_deg": 2.0})
    return pd.DataFrame(events), make_observations(pd.DataFrame(rows))


# Runs a command and prints its wall seconds and peak RSS (MB). Linux carries a process's peak
# RSS over fork and exec into the child's ru_maxrss, so a command started straight from this
# (large) benchmark process would report the benchmark's own memory; started from this small
# launcher it reports its own, as /usr/bin/time does.
LAUNCHER = """
import resource, subprocess, sys, time
t = time.perf_counter()
status = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t
print(status, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0)
"""


def measured_run(command: list, cwd) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``command`` run in ``cwd``."""
    result = subprocess.run([sys.executable, "-c", LAUNCHER, *command], cwd=cwd,
                            capture_output=True, text=True)
    status, wall, rss = result.stdout.split()[-3:] if result.stdout else ("1", "0", "0")
    if result.returncode != 0 or status != "0":
        raise SystemExit(f"{' '.join(map(str, command[1:3]))} failed: {result.stderr[-2000:]}")
    return float(wall), float(rss)


def whole_run(shared: Path, threads: int = 0) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a fresh ``6_run_hash.py`` run of example 3
    (``--threads``: cores used; 0: all)."""
    with tempfile.TemporaryDirectory() as folder:
        for path in (shared / "data" / "hash_examples").iterdir():
            os.symlink(path, Path(folder) / path.name)
        return measured_run([sys.executable, str(REPO / "6_run_hash.py"), "--hash-inp",
                             "example3.inp", "--driver", "3", "--out", "mech.csv",
                             "--threads", str(threads)], folder)


def skhash_run(venv: Path, shared: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of SKHASH on example 3 (its hash3 input format)."""
    examples = shared / "data" / "hash_examples"
    with tempfile.TemporaryDirectory() as folder:
        for path in examples.iterdir():
            os.symlink(path, Path(folder) / path.name)
        (Path(folder) / "control.txt").write_text(
            "$input_format\nhash3\n$stfile\nscsn.stations\n$plfile\nscsn.reverse\n"
            "$corfile\nnorth3.statcor\n$ampfile\nnorth3.amp\n$fpfile\nnorth2.phase\n"
            "$outfile1\nskhash_out.csv\n$vmodel_paths\nvz.socal vz.north vz.lab1 vz.sgm1 vz.vb1\n"
            "$npolmin\n8\n$dang\n5\n$nmc\n30\n$maxout\n300\n$ratmin\n3\n$badfrac\n0.1\n"
            "$qbadfrac\n0.3\n$delmax\n120\n$cangle\n45\n$prob_max\n0.25\n")
        return measured_run([str(venv / "bin" / "python"), "-m", "SKHASH", "control.txt"],
                            folder)


# Times one case in a fresh process with the focalflow/hash_core of the checkout given first,
# using this file's helpers: "example1.inp:1" (file:driver) or "synthetic:N".
PROBE = """
import importlib.util, sys
from pathlib import Path
repo, bench_file, shared, case = sys.argv[1:5]
sys.path.insert(0, repo)
spec = importlib.util.spec_from_file_location("bench_probe", bench_file)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
from hash_core.params import HashParams, RunPolicy
name, number = case.split(":")
if name == "synthetic":
    events, obs = bench.synthetic_catalog(int(number))
    tables, params = None, HashParams()
else:
    events, obs, tables, params = bench.example_inputs(Path(shared), name, int(number))
policy = RunPolicy(threads=1)
bench.timed_catalog(events.iloc[:3], obs, params, policy, tables)   # compile or load
print(*bench.timed_catalog(events, obs, params, policy, tables, repeats=2))
"""


def compare_with_baseline(baseline: Path, shared: Path, rounds: int, n_events: int) -> None:
    """Warm one-thread times of this checkout against ``baseline``, alternating (module
    docstring)."""
    cases = ["example1.inp:1", "example3.inp:3", f"synthetic:{n_events}"]
    best = {}
    for round_ in range(rounds):
        for case in cases:
            sides = [("before", baseline), ("after", REPO)]
            for side, repo in sides if round_ % 2 == 0 else sides[::-1]:
                result = subprocess.run([sys.executable, "-c", PROBE, str(repo), __file__,
                                         str(shared), case], capture_output=True, text=True,
                                        cwd=repo)
                if result.returncode != 0:
                    raise SystemExit(f"{side} {case} failed: {result.stderr[-2000:]}")
                total, search = map(float, result.stdout.split()[-2:])
                old = best.get((case, side), (np.inf, np.inf))
                best[(case, side)] = min(old, (total, search))
                print(f"round {round_ + 1} {case:<16} {side:<6} {total:7.2f} s "
                      f"(grid search {search:.2f} s)", flush=True)
    print(f"\n{'case (1 thread, warm, best of ' + str(rounds) + ')':<40} {'before':>8} "
          f"{'after':>8}  after/before   grid search before, after")
    for case in cases:
        (t0, s0), (t1, s1) = best[(case, "before")], best[(case, "after")]
        print(f"{case:<40} {t0:8.2f} {t1:8.2f}  {t1 / t0:6.2f}x        {s0:.2f} s, {s1:.2f} s")
    print(f"baseline {baseline}; machine: {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("FOCALFLOW_SHARED", REPO.parent / "shared")))
    parser.add_argument("--events", type=int, default=1000, help="synthetic catalog size")
    parser.add_argument("--skhash-venv", type=Path, help="virtual environment with skhash")
    parser.add_argument("--skip-catalog", action="store_true", help="skip the synthetic catalog")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --baseline")
    args = parser.parse_args()
    if not (args.shared / "data" / "hash_examples").is_dir():
        raise SystemExit(f"HASH examples not found under {args.shared} (use --shared)")
    if args.baseline:
        compare_with_baseline(args.baseline.resolve(), args.shared.resolve(), args.rounds,
                              args.events)
        return

    from hash_core.params import HashParams, RunPolicy
    from hash_core.search import set_threads

    rows = []   # (what, focalflow figure, reference, ratio text)
    jit = jit_times()
    print(f"JIT: import {jit['cold'][0]:.2f} s; first solve (2 kernels) with an empty cache "
          f"{jit['cold'][1]:.2f} s, from the cache {jit['cached'][1]:.2f} s, warm "
          f"{jit['cached'][2]:.3f} s")
    rows.append(("JIT compile (empty cache), s", jit["cold"][1] - jit["cold"][2], None, ""))
    rows.append(("first call with numba cache, s", jit["cached"][1] - jit["cached"][2], None, ""))

    for name, driver, reference in (("example1.inp", 1, HASH_EX1_S), ("example3.inp", 3, HASH_EX3_S)):
        events, obs, tables, params = example_inputs(args.shared, name, driver)
        policy = RunPolicy(rng="hash", threads=1)
        timed_catalog(events, obs, params, policy, tables)                     # warm-up
        total, search = timed_catalog(events, obs, params, policy, tables, repeats=2)
        n = len(events)
        print(f"{name}: {n} events warm on 1 thread: {total:.2f} s ({n / total:.1f} events/s), "
              f"grid search {search:.2f} s")
        rows.append((f"{name} warm grid search (1 thread), s", search, reference,
                     f"{reference / search:.1f}x faster than HASH"))
        rows.append((f"{name} warm total (1 thread), events/s", n / total, n / reference,
                     f"{(n / total) / (n / reference):.1f}x HASH"))

    if not args.skip_catalog:
        events, obs = synthetic_catalog(args.events)
        params = HashParams(max_agap_deg=360, max_pgap_deg=90)
        timed_catalog(events.iloc[:5], obs, params, RunPolicy(), None)
        speeds = {}
        for threads in (1, 2):
            total, search = timed_catalog(events, obs, params, RunPolicy(threads=threads), None)
            speeds[threads] = len(events) / total
            print(f"synthetic catalog, {len(events)} events, {threads} core(s): {total:.1f} s "
                  f"({speeds[threads]:.1f} events/s), grid search {search:.1f} s (summed over "
                  f"threads)")
        rows.append((f"synthetic {len(events)} events, 1 core, events/s", speeds[1], None, ""))
        rows.append((f"synthetic {len(events)} events, 2 cores, events/s", speeds[2], None,
                     f"speed-up {speeds[2] / speeds[1]:.2f}x (target >= 1.7x)"))
        set_threads(None)

    for threads in (0, 1):
        wall, rss = whole_run(args.shared, threads)
        label = "all cores" if threads == 0 else "1 core"
        print(f"6_run_hash.py example 3, fresh process, {label}: {wall:.2f} s wall, "
              f"peak RSS {rss:.0f} MB")
        rows.append((f"6_run_hash.py example 3 whole run ({label}), s", wall, HASH_EX3_S,
                     f"{HASH_EX3_S / wall:.1f}x faster than HASH (target >= 3x), "
                     f"{SKHASH_EX3_S / wall:.1f}x than SKHASH (target >= 5x)"))
        rows.append((f"peak memory of that run ({label}), MB", rss, 300.0, "target <= 300 MB"))
    if args.skhash_venv:
        sk_wall, sk_rss = skhash_run(args.skhash_venv, args.shared)
        rows.append(("SKHASH example 3 (same settings), s", sk_wall, wall,
                     f"focalflow {sk_wall / wall:.1f}x faster; SKHASH peak {sk_rss:.0f} MB"))

    print()
    print(f"{'figure':<48} {'focalflow':>10} {'reference':>10}  ratio")
    for what, value, reference, ratio in rows:
        ref = f"{reference:10.2f}" if reference is not None else " " * 10
        print(f"{what:<48} {value:10.2f} {ref}  {ratio}")
    print(f"\nreferences: HASH v1.2 example 1 {HASH_EX1_S} s, example 3 {HASH_EX3_S} s; SKHASH "
          f"{SKHASH_EX1_S} s / {SKHASH_EX3_S} s (2 cores, ../shared/notes/hash_v1.2.md)")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
