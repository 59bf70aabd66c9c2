"""Shared look of focalflow figures and their atomic PNG writing."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from focalflow.workdir import atomic_path  # noqa: E402

RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "axes.linewidth": 0.8,
      "xtick.direction": "out", "ytick.direction": "out", "legend.fontsize": 8,
      "font.family": "DejaVu Sans", "savefig.facecolor": "white", "figure.facecolor": "white"}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Matplotlib settings of every focalflow figure."""
    with plt.rc_context(RC):
        yield


def save_figure(fig: plt.Figure, path: Path | str, dpi: int) -> Path:
    """Write ``fig`` as PNG atomically (no timestamp metadata, so reruns give identical files)
    and close it."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight",
                        metadata={"Software": None})
    finally:
        plt.close(fig)
    return path
