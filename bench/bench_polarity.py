"""Stage-4 throughput: end to end (read the P windows from the waveform store, preprocess, infer,
write polarities.csv) next to the raw network's batched throughput in the same run, plus peak
memory.

    .venv/bin/python bench/bench_polarity.py --picks 10000
    .venv/bin/python bench/bench_polarity.py --picks 10000 --model focalflow-default

Builds a working directory of ``--picks`` vertical P windows (4 s at ``--rate`` Hz, in the
waveform store: one windows file per event of ``--stations`` picks, plus a picks.csv), then
times:

* ``model``: ``predict_inputs`` on already prepared inputs (the network alone, in batches of the
  size the stage runs it at: ``--batch-size`` up to a chunk of :data:`CHUNK_PICKS` picks);
* ``classify``: ``model.classify`` on the same windows already in memory (the model class's own
  preprocessing, then the network: what stage 4 adds to it is reading, SNR, bookkeeping and
  polarities.csv);
* ``stage``: ``run_stage(4_polarity_predict)`` with the model already loaded (reported apart)
  and its ``tf.function`` traced, one-off costs of a run whatever the number of picks;
* ``per-trace``: the published workflow's way, one ``predict`` call per trace (a sample).

The CPU time of the stage and of the network (all threads) gives the floor of the stage/model
ratio on this machine: the stage's CPU spread over every core, against the network's time.

Stage, model and classify are timed in turns, ``--repeat`` times each (the best times are
reported, and the median ratios of the turns after the first: the machine is shared). Prints
traces per second, the stage/model and stage/classify ratios and peak resident memory
(ru_maxrss) after the timings and at the end.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import obspy
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from focalflow.cli import run_stage  # noqa: E402
from focalflow.config import config_from_dict  # noqa: E402
from focalflow.polarity.policy import load_configured_model  # noqa: E402
from focalflow.polarity.predict import (CHUNK_PICKS, prepare_windows,  # noqa: E402
                                        read_p_window_groups)
from focalflow.stages.polarity_predict import run  # noqa: E402
from focalflow.tables import read_table, write_table  # noqa: E402
from focalflow.waveforms.store import WindowSet, write_event_windows  # noqa: E402
from focalflow.workdir import WorkDir  # noqa: E402

ORIGIN = obspy.UTCDateTime("2021-06-01T00:00:00")


def process_cpu() -> float:
    """CPU seconds of this process, all its threads (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build_workdir(root: Path, picks: int, stations: int, rate: float, seed: int = 0) -> Path:
    """A working directory with ``picks`` P windows (synthetic onsets, random sign and SNR)."""
    rng = np.random.default_rng(seed)
    npts = int(round(4.0 * rate))
    pick = npts // 2
    t = (np.arange(npts) - pick) / rate
    rows, windows, samples = [], [], []
    for k in range(picks):
        event, station = f"ev{k // stations:05d}", f"S{k % stations:03d}"
        sign = rng.choice([-1, 1])
        freq = rng.uniform(3.0, 15.0)
        signal = np.where(t >= 0, sign * np.sin(2 * np.pi * freq * t) * np.exp(-3.0 * t), 0.0)
        samples.append((signal * rng.uniform(0.05, 2.0) + 0.05 * rng.normal(size=npts))
                       .astype(np.float32))
        windows.append({"network": "XB", "station": station, "location": "", "channel": "HHZ",
                        "rate_hz": rate, "start_s": 0.0, "pick_s": 2.0})
        rows.append({"event_id": event, "network": "XB", "station": station, "location": "",
                     "channel": "HHZ", "phase": "P", "time": str(ORIGIN + 2.0), "onset": "",
                     "polarity": "U" if sign > 0 else "D", "weight": 0, "source": f"bench:{k}"})
        if k % stations == stations - 1 or k == picks - 1:
            write_event_windows(root / "work" / "store", event,
                                [WindowSet.from_rows("P", windows, samples)])
            windows, samples = [], []
    write_table(pd.DataFrame(rows), root / "work" / "picks.csv", "picks")
    return root / "work"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picks", type=int, default=10000)
    parser.add_argument("--stations", type=int, default=100, help="P picks per event")
    parser.add_argument("--rate", type=float, default=100.0, help="sampling rate of the windows (Hz)")
    parser.add_argument("--model", default="diting-motion")
    parser.add_argument("--weights", default=None,
                        help="weights file (default: ../shared/models/DiTingMotionJul.hdf5 for "
                             "diting-motion when present, else the registry)")
    parser.add_argument("--batch-size", type=int, default=1024,
                        help="polarity.batch_size (the config's default: 1024)")
    parser.add_argument("--per-trace-sample", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5,
                        help="turns of stage and model timings (best kept)")
    args = parser.parse_args()

    weights = args.weights
    shared = REPO.parent / "shared" / "models" / "DiTingMotionJul.hdf5"
    if weights is None and args.model == "diting-motion" and shared.is_file():
        weights = str(shared)

    with tempfile.TemporaryDirectory(prefix="bench_polarity_") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        workdir = build_workdir(root, args.picks, args.stations, args.rate)
        print(f"built {args.picks} P windows ({args.rate:g} Hz, 4 s) in "
              f"{time.perf_counter() - started:.1f} s")
        config = config_from_dict({"workdir": str(workdir),
                                   "polarity": {"model": args.model, "weights": weights,
                                                "batch_size": args.batch_size, "device": "auto",
                                                "analyst": "compare"},
                                   "stations": {"reversals_file": None}})

        started = time.perf_counter()
        model = load_configured_model(config.polarity)
        load_s = time.perf_counter() - started
        # Trace the tf.function once (a one-off cost of every run, like loading).
        model.predict_inputs(np.zeros((1, model.window_samples, model.input_channels), np.float32))

        rng = np.random.default_rng(1)
        npts = int(round(4.0 * model.sampling_rate_hz))
        inputs, _, _ = model.preprocess(rng.normal(size=(args.picks, npts)).cumsum(axis=1),
                                        np.full(args.picks, npts / 2), model.sampling_rate_hz)
        # the network alone at the batch size it runs at in the stage (a chunk of picks at most)
        network_batch = min(args.batch_size, CHUNK_PICKS)
        model.predict_inputs(inputs[:network_batch], network_batch)  # warm up this batch size

        # the stage's windows as the model class takes them: in memory, one rate and length
        picks = read_table(workdir / "picks.csv", "picks")
        started = time.perf_counter()
        _, groups = read_p_window_groups(WorkDir(workdir), picks)
        read_s = time.perf_counter() - started
        (group,) = groups

        # stage, network and model.classify in turns, so that all see the same moods of a
        # shared machine
        stage_times, model_times, classify_times = [], [], []
        stage_cpu, model_cpu = [], []
        for _ in range(args.repeat):
            (workdir / "polarities.csv").unlink(missing_ok=True)
            started, cpu = time.perf_counter(), process_cpu()
            summary = run_stage("4_polarity_predict", run, config)
            stage_times.append(time.perf_counter() - started)
            stage_cpu.append(process_cpu() - cpu)
            started, cpu = time.perf_counter(), process_cpu()
            model.predict_inputs(inputs, network_batch)
            model_times.append(time.perf_counter() - started)
            model_cpu.append(process_cpu() - cpu)
            started = time.perf_counter()
            model.classify(group.data, group.pick_index, group.sampling_rate_hz, network_batch)
            classify_times.append(time.perf_counter() - started)
        stage_s, model_s, classify_s = min(stage_times), min(model_times), min(classify_times)
        later = slice(1, None) if args.repeat > 1 else slice(None)
        pair_ratio = float(np.median(np.array(stage_times[later]) / np.array(model_times[later])))
        classify_ratio = float(np.median(np.array(stage_times[later])
                                         / np.array(classify_times[later])))
        stage_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        prepared = prepare_windows(model, groups, len(picks))
        prep_s = time.perf_counter() - started

        keras_model = model.keras_model
        _, (inputs_by_shift, _, _), _ = prepared.groups[0]
        sample = inputs_by_shift[0][:args.per_trace_sample]
        keras_model.predict(sample[:1], verbose=0)
        started = time.perf_counter()
        for x in sample:
            keras_model.predict(x[None], verbose=0)
        per_trace_s = time.perf_counter() - started

        polarities = pd.read_csv(workdir / "polarities.csv")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    n = args.picks
    print(f"model            : {model}  (load {load_s:.1f} s)")
    print(f"load average     : {os.getloadavg()[0]:.2f} (2 cores; best of {args.repeat} timings)")
    print(f"picks            : {n}  (predicted {summary['predicted']}, skipped {summary['skipped']})")
    print(f"model alone      : {n / model_s:10.0f} traces/s  ({model_s:.2f} s, batches of {network_batch} as in the stage)")
    print(f"stage end to end : {n / stage_s:10.0f} traces/s  ({stage_s:.2f} s: read, preprocess, "
          "infer, write)")
    print(f"  first run      : {n / stage_times[0]:10.0f} traces/s  ({stage_times[0]:.2f} s: "
          "includes the network's set-up for new batch shapes and loading the compiled "
          "preprocessing kernels)")
    print(f"stage / model    : {stage_s / model_s:10.2f} x the model's time (best against best; "
          f"median of the later turns' ratios {pair_ratio:.2f})")
    print(f"  turns (s)      : stage {' '.join(f'{t:.2f}' for t in stage_times)}; "
          f"model {' '.join(f'{t:.2f}' for t in model_times)}")
    cores = len(os.sched_getaffinity(0))
    floor = min(stage_cpu) / cores / model_s
    print(f"CPU (best turns) : stage {min(stage_cpu):.2f} s, network {min(model_cpu):.2f} s; on "
          f"{cores} cores the stage cannot take less than {min(stage_cpu) / cores:.2f} s = "
          f"{floor:.2f} x the network's best time (the floor of stage / model on this machine)")
    print(f"stage / classify : {stage_s / classify_s:10.2f} x model.classify on the same windows "
          f"in memory ({classify_s:.2f} s: its preprocessing, then the network; median of the "
          f"later turns' ratios {classify_ratio:.2f})")
    print(f"  alone          : reading {args.picks} windows from the store {read_s:.2f} s "
          f"({n / read_s:.0f}/s), preprocessing {prep_s:.2f} s ({n / prep_s:.0f}/s); the stage "
          "overlaps both with inference")
    print(f"per-trace predict: {len(sample) / per_trace_s:10.1f} traces/s  (published workflow's loop)")
    print(f"agreement with the synthetic truth where decided: "
          f"{summary['analyst_agree']}/{summary['analyst_both']}; rows written {len(polarities)}")
    print(f"peak memory      : {stage_peak_mb:10.0f} MB after the timings, {peak_mb:.0f} MB at the "
          "end (max resident set size of this process)")


if __name__ == "__main__":
    main()
