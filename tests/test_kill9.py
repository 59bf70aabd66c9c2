"""``kill -9`` at a random moment of stages 2, 3, 4 and 6, then a rerun: nothing half-written.

The demo (three events) runs through the six stage scripts once; before and after each of
stages 2, 3, 4 and 6 the working directory is set aside. Each test puts the "before" copy back
at the same path, starts the stage, kills it with SIGKILL at a random moment of its
uninterrupted run time (seeded: the moment is in the test's output) -- the first moment after it
at which the stage is writing a file --, reruns it without
``--overwrite`` and then finds no ``.part`` file anywhere and every table and waveform file
byte for byte as the uninterrupted run left them.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

STAGES = ["1_get_waveforms", "2_mseed2sac", "3_convert_phases", "4_polarity_predict",
          "5_convert_stations", "6_run_hash"]
KILLED = ["2_mseed2sac", "3_convert_phases", "4_polarity_predict", "6_run_hash"]
EVENTS = "60000001,60000004,60000007"
# compared by name only: drawings and files that carry the time they were made
NAMES_ONLY = (".png", ".html", ".xml")


def start(repo_dir: Path, stage: str, config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(repo_dir / f"{stage}.py"), "--config",
                             str(config), "--events", EVENTS], cwd=repo_dir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, stage: str) -> None:
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{stage} failed:\n{err[-3000:]}"


@pytest.fixture(scope="module")
def runs(demo_dir, repo_dir, tmp_path_factory):
    """The working directory before and after each killed stage, and each stage's run time."""
    from conftest import demo_config_dict

    folder = tmp_path_factory.mktemp("kill9")
    work = folder / "work"
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(demo_config_dict(demo_dir, work)))
    before, after, seconds = {}, {}, {}
    for stage in STAGES:
        if stage in KILLED:
            before[stage] = shutil.copytree(work, folder / f"before_{stage}", symlinks=True)
        started = time.monotonic()
        finish(start(repo_dir, stage, config), stage)
        seconds[stage] = time.monotonic() - started
        if stage in KILLED:
            after[stage] = shutil.copytree(work, folder / f"after_{stage}", symlinks=True)
    return work, config, before, after, seconds


def contents(root: Path) -> dict[str, bytes | None]:
    """Every file under ``root``: its bytes, or None where only its name is compared; the
    rerun ledger and the logs (which hold times) are left out, ``failures.csv`` kept."""
    files = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if (not path.is_file() or name.startswith(".focalflow") or path.suffix in (".log", ".lock")):
            continue
        files[name] = None if path.suffix in NAMES_ONLY else path.read_bytes()
    return files


@pytest.mark.parametrize("stage", KILLED)
def test_a_killed_stage_leaves_nothing_half_written_and_its_rerun_equals_a_clean_run(
        stage, runs, repo_dir):
    work, config, before, after, seconds = runs
    moment = random.Random(f"kill9 {stage}").uniform(0.3, 0.9) * seconds[stage]
    for _attempt in range(6):  # a run faster than the measured one ends before its kill: earlier
        shutil.rmtree(work)
        shutil.copytree(before[stage], work, symlinks=True)
        print(f"{stage}: SIGKILL after {moment:.2f} s of an uninterrupted {seconds[stage]:.2f} s")
        victim = start(repo_dir, stage, config)
        time.sleep(moment)
        while victim.poll() is None and not any(work.rglob("*.part")):
            time.sleep(0.002)  # kill it while it writes a file, if it writes one
        if victim.poll() is None:
            break
        moment *= 0.6
    else:
        pytest.fail(f"{stage} always ended before its kill")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    print(f"{stage}: the killed run left {len(list(work.rglob('*.part')))} .part file(s)")

    finish(start(repo_dir, stage, config), stage)
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*.part")) == []
    clean, rerun = contents(after[stage]), contents(work)
    assert sorted(rerun) == sorted(clean)
    differ = [name for name in clean if clean[name] != rerun[name]]
    assert differ == [], f"files that differ from the uninterrupted run: {differ}"
