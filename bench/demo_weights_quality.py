#!/usr/bin/env python
"""Polarity weights and honest quality on the seeded demo (issue 10's demo figures).

Prints:
  * CNN polarities (the shipped model): the median angle of the mechanisms to ``truth.csv``
    with ``hash.polarity_weights`` none and cnn_probability, with and without S/P ratios;
  * analyst polarities with S/P ratios: HASH's letters and ours, how many A/B events keep
    their letter;
  * event 60000001 with only the ten P polarities nearest an azimuth (0 and 180 degrees, the
    other stations' picks and windows dropped), with and without S/P ratios: HASH's letter,
    ours and the quality_note.

    .venv/bin/python bench/demo_weights_quality.py
"""
from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    sys.path[:0] = [str(REPO), str(REPO / "tests")]

EVENT = "60000001"


def config(settings: dict, **hash_settings):
    from focalflow.config import config_from_dict

    return config_from_dict({**settings, "hash": {**settings["hash"], **hash_settings}},
                            base_dir=REPO)


def run_stages(settings: dict, names: list[str]) -> None:
    from focalflow.cli import run_stage
    from focalflow.stages import (convert_phases, convert_stations, get_waveforms, mseed2sac,
                                  polarity_predict)

    runs = {"1_get_waveforms": get_waveforms.run, "2_mseed2sac": mseed2sac.run,
            "3_convert_phases": convert_phases.run, "4_polarity_predict": polarity_predict.run,
            "5_convert_stations": convert_stations.run}
    for name in names:
        run_stage(name, runs[name], config(settings))


def mechanisms(cfg, **kwargs) -> pd.DataFrame:
    from focalflow.cli import run_stage
    from focalflow.stages import run_hash

    run_stage("6_run_hash", run_hash.run, cfg, **kwargs)
    return pd.read_csv(cfg.workdir / "mechanisms.csv", dtype={"event_id": str},
                       keep_default_na=False).drop_duplicates("event_id")


def main() -> None:
    from focalflow.demo import generate
    from one_sided_case import one_sided_copy
    from hash_core.geometry import kagan_angle

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        demo = generate(folder / "demo_data", seed=0)
        truth = pd.read_csv(demo / "truth.csv", dtype={"event_id": str})
        settings = {"workdir": str(folder / "work"),
                    "catalog": {"phase_file": str(demo / "phases.arc")},
                    "waveforms": {"source": "sds", "sds": {"root": str(demo / "sds"),
                                                           "stationxml_dir": str(demo / "stationxml")}},
                    "stations": {"reversals_file": str(demo / "reversals.csv")},
                    "hash": {"velocity_models": [str(REPO / "velocity" / "demo.txt")]},
                    "output": {"figures": False, "report": False, "quakeml": False}}
        run_stages(settings, ["1_get_waveforms", "2_mseed2sac", "3_convert_phases",
                              "4_polarity_predict", "5_convert_stations"])
        print("CNN polarities: median angle to truth.csv (degrees)")
        for use_sp in (True, False):
            medians = {}
            for weights in ("none", "cnn_probability"):
                ours = mechanisms(config(settings, polarity_weights=weights,
                                         use_sp_ratios=use_sp))
                both = truth.merge(ours, on="event_id", suffixes=("_true", ""))
                medians[weights] = float(np.median(kagan_angle(
                    both[["strike_true", "dip_true", "rake_true"]].to_numpy(float),
                    both[["strike", "dip", "rake"]].to_numpy(float))))
            print(f"  S/P ratios {'on ' if use_sp else 'off'}: none {medians['none']:.2f}, "
                  f"cnn_probability {medians['cnn_probability']:.2f} ({len(both)} events)")
        analyst = {**settings, "hash": {**settings["hash"], "polarity_source": "analyst"}}
        ours = mechanisms(config(analyst))
        good = ours[ours["hash_quality"].isin(["A", "B"])]
        print(f"\nanalyst polarities: HASH's letters {ours['hash_quality'].value_counts().to_dict()}"
              f", ours {ours['quality'].value_counts().to_dict()}; A/B events keeping their "
              f"letter: {(good['quality'] == good['hash_quality']).sum()} of {len(good)}")
        print(f"\nevent {EVENT}, ten polarities on one side:")
        for towards in (0.0, 180.0):
            copy = one_sided_copy(analyst, folder / f"one_sided_{towards:g}", EVENT, towards)
            for use_sp in (True, False):
                row = mechanisms(config(copy, use_sp_ratios=use_sp), events={EVENT},
                                 overwrite=True).set_index("event_id").loc[EVENT]
                print(f"  towards {towards:5.1f} deg, S/P {'on ' if use_sp else 'off'}: "
                      f"npol {row['num_p_pol']}, HASH {row['hash_quality']}, ours "
                      f"{row['quality']}: {row['quality_note']}")


if __name__ == "__main__":
    main()
