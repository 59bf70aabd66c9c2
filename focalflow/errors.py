"""Errors that the stage scripts report as one clear line instead of a traceback."""
from __future__ import annotations

from pathlib import Path


class FocalflowError(Exception):
    """An error the user can fix: bad config, bad input file, missing data."""

    exit_status = 2  # what the stage script exits with


class StageFailed(FocalflowError):
    """The stage ran but produced nothing usable (every event failed, the network is gone):
    exit status 1, so ``run_pipeline.sh`` stops there."""

    exit_status = 1


class ConfigError(FocalflowError):
    """The configuration file is missing, unreadable or invalid."""


class InputError(FocalflowError):
    """A malformed input file; names the file and, where known, the line.

    >>> str(InputError("phases.arc", "bad latitude 'x9'", line=12))
    "phases.arc, line 12: bad latitude 'x9'"
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
