"""The rerun contract's building blocks: ledgers of what each item was made from, merged
tables that keep other events' rows, locks between concurrent runs, readable output files."""
import multiprocessing
import os
import stat

import numpy as np
import pandas as pd
import pytest

from focalflow.config import Config
from focalflow.errors import InputError
from focalflow.provenance import (Ledger, RerunSummary, config_params, content_digest, file_digest,
                                  file_digests)
from focalflow.tables import update_event_rows
from focalflow.workdir import WorkDir, write_text_atomic


def test_ledger_says_which_parameter_changed(tmp_path):
    workdir = WorkDir(tmp_path).create()
    config = Config()
    params = config_params(config, ["hash.dang_deg", "hash.nmc"])
    assert params == {"hash.dang_deg": 5.0, "hash.nmc": 30}
    ledger = Ledger(workdir, "6_run_hash")
    assert ledger.why_redo("ev1", params, {}) == "new"
    ledger.record("ev1", params, {"picks": content_digest("a,b")})
    ledger.save()

    again = Ledger(workdir, "6_run_hash")
    assert again.why_redo("ev1", params, {"picks": content_digest("a,b")}) is None
    config.hash.dang_deg = 10
    reason = again.why_redo("ev1", config_params(config, ["hash.dang_deg", "hash.nmc"]),
                            {"picks": content_digest("a,b")})
    assert reason == "hash.dang_deg changed 5.0 -> 10.0"
    assert again.why_redo("ev1", params, {"picks": content_digest("a,c")}) == "input picks changed"


def test_a_section_key_stands_for_every_key_under_it():
    params = config_params(Config(), ["phases"])
    assert params["phases.p_before_s"] == 2.0 and "phases.vp_vs" in params


def test_missing_output_or_input_file(tmp_path):
    workdir = WorkDir(tmp_path).create()
    ledger = Ledger(workdir, "3_convert_phases")
    ledger.record("ev1", {}, {}, outputs=["cut/ev1/A.P.sac"])
    assert ledger.why_redo("ev1", {}, {}) == "output cut/ev1/A.P.sac missing"
    with pytest.raises(InputError, match="gone.txt"):
        file_digest(tmp_path / "gone.txt")


def test_summary_line():
    summary = RerunSummary()
    for reason in ("hash.dang_deg changed 5.0 -> 10.0",) * 6 + ("new",):
        summary.redo(reason)
    summary.keep()
    assert str(summary) == ("7 events (re)computed (6: hash.dang_deg changed 5.0 -> 10.0; 1 new); "
                            "1 kept unchanged")
    for event in range(5):  # each event's own changed files: the line stays short
        summary.redo(f"input mseed/ev{event}/A.HHZ.mseed changed")
    assert str(summary) == ("12 events (re)computed (6: hash.dang_deg changed 5.0 -> 10.0; 1 new; "
                            "1: input mseed/ev0/A.HHZ.mseed changed; 4: 4 other reasons); "
                            "1 kept unchanged")


def test_update_event_rows_keeps_other_events_byte_for_byte(tmp_path):
    path = tmp_path / "polarities.csv"
    path.write_text("event_id,station,prob\nA,S1,0.123456789\nB,S1,0.5\nC,S2,1e-07\n")
    update_event_rows(path, pd.DataFrame({"event_id": ["B"], "station": ["S9"], "prob": [0.25]}),
                      ["B"], order=["A", "B", "C"])
    assert path.read_text() == "event_id,station,prob\nA,S1,0.123456789\nB,S9,0.25\nC,S2,1e-07\n"



def test_update_event_rows_writes_new_rows_alike_into_a_new_or_a_kept_table(tmp_path):
    rows = pd.DataFrame({"event_id": ["B", "A", "B"], "station": ["S1", "S,2", ""],
                         "prob": [0.1, np.nan, 1e-7], "n": [1, 2, 3]})
    fresh, merged = tmp_path / "fresh.csv", tmp_path / "merged.csv"
    update_event_rows(fresh, rows, ["A", "B"], order=["A", "B"])
    merged.write_text("event_id,station,prob,n\nA,old,0.5,9\nC,S3,0.25,4\n")
    update_event_rows(merged, rows, ["A", "B"], order=["A", "B"])
    written = fresh.read_text().splitlines()
    assert written == ["event_id,station,prob,n", "A,\"S,2\",,2", "B,S1,0.1,1", "B,,1e-07,3"]
    assert merged.read_text().splitlines() == written + ["C,S3,0.25,4"]
    update_event_rows(merged, rows, ["A", "B", "C"], order=["A", "B"])  # every row replaced
    assert merged.read_text().splitlines() == written

def _add_rows(path, event_id):
    for k in range(20):
        update_event_rows(path, pd.DataFrame({"event_id": [event_id], "n": [k]}), [event_id])


