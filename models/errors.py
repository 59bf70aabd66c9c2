"""Errors of the models package, and its atomic file writing.

``models`` never imports ``focalflow``; a caller that reports user errors as one line (the
pipeline's command line) catches :class:`ModelError` beside its own errors.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


class ModelError(Exception):
    """An error the user can fix: a bad weights file, an unknown model name, a bad setting."""


class WeightsError(ModelError):
    """A weights file is missing, corrupt, of the wrong shape, or fails its checksum."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: Path | str, suffix: str = ".part") -> Iterator[Path]:
    """A temporary path beside ``path`` (ending in ``suffix``: Keras checks the suffix of the
    weights files it writes), renamed onto ``path`` with the user's umask only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
