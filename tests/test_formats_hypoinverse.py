"""Hypoinverse-2000 archive reading and writing: SCEDC's Ridgecrest file, round trips, bad lines."""
from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pytest
from obspy import UTCDateTime

from focalflow.errors import InputError
from focalflow.formats.hypoinverse import read_hypoinverse, write_hypoinverse
from focalflow.tables import COLUMNS

SUMMARY = ("201907040056376236  485117 5268  281    20179  5   728476  4410913  21        13   "
           "10  20  42  4   0                   20 l 89            38442575l 89              ")
P_LINE = ("WRV2 CI VEHZ iPD1201907040056 3936  05 02   00      00          00  00  00  82         "
          "              000 000H    ")
S_LINE = ("WCS2 CI EHHE     201907040056             4162eS 2  15          02      00 118         "
          "              000 000H    ")


@pytest.fixture(scope="module")
def ridgecrest(shared_dir):
    return read_hypoinverse(shared_dir / "data" / "ridgecrest" / "SearchResults_example.txt")


def _reference(shared_dir):
    """Events and picks of the reference workflow's conversion of the same file."""
    root = shared_dir / "data" / "ridgecrest"
    catalog = np.loadtxt(root / "catalog_ridgcrest_manual.dat")
    picks, event = {}, -1
    for line in (root / "hash_phase_ridgcrest_manual.dat").read_text().splitlines():
        if line.startswith("#"):
            event += 1
            continue
        fields = line.split()
        onset = line[26].strip().lower().replace("x", "")
        picks[(event, fields[0], fields[1], fields[3])] = (line[23].strip(), onset, float(fields[2]))
    return catalog, picks


def test_ridgecrest_events_match_reference_conversion(ridgecrest, shared_dir):
    events, picks, problems = ridgecrest
    catalog, _ = _reference(shared_dir)
    assert problems == []
    assert len(events) == 708 == len(catalog)
    assert events["event_id"].is_unique
    assert events.loc[0, "event_id"] == "38442575"
    assert events.loc[0, "time"] == "2019-07-04T00:56:37.620000Z"
    # columns 6.. of the reference: lat lon depth mag horizontal-error vertical-error
    for index, column in enumerate(["latitude", "longitude", "depth", "mag", "horz_uncert_km",
                                    "vert_uncert_km"]):
        np.testing.assert_allclose(events[column], catalog[:, 6 + index], atol=5e-5, err_msg=column)
    # SCEDC's two-letter magnitude types shift the columns of the large events
    assert events.set_index("event_id").loc["38443191", "mag"] == pytest.approx(4.49)


def test_ridgecrest_picks_cover_reference_conversion(ridgecrest, shared_dir):
    events, picks, _ = ridgecrest
    _, reference = _reference(shared_dir)
    assert list(picks.columns) == COLUMNS["picks"]
    assert picks["phase"].value_counts().to_dict() == {"P": 16061, "S": 15631}
    # the reference conversion keeps 31,200 of these 31,692 picks (it drops trailing lines of
    # some events); every pick it kept is here with the same polarity, onset and time
    index = {event_id: n for n, event_id in enumerate(events["event_id"])}
    origin = dict(zip(events["event_id"], events["time"]))
    keyed = {(index[r.event_id], r.station, r.network, r.phase): r for r in picks.itertuples()}
    assert len(reference) <= len(keyed)
    assert set(reference) <= set(keyed)
    agree = collections.Counter()
    for key, (polarity, onset, travel_time) in reference.items():
        pick = keyed[key]
        agree["polarity"] += polarity == pick.polarity
        agree["onset"] += onset == pick.onset
        agree["time"] += abs(UTCDateTime(pick.time) - UTCDateTime(origin[pick.event_id]) - travel_time) < 0.006
    assert min(agree.values()) >= 0.999 * len(reference)
    p = picks[picks["phase"] == "P"]
    assert p["polarity"].value_counts().to_dict() == {"": 9623, "U": 3403, "D": 3035}
    assert set(picks["onset"]) == {"i", "e", ""}
    assert set(picks["weight"]) <= {0, 1, 2, 3, 4}
    assert picks.loc[0, "source"] == "SearchResults_example.txt:2"
    assert "Q0068" in set(picks["station"])      # five-character station codes


def test_ridgecrest_round_trips_through_writer(ridgecrest, tmp_path):
    events, picks, _ = ridgecrest
    some = events["event_id"].iloc[:40]
    events, picks = events[events["event_id"].isin(some)], picks[picks["event_id"].isin(some)]
    path = write_hypoinverse(events, picks, tmp_path / "copy.arc")
    events2, picks2, problems = read_hypoinverse(path)
    assert problems == []
    pd.testing.assert_frame_equal(events.reset_index(drop=True), events2, atol=1e-4)
    pd.testing.assert_frame_equal(picks.drop(columns="source").reset_index(drop=True),
                                  picks2.drop(columns="source"))


