"""Files shipped with focalflow, found the same way in a checkout and in an installed package.

The 1-D velocity models live in the repository's top-level ``velocity/`` folder; an installed
focalflow carries them as package data in ``focalflow/velocity/`` (see ``pyproject.toml``).
"""
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

VELOCITY_DIR = _PACKAGE / "velocity" if (_PACKAGE / "velocity").is_dir() \
    else _PACKAGE.parent / "velocity"
