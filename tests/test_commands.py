"""The focalflow command and the stage scripts' start-up: arguments are parsed before anything
heavy is imported, stage choices and errors, the demo's config, TensorFlow kept quiet."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from focalflow.commands import demo_config_text, main, parse_stages

HEAVY = ("pandas", "numpy", "obspy", "tensorflow", "matplotlib", "numba", "pydantic")


def modules_after(code: str, cwd) -> set[str]:
    """The heavy modules a fresh interpreter has imported after running ``code``."""
    probe = (f"import sys\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
             f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = done.stdout.rsplit("HEAVY:", 1)[1].strip()
    return set(filter(None, line.split(",")))


@pytest.mark.parametrize("stage", ["1_get_waveforms", "2_mseed2sac", "3_convert_phases",
                                   "4_polarity_predict", "5_convert_stations", "6_run_hash"])
def test_stage_help_imports_nothing_heavy(repo_dir, stage):
    code = (f"import runpy; sys.argv = ['{stage}.py', '--help']; "
            f"runpy.run_path('{stage}.py', run_name='__main__')")
    assert modules_after(code, repo_dir) == set()


def test_focalflow_help_imports_nothing_heavy_and_import_focalflow_is_light(repo_dir):
    for argv in (["--help"], ["run", "--help"], ["demo", "--help"], ["review", "--help"]):
        assert modules_after(f"from focalflow.commands import main; main({argv!r})",
                             repo_dir) == set(), argv
    assert modules_after("import focalflow", repo_dir) == set()


def test_stage_help_shows_plain_text(repo_dir):
    done = subprocess.run([sys.executable, "3_convert_phases.py", "--help"], cwd=repo_dir,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "events.csv" in done.stdout and "``" not in done.stdout


def test_stage_choices():
    assert parse_stages([]) == ["1_get_waveforms", "2_mseed2sac", "3_convert_phases",
                                "4_polarity_predict", "5_convert_stations", "6_run_hash"]
    assert parse_stages(["6", "1-2"]) == ["1_get_waveforms", "2_mseed2sac", "6_run_hash"]
    assert parse_stages(["3_convert_phases.py", "3"]) == ["3_convert_phases"]
    with pytest.raises(ValueError, match="unknown stage '7'"):
        parse_stages(["7"])


def test_unknown_stage_is_one_line_and_status_2(capsys):
    assert main(["run", "9"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "focalflow run: unknown stage '9'; use 1-6, a range like 3-6, or a name "
        "(1_get_waveforms, 2_mseed2sac, 3_convert_phases, 4_polarity_predict, "
        "5_convert_stations, 6_run_hash)"]


def test_run_stops_at_the_first_failing_stage(tmp_path, capsys):
    status = main(["run", "1-3", "--config", str(tmp_path / "missing.yaml")])
    err = capsys.readouterr().err
    assert status == 2 and "config file not found" in err
    assert "=== 1_get_waveforms ===" in err and "=== 2_mseed2sac ===" not in err
    assert "stage 1_get_waveforms failed; later stages not run" in err


def test_demo_config_outside_a_checkout_points_at_the_shipped_velocity_model(tmp_path):
    from focalflow.config import config_from_dict
    from focalflow.resources import VELOCITY_DIR

    text = demo_config_text(tmp_path / "demo_data", tmp_path)
    config = config_from_dict(yaml.safe_load(text), base_dir=tmp_path)
    assert config.hash.velocity_models == [(VELOCITY_DIR / "demo.txt").resolve()]
    assert config.hash.velocity_models[0].is_file()
    assert config.catalog.phase_file == tmp_path / "demo_data" / "phases.arc"
    assert config.stations.reversals_file == tmp_path / "demo_data" / "reversals.csv"


def test_demo_writes_a_config_only_where_none_exists(tmp_path, monkeypatch, capsys):
    from focalflow.config import load_config

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "demo_data"]) == 0
    config = load_config(tmp_path / "config.yaml")
    assert config.catalog.phase_file.is_file() and config.waveforms.sds.root.is_dir()
    (tmp_path / "config.yaml").write_text("workdir: mine\n")
    assert main(["demo"]) == 0
    assert (tmp_path / "config.yaml").read_text() == "workdir: mine\n"
    assert "config.yaml exists: left as it is" in capsys.readouterr().out


def test_tensorflow_start_up_messages_are_hidden():
    code = ("from models import import_tensorflow\n"
            "import_tensorflow()\nimport tensorflow\nprint('imported', flush=True)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=300, env=env)
    assert quiet.returncode == 0 and quiet.stdout.strip() == "imported", quiet.stderr
    assert quiet.stderr == ""
    # what it hides (if TensorFlow ever stops printing this, the function can go)
    loud = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True,
                          text=True, timeout=300, env=env)
    assert "oneDNN" in loud.stderr or "absl" in loud.stderr, loud.stderr