def _synthetic_tables():
    events = pd.DataFrame([
        {"event_id": "ev01", "time": "2021-03-01T23:59:59.996Z", "latitude": -33.5012,
         "longitude": 151.2507, "depth": 12.34, "horz_uncert_km": 0.5, "vert_uncert_km": float("nan"),
         "mag": -0.42},
        {"event_id": "7", "time": "2021-03-02T10:00:00Z", "latitude": 35.0, "longitude": -117.0,
         "depth": -0.5, "horz_uncert_km": float("nan"), "vert_uncert_km": 1.2, "mag": float("nan")},
    ], columns=COLUMNS["events"])
    picks = pd.DataFrame([
        {"event_id": "ev01", "network": "FF", "station": "ST001", "location": "00", "channel": "HHZ",
         "phase": "P", "time": "2021-03-02T00:00:03.21Z", "onset": "i", "polarity": "U", "weight": 0,
         "source": ""},
        {"event_id": "ev01", "network": "FF", "station": "ST001", "location": "00", "channel": "HHN",
         "phase": "S", "time": "2021-03-02T00:01:05.07Z", "onset": "e", "polarity": "", "weight": 3,
         "source": ""},
        {"event_id": "7", "network": "X", "station": "A", "location": "", "channel": "EHZ",
         "phase": "P", "time": "2021-03-02T10:00:01.5Z", "onset": "", "polarity": "D", "weight": 2,
         "source": ""},
    ], columns=COLUMNS["picks"])
    return events, picks


def test_writer_round_trips_south_east_negative_and_blank_values(tmp_path):
    events, picks = _synthetic_tables()
    events2, picks2, problems = read_hypoinverse(write_hypoinverse(events, picks, tmp_path / "x.arc"))
    assert problems == []
    assert list(events2["event_id"]) == ["ev01", "7"]
    # 23:59:59.996 rounds to the format's 0.01 s: the next day, not second 60
    assert events2["time"].tolist() == ["2021-03-02T00:00:00.000000Z", "2021-03-02T10:00:00.000000Z"]
    np.testing.assert_allclose(events2["latitude"], [-33.5012, 35.0], atol=1e-4)
    np.testing.assert_allclose(events2["longitude"], [151.2507, -117.0], atol=1e-4)
    assert events2["depth"].tolist() == [12.34, -0.5]
    assert events2["mag"].iloc[0] == -0.42 and np.isnan(events2["mag"].iloc[1])
    assert np.isnan(events2["vert_uncert_km"].iloc[0]) and events2["horz_uncert_km"].iloc[0] == 0.5
    # an S pick a minute after its line's minute keeps its time
    assert picks2["time"].tolist() == ["2021-03-02T00:00:03.210000Z", "2021-03-02T00:01:05.070000Z",
                                       "2021-03-02T10:00:01.500000Z"]
    assert picks2[["location", "polarity", "onset", "weight"]].values.tolist() == [
        ["00", "U", "i", 0], ["00", "", "e", 3], ["", "D", "", 2]]


@pytest.mark.parametrize("column, value, message", [
    ("event_id", "event-id-too-long", "event id"),
    ("station", "TOOLONG", "station"),
    ("weight", 0.5, "weight"),
    ("phase", "Pn", "phase"),
])
def test_writer_rejects_values_the_format_cannot_hold(tmp_path, column, value, message):
    events, picks = _synthetic_tables()
    table = events if column == "event_id" else picks
    table[column] = table[column].astype(object)
    table.loc[0, column] = value
    if column == "event_id":
        picks.loc[:1, "event_id"] = value
    with pytest.raises(ValueError, match=message):
        write_hypoinverse(events, picks, tmp_path / "x.arc")
    assert list(tmp_path.iterdir()) == []      # nothing half-written


def announcing(summary: str, readings: int) -> str:
    """``summary`` announcing ``readings`` readings (columns 40-42)."""
    return summary[:39] + f"{readings:3d}" + summary[42:]


def test_malformed_lines_are_reported_and_skipped(tmp_path):
    bad_summary = SUMMARY[:16] + "x9" + SUMMARY[18:]
    lines = [P_LINE,                                   # 1: before any event
             SUMMARY, P_LINE, S_LINE,                   # 2-4: good event
             P_LINE[:30] + "ab.c" + P_LINE[34:],        # 5: P second not a number
             S_LINE[:47] + " " + S_LINE[48:],           # 6: neither P nor S
             P_LINE[:17] + "2019130400" + P_LINE[27:],  # 7: month 13
             bad_summary, P_LINE, S_LINE,               # 8-10: bad event and its phases
             "    ",                                    # blank line
             "$1 shadow line",                          # ignored
             announcing(SUMMARY.replace("38442575", "38442576"), 1), S_LINE]  # 13-14: good again
    path = tmp_path / "bad.arc"
    path.write_text("\n".join(lines) + "\n")
    events, picks, problems = read_hypoinverse(path)
    assert list(events["event_id"]) == ["38442575", "38442576"]
    assert len(picks) == 3 and picks["source"].tolist() == ["bad.arc:3", "bad.arc:4", "bad.arc:14"]
    reported = [(p.line, p.reason.split(":")[0]) for p in problems]
    assert reported == [(1, "phase line before any event summary line"), (5, "bad phase line"),
                        (6, "bad phase line"), (7, "bad phase line"), (8, "bad summary line"),
                        (8, "2 phase line(s) of this rejected event skipped")]
    assert "latitude degrees 'x9' in columns 17-18" in problems[4].reason
    assert str(problems[1]).startswith(f"{path}, line 5: bad phase line: P second 'ab.c'")


def test_duplicate_event_id_is_a_problem(tmp_path):
    path = tmp_path / "dup.arc"
    path.write_text("\n".join([SUMMARY, P_LINE, SUMMARY, S_LINE]) + "\n")
    events, picks, problems = read_hypoinverse(path)
    assert len(events) == 1 and len(picks) == 1
    assert "duplicate event id 38442575" in problems[0].reason and problems[0].line == 3


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"  \n\n", "file is empty"),
    (b"\x00\x01\x02garbage", "binary"),
    (b"this is not a phase file\nat all\n", "no event could be read"),
])
def test_unreadable_files_raise_input_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "phases.arc"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_hypoinverse(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_hypoinverse(tmp_path / "nope.arc")
