"""HASH v1.2 drivers 2 to 5 through ``6_run_hash.py --hash-inp``, against HASH's own outputs.

``example3.out`` is HASH's driver 3 on ``example3.inp``. Two facts of HASH v1.2 shape it, and
focalflow reproduces both with ``--rng hash``: driver 3 uses impulsive polarities only (the
polarity and S/P counts of every event then equal the file's), and its FOCALAMP_MC keeps its
S/P lookup step only on its first call, so S/P ratios shape the first event's search only.

There is no ``example2.out`` in the reference data; the driver-2 reference is reasoned: HASH's
driver 2 on example 3's impulsive polarities, without distance or gap limits, runs the same
search as its driver 3 from the second event on (FOCALMC with every pick impulsive accepts what
FOCALAMP_MC accepts when the S/P misfit is the same for every mechanism), with the same random
draws when the first event, whose search used S/P ratios, keeps its depth draws but is not
searched (it is given no polarities), so it must give ``example3.out``'s mechanisms for the
other events.

Drivers 4 and 5 read inputs written here, in the manual's formats, from examples 1 and 2: the
same data must give the same mechanisms as drivers 2 and 1. A control or phase file that does
not fit the driver given is an error naming the file and line.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import run_hash_in
from focalflow.formats.hash_v12 import fortran_number

PARAMS_2 = ["8", "360", "90", "5", "30", "300", "0.1", "999", "45", "0.25"]
MODELS = ["5", "vz.socal", "vz.north", "vz.lab1", "vz.sgm1", "vz.vb1"]


@pytest.fixture(scope="module")
def examples(shared_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("drivers")
    for path in (shared_dir / "data" / "hash_examples").iterdir():
        (folder / path.name).symlink_to(path)
    return folder


def hash_out(path: Path) -> dict[str, tuple]:
    """Preferred solution per event of a HASH output file: (strike, dip, rake), letter, npol."""
    rows = {}
    for line in path.read_text().splitlines():
        t = line.split()
        if t and t[0] not in rows:
            rows[t[0]] = (tuple(int(v) for v in t[21:24]), t[28], int(t[26]))
    return rows


def field(line: str, first: int, last: int) -> str:
    return line[first - 1:last].ljust(last - first + 1)


def place(width: int, fields: dict[int, str]) -> str:
    """A line with each text at its 1-based column."""
    line = [" "] * width
    for column, text in fields.items():
        line[column - 1:column - 1 + len(text)] = text
    return "".join(line).rstrip()


def test_driver3_reproduces_example3(examples):
    assert run_hash_in(examples, ["--hash-inp", "example3.inp", "--driver", "3",
                                  "--out", "d3.csv", "--rng", "hash"]) == 0
    ours, ref = hash_out(examples / "test3.out"), hash_out(examples / "example3.out")
    assert {e: o[2] for e, o in ours.items()} == {e: r[2] for e, r in ref.items()}  # npol
    same = [e for e in ref if ours[e][0] == ref[e][0]]
    # measured: 13 of 24 identical integer strike/dip/rake; the others within 1 degree in
    # each angle or the same mechanism written with the other nodal plane (README)
    assert len(same) >= 13, sorted(set(ref) - set(same))
    assert sum(ours[e][1] == ref[e][1] for e in ref) >= 22


def test_driver2_matches_the_reasoned_reference(examples):
    phase, events = [], 0
    for line in (examples / "north2.phase").read_text().splitlines():
        events += len(line) > 100 and line[:4].strip().isdigit()
        if line[:4].strip() and len(line) < 30 and (field(line, 14, 14) not in "Ii"
                                                    or events == 1):
            continue  # emergent picks (driver 3 leaves them out), and the first event's
        phase.append(line)  # (it has its depth draws but no search: random streams in step)
    (examples / "impulsive.phase").write_text("\n".join(phase) + "\n")
    (examples / "d2.inp").write_text("\n".join(["scsn.stations", "scsn.reverse",
                                                "impulsive.phase", "d2.out", "d2.out2",
                                                *PARAMS_2, *MODELS]) + "\n")
    assert run_hash_in(examples, ["--hash-inp", "d2.inp", "--driver", "2", "--out", "d2.csv",
                                  "--rng", "hash"]) == 0
    ours, ref = hash_out(examples / "d2.out"), hash_out(examples / "example3.out")
    later = list(ref)[1:]  # the first event's search used S/P ratios in driver 3
    assert all(ours[e][2] == ref[e][2] for e in later)
    same = [e for e in later if ours[e][0] == ref[e][0]]
    assert len(same) >= 12, sorted(set(later) - set(same))   # measured: 12 of 23


def write_driver4_inputs(folder: Path) -> None:
    """``north2.phase`` as an SCEDC driver-4 phase file, and the same file for driver 2 with
    no vertical uncertainty (driver 4 always uses HASH's 1 km; driver 2 turns 0 into 1 km);
    ``scsn.stations`` as a 5-character station list."""
    four, two = [], []
    for line in (folder / "north2.phase").read_text().splitlines():
        if not line.strip():
            continue
        if line[:4].strip().isdigit() and len(line) > 100:  # an event line
            seconds, lat_min, lon_min = (field(line, a, b).replace(".", "").strip()
                                         for a, b in ((13, 17), (21, 25), (30, 34)))
            four.append(place(150, {1: field(line, 1, 12), 13: seconds.rjust(4),
                                    17: field(line, 18, 20), 20: lat_min.rjust(4),
                                    24: field(line, 26, 29), 28: lon_min.rjust(4),
                                    32: field(line, 35, 39), 131: field(line, 150, 165),
                                    148: field(line, 140, 143).replace(".", "")[-3:]}))
            two.append(line[:94] + "     " + line[99:])
        elif line[:4].strip():  # a polarity line
            four.append(place(48, {1: field(line, 1, 4), 6: field(line, 6, 7),
                                   10: field(line, 10, 12), 14: field(line, 14, 14),
                                   15: "P", 16: field(line, 16, 16)}))
            two.append(line)
        else:
            two.append(line)
    (folder / "north4.phase").write_text("\n".join(four) + "\n")
    (folder / "north2_sez0.phase").write_text("\n".join(two) + "\n")
    rows = []
    for line in (folder / "scsn.stations").read_text().splitlines():
        rows.append(place(100, {1: field(line, 91, 92), 5: field(line, 1, 4),
                                11: field(line, 6, 8), 51: field(line, 42, 50),
                                61: field(line, 52, 61), 72: field(line, 63, 67)}))
    (folder / "scsn.stations_5char").write_text("\n".join(rows) + "\n")


def test_driver4_reads_scedc_phase_files_and_5_character_stations(examples):
    write_driver4_inputs(examples)
    params = ["8", "90", "60", "5", "30", "300", "0.1", "120", "45", "0.25"]
    (examples / "d4.inp").write_text("\n".join(["scsn.stations_5char", "scsn.reverse",
                                                "north4.phase", "d4.out", "d4.out2", *params,
                                                *MODELS]) + "\n")
    (examples / "d4as2.inp").write_text("\n".join(["scsn.stations", "scsn.reverse",
                                                   "north2_sez0.phase", "d4as2.out",
                                                   "d4as2.out2", *params, *MODELS]) + "\n")
    for name, driver in (("d4", "4"), ("d4as2", "2")):
        assert run_hash_in(examples, ["--hash-inp", f"{name}.inp", "--driver", driver,
                                      "--out", f"{name}.csv", "--rng", "hash"]) == 0
    four = pd.read_csv(examples / "d4.csv", dtype={"event_id": str})
    two = pd.read_csv(examples / "d4as2.csv", dtype={"event_id": str})
    assert len(four) == len(two) and four["event_id"].nunique() == 24
    columns = ["event_id", "strike", "dip", "rake", "quality", "num_p_pol", "prob_mech"]
    pd.testing.assert_frame_equal(four[columns], two[columns])
    # a driver-4 file read as driver 2 is an error naming the file and line, not event "0"
    (examples / "d4wrong.inp").write_text((examples / "d4.inp").read_text().replace(
        "scsn.stations_5char", "scsn.stations"))
    assert run_hash_in(examples, ["--hash-inp", "d4wrong.inp", "--driver", "2",
                                  "--out", "wrong.csv"]) == 2
    assert not (examples / "wrong.csv").exists()


def write_driver5_inputs(folder: Path) -> None:
    """Example 1 for driver 5 (a SIMULPS ray file with the take-off angles and azimuths, and
    the polarities in the driver-2 layout) and again for driver 1, with the same stations:
    without the stations whose first three characters repeat in an event (driver 5 matches
    on three characters) or whose quality is above 1, and with zero sigmas made 1 (driver 5
    reads them as 0.5)."""
    simulps = ["SIMULPS rays written by focalflow's tests", "(two header lines)"]
    polarities, phase1 = [], []
    event, rays, picks, kept, seen = None, [], [], [], set()
    for line in (folder / "north1.phase").read_text().splitlines():
        if event is None:
            event = line
            continue
        station = field(line, 1, 4).strip()
        if not station:  # the event's end
            ev_id = field(event, 123, 138).strip()
            mag = f"{fortran_number(field(event, 35, 36), 1):4.2f}"
            simulps += ["", "", place(68, {
                2: field(event, 1, 6), 9: field(event, 7, 10),
                14: f"{fortran_number(field(event, 11, 14), 2):5.2f}", 20: field(event, 15, 16),
                23: f"{fortran_number(field(event, 18, 21), 2):5.2f}", 29: field(event, 22, 24),
                33: f"{fortran_number(field(event, 26, 29), 2):5.2f}",
                39: f"{fortran_number(field(event, 30, 34), 2):6.2f}", 48: mag,
                56: ev_id.rjust(8)}), "", ""] + rays + [""]
            polarities += [place(165, {140: mag, 150: ev_id.rjust(16)})] + picks + [""]
            phase1 += [event] + kept + [line]
            event, rays, picks, kept, seen = None, [], [], [], set()
            continue
        if (field(line, 7, 7) not in "UuDd+-" or field(line, 8, 8) not in "01"
                or station[:3] in seen):
            continue
        seen.add(station[:3])
        sthe, sazi = (field(line, a, b).strip() or "0" for a, b in ((80, 82), (84, 86)))
        sthe, sazi = (value if int(value) else "1" for value in (sthe, sazi))
        kept.append(line[:79] + sthe.rjust(3) + " " + sazi.rjust(3) + line[86:])
        rays.append(place(73, {2: station, 7: field(line, 59, 62).strip().rjust(5),
                               12: field(line, 76, 78).rjust(4), 16: field(line, 63, 65).rjust(4),
                               66: sazi.rjust(4), 70: sthe.rjust(4)}))
        picks.append(place(17, {1: station, 16: field(line, 7, 7), 17: field(line, 8, 8)}))
    (folder / "rays.simulps").write_text("\n".join(simulps) + "\n")
    (folder / "north5.phase").write_text("\n".join(polarities) + "\n")
    (folder / "north1_5.phase").write_text("\n".join(phase1) + "\n")


def test_driver5_reads_take_off_angles_from_a_simulps_file(examples):
    write_driver5_inputs(examples)
    params = ["8", "90", "60", "5", "30", "300", "0.1", "120", "45", "0.25"]
    (examples / "d5.inp").write_text("\n".join(["scsn.reverse", "rays.simulps", "north5.phase",
                                                "d5.out", "d5.out2", *params]) + "\n")
    (examples / "d5as1.inp").write_text("\n".join(["scsn.reverse", "north1_5.phase",
                                                   "d5as1.out", "d5as1.out2", *params]) + "\n")
    for name, driver in (("d5", "5"), ("d5as1", "1")):
        assert run_hash_in(examples, ["--hash-inp", f"{name}.inp", "--driver", driver,
                                      "--out", f"{name}.csv", "--rng", "hash"]) == 0
    five = pd.read_csv(examples / "d5.csv", dtype={"event_id": str})
    one = pd.read_csv(examples / "d5as1.csv", dtype={"event_id": str})
    assert five["event_id"].nunique() == 24
    columns = ["event_id", "strike", "dip", "rake", "quality", "num_p_pol", "prob_mech"]
    pd.testing.assert_frame_equal(five[columns], one[columns])
    # the ray file given as driver 1's phase file: an error naming the file and line
    (examples / "d5wrong.inp").write_text("\n".join(["scsn.reverse", "rays.simulps", "x.out",
                                                     "x.out2", *params]) + "\n")
    assert run_hash_in(examples, ["--hash-inp", "d5wrong.inp", "--driver", "1",
                                  "--out", "wrong5.csv"]) == 2


@pytest.mark.parametrize("inp, driver, problem", [
    ("example1.inp", 2, "needs 16 lines"), ("example1.inp", 3, "needs 17 lines"),
    ("example3.inp", 1, "line 5: npolmin should be an integer, got 'north2.phase'"),
    ("example3.inp", 4, "line 6: npolmin should be an integer, got 'test3.out'")])
def test_a_control_file_of_another_driver_is_refused(examples, inp, driver, problem):
    from focalflow.errors import InputError
    from focalflow.formats.hash_v12 import read_hash_inp

    with pytest.raises(InputError, match=f"{inp}(, line \\d+)?: .*{problem}|{inp}, {problem}"):
        read_hash_inp(examples / inp, driver, base_dir=examples)
