"""Sequence analyses of an induced sequence: triggering front, b-value, strike/rake groups,
strike against time, activation frames — on a synthetic sequence with known truth and on the
ToC2ME catalog."""
from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from focalflow.errors import InputError
from focalflow.formats.injection import read_injection, read_wells
from focalflow.products import sequence
from focalflow.products.analyze import main
from sequence_case import front_events, gutenberg_richter_mags, synthetic_sequence

TOC2ME = "data/toc2me/skhash_demo/mt_solution_20241114_SKHASH_quality_A.txt"


def ink(path) -> float:
    image = mpimg.imread(path)[..., :3]
    return float((image < 0.9).any(axis=-1).mean())


def test_strikes_fold_onto_the_half_circle_around_their_mean():
    strikes = np.array([178.0, 2.0, 358.0, 182.0, 5.0])
    assert sequence.axial_mean(strikes) == pytest.approx(1.0, abs=0.5)
    start = sequence.half_circle_start(strikes)
    folded = sequence.fold_strikes(strikes, start)
    assert ((folded >= start) & (folded < start + 180)).all()
    assert np.ptp(folded) < 10                                  # one cluster, not split at 0/180
    assert sequence.fold_strikes([10.0, 200.0, 350.0], 90.0).tolist() == [190.0, 200.0, 170.0]


def test_triggering_front_recovers_d_within_its_interval():
    hits, sigmas = 0, []
    for seed in range(40):
        distance, time_s = front_events(500, 0.4, np.random.default_rng(seed))
        fit = sequence.triggering_front(distance, time_s, n_boot=300, seed=seed)
        hits += fit["d_low_m2_s"] <= 0.4 <= fit["d_high_m2_s"]
        sigmas.append(fit["d_sigma_m2_s"] / fit["d_m2_s"])
    assert hits >= 34                       # 95 % intervals: expect 38 of 40, allow chance
    assert 0.003 < np.mean(sigmas) < 0.03   # the interval is informative, not huge
    # a fault plane (2-D) sequence, fitted as such
    distance, time_s = front_events(800, 2.0, np.random.default_rng(1), dimension=2)
    fit = sequence.triggering_front(distance, time_s, dimension=2)
    assert fit["d_low_m2_s"] <= 2.0 <= fit["d_high_m2_s"]


def test_b_value_hand_computed():
    mags = np.array([1.0, 1.0, 1.1, 1.2, 0.8])
    b, sigma, n = sequence.aki_utsu_b(mags, mc=1.0, bin_width=0.1)
    # mean of 1.0, 1.0, 1.1, 1.2 is 1.075; b = log10(e) / (1.075 - 0.95)
    assert n == 4 and b == pytest.approx(0.4342945 / 0.125)
    spread = np.sqrt((0.075 ** 2 * 2 + 0.025 ** 2 + 0.125 ** 2) / (4 * 3))
    assert sigma == pytest.approx(2.3 * b ** 2 * spread)
    assert sequence.mc_max_curvature([0.5, 0.6, 0.6, 0.7], 0.1, correction=0.2) == \
        pytest.approx(0.8)


def test_b_value_and_mc_recovered_within_their_uncertainty():
    hits = 0
    for seed in range(40):
        mags = gutenberg_richter_mags(1500, 1.0, -0.5, np.random.default_rng(seed))
        fit = sequence.gutenberg_richter(mags, 0.1, "maxc")
        hits += fit["b_low"] <= 1.0 <= fit["b_high"]
        assert -0.8 <= fit["mc"] <= -0.2
    assert hits >= 34
    gft = sequence.gutenberg_richter(gutenberg_richter_mags(1500, 1.0, -0.5,
                                                            np.random.default_rng(0)), 0.1, "gft")
    assert gft["gft_fit_percent"] >= 90 and -0.8 <= gft["mc"] <= -0.4


def test_planted_strike_rake_groups_are_found():
    case = synthetic_sequence(seed=2)
    labels, summary = sequence.strike_rake_groups(case["catalog"])
    table = pd.crosstab(labels, case["catalog"]["true_group"])
    assert table.shape == (3, 3)                       # three groups chosen by silhouette
    assert (table.max(axis=1) / table.sum(axis=1)).min() > 0.97
    assert summary["events"].is_monotonic_decreasing
    assert summary.loc[0, "strike_deg"] == pytest.approx(30, abs=3)
    assert abs(summary.loc[0, "rake_deg"]) == pytest.approx(180, abs=5)