def test_concurrent_updates_keep_both_events(tmp_path):
    path = tmp_path / "table.csv"
    workers = [multiprocessing.Process(target=_add_rows, args=(path, e)) for e in ("X", "Y")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    table = pd.read_csv(path, dtype=str)
    assert sorted(table["event_id"]) == ["X", "Y"]


def test_written_files_follow_the_umask(tmp_path):
    path = tmp_path / "out.csv"
    write_text_atomic(path, "x\n")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_file_digests_name_workdir_files_relative_to_it(tmp_path):
    workdir = WorkDir(tmp_path / "work").create()
    inside, outside = workdir.root / "sac" / "ev1" / "A.sac", tmp_path / "phases.arc"
    for path in (inside, outside):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    digests = file_digests(workdir.root, [inside, outside])
    assert list(digests) == ["sac/ev1/A.sac", outside.as_posix()]
    assert digests["sac/ev1/A.sac"] == file_digest(inside)


def test_many_changed_inputs_are_counted_not_listed(tmp_path):
    ledger = Ledger(WorkDir(tmp_path).create(), "2_mseed2sac")
    ledger.record("ev1", {}, {f"f{k}": "1" for k in range(5)})
    assert ledger.why_redo("ev1", {}, {f"f{k}": "2" for k in range(5)}) == \
        "input f0, f1, f2 and 2 more changed"
    assert ledger.why_redo("ev1", {}, {}, overwrite=True) == "--overwrite"


def test_writing_the_same_content_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "events.csv"
    write_text_atomic(path, "a\n")
    os.utime(path, ns=(0, 0))
    write_text_atomic(path, "a\n", if_changed=True)
    assert path.stat().st_mtime_ns == 0
    write_text_atomic(path, "b\n", if_changed=True)
    assert path.read_text() == "b\n" and path.stat().st_mtime_ns > 0
    table = tmp_path / "picks.csv"
    table.write_text("event_id,n\nA,1\nB,2\n")
    os.utime(table, ns=(0, 0))
    update_event_rows(table, pd.DataFrame({"event_id": ["A"], "n": [1]}), ["A"], order=["A", "B"])
    assert table.stat().st_mtime_ns == 0


def test_failures_of_an_unchanged_rerun_keep_their_place(tmp_path):
    from focalflow.log import FailureLog

    path = tmp_path / "logs" / "failures.csv"
    for stage in ("3_convert_phases", "4_polarity_predict"):
        failures = FailureLog(stage, path)
        failures.add("ev1", "FF.A", f"{stage} problem")
        failures.add(None, None, f"{stage} bad line")
        failures.save()
    before = path.read_bytes()
    os.utime(path, ns=(0, 0))
    again = FailureLog("3_convert_phases", path, events={"ev1"})
    again.add("ev1", "FF.A", "3_convert_phases problem")
    again.add(None, None, "3_convert_phases bad line")   # about no event: replaced, not doubled
    again.save()
    assert path.read_bytes() == before and path.stat().st_mtime_ns == 0


def test_records_saved_again_unchanged_leave_the_ledger_file_untouched(tmp_path):
    workdir = WorkDir(tmp_path).create()
    ledger = Ledger(workdir, "3_convert_phases")
    ledger.record("ev1", {"phases.p_before_s": 2.0}, {"picks": "abc"}, ["cut/ev1"],
                  [("FF.A", "no trace")])
    ledger.save()
    os.utime(ledger.path, ns=(0, 0))
    again = Ledger(workdir, "3_convert_phases")  # e.g. --overwrite redoes it the same way
    again.record("ev1", {"phases.p_before_s": 2.0}, {"picks": "abc"}, ["cut/ev1"],
                 [("FF.A", "no trace")])
    again.save()
    assert ledger.path.stat().st_mtime_ns == 0
    assert again.failures("ev1") == [("FF.A", "no trace")]
    again.record("ev1", {"phases.p_before_s": 1.0}, {"picks": "abc"}, ["cut/ev1"])
    again.save()
    assert ledger.path.stat().st_mtime_ns > 0
    assert Ledger(workdir, "3_convert_phases").why_redo("ev1", {"phases.p_before_s": 2.0},
                                                        {"picks": "abc"}) == \
        "phases.p_before_s changed 1.0 -> 2.0"


def test_picks_digests_of_a_whole_table_equal_each_events_own_digest():
    from focalflow.tables import picks_digest, picks_digests

    picks = pd.DataFrame({"event_id": ["e2", "e1", "e2", "e3"],
                          "station": ["A", "B", "C", "D"],
                          "time": ["2019-07-06T03:19:53.04", "", "x,y", "1.5"],
                          "weight": [0.1, np.nan, 1e-7, 3.0],
                          "source": ["f:1", "f:2", "f:3", "f:4"]})
    expected = {e: picks_digest(rows) for e, rows in picks.groupby("event_id")}
    assert picks_digests(picks) == expected
    moved = picks.assign(source=["g:9", "g:8", "g:7", "g:6"])  # file:line moved, picks the same
    assert picks_digests(moved) == expected
    multiline = picks.assign(station=["A", "B\nB", "C", "D"])  # a quoted value spanning lines
    assert picks_digests(multiline) == {e: picks_digest(rows)
                                        for e, rows in multiline.groupby("event_id")}
    assert picks_digests(multiline)["e1"] != expected["e1"]


def test_frames_digest_reads_tables_in_pieces_and_tells_them_apart():
    from focalflow.provenance import frames_digest

    catalog = pd.DataFrame({"event_id": [f"e{k}" for k in range(7)], "strike": np.arange(7.0)})
    whole = frames_digest([catalog, None])
    assert frames_digest([catalog, None], rows=3) == whole  # the same text, read 3 rows at a time
    assert frames_digest([catalog.assign(strike=catalog["strike"] + [0, 0, 0, 0, 0, 0, 1e-9]),
                          None]) != whole
    assert frames_digest([catalog, catalog.iloc[:0]]) != whole  # an empty table is not an absent one
    assert frames_digest([catalog.iloc[:0]]) != frames_digest([catalog.iloc[:0, :1]])
