#!/usr/bin/env python
"""A synthetic catalog as a working directory ready for stage 6 (or stage 4 with windows).

    .venv/bin/python bench/synthetic_catalog.py OUT --events 10000 [--polarities 40]
        [--stations 300] [--windows] [--seed 0]

Writes ``OUT/config.yaml`` and ``OUT/work/``: ``events.csv`` (events spread over a 1° x 1°
region, depths 4-14 km), ``stations.csv`` (``--stations`` stations on a grid around it),
``polarities.csv`` (``--polarities`` CNN polarities per event from the nearest stations: the P
radiation of a random mechanism at the take-off angles of ``velocity/demo.txt``, 5 % of them
flipped), ``picks.csv`` (their P picks) and, with ``--windows``, each pick's P window in the
waveform store (stage 4's input: a noisy onset of the recorded polarity). The config runs
stage 6 with the CNN polarities, no S/P ratios and no per-event figures. Rows are written a
chunk of events at a time, so 100,000 events take about a minute and little memory.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from focalflow.formats.common import iso_time  # noqa: E402
from focalflow.mechanisms.solve import velocity_tables  # noqa: E402
from focalflow.tables import COLUMNS  # noqa: E402
from hash_core.geometry import flat_distance_azimuth, ray_vectors, sdr_to_vectors  # noqa: E402
from hash_core.raytrace import lookup_takeoff  # noqa: E402

ORIGIN = (36.0, -117.6)
CHUNK = 5000
VELOCITY = REPO / "velocity" / "demo.txt"


def stations_table(count: int) -> pd.DataFrame:
    side = int(np.ceil(np.sqrt(count)))
    k = np.arange(count)
    lat = ORIGIN[0] - 0.9 + 1.8 * (k // side) / max(side - 1, 1)
    lon = ORIGIN[1] - 1.1 + 2.2 * (k % side) / max(side - 1, 1)
    return pd.DataFrame({"network": "SY", "station": [f"S{i:04d}" for i in k], "location": "",
                         "channel": "HHZ", "latitude": lat.round(5), "longitude": lon.round(5),
                         "elevation": 100.0, "azimuth": 0.0, "dip": -90.0, "sampling_rate": 100.0,
                         "start": "2000-01-01T00:00:00.000000Z", "end": "", "has_metadata": True})


def event_chunk(first: int, count: int, stations: pd.DataFrame, polarities: int, table, g):
    """events, polarities and picks rows of events ``first`` .. ``first + count - 1``."""
    ids = [f"sy{first + i:07d}" for i in range(count)]
    lat = ORIGIN[0] + g.uniform(-0.5, 0.5, count)
    lon = ORIGIN[1] + g.uniform(-0.5, 0.5, count)
    depth = g.uniform(4.0, 14.0, count)
    t0 = 1_577_836_800.0 + (first + np.arange(count)) * 600.0
    events = pd.DataFrame({"event_id": ids, "time": [iso_time(t) for t in t0],
                           "latitude": lat.round(5), "longitude": lon.round(5),
                           "depth": depth.round(2), "horz_uncert_km": 0.3, "vert_uncert_km": 0.8,
                           "mag": g.uniform(0.5, 3.5, count).round(2)})
    distance, azimuth = flat_distance_azimuth(lat[:, None], lon[:, None],
                                              stations["latitude"].to_numpy()[None, :],
                                              stations["longitude"].to_numpy()[None, :])
    nearest = np.argsort(distance, axis=1)[:, :polarities]
    rows = np.arange(count)[:, None]
    distance, azimuth = distance[rows, nearest], azimuth[rows, nearest]
    takeoff = np.empty_like(distance)
    for i in range(count):
        takeoff[i], _ = lookup_takeoff(table, distance[i], depth[i])
    strike, dip, rake = g.uniform(0, 360, count), g.uniform(10, 90, count), g.uniform(-180, 180, count)
    normal, slip = sdr_to_vectors(strike, dip, rake)
    rays = ray_vectors(takeoff, azimuth)
    amplitude = np.einsum("nkj,nj->nk", rays, normal) * np.einsum("nkj,nj->nk", rays, slip)
    polarity = np.where(amplitude > 0, 1, -1)
    polarity[g.uniform(size=polarity.shape) < 0.05] *= -1
    codes = stations.iloc[nearest.ravel()]
    prob_up = np.where(polarity.ravel() > 0, g.uniform(0.7, 0.99, polarity.size),
                       g.uniform(0.01, 0.2, polarity.size)).round(3)
    event_of = np.repeat(ids, polarities)
    pol = pd.DataFrame({"event_id": event_of, "network": codes["network"].to_numpy(),
                        "station": codes["station"].to_numpy(), "location": "",
                        "channel": "HHZ", "p_polarity": polarity.ravel(), "prob_up": prob_up,
                        "prob_down": (1 - prob_up).round(3), "prob_undecided": 0.0,
                        "clarity": np.where(g.uniform(size=polarity.size) < 0.7, "I", "E"),
                        "model": "synthetic"})
    travel = np.hypot(distance, depth[:, None]) / 6.0
    picks = pd.DataFrame({"event_id": event_of, "network": codes["network"].to_numpy(),
                          "station": codes["station"].to_numpy(), "location": "",
                          "channel": "HHZ", "phase": "P",
                          "time": [iso_time(t) for t in (t0[:, None] + travel).ravel()],
                          "onset": "i", "polarity": np.where(polarity.ravel() > 0, "U", "D"),
                          "weight": 0, "source": "synthetic"})
    return events, pol, picks, (distance, depth, polarity)


def write_windows(store_dir: Path, events: pd.DataFrame, picks: pd.DataFrame, polarity, g) -> None:
    """Each pick's P window (4 s at 100 Hz, pick at 2 s) in the waveform store."""
    from focalflow.waveforms.store import WindowSet, write_event_windows

    n = 401
    t = np.arange(n) / 100.0 - 2.0
    for i, event_id in enumerate(events["event_id"]):
        rows = picks[picks["event_id"] == event_id]
        k = len(rows)
        noise = g.normal(0, 1.0, (k, n))
        onset = np.where(t >= 0, np.sin(2 * np.pi * 6.0 * np.clip(t, 0, None))
                         * np.exp(-np.clip(t, 0, None) * 3.0), 0.0)
        data = noise + 20.0 * polarity[i][:, None] * onset[None, :]
        windows = WindowSet.from_arrays(
            phase="P", network=rows["network"].to_numpy(), station=rows["station"].to_numpy(),
            location=rows["location"].to_numpy(), channel=rows["channel"].to_numpy(),
            rate_hz=100.0, start_s=np.full(k, 0.0), pick_s=np.full(k, 2.0),
            data=data.astype(np.float32))
        write_event_windows(store_dir, event_id, [windows])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--polarities", type=int, default=40)
    parser.add_argument("--stations", type=int, default=300)
    parser.add_argument("--windows", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    work = args.out / "work"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(args.seed)
    stations = stations_table(args.stations)
    stations.to_csv(work / "stations.csv", index=False)
    pd.DataFrame(columns=COLUMNS["reversals"]).to_csv(work / "reversals.csv", index=False)
    table = velocity_tables([VELOCITY])[0]
    for first in range(0, args.events, CHUNK):
        count = min(CHUNK, args.events - first)
        events, pol, picks, (_, _, polarity) = event_chunk(first, count, stations,
                                                           args.polarities, table, g)
        header = first == 0
        events.to_csv(work / "events.csv", index=False, header=header, mode="w" if header else "a")
        pol.to_csv(work / "polarities.csv", index=False, header=header, mode="w" if header else "a")
        picks.to_csv(work / "picks.csv", index=False, header=header, mode="w" if header else "a")
        if args.windows:
            write_windows(work / "store", events, picks, polarity, g)
    config = {"workdir": "work",
              "hash": {"velocity_models": [str(VELOCITY)], "use_sp_ratios": False,
                       "polarity_source": "cnn"},
              "stations": {"reversals_file": None},
              "figures": {"events": 0}}
    (args.out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"{args.events} events x {args.polarities} polarities in {work} "
          f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