def write_case(folder, seed=0):
    case = synthetic_sequence(seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    catalog = case["catalog"].drop(columns="true_group")
    catalog.drop(columns="mag").to_csv(folder / "mechanisms.csv", index=False)
    catalog[["event_id", "time", "mag"]].to_csv(folder / "events.csv", index=False)
    case["wells"].to_csv(folder / "wells.csv", index=False)
    case["injection"].to_csv(folder / "injection.csv", index=False)
    return case


def test_one_command_makes_every_analysis_of_a_synthetic_sequence(tmp_path):
    case = write_case(tmp_path / "in")
    out = tmp_path / "out"
    code = main([str(tmp_path / "in" / "mechanisms.csv"), "--out", str(out), "--sequence",
                 "--wells", str(tmp_path / "in" / "wells.csv"), "--injection",
                 str(tmp_path / "in" / "injection.csv"), "--events",
                 str(tmp_path / "in" / "events.csv"), "--frames", "4", "--dpi", "60"])
    assert code == 0
    for name in ("strike_groups.png", "strike_time.png", "triggering_front.png",
                 "magnitudes.png", "activation/frame_04.png"):
        assert ink(out / name) > 0.01, name
    from PIL import Image

    with Image.open(out / "activation.gif") as gif:
        assert gif.n_frames == 4
    front = pd.read_csv(out / "triggering_front.csv", dtype={"stage": str})
    first = front.set_index(["well", "stage"]).loc[("A", "1")]
    assert first["events"] == 600
    assert abs(first["d_m2_s"] - case["d_m2_s"]) < 3 * first["d_sigma_m2_s"]
    assert front["note"].fillna("").str.contains("fewer than 20").sum() == 2  # A2, B1: no events
    bvalues = pd.read_csv(out / "bvalue.csv").set_index("sample")
    whole = bvalues.loc["whole catalog (events.csv)"]
    assert whole["b_low"] <= case["b"] <= whole["b_high"] and whole["events"] == 600
    assert bvalues.loc["mechanism subset", "events"] == 600      # magnitudes joined by event_id
    groups = pd.read_csv(out / "strike_groups.csv")
    assert len(groups) == 600 and set(groups["group"]) == {1, 2, 3}
    frames = pd.read_csv(out / "activation.csv")
    assert frames["new_events"].sum() == 600 and frames["cumulative_events"].iloc[-1] == 600
    note = (out / "sequence_note.md").read_text()
    assert "triggering front: D fitted for 1 of 3 stages" in note
    assert "nothing: every input was given" in note


def test_stage_and_rate_tables_are_checked(tmp_path):
    wells = tmp_path / "wells.csv"
    wells.write_text("well,stage,start,end,lat,lon,depth_km\n"
                     "A,1,2016-11-01T00:00,2016-11-01T06:00,54.3,-117.2,3.2\n"
                     "A,2,2016-11-02T06:00,2016-11-02T00:00,54.3,-117.2,3.2\n")
    with pytest.raises(InputError, match=r"wells.csv, line 3: stage A/2 ends .* before it starts"):
        read_wells(wells)
    wells.write_text("well,stage,start,end,lat,lon,depth_km\n"
                     "A,1,2016-11-01T00:00,2016-11-01T06:00,95,-117.2,3.2\n")
    with pytest.raises(InputError, match=r"line 2: lat '95' is not a number in \[-90, 90\]"):
        read_wells(wells)
    wells.write_text("well,stage,start,lat,lon\nA,1,2016-11-01,54,-117\n")
    with pytest.raises(InputError, match="missing column.*end.*depth_km"):
        read_wells(wells)
    rates = tmp_path / "injection.csv"
    rates.write_text("time,rate_m3_min\n2016-11-01T00:00,12\nyesterday,3\n")
    with pytest.raises(InputError, match="line 3: time 'yesterday' is not a time"):
        read_injection(rates)
    rates.write_text("time,rate_m3_min\n2016-11-01T01:00,12\n2016-11-01T00:00,3\n")
    assert read_injection(rates)["rate_m3_min"].tolist() == [3.0, 12.0]
    catalog = tmp_path / "m.txt"
    catalog.write_text("20161101000000.000 54.3 -117.2 3.2 20 88 180\n" * 3)
    assert main([str(catalog), "--out", str(tmp_path / "o"), "--sequence", "wrong"]) == 2
    assert main([str(catalog), "--out", str(tmp_path / "o"), "--wells", str(wells)]) == 2


def test_toc2me_strike_groups_and_strike_time_in_one_command(shared_dir, tmp_path):
    out = tmp_path / "toc2me"
    code = main([str(shared_dir / TOC2ME), "--out", str(out), "--stations",
                 str(shared_dir / "data/toc2me/stationlist_ToC2ME.txt"),
                 "--sequence", "groups,strike-time,front,bvalue", "--dpi", "60"])
    assert code == 0
    assert ink(out / "strike_groups.png") > 0.02 and ink(out / "strike_time.png") > 0.02
    groups = pd.read_csv(out / "strike_groups.csv")
    assert len(groups) == 2519
    summary = pd.read_csv(out / "strike_group_summary.csv")
    # the NNE-striking main set and the N-S strands, both strike-slip
    assert summary["strike_deg"].between(0, 30).all() and len(summary) >= 2
    assert (summary["faulting_class"] == "strike-slip").all()
    note = (out / "sequence_note.md").read_text()
    assert "triggering front: needs --wells" in note and "no magnitudes" in note
    assert not (out / "triggering_front.png").exists()
