"""Fine-tuning on analyst-labelled picks, end to end through the command."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from obspy.io.sac import SACTrace

from focalflow.errors import InputError
from focalflow.polarity import finetune
from models.synthetic import generate_traces

OUTPUTS = (".weights.h5", ".json", ".md", "_evaluation.csv", "_evaluation.png",
           "_evaluation_base.png", "_held_out.csv", "_learning_curves.png")


def write_labelled_sac(folder, n_stations=12, per_station=3, seed=0) -> pd.DataFrame:
    """Synthetic 100 Hz traces as SAC files (pick in header ``a``) and their labels."""
    folder.mkdir(parents=True, exist_ok=True)
    data = generate_traces(4 * n_stations * per_station, 100.0, np.random.default_rng(seed))
    rows = []
    decided = np.flatnonzero(data.polarity != 0)[:n_stations * per_station]
    for k, i in enumerate(decided):
        station = f"S{k // per_station:02d}"
        path = folder / f"XX.{station}.{k}.HHZ.sac"
        SACTrace(data=data.traces[i].astype(np.float32), delta=0.01, b=0.0,
                 a=data.pick_index[i] * 0.01, kstnm=station, knetwk="XX", kcmpnm="HHZ").write(str(path))
        rows.append({"network": "XX", "station": station, "channel": "HHZ",
                     "polarity": "U" if data.polarity[i] > 0 else "D", "file": path.name})
    labels = pd.DataFrame(rows)
    labels.to_csv(folder / "labels.csv", index=False)
    return labels


def check_outputs(out, n_labelled):
    stem = out.name[:-len(".weights.h5")]
    for suffix in OUTPUTS:
        assert (out.parent / (stem + suffix)).is_file(), suffix
    assert (out.parent / (stem + "_evaluation.png")).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = json.loads((out.parent / (stem + ".json")).read_text())
    assert card["n_labelled"] == n_labelled
    test, train = set(card["stations"]["test"]), set(card["stations"]["train"])
    assert test and train and not test & train and not test & set(card["stations"]["val"])
    table = pd.read_csv(out.parent / (stem + "_held_out.csv"), dtype={"station": str})
    assert set(table["station"]) == test
    evaluation = pd.read_csv(out.parent / (stem + "_evaluation.csv"))
    for when, model in (("before", card["base"]), ("after", "fine-tuned")):
        scores = card[f"held_out_{when}"]
        assert scores["right"] + scores["wrong"] + scores["undecided"] == len(table)
        assert scores["right"] == int(np.sum(table[f"{when}_polarity"] == table["before_label"]))
        totals = evaluation[(evaluation["model"] == model) & (evaluation["section"] == "total")]
        assert totals.set_index("measure").loc["right", "value"] == scores["right"]
    return card


def test_finetune_on_a_labels_csv_with_sac_files(tmp_path):
    labels = write_labelled_sac(tmp_path / "labelled")
    out = tmp_path / "tuned" / "mine.weights.h5"
    assert finetune.main(["--labels", str(tmp_path / "labelled" / "labels.csv"), "--out", str(out),
                          "--epochs", "2", "--synthetic", "200", "--max-shift", "1"]) == 0
    card = check_outputs(out, len(labels))
    assert card["epochs_run"] >= 1
    from models.registry import load_model

    tuned = load_model(str(out), device="cpu")
    assert tuned.name == "focalflow-net"


def test_finetune_on_toc2me_reports_held_out_stations(tmp_path, shared_dir):
    """Transfer learning on the ToC2ME analyst labels (pick in SAC header t1), split by station."""
    from focalflow.polarity.toc2me import read_labels

    labels = read_labels(shared_dir / "data" / "toc2me")
    labels.to_csv(tmp_path / "toc2me_labels.csv", index=False)
    out = tmp_path / "toc2me.weights.h5"
    assert finetune.main(["--labels", str(tmp_path / "toc2me_labels.csv"), "--out", str(out),
                          "--pick-header", "t1", "--epochs", "3", "--synthetic", "0"]) == 0
    card = check_outputs(out, 49)  # one labelled station has no analyst pick (t1 unset)
    assert card["held_out_after"]["n"] == len(pd.read_csv(tmp_path / "toc2me_held_out.csv"))


def test_bad_labels_are_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("file,polarity\nx.sac,sideways\n")
    with pytest.raises(InputError, match=r"bad\.csv.*line 2.*sideways"):
        finetune.read_labels(bad)
    (tmp_path / "nopol.csv").write_text("file\nx.sac\n")
    with pytest.raises(InputError, match="polarity"):
        finetune.read_labels(tmp_path / "nopol.csv")
    labels = finetune.read_labels(_write(tmp_path / "ok.csv", "file,polarity\nmissing.sac,U\n"))
    rows, windows = finetune.labelled_windows(labels)
    assert len(rows) == 0 and windows == []  # unreadable trace skipped, not fatal
    assert finetune.main(["--labels", str(tmp_path / "ok.csv"),
                          "--out", str(tmp_path / "x.weights.h5")]) == 2


def _write(path, text):
    path.write_text(text)
    return path
