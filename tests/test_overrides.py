"""Reviewed polarities (overrides.csv) change the observations stage 6 uses."""
import pandas as pd
import pytest

from focalflow.errors import InputError
from focalflow.mechanisms.overrides import accepted_events, apply_overrides, read_overrides
from focalflow.mechanisms.observations import make_observations

HEADER = "event_id,network,station,location,channel,action,polarity,user,time,note\n"


def observations():
    rows = pd.DataFrame({"event_id": ["e1"] * 4, "network": ["XX"] * 4,
                         "station": ["A", "B", "C", "C"], "location": [""] * 4,
                         "channel": ["HHZ", "HHZ", "HHZ", "HHZ"], "kind": ["P", "P", "P", "SP"],
                         "p_polarity": [1.0, -1.0, 1.0, 0.0]})
    return make_observations(rows)


def test_flip_drop_set_and_restore(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text(HEADER + "e1,XX,A,,HHZ,flip,,ana,2026-01-01T00:00:00Z,\n"
                    "e1,XX,C,,,drop,,ana,2026-01-01T00:00:01Z,noisy\n"
                    "e1,XX,B,,HHZ,set,+1,ana,2026-01-01T00:00:02Z,\n"
                    "e1,XX,B,,HHZ,restore,,ana,2026-01-01T00:00:03Z,\n"
                    "e1,,,,,accept,,ana,2026-01-01T00:00:04Z,\n")
    overrides = read_overrides(path)
    obs = apply_overrides(observations(), overrides)
    assert list(obs["station"]) == ["A", "B"]          # C dropped with its S/P row
    assert list(obs["p_polarity"]) == [-1.0, -1.0]     # A flipped; B's set was restored
    assert accepted_events(overrides) == {"e1"}


def test_bad_rows_name_the_line(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text(HEADER + "e1,XX,A,,HHZ,flip,,ana,,\ne1,XX,A,,HHZ,set,up,ana,,\n")
    with pytest.raises(InputError, match=r"overrides.csv, line 3: action 'set' needs polarity"):
        read_overrides(path)
