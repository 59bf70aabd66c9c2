"""``pip install .``: the wheel carries the velocity models, the shipped weights, the review
page and the ``focalflow`` command; its dependencies are requirements.txt's runtime lines."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

TEST_ONLY = {"pytest", "pytest-timeout", "pytest-xdist", "selenium"}


def requirement_name(line: str) -> str:
    return line.split(";")[0].split("<")[0].split(">")[0].split("=")[0].split("[")[0].strip()


def test_dependencies_are_the_runtime_requirements(repo_dir):
    project = tomllib.loads((repo_dir / "pyproject.toml").read_text())["project"]
    lines = [line.strip() for line in (repo_dir / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    runtime = [line for line in lines if requirement_name(line) not in TEST_ONLY]
    assert project["dependencies"] == runtime
    assert {requirement_name(r) for r in project["optional-dependencies"]["test"]} == TEST_ONLY
    assert TEST_ONLY <= {requirement_name(line) for line in lines}
    assert project["scripts"] == {"focalflow": "focalflow.commands:main"}


@pytest.fixture(scope="module")
def wheel(repo_dir, tmp_path_factory):
    """The wheel built from a copy of the sources (building writes build/ beside them)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "focalflow", "hash_core", "models", "velocity"):
        if (repo_dir / name).is_dir():
            shutil.copytree(repo_dir / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(repo_dir / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--wheel-dir", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "No module named" in done.stderr + done.stdout:
        pytest.skip(f"cannot build wheels here: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    return next(out.glob("focalflow-*.whl"))


def test_wheel_carries_data_files_and_the_command(wheel, repo_dir):
    names = set(zipfile.ZipFile(wheel).namelist())
    for model in (repo_dir / "velocity").glob("*.txt"):
        assert f"focalflow/velocity/{model.name}" in names
    for weights in (repo_dir / "models" / "weights").iterdir():
        assert f"models/weights/{weights.name}" in names
    for asset in ("index.html", "review.js", "review.css"):
        assert f"focalflow/review/static/{asset}" in names
    for package in ("focalflow", "hash_core", "models", "focalflow/stages", "focalflow/review"):
        assert f"{package}/__init__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "focalflow = focalflow.commands:main" in \
        zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any(name.startswith(("tests/", "bench/", "velocity/")) for name in names)


def test_shipped_velocity_models_are_found_in_a_checkout(repo_dir):
    from focalflow.resources import VELOCITY_DIR

    assert VELOCITY_DIR == repo_dir / "velocity" and (VELOCITY_DIR / "demo.txt").is_file()
