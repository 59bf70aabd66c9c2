"""Output files follow the user's umask: with the usual 022 everything a stage writes is
readable by the group and by others (the report can be served, the tables shared)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import yaml


def run_stage_with_umask(repo_dir, demo_dir, folder, umask: int) -> list:
    from conftest import demo_config_dict

    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(demo_config_dict(demo_dir, folder / "work")))
    done = subprocess.run([sys.executable, "1_get_waveforms.py", "--config", str(config)],
                          cwd=repo_dir, capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: os.umask(umask))
    assert done.returncode == 0, done.stderr[-3000:]
    files = [p for p in (folder / "work").rglob("*") if p.is_file()]
    assert len(files) > 300  # miniSEED, StationXML, manifests, logs
    return files


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640)])
def test_stage_outputs_get_the_users_umask(repo_dir, demo_dir, tmp_path, umask, expected):
    files = run_stage_with_umask(repo_dir, demo_dir, tmp_path, umask)
    modes = {oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert modes == {oct(expected)}, [p for p in files
                                      if stat.S_IMODE(p.stat().st_mode) != expected][:5]
