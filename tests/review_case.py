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


def review_session(template: Path, folder: Path, user: str = "tester") -> ReviewSession:
    """A review session on a fresh copy of the working directory ``template``."""
    root = folder / "work"
    shutil.copytree(template, root)
    config = config_from_dict({"workdir": str(root),
                               "hash": {"velocity_models": [str(REPO / "velocity/demo.txt")]}},
                              base_dir=root)
    return ReviewSession(make_context("review", config), user=user)


def review_template(folder: Path) -> Path:
    return build_workdir(folder / "template")
