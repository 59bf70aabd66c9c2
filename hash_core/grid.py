"""The grid of trial double-couple mechanisms searched by HASH for a grid angle ``dang``."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .fortran import nint


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
def mechanism_grid(dang_deg: float = 5.0) -> MechanismGrid:
    """Build HASH's grid: normals on a near-uniform spherical grid, rakes every ``dang_deg``.

    theta = i*dang (i = 0..int(90.1/dang)); n_phi = nint(360/dang * sin theta) azimuths (one at
    the pole); slip angle zeta = k*dang (k = 0..int(179.9/dang)); loops nest theta, phi, zeta.
    Sizes: 4,032 (10 deg), 10,426 (7), 31,032 (5), 141,180 (3), 472,410 (2).
    """
    dang = float(dang_deg)
    if not 0.5 <= dang <= 45.0:
        raise ValueError(f"grid angle dang must be between 0.5 and 45 degrees, got {dang_deg}")
    normals, slips = [], []
    zeta = np.radians(np.arange(int(179.9 / dang) + 1) * dang)
    for i in range(int(90.1 / dang) + 1):
        theta = np.radians(i * dang)
        n_phi = nint(np.float32(360.0 / dang) * np.float32(np.sin(theta)))
        if n_phi == 0:
            phis = np.zeros(1)
        else:
            dphi = 360.0 / n_phi
            phis = np.radians(np.arange(int(359.9 / dphi) + 1) * dphi)
        for phi in phis:
            b3 = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
            bb1 = np.array([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)])
            bb2 = np.cross(b3, bb1)
            b1 = np.cos(zeta)[:, None] * bb1 + np.sin(zeta)[:, None] * bb2
            normals.append(np.broadcast_to(b3, b1.shape))
            slips.append(b1)
    normal = np.ascontiguousarray(np.concatenate(normals))
    slip = np.ascontiguousarray(np.concatenate(slips))
    for a in (normal, slip):
        a.flags.writeable = False
    return MechanismGrid(dang, normal, slip,
                         np.ascontiguousarray(normal.T, dtype=np.float32),
                         np.ascontiguousarray(slip.T, dtype=np.float32))
