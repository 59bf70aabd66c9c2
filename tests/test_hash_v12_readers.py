"""Readers of HASH v1.2 files, on the real example files and on small broken ones."""
from __future__ import annotations

import pytest

from focalflow.errors import InputError
from focalflow.formats import hash_v12


@pytest.fixture
def examples(shared_dir):
    return shared_dir / "data" / "hash_examples"


def test_fortran_numbers_follow_implied_decimals():
    assert hash_v12.fortran_number(" 1813", 2) == pytest.approx(18.13)
    assert hash_v12.fortran_number("18.13", 2) == pytest.approx(18.13)
    assert hash_v12.fortran_number("    ", 2) == 0.0
    assert hash_v12.fortran_number(" 258", 1) == pytest.approx(25.8)


def test_north1_phase_events_and_given_angles(examples):
    events, obs, problems = hash_v12.read_phase_driver1(examples / "north1.phase")
    assert problems == []
    assert len(events) == 24
    first = events.iloc[0]
    assert first["event_id"] == "3143312"
    assert first["time"] == "1994-01-21T11:04:15.500000Z"
    assert first["latitude"] == pytest.approx(34.24250, abs=1e-5)   # as example1.out prints
    assert first["longitude"] == pytest.approx(-118.61767, abs=1e-5)
    assert (first["depth"], first["mag"]) == pytest.approx((18.13, 2.3))
    assert (first["horz_uncert_km"], first["vert_uncert_km"]) == pytest.approx((0.07, 0.10))
    row = obs.iloc[0]   # "IR2 IPD0 ... 258121           51  10   1     X   VHZ"
    assert (row["station"], row["channel"], row["p_polarity"], bool(row["impulsive"])) == \
        ("IR2", "VHZ", -1, True)
    assert row["distance_km"] == pytest.approx(25.8)
    assert row["takeoff_deg"] == pytest.approx(180 - 121)    # FPFIT angle is measured from down
    assert (row["azimuth_deg"], row["takeoff_sigma_deg"], row["azimuth_sigma_deg"]) == (51, 10, 1)
    assert set(obs["event_id"]) == set(events["event_id"])
    assert obs["p_polarity"].isin([1, -1]).all()


def test_north2_phase_and_amplitudes(examples):
    events, obs, problems = hash_v12.read_phase_driver2(examples / "north2.phase")
    assert problems == [] and len(events) == 24
    assert events.iloc[0]["mag"] == pytest.approx(2.30)
    row = obs.iloc[0]
    assert (row["station"], row["network"], row["channel"], row["p_polarity"]) == \
        ("IR2", "CI", "VHZ", -1)
    amps, problems = hash_v12.read_amp_file(examples / "north3.amp")
    assert problems == []
    assert set(amps["event_id"]) == set(events["event_id"])
    grh = amps.iloc[0]
    assert (grh["station"], grh["channel"], grh["network"]) == ("GRH", "EHZ", "CI")
    assert (grh["noise_p"], grh["noise_s"], grh["amp_p"], grh["amp_s"]) == \
        pytest.approx((0.715, 35.705, 16.989, 124.245))


def test_station_reversal_and_correction_files(examples):
    stations = hash_v12.read_scsn_stations(examples / "scsn.stations")
    assert len(stations) > 15000
    assert stations["latitude"].between(-90, 90).all()
    reversals = hash_v12.read_scsn_reverse(examples / "scsn.reverse")
    aqua = reversals[reversals["station"] == "AQUA"].iloc[0]
    assert (aqua["start"][:10], aqua["end"][:10]) == ("1992-01-01", "1992-12-31")
    assert (reversals[reversals["station"] == "BAHA"]["end"] == "").all()   # 0 = still reversed
    cor = hash_v12.read_statcor(examples / "north3.statcor")
    assert cor.iloc[0]["sta_correction"] == pytest.approx(-0.055)
    assert hash_v12.hash_component_key("VHZ") == hash_v12.hash_component_key("EHZ") == "EH"


