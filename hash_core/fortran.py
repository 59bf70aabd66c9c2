"""Small arithmetic details of the Fortran original that change results (single precision)."""
from __future__ import annotations

import math

import numpy as np


def nint(x) -> int:
    """Fortran NINT: round half away from zero (``round`` in Python rounds half to even)."""
    x = float(x)
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def misfit_allowances(npol: int, badfrac: float) -> tuple[int, int]:
    """HASH's (nmismax, nextra) = (max(nint(npol*badfrac), 2), max(nint(0.5*npol*badfrac), 2)).

    Computed in single precision as in HASH: 50 * 0.1 * 0.5 gives 2.5 and rounds to 3.
    """
    half = np.float32(0.5) * np.float32(npol) * np.float32(badfrac)
    return max(nint(np.float32(npol) * np.float32(badfrac)), 2), max(nint(half), 2)


def sp_allowances(nsp: int, qbadfac: float) -> tuple[float, float]:
    """HASH's (qmismax, qextra) = (max(nsp*qbadfac, 2), max(0.5*nsp*qbadfac, 2)), single precision."""
    half = np.float32(0.5) * np.float32(nsp) * np.float32(qbadfac)
    return max(float(np.float32(nsp) * np.float32(qbadfac)), 2.0), max(float(half), 2.0)
