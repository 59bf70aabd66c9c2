"""The review app without a browser: edits land in overrides.csv and move the mechanism; the
server refuses what could let another web page edit a working directory."""
from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request

import pandas as pd
import pytest

from focalflow.errors import FocalflowError
from focalflow.review.server import ReviewServer
from review_case import review_session, review_template


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return review_template(tmp_path_factory.mktemp("review"))


@pytest.fixture
def session(template, tmp_path):
    return review_session(template, tmp_path)


def station(event: dict, name: str) -> dict:
    return next(s for s in event["stations"] if s["station"] == name)


def overrides(session) -> pd.DataFrame:
    return pd.read_csv(session.ctx.workdir.overrides_csv, dtype=str, keep_default_na=False)


def test_a_flip_is_recorded_and_recomputed(session):
    before = session.event("ev1")
    assert station(before, "R02")["polarity"] == 1.0 and not station(before, "R02")["misfit"]
    after = session.edit("ev1", "flip", "XX", "R02", "", note="emergent onset")
    rows = overrides(session)
    assert rows[["event_id", "network", "station", "channel", "action", "user", "note"]] \
        .values.tolist() == [["ev1", "XX", "R02", "", "flip", "tester", "emergent onset"]]
    assert rows["time"].iloc[0].endswith("Z")
    assert station(after, "R02")["polarity"] == -1.0 and station(after, "R02")["edit"] == "flip"
    moved = [k for k in ("strike", "dip", "rake", "polarity_misfit")
             if after["mechanism"][k] != before["mechanism"][k]]
    assert moved, (before["mechanism"], after["mechanism"])
    assert after["history"][0]["action"] == "flip"


def test_drop_restore_and_accept(session):
    before = session.event("ev2")
    dropped = session.edit("ev2", "drop", "XX", "R05")
    assert station(dropped, "R05")["polarity"] is None
    assert dropped["mechanism"]["num_p_pol"] == before["mechanism"]["num_p_pol"] - 1
    restored = session.edit("ev2", "restore", "XX", "R05")
    assert restored["mechanism"] == before["mechanism"]  # same inputs, same seeded answer
    accepted = session.accept("ev2", note="looks right")
    assert accepted["accepted"]
    row = next(r for r in session.catalog()["events"] if r["event_id"] == "ev2")
    assert row["accepted"] and row["live"]
    assert list(overrides(session)["action"]) == ["drop", "restore", "accept"]


def test_setting_an_undecided_polarity_adds_the_station(template, tmp_path):
    undecided = tmp_path / "undecided"
    shutil.copytree(template, undecided)
    table = pd.read_csv(undecided / "polarities.csv", dtype=str, keep_default_na=False)
    table.loc[(table["event_id"] == "ev3") & (table["station"] == "R07"), "p_polarity"] = "0"
    table.to_csv(undecided / "polarities.csv", index=False)  # the CNN could not decide
    session = review_session(undecided, tmp_path)
    before = session.event("ev3")
    assert station(before, "R07")["polarity"] is None and station(before, "R07")["cnn"] == 0
    after = session.edit("ev3", "set", "XX", "R07", "", polarity=-1)
    assert station(after, "R07")["polarity"] == -1.0 and station(after, "R07")["x"] is not None
    assert after["mechanism"]["num_p_pol"] == before["mechanism"]["num_p_pol"] + 1
    assert overrides(session)["polarity"].tolist() == ["-1"]


def test_stage_6_writes_what_the_review_showed(template, tmp_path):
    """The edits survive: a stage-6 run after the review gives the mechanisms the page showed."""
    from focalflow.cli import run_stage
    from focalflow.stages import run_hash

    session = review_session(template, tmp_path, settings={
        "hash": {"use_sp_ratios": False}, "output": {"figures": False, "report": False}})
    session.edit("ev1", "flip", "XX", "R02")
    shown = session.edit("ev3", "drop", "XX", "R05")["mechanism"]
    flipped = session.event("ev1")["mechanism"]
    run_stage("6_run_hash", run_hash.run, session.ctx.config, overwrite=True)
    written = pd.read_csv(session.ctx.workdir.mechanisms_csv, dtype={"event_id": str}) \
        .drop_duplicates("event_id").set_index("event_id")
    for event_id, mechanism in (("ev1", flipped), ("ev3", shown)):
        row = written.loc[event_id]
        assert (row["strike"], row["dip"], row["rake"], row["quality"], row["num_p_pol"]) == \
            (mechanism["strike"], mechanism["dip"], mechanism["rake"], mechanism["quality"],
             mechanism["num_p_pol"]), event_id


def test_bad_edits_are_refused_with_a_reason(session):
    with pytest.raises(FocalflowError, match="unknown edit 'explode'"):
        session.edit("ev1", "explode", "XX", "R02")
    with pytest.raises(FocalflowError, match=r"set needs polarity \+1 or -1"):
        session.edit("ev1", "set", "XX", "R02", polarity=0.5)
    with pytest.raises(FocalflowError, match="event 'nope' is not in events.csv"):
        session.edit("nope", "flip", "XX", "R02")
    assert not session.ctx.workdir.overrides_csv.exists()


def test_waveforms_are_ground_motion_scaled_to_one(session):
    traces = session.waveforms("ev1")["traces"]
    assert len(traces) == 12
    reversed_station = traces["XX.R01."]
    assert reversed_station["reversed"] and max(abs(v) for v in reversed_station["v"]) == 1.0
    assert min(reversed_station["t"]) < 0 < max(reversed_station["t"])


def request(url: str, data: dict | None = None, content_type: str = "application/json",
            host: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": content_type} if data is not None else {}
    if host:
        headers["Host"] = host
    body = json.dumps(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_server_answers_json_and_guards_edits(session):
    server = ReviewServer(session, port=0)
    server.start()
    try:
        status, catalog = request(server.url + "api/catalog")
        assert status == 200 and [e["event_id"] for e in catalog["events"]] == \
            ["ev1", "ev2", "ev3", "ev4", "ev5"]
        assert catalog["events"][4]["mechanism"] is None  # ev5 has none
        edit = {"event_id": "ev1", "action": "flip", "network": "XX", "station": "R02"}
        assert request(server.url + "api/edit", edit, content_type="text/plain")[0] == 415
        assert request(server.url + "api/edit", edit, host="attacker.example:80")[0] == 403
        assert not session.ctx.workdir.overrides_csv.exists()
        status, event = request(server.url + "api/edit", edit)
        assert status == 200 and station(event, "R02")["edit"] == "flip"
        status, error = request(server.url + "api/event?id=nope")
        assert status == 400 and "not in events.csv" in error["error"]
        assert request(server.url + "static/..%2Fserver.py")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
