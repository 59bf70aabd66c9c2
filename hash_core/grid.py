"""The grid of trial double-couple mechanisms searched by HASH for a grid angle ``dang``."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

_F = np.float32


@dataclass(frozen=True)
class MechanismGrid:
    """Trial mechanisms as unit fault normals (b3, pointing down), slips (b1) and b3 x b1 (b2),
    shape (n, 3).

    ``normal_t``, ``slip_t`` and ``null_t`` hold the same vectors as contiguous float32 rows
    x, y, z, shape (3, n), the layout the numba search streams through.
    """

    dang_deg: float
    normal: np.ndarray
    slip: np.ndarray
    normal_t: np.ndarray
    slip_t: np.ndarray
    null_t: np.ndarray

    def __len__(self) -> int:
        return len(self.normal)


@njit(cache=True, error_model="numpy")
def _grid_f32(dang):
    """HASH's loops in single precision with the single-precision sin/cos (b1, b2, b3 rows)."""
    pi = _F(3.1415927)
    degrad = _F(180.0) / pi
    n_theta = int(_F(90.1) / dang) + 1
    n_zeta = int(_F(179.9) / dang) + 1
    rows = []
    for ithe in range(n_theta):
        rthe = (_F(ithe) * dang) / degrad
        costhe, sinthe = math.cos(rthe), math.sin(rthe)
        x = _F(360.0) / dang * math.sin(rthe)
        numphi = int(math.floor(float(x) + 0.5))   # nint of a non-negative number
        dphi = _F(360.0) / _F(numphi) if numphi != 0 else _F(10000.0)
        for iphi in range(int(_F(359.9) / dphi) + 1):
            rphi = (_F(iphi) * dphi) / degrad
            cosphi, sinphi = math.cos(rphi), math.sin(rphi)
            bb3 = (sinthe * cosphi, sinthe * sinphi, costhe)
            bb1 = (costhe * cosphi, costhe * sinphi, -sinthe)
            bb2 = (bb3[1] * bb1[2] - bb3[2] * bb1[1], bb3[2] * bb1[0] - bb3[0] * bb1[2],
                   bb3[0] * bb1[1] - bb3[1] * bb1[0])
            for izeta in range(n_zeta):
                rzeta = (_F(izeta) * dang) / degrad
                cz, sz = math.cos(rzeta), math.sin(rzeta)
                rows.append((bb1[0] * cz + bb2[0] * sz, bb1[1] * cz + bb2[1] * sz,
                             bb1[2] * cz + bb2[2] * sz,
                             bb2[0] * cz - bb1[0] * sz, bb2[1] * cz - bb1[1] * sz,
                             bb2[2] * cz - bb1[2] * sz,
                             bb3[0], bb3[1], bb3[2]))
    out = np.empty((len(rows), 9), np.float32)
    for k in range(len(rows)):
        for c in range(9):
            out[k, c] = rows[k][c]
    return out


@functools.lru_cache(maxsize=4)
def mechanism_grid(dang_deg: float) -> MechanismGrid:
    """Build HASH's grid: normals on a near-uniform spherical grid, rakes every ``dang_deg``.

    theta = i*dang (i = 0..int(90.1/dang)); n_phi = nint(360/dang * sin theta) azimuths (one at
    the pole); slip angle zeta = k*dang (k = 0..int(179.9/dang)); loops nest theta, phi, zeta.
    Sizes: 4,032 (10 deg), 10,426 (7), 31,032 (5), 141,180 (3), 472,410 (2). Single precision
    throughout, as HASH: rays on a nodal plane are decided by rounding.
    """
    dang = float(dang_deg)
    if not 0.5 <= dang <= 45.0:
        raise ValueError(f"grid angle dang must be between 0.5 and 45 degrees, got {dang_deg}")
    vectors = _grid_f32(_F(dang))
    slip32, null32, normal32 = vectors[:, 0:3], vectors[:, 3:6], vectors[:, 6:9]
    normal = np.ascontiguousarray(normal32, dtype=float)
    slip = np.ascontiguousarray(slip32, dtype=float)
    for a in (normal, slip):
        a.flags.writeable = False
    return MechanismGrid(dang, normal, slip, np.ascontiguousarray(normal32.T),
                         np.ascontiguousarray(slip32.T), np.ascontiguousarray(null32.T))
