"""Small arithmetic details of the Fortran original that change results (single precision)."""
from __future__ import annotations

import math

import numpy as np


def nint(x) -> int:
    """Fortran NINT: round half away from zero (``round`` in Python rounds half to even)."""
    x = float(x)
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def misfit_allowances(npol: int, badfrac: float, badmin: float) -> tuple[int, int]:
    """HASH's (nmismax, nextra) = (max(nint(npol*badfrac), badmin), max(nint(0.5*npol*badfrac),
    badmin)); HASH v1.2 fixes badmin at 2, SKHASH reads it from ``$badmin``.

    Computed in single precision as in HASH: 50 * 0.1 * 0.5 gives 2.5 and rounds to 3. Misfits
    are counts, so a fractional badmin allows its integer part.
    """
    floor = int(math.floor(badmin))
    half = np.float32(0.5) * np.float32(npol) * np.float32(badfrac)
    return max(nint(np.float32(npol) * np.float32(badfrac)), floor), max(nint(half), floor)


def sp_allowances(nsp: int, qbadfac: float, qbadmin: float) -> tuple[float, float]:
    """HASH's (qmismax, qextra) = (max(nsp*qbadfac, qbadmin), max(0.5*nsp*qbadfac, qbadmin)),
    single precision; HASH v1.2 fixes qbadmin at 2, SKHASH reads it from ``$qbadmin``."""
    half = np.float32(0.5) * np.float32(nsp) * np.float32(qbadfac)
    return (max(float(np.float32(nsp) * np.float32(qbadfac)), float(qbadmin)),
            max(float(half), float(qbadmin)))
