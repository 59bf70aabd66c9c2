"""Event figures from real data: SKHASH's ToC2ME outputs and the ToC2ME P waveforms.

The working directory is built from ``skhash_demo/OUT`` (mechanisms, polinfo), the SKHASH
inputs (events, stations) and the SAC files (P pick ``t1`` becomes the window header ``a``);
the whole 5B deployment is reversed, as the data's README says.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from obspy import read

from focalflow.cli import make_context
from focalflow.config import config_from_dict
from focalflow.products.results import event_observations, load_tables, p_windows, write_products
from focalflow.waveforms.store import WindowSet, write_event_windows
from hash_core.geometry import auxiliary_plane

pytestmark = pytest.mark.filterwarnings("ignore:Sample spacing read from SAC")

EVENT = "20161104064824.680"


def build_toc2me_workdir(shared, root):
    demo = shared / "data/toc2me/skhash_demo"
    folders = sorted(p.name for p in (shared / "data/toc2me/waveforms").iterdir() if p.is_dir())
    mechanisms = pd.read_csv(demo / "OUT/out.csv", dtype={"event_id": str})
    events = pd.read_csv(demo / "IN/SKHASH.eq_catalog.csv", dtype={"event_id": str})
    # SKHASH numbers the events 1, 2, 3; the waveform folders are named by origin time
    ids = {}
    for row in events.itertuples(index=False):
        stamp = row.time.replace("-", "").replace(" ", "").replace(":", "")
        ids[row.event_id] = next(f for f in folders if f == stamp)
    strike2, dip2, rake2 = auxiliary_plane(mechanisms["strike"], mechanisms["dip"],
                                           mechanisms["rake"])
    mechanisms = mechanisms.assign(event_id=mechanisms["event_id"].map(ids), strike2=strike2,
                                   dip2=dip2, rake2=rake2, azimuthal_gap=np.nan,
                                   takeoff_gap=np.nan)
    root.mkdir(parents=True)
    mechanisms.to_csv(root / "mechanisms.csv", index=False)
    polinfo = pd.read_csv(demo / "OUT/out_polinfo.csv", dtype={"event_id": str})
    polinfo.assign(event_id=polinfo["event_id"].map(ids)).to_csv(root / "polinfo.csv",
                                                                 index=False)
    events.assign(event_id=events["event_id"].map(ids),
                  mag=pd.to_numeric(events["mag"], errors="coerce")).to_csv(
        root / "events.csv", index=False)
    stations = pd.read_csv(demo / "IN/SKHASH.stations.csv", dtype={"station": str})
    pd.DataFrame({"network": "5B", "station": stations["station"], "start": "", "end": ""}) \
        .to_csv(root / "reversals.csv", index=False)
    for event_id in ids.values():
        rows, samples = [], []
        for path in sorted((shared / "data/toc2me/waveforms" / event_id).glob("5B.*.DHZ.SAC")):
            trace = read(str(path), format="SAC")[0]
            if "t1" not in trace.stats.sac:  # no analyst pick: no P window
                continue
            rows.append({"network": "5B", "station": trace.stats.station, "location": "",
                         "channel": "DHZ", "rate_hz": trace.stats.sampling_rate, "start_s": 0.0,
                         "pick_s": trace.stats.sac.t1 - trace.stats.sac.b, "reversed": True})
            samples.append(trace.data)
        write_event_windows(root / "store", event_id, [WindowSet.from_rows("P", rows, samples)])
    return root


@pytest.fixture(scope="module")
def toc2me(shared_dir, tmp_path_factory):
    root = build_toc2me_workdir(shared_dir, tmp_path_factory.mktemp("toc2me") / "work")
    config = config_from_dict({"workdir": str(root), "output": {"dpi": 50}}, base_dir=root)
    return make_context("6_run_hash", config, events={EVENT})


def test_p_windows_are_found_aligned_and_shown_as_ground_motion(toc2me):
    tables = load_tables(toc2me.workdir)
    observations = event_observations(EVENT, tables)
    used = tables["mechanisms"].set_index("event_id").loc[EVENT, "num_p_pol"]
    assert len(observations) == used and (observations["network"] == "").all()
    windows = p_windows(toc2me.workdir, EVENT, observations)
    assert len(windows) >= 0.8 * used and all(w.reversed for w in windows.values())
    # the first swing after the pick, shown as ground motion, matches the polarity used
    agree = []
    for row in observations[observations["label"].isin(windows)].itertuples(index=False):
        window = windows[row.label]
        start = int(round((window.pick_s - window.start_s) * window.rate_hz))
        data = window.data.astype(float) - window.data[start - 50:start].mean()
        first = data[start:start + 15]
        swing = first[np.argmax(np.abs(first))] * (-1 if window.reversed else 1)
        agree.append(np.sign(swing) == row.polarity)
    assert np.mean(agree) > 0.8


def test_event_figures_from_real_outputs(toc2me):
    counts = write_products(toc2me)
    assert counts["event_figures"] == 1
    for name in ("beachball.png", "waveforms.png"):
        assert (toc2me.workdir.event_figures_dir(EVENT) / name).stat().st_size > 20_000
    assert not toc2me.workdir.event_figures_dir("20161125051408.940").exists()
    xml = toc2me.workdir.mechanisms_xml.read_text()
    assert xml.count("<event ") == 3 and xml.count("<pick ") == 153
