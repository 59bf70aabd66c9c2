"""Which polarities stage 6 uses: analyst picks (with reversals), CNN polarities, or both."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from focalflow.mechanisms.observations import build_observations
from focalflow.tables import read_table, write_table
from test_hash_params_walk import tiny_workdir  # noqa: F401  (a fixture)

T0 = "2024-05-06T02:40:13.910000Z"


@pytest.fixture
def workdir_tables(tmp_path):
    wd = tmp_path / "work"
    wd.mkdir()
    write_table(pd.DataFrame([{"event_id": "e1", "time": T0, "latitude": 36.0, "longitude": -118.0,
                               "depth": 8.0, "horz_uncert_km": 0.5, "vert_uncert_km": 1.0,
                               "mag": 2.0}]), wd / "events.csv", "events")
    picks = [{"event_id": "e1", "network": "FF", "station": s, "location": "", "channel": "HHZ",
              "phase": "P", "time": T0, "onset": "i", "polarity": p, "weight": 0,
              "source": f"phases.arc:{k}"} for k, (s, p) in enumerate([("A", "U"), ("B", "D"),
                                                                       ("C", "")])]
    write_table(pd.DataFrame(picks), wd / "picks.csv", "picks")
    cnn = [{"event_id": "e1", "network": "FF", "station": s, "location": "", "channel": "HHZ",
            "p_polarity": p, "prob_up": 0.5, "prob_down": 0.5, "prob_undecided": 0.0,
            "clarity": "I", "model": "test"} for s, p in [("A", -1), ("C", 1), ("D", 0)]]
    write_table(pd.DataFrame(cnn), wd / "polarities.csv", "polarities")
    stations = [{"network": "FF", "station": s, "location": "", "channel": c, "latitude": 36.1,
                 "longitude": -118.0 + 0.1 * k, "elevation": 100.0, "azimuth": 0.0, "dip": -90.0,
                 "sampling_rate": 100.0, "start": "", "end": "", "has_metadata": True}
                for k, s in enumerate("ABCD") for c in ("HHZ", "HHN")]
    write_table(pd.DataFrame(stations), wd / "stations.csv", "stations")
    write_table(pd.DataFrame([{"network": "FF", "station": "B", "start": "2024-01-01T00:00:00Z",
                               "end": ""}]), wd / "reversals.csv", "reversals")
    return tmp_path


def _observations(folder, source: str, overrides=None) -> pd.DataFrame:
    wd = folder / "work"
    problems = []
    obs = build_observations(read_table(wd / "events.csv", "events"), source,
                             read_table(wd / "stations.csv", "stations"),
                             lambda *problem: problems.append(problem),
                             picks=read_table(wd / "picks.csv", "picks"),
                             polarities=read_table(wd / "polarities.csv", "polarities"),
                             reversals=read_table(wd / "reversals.csv", "reversals"),
                             overrides=overrides)
    assert not problems
    return obs.set_index("station")


def test_analyst_polarities_get_the_reversal_table(workdir_tables):
    obs = _observations(workdir_tables, "analyst")
    assert obs["p_polarity"].to_dict() == {"A": 1.0, "B": 1.0}     # B reversed: D -> up
    assert obs["impulsive"].all() and set(obs["source"]) == {"trad_p"}
    assert obs.loc["A", "station_lat"] == pytest.approx(36.1)
    assert 0 < obs.loc["A", "distance_km"] < 20


def test_cnn_polarities_skip_undecided(workdir_tables):
    obs = _observations(workdir_tables, "cnn")
    assert obs["p_polarity"].to_dict() == {"A": -1.0, "C": 1.0}
    assert set(obs["source"]) == {"dl_p"}


def test_combined_prefers_the_analyst(workdir_tables):
    obs = _observations(workdir_tables, "combined")
    assert obs["p_polarity"].to_dict() == {"A": 1.0, "B": 1.0, "C": 1.0}
    # every source of a pick is named, the one whose polarity was kept first
    assert obs["source"].to_dict() == {"A": "trad_p+dl_p", "B": "trad_p", "C": "dl_p"}


def test_reviewed_edits_come_after_the_reversals_and_set_adds_a_row(workdir_tables):
    overrides = pd.DataFrame([
        {"event_id": "e1", "network": "FF", "station": "B", "location": "", "channel": "",
         "action": "flip", "polarity": "", "user": "ana", "time": T0, "note": ""},
        {"event_id": "e1", "network": "FF", "station": "D", "location": "", "channel": "HHZ",
         "action": "set", "polarity": "-1", "user": "ana", "time": T0, "note": "clear down"}])
    obs = _observations(workdir_tables, "analyst", overrides)
    # B: recorded D, reversed station -> up, then flipped in review -> down
    assert obs["p_polarity"].to_dict() == {"A": 1.0, "B": -1.0, "D": -1.0}
    assert obs.loc["D", "source"] == "review" and obs.loc["D", "station_lat"] == pytest.approx(36.1)


def test_one_reversal_rule_end_instant_included_everywhere():
    from obspy import UTCDateTime

    from focalflow.formats.reversals import is_reversed
    from focalflow.mechanisms.observations import apply_reversals, make_observations

    reversals = pd.DataFrame([{"network": "FF", "station": "B", "start": "2024-01-01T00:00:00Z",
                               "end": T0}])
    events = pd.DataFrame({"event_id": ["at_end", "after"],
                           "time": [T0, "2024-05-06T02:40:13.920000Z"]})
    obs = make_observations(pd.DataFrame({"event_id": ["at_end", "after"], "network": "FF",
                                          "station": "B", "kind": "P", "p_polarity": 1.0}))
    assert list(apply_reversals(obs, events, reversals)["p_polarity"]) == [-1.0, 1.0]
    # the figures' label (a UTCDateTime pick) follows the same rule
    assert is_reversed(reversals, "FF", "B", UTCDateTime(T0))
    assert not is_reversed(reversals, "FF", "B", UTCDateTime(T0) + 0.01)


# --------------------------------------------------------------------------------- consensus
def _candidates(votes: dict) -> pd.DataFrame:
    """Observations of picks: station -> [(source, signed weight), ...] in precedence order."""
    from focalflow.mechanisms.observations import make_observations

    rows = [{"event_id": "e1", "network": "FF", "station": station, "location": "",
             "channel": "HHZ", "p_polarity": float(np.sign(value)),
             "polarity_weight": abs(value), "impulsive": True, "source": source}
            for station, sources in votes.items() for source, value in sources]
    return make_observations(pd.DataFrame(rows), kind="P")


VOTES = {"A": [("trad_p", 1.0), ("dl_p", -0.9), ("con_p", -0.6)],   # analyst outvoted
         "B": [("dl_p", 0.8), ("con_p", 0.7)],                        # agree
         "C": [("dl_p", 0.9), ("con_p", -0.55)],                      # a tie of two
         "D": [("imp_p", -0.4)]}                                      # one source


@pytest.mark.parametrize("rule, polarity, source, dropped", [
    ("analyst_first", {"A": 1, "B": 1, "C": 1, "D": -1},
     {"A": "trad_p+dl_p+con_p", "B": "dl_p+con_p", "C": "dl_p+con_p", "D": "imp_p"}, []),
    ("agree_or_drop", {"B": 1, "D": -1}, {"B": "dl_p+con_p", "D": "imp_p"}, ["A", "C"]),
    ("majority", {"A": -1, "B": 1, "D": -1},
     {"A": "dl_p+trad_p+con_p", "B": "dl_p+con_p", "D": "imp_p"}, ["C"]),
    ("weighted", {"A": -1, "B": 1, "C": 1, "D": -1},
     {"A": "dl_p+trad_p+con_p", "B": "dl_p+con_p", "C": "dl_p+con_p", "D": "imp_p"}, []),
])
def test_consensus_rules(rule, polarity, source, dropped):
    from focalflow.mechanisms.consensus import consensus_polarities

    problems = []
    kept = consensus_polarities(_candidates(VOTES), rule,
                                lambda *problem: problems.append(problem)).set_index("station")
    assert kept["p_polarity"].to_dict() == polarity
    assert kept["source"].to_dict() == source
    assert sorted(p[1].split(".")[1] for p in problems) == dropped
    assert all(rule in p[2] and "disagree" in p[2] for p in problems)
    if rule == "weighted":      # |sum of signed weights| / sum of weights
        assert kept.loc["A", "polarity_weight"] == pytest.approx(0.5 / 2.5)
        assert kept.loc["C", "polarity_weight"] == pytest.approx(0.35 / 1.45)
        assert kept.loc["D", "polarity_weight"] == pytest.approx(0.4)


def test_combined_with_a_consensus_file_keeps_the_sources_in_polinfo(tiny_workdir, repo_dir):
    """Stage 6 with polarity_source combined: CNN polarities and an SKHASH consensus file
    (p_polarity a signed weight) of the same picks; polinfo.csv names both sources."""
    from test_hash_params_walk import run_workdir, workdir_config

    cnn = pd.read_csv(tiny_workdir / "work" / "polarities.csv", dtype=str)
    con = cnn.assign(p_polarity=cnn["p_polarity"].astype(float) * 0.7, location="--")
    con[["event_id", "network", "station", "location", "channel", "p_polarity"]] \
        .to_csv(tiny_workdir / "con.csv", index=False)
    # analyst picks at four stations, the first read the other way
    picks = [{"event_id": "e1", "network": "FF", "station": row.station, "location": "",
              "channel": "HHZ", "phase": "P", "time": "2024-05-06T02:40:16Z", "onset": "i",
              "polarity": ("U" if float(row.p_polarity) * (-1 if k == 0 else 1) > 0 else "D"),
              "weight": 0, "source": f"phases.arc:{k}"}
             for k, row in enumerate(cnn.head(4).itertuples(index=False))]
    write_table(pd.DataFrame(picks), tiny_workdir / "work" / "picks.csv", "picks")
    settings = workdir_config(tiny_workdir, repo_dir, polarity_source="combined",
                              consensus="majority", polarity_files=[str(tiny_workdir / "con.csv")])
    assert run_workdir(tiny_workdir, settings) == 0
    polinfo = pd.read_csv(tiny_workdir / "work" / "polinfo.csv")
    assert len(polinfo) == 12
    assert polinfo["source"].tolist() == (["dl_p+trad_p+file:con.csv"]      # outvoted analyst
                                          + ["trad_p+dl_p+file:con.csv"] * 3
                                          + ["dl_p+file:con.csv"] * 8)
