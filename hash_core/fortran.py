"""Small arithmetic details of the Fortran original that change results (single precision)."""
from __future__ import annotations

import math

import numpy as np
from numba import njit


def nint(x) -> int:
    """Fortran NINT: round half away from zero (``round`` in Python rounds half to even)."""
    x = float(x)
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def misfit_allowances(npol: int, badfrac: float, badmin: float) -> tuple[float, float]:
    """HASH's (nmismax, nextra) = (max(nint(npol*badfrac), badmin), max(nint(0.5*npol*badfrac),
    badmin)); HASH v1.2 fixes badmin at 2, SKHASH reads it from ``$badmin``.

    Computed in single precision as in HASH: 50 * 0.1 * 0.5 gives 2.5 and rounds to 3.
    ``npol`` may be a summed weight (SKHASH's weighted polarities); misfits are then summed
    weights, compared with these allowances as they are (a fractional badmin counts).
    """
    half = np.float32(0.5) * np.float32(npol) * np.float32(badfrac)
    return (max(nint(np.float32(npol) * np.float32(badfrac)), badmin),
            max(nint(half), badmin))


def sp_allowances(nsp: int, qbadfac: float, qbadmin: float) -> tuple[float, float]:
    """HASH's (qmismax, qextra) = (max(nsp*qbadfac, qbadmin), max(0.5*nsp*qbadfac, qbadmin)),
    single precision; HASH v1.2 fixes qbadmin at 2, SKHASH reads it from ``$qbadmin``."""
    half = np.float32(0.5) * np.float32(nsp) * np.float32(qbadfac)
    return (max(float(np.float32(nsp) * np.float32(qbadfac)), float(qbadmin)),
            max(float(half), float(qbadmin)))



@njit(cache=True, error_model="numpy")
def _flat_f32(event_lat, event_lon, station_lat, station_lon, distance, azimuth):
    f32 = np.float32
    degrad = f32(180.0) / f32(3.1415927)
    for k in range(distance.size):
        qlat = event_lat[k]
        aspect = math.cos(qlat / degrad)
        dx = (station_lon[k] - event_lon[k]) * f32(111.2) * aspect
        dy = (station_lat[k] - qlat) * f32(111.2)
        distance[k] = math.sqrt(dx * dx + dy * dy)
        qazi = f32(90.0) - math.atan2(dy, dx) * degrad
        azimuth[k] = qazi + f32(360.0) if qazi < 0.0 else qazi


def flat_distance_azimuth_f32(event_lat, event_lon, station_lat, station_lon):
    """HASH's flat-earth distance (km) and azimuth (degrees), in single precision as its
    drivers compute them (broadcast; float64 arrays of the single-precision results)."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float32) for a in
                                   (event_lat, event_lon, station_lat, station_lon)))
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a).ravel() for a in arrays]
    distance = np.empty(flat[0].size, np.float32)
    azimuth = np.empty(flat[0].size, np.float32)
    _flat_f32(*flat, distance, azimuth)
    return distance.astype(float).reshape(shape), azimuth.astype(float).reshape(shape)


@njit(cache=True, error_model="numpy")
def _log10_f32(values, out):
    for k in range(values.size):
        out[k] = math.log10(values[k])


def log10_f32(values) -> np.ndarray:
    """log10 in single precision, as HASH's REAL*4 LOG10 (float32 array)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    out = np.empty(values.size, np.float32)
    _log10_f32(values.ravel(), out)
    return out.reshape(values.shape)
