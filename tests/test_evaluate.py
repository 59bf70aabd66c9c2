"""The polarity evaluation command: scores, confusion matrix, curves, CSV table and PNG figure."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from focalflow.errors import InputError
from focalflow.polarity.evaluate import confusion, main, read_labels, score
from focalflow.tables import write_table


def test_score_counts_only_labelled_rows():
    calls = np.array([1, 1, -1, 0, -1, 1, 0])
    labels = np.array([1, -1, -1, 1, 0, 1, 0])
    s = score(calls, labels)
    assert (s["labelled"], s["right"], s["wrong"], s["undecided"]) == (5, 3, 1, 1)
    assert s["accuracy"] == pytest.approx(0.75) and s["undecided_rate"] == pytest.approx(0.2)
    table = confusion(calls, labels)
    assert table.loc["analyst U"].tolist() == [2, 0, 1]
    assert table.loc["analyst D"].tolist() == [1, 1, 0]


def write_workdir(tmp_path) -> dict:
    """A polarities.csv of 8 picks with known calls, labels, confidences and SNRs."""
    workdir = tmp_path / "work"
    rows = []
    calls = [1, 1, -1, -1, 0, 1, -1, 0]
    analyst = [1, 1, -1, 1, 1, -1, 0, -1]
    conf = [0.95, 0.9, 0.99, 0.6, 0.3, 0.55, 0.9, 0.2]
    snrs = [30.0, 12.0, 60.0, 3.0, 1.5, 4.0, 25.0, 1.1]
    for i, (c, a, p, q) in enumerate(zip(calls, analyst, conf, snrs)):
        up, down = (p, 1 - p) if c >= 0 else (1 - p, p)
        rows.append({"event_id": "e1", "network": "XX", "station": f"S{i}", "location": "",
                     "channel": "HHZ", "p_polarity": c, "prob_up": up, "prob_down": down,
                     "prob_undecided": 0.1, "clarity": "I", "model": "diting-motion",
                     "recorded_polarity": c, "analyst_polarity": a, "reversed": False, "snr": q})
    write_table(pd.DataFrame(rows), workdir / "polarities.csv", "polarities")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"workdir": str(workdir)}))
    return {"workdir": workdir, "config": config, "calls": calls}


def test_command_writes_table_and_figure(tmp_path):
    case = write_workdir(tmp_path)
    assert main(["--config", str(case["config"])]) == 0
    out = case["workdir"] / "evaluation"
    table = pd.read_csv(out / "polarity_evaluation.csv")
    total = table[table["section"] == "total"].set_index("measure")["value"]
    # labelled 7; both decide on S0 S1 S2 S3 S5 -> right S0 S1 S2, wrong S3 S5; undecided S4 S7
    assert (total["labelled"], total["right"], total["wrong"], total["undecided"]) == (7, 3, 2, 2)
    assert total["accuracy"] == pytest.approx(0.6)
    at_080 = table[(table["section"] == "threshold") & (table["bin"] == "0.8")]
    assert at_080.set_index("measure")["value"]["wrong"] == 0     # the two wrong calls were weak
    assert at_080.set_index("measure")["value"]["right"] == 3
    high_snr = table[(table["section"] == "snr") & (table["bin"] == "20-50")].set_index("measure")
    assert high_snr.loc["right", "value"] == 1 and high_snr.loc["labelled", "value"] == 1
    png = (out / "polarity_evaluation.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_labels_csv_in_skhash_style_with_event_override(tmp_path):
    case = write_workdir(tmp_path)
    labels = tmp_path / "labels.pol.csv"
    labels.write_text("event_id, station, network, location, channel, p_polarity\n"
                      "     1,    S0,   XX,      --,       HHZ,     -1.0\n"
                      "     1,    S2,   XX,      --,       HHZ,     -1.0\n"
                      "     1,    S4,   XX,      --,       HHZ,      1.0\n")
    assert read_labels(labels)["label"].tolist() == [-1, -1, 1]
    assert main(["--config", str(case["config"]), "--labels", str(labels), "--event", "e1",
                 "--out", str(tmp_path / "eval")]) == 0
    total = pd.read_csv(tmp_path / "eval" / "polarity_evaluation.csv").query("section == 'total'")
    values = total.set_index("measure")["value"]
    assert (values["labelled"], values["right"], values["wrong"], values["undecided"]) == (3, 1, 1, 1)


def test_bad_labels_file_names_the_problem(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("sta,pol\nS1,U\n")
    with pytest.raises(InputError, match="labels.csv: a labels CSV needs a 'station' column"):
        read_labels(bad)
    case = write_workdir(tmp_path)
    assert main(["--config", str(case["config"]), "--labels", str(bad)]) == 2
