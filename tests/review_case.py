"""A working directory to review: the small stage-6 working directory of ``results_case``
(four events with mechanisms, twelve stations) and a config that solves it with the demo
velocity model."""
from __future__ import annotations

import shutil
from pathlib import Path

from focalflow.cli import make_context
from focalflow.config import config_from_dict
from focalflow.review.session import ReviewSession
from results_case import build_workdir

REPO = Path(__file__).resolve().parents[1]


def review_session(template: Path, folder: Path, user: str = "tester",
                   settings: dict | None = None) -> ReviewSession:
    """A review session on a fresh copy of the working directory ``template``; ``settings``:
    further config sections (e.g. ``{"hash": {"use_sp_ratios": False}}``)."""
    root = folder / "work"
    shutil.copytree(template, root)
    data = {"workdir": str(root), "hash": {"velocity_models": [str(REPO / "velocity/demo.txt")]}}
    for section, keys in (settings or {}).items():
        data[section] = {**data.get(section, {}), **keys}
    return ReviewSession(make_context("review", config_from_dict(data, base_dir=root)),
                         user=user)


def review_template(folder: Path) -> Path:
    return build_workdir(folder / "template")
