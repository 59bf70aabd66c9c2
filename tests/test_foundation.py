"""Config validation, atomic writes, tables and the failures log."""

import pandas as pd
import pytest

from focalflow.config import config_from_dict, load_config
from focalflow.errors import ConfigError, InputError
from focalflow.log import FailureLog
from focalflow.tables import read_table, write_table
from focalflow.workdir import atomic_path


def test_shipped_config_is_valid(repo_dir):
    config = load_config(repo_dir / "config.yaml")
    assert config.workdir.is_absolute()
    assert config.waveforms.source == "sds"


def test_unknown_key_suggests_closest():
    with pytest.raises(ConfigError, match=r"unknown key 'hash.dangg'; did you mean 'hash.dang_deg'"):
        config_from_dict({"hash": {"dangg": 5}})


def test_wrong_type_and_choice_name_the_key():
    with pytest.raises(ConfigError) as err:
        config_from_dict({"hash": {"nmc": "many"}, "waveforms": {"source": "ftp"}})
    text = str(err.value)
    assert "key 'hash.nmc'" in text and "key 'waveforms.source'" in text and "'fdsn', 'sds' or 'files'" in text


def test_out_of_range_value():
    with pytest.raises(ConfigError, match="hash.dang_deg"):
        config_from_dict({"hash": {"dang_deg": 0.1}})


def test_missing_and_garbage_config_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("workdir: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(scalar)


def test_relative_paths_resolve_against_config_folder(tmp_path):
    path = tmp_path / "sub" / "c.yaml"
    path.parent.mkdir()
    path.write_text("workdir: out\n")
    assert load_config(path).workdir == (tmp_path / "sub" / "out").resolve()


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]


def test_table_round_trip_keeps_codes_as_strings(tmp_path):
    frame = pd.DataFrame({"network": ["5B"], "station": ["1107"], "start": ["2016-01-01"],
                          "end": [""]})
    write_table(frame, tmp_path / "reversals.csv", "reversals")
    back = read_table(tmp_path / "reversals.csv", "reversals")
    assert back.loc[0, "station"] == "1107" and back.loc[0, "end"] == ""


def test_read_table_names_missing_columns(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event_id,time\n1,2020-01-01\n")
    with pytest.raises(InputError, match="events.csv: missing column"):
        read_table(path, "events")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "empty.csv", "events")


def test_failure_log_replaces_rows_of_rerun_stage(tmp_path):
    path = tmp_path / "failures.csv"
    first = FailureLog("stage1", path)
    first.add("ev1", "STA", "no data")
    first.save()
    other = FailureLog("stage2", path)
    other.add("ev2", "", "bad")
    other.save()
    rerun = FailureLog("stage1", path)
    rerun.save()
    table = read_table(path, "failures")
    assert list(table["stage"]) == ["stage2"]


def test_shipped_config_lists_every_key_with_its_default(repo_dir):
    """config.yaml is generated from the schema: `python -m focalflow.config > config.yaml`."""
    from focalflow.config import render_default_yaml

    shipped = (repo_dir / "config.yaml").read_text()
    assert render_default_yaml() in shipped


def test_failure_log_with_event_selection_keeps_other_events(tmp_path):
    path = tmp_path / "failures.csv"
    first = FailureLog("stage1", path)
    first.add("ev1", "STA", "no data")
    first.add("ev2", "STA", "no data")
    first.save()
    FailureLog("stage1", path, events={"ev1"}).save()
    table = read_table(path, "failures")
    assert list(table["event_id"]) == ["ev2"]