def test_control_files_of_drivers_1_and_3(examples, tmp_path):
    one = hash_v12.read_hash_inp(examples / "example1.inp", 1, base_dir=examples)
    assert one.phase_file == examples / "north1.phase"
    params = one.params
    assert (params.npolmin, params.max_agap_deg, params.max_pgap_deg, params.dang_deg,
            params.nmc) == (8, 90, 60, 5, 30)
    assert (params.maxout, params.badfrac, params.delmax_km, params.cangle_deg,
            params.prob_max) == (300, 0.1, 120, 45, 0.25)
    assert params.misfit_weights == "hash_v12" and not params.always_sp  # as HASH v1.2
    assert not params.honest_quality and params.table_edges == "hash_v12"  # HASH's letters
    three = hash_v12.read_hash_inp(examples / "example3.inp", 3, base_dir=examples)
    assert three.amp_file.name == "north3.amp" and three.statcor_file.name == "north3.statcor"
    assert [p.name for p in three.velocity_models] == ["vz.socal", "vz.north", "vz.lab1",
                                                       "vz.sgm1", "vz.vb1"]
    assert (three.params.ratmin, three.params.qbadfac) == (3.0, 0.3)
    assert three.params.always_sp and (three.params.max_agap_deg, three.params.max_pgap_deg) \
        == (360, 90)                       # driver 3 grades without gap limits
    assert three.params.delmax_km == float("inf")  # and reads delmax but never uses it


def _columns(width: int, fields: dict[int, str]) -> str:
    """A fixed-width line with each text placed at its 1-based starting column."""
    line = [" "] * width
    for column, text in fields.items():
        line[column - 1:column - 1 + len(text)] = text
    return "".join(line).rstrip()


def test_malformed_lines_are_reported_not_fatal_after_the_first_event(tmp_path):
    event = _columns(138, {1: "0901020304", 11: "1234", 15: "35", 18: "3000", 22: "117",
                           26: "1500", 30: " 1000", 35: "25", 81: "  10  20", 123: "ev1".rjust(16)})
    bad_event = "9x" + event[2:]
    station = _columns(86, {1: "ABC", 7: "U", 8: "0", 59: " 105", 63: " 60", 76: "120",
                            80: " 10", 84: "  5"})
    bad_station = station[:58] + "x.y." + station[62:]
    end = _columns(72, {66: "ev1"})
    path = tmp_path / "broken.phase"
    path.write_text("\n".join([bad_event, station, end, event, station, bad_station, end]) + "\n")
    with pytest.raises(InputError, match="broken.phase, line 1: not a HASH driver-1 phase file"):
        hash_v12.read_phase_driver1(path)   # a file whose first event does not fit
    path.write_text("\n".join([event, station, end, bad_event, station, end, event.replace(
        "ev1", "ev2"), station, bad_station, end]) + "\n")
    events, obs, problems = hash_v12.read_phase_driver1(path)
    assert list(events["event_id"]) == ["ev1", "ev2"] and len(obs) == 2
    assert events.iloc[0]["time"] == "2009-01-02T03:04:12.340000Z"
    assert events.iloc[0]["latitude"] == pytest.approx(35.5)
    assert events.iloc[0]["longitude"] == pytest.approx(-117.25)
    assert (obs.iloc[0]["takeoff_deg"], obs.iloc[0]["distance_km"]) == pytest.approx((120, 10.5))
    assert len(problems) == 2
    assert "broken.phase, line 4" in problems[0] and "line 9" in problems[1]


def test_bad_control_file_names_the_line(tmp_path):
    path = tmp_path / "bad.inp"
    path.write_text("scsn.reverse\nnorth1.phase\nout1\nout2\neight\n90\n60\n5\n30\n300\n0.1\n"
                    "120\n45\n0.25\n")
    with pytest.raises(InputError, match="line 5.*npolmin"):
        hash_v12.read_hash_inp(path, 1)
    path.write_text("scsn.reverse\nnorth1.phase\n")
    with pytest.raises(InputError, match="needs 14 lines"):
        hash_v12.read_hash_inp(path, 1)
    path.write_text("scsn.reverse\nnorth1.phase\nout1\nout2\n8\n90\n60\n0.5\n30\n300\n0.1\n"
                    "120\n45\n0.25\n")
    with pytest.raises(InputError, match="line 8: dang_deg 0.5 must be >= 1"):
        hash_v12.read_hash_inp(path, 1)


def test_hash_out_line_has_the_reference_layout(examples):
    reference = (examples / "example1.out").read_text().splitlines()[0]
    event = {"event_id": "3143312", "time": "1994-01-21T11:04:15.500000Z", "mag": 2.3,
             "latitude": 34.2425, "longitude": -118.617667, "depth": 18.13,
             "horz_uncert_km": 0.07, "vert_uncert_km": 0.10}
    mech = {"strike": 254, "dip": 60, "rake": 46, "fault_plane_uncertainty": 26,
            "aux_plane_uncertainty": 23, "num_p_pol": 30, "polarity_misfit": 9, "quality": "B",
            "prob_mech": 79, "sta_distribution_ratio": 66, "mult_solution_flag": False}
    assert hash_v12.format_out_line(event, mech) == reference
