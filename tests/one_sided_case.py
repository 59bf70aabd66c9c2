"""The demo's working directory with one event's coverage made one-sided (for the honest-quality
tests and ``bench/demo_weights_quality.py``)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.waveforms.store import read_attributes, read_sets, write_sets
from hash_core.geometry import flat_distance_azimuth


def one_sided_copy(settings: dict, workdir: Path, event_id: str, towards_deg: float) -> dict:
    """Copy the working directory of ``settings`` to ``workdir``, keeping for ``event_id`` only
    the ten stations with P polarities nearest the azimuth ``towards_deg`` (the other stations'
    picks and store windows are dropped); returns ``settings`` pointing at the copy."""
    shutil.copytree(settings["workdir"], workdir, ignore=shutil.ignore_patterns(".focalflow"))
    picks = pd.read_csv(workdir / "picks.csv", dtype=str, keep_default_na=False)
    stations = pd.read_csv(workdir / "stations.csv", keep_default_na=False) \
        .drop_duplicates("station")
    event = pd.read_csv(workdir / "events.csv", dtype={"event_id": str}) \
        .set_index("event_id").loc[event_id]
    polar = picks[(picks["event_id"] == event_id) & (picks["phase"] == "P")
                  & picks["polarity"].isin(["U", "D"])].merge(stations, on="station")
    _, azimuth = flat_distance_azimuth(event["latitude"], event["longitude"],
                                       polar["latitude"].to_numpy(float),
                                       polar["longitude"].to_numpy(float))
    off = np.abs((azimuth - towards_deg + 180) % 360 - 180)
    keep = set(polar["station"].to_numpy()[np.argsort(off, kind="stable")[:10]])
    assert len(keep) == 10 and off[np.argsort(off)[:10]].max() < 90   # one side of the ball
    picks[(picks["event_id"] != event_id) | picks["station"].isin(keep)] \
        .to_csv(workdir / "picks.csv", index=False)
    windows = workdir / "store" / "windows" / f"{event_id}.h5"
    write_sets(windows, [s.select(np.isin(s.column("station"), list(keep)))
                         for s in read_sets(windows).values()],
               {k: v for k, v in read_attributes(windows).items()
                if k != "format" and not k.startswith("digest_")})
    return {**settings, "workdir": str(workdir)}
