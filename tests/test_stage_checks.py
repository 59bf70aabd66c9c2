"""Stage-level promises of issue 13: inputs checked before expensive work, leftovers of killed
runs removed, nothing wrong accepted silently."""
from __future__ import annotations

import pandas as pd
import pytest

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.errors import InputError
from focalflow.tables import empty_table, write_table


def test_stage6_checks_velocity_models_before_measuring_sp_ratios(tmp_path, monkeypatch):
    """Issue 13, case 9: velocity-model errors came only after the S/P measurement had run."""
    from focalflow.mechanisms import amplitudes
    from focalflow.stages import run_hash

    model = tmp_path / "model.txt"
    model.write_text("0 5.5\n10 6.0\n5 6.3\n")
    config = config_from_dict({"workdir": str(tmp_path / "work"),
                               "hash": {"velocity_models": [str(model)], "use_sp_ratios": True}})
    work = config.workdir
    write_table(pd.DataFrame([{"event_id": "e1", "time": "2020-01-01T00:00:00.000000Z",
                               "latitude": 35.0, "longitude": -117.0, "depth": 8.0,
                               "horz_uncert_km": 0.5, "vert_uncert_km": 1.0, "mag": 2.0}]),
                work / "events.csv", "events")
    write_table(empty_table("stations"), work / "stations.csv", "stations")
    write_table(empty_table("polarities"), work / "polarities.csv", "polarities")
    (work / "cut" / "e1").mkdir(parents=True)
    measured = []
    monkeypatch.setattr(amplitudes, "measure_event_sp",
                        lambda *args, **kwargs: measured.append(args) or (None, []))
    with pytest.raises(InputError, match=r"model.txt, line 3: depth 5.0 km is above"):
        run_stage("6_run_hash", run_hash.run, config)
    assert measured == [] and not (work / "sp_ratios.csv").exists()
