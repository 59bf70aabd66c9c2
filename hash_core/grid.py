"""The grid of trial double-couple mechanisms searched by HASH for a grid angle ``dang``."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .fortran import nint

_DEGRAD = 180.0 / 3.1415927  # HASH's degrees per radian


@dataclass(frozen=True)
class MechanismGrid:
    """Trial mechanisms as unit fault normals (b3, pointing down) and slips (b1), shape (n, 3).

    ``normal_t`` and ``slip_t`` hold the same vectors as contiguous float32 rows x, y, z,
    shape (3, n), the layout the numba search streams through.
    """

    dang_deg: float
    normal: np.ndarray
    slip: np.ndarray
    normal_t: np.ndarray
    slip_t: np.ndarray

    def __len__(self) -> int:
        return len(self.normal)


@functools.lru_cache(maxsize=4)
def mechanism_grid(dang_deg: float) -> MechanismGrid:
    """Build HASH's grid: normals on a near-uniform spherical grid, rakes every ``dang_deg``.

    theta = i*dang (i = 0..int(90.1/dang)); n_phi = nint(360/dang * sin theta) azimuths (one at
    the pole); slip angle zeta = k*dang (k = 0..int(179.9/dang)); loops nest theta, phi, zeta.
    Sizes: 4,032 (10 deg), 10,426 (7), 31,032 (5), 141,180 (3), 472,410 (2).
    """
    dang = float(dang_deg)
    if not 0.5 <= dang <= 45.0:
        raise ValueError(f"grid angle dang must be between 0.5 and 45 degrees, got {dang_deg}")
    # single precision throughout, as HASH: rays on a nodal plane are decided by rounding
    f32 = np.float32
    normals, slips = [], []
    zeta = np.arange(int(179.9 / dang) + 1, dtype=f32) * f32(dang) / f32(_DEGRAD)
    for i in range(int(90.1 / dang) + 1):
        theta = f32(i) * f32(dang) / f32(_DEGRAD)
        n_phi = nint(f32(360.0) / f32(dang) * np.sin(theta))
        if n_phi == 0:
            phis = np.zeros(1, dtype=f32)
        else:
            dphi = f32(360.0) / f32(n_phi)
            phis = np.arange(int(f32(359.9) / dphi) + 1, dtype=f32) * dphi / f32(_DEGRAD)
        for phi in phis:
            b3 = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)],
                          dtype=f32)
            bb1 = np.array([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi),
                            -np.sin(theta)], dtype=f32)
            bb2 = np.cross(b3, bb1).astype(f32)
            b1 = np.cos(zeta)[:, None] * bb1 + np.sin(zeta)[:, None] * bb2
            normals.append(np.broadcast_to(b3, b1.shape))
            slips.append(b1)
    normal = np.ascontiguousarray(np.concatenate(normals), dtype=float)
    slip = np.ascontiguousarray(np.concatenate(slips), dtype=float)
    for a in (normal, slip):
        a.flags.writeable = False
    return MechanismGrid(dang, normal, slip,
                         np.ascontiguousarray(normal.T, dtype=np.float32),
                         np.ascontiguousarray(slip.T, dtype=np.float32))
