"""Double-couple geometry: strike/dip/rake <-> vectors, nodal planes, P/T/B axes, rotations.

Coordinates everywhere: x north, y east, z down. Angles in degrees at every boundary.
Strike is measured clockwise from north with the fault dipping to the right of the strike
direction (0 <= strike < 360, 0 <= dip <= 90, -180 < rake <= 180), as in Aki & Richards.
The fault normal returned by `sdr_to_vectors` points up, out of the foot wall; the slip is the
motion of the hanging wall relative to the foot wall. All functions broadcast over leading
dimensions: vectors are arrays of shape (..., 3).
"""
from __future__ import annotations

import numpy as np

_HORIZONTAL_EPS = 1e-9


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def sdr_to_vectors(strike_deg, dip_deg, rake_deg) -> tuple[np.ndarray, np.ndarray]:
    """Fault normal and slip unit vectors (shape (..., 3)) of strike/dip/rake in degrees."""
    phi = np.radians(np.asarray(strike_deg, dtype=float))
    delta = np.radians(np.asarray(dip_deg, dtype=float))
    lam = np.radians(np.asarray(rake_deg, dtype=float))
    phi, delta, lam = np.broadcast_arrays(phi, delta, lam)
    normal = np.stack([-np.sin(delta) * np.sin(phi),
                       np.sin(delta) * np.cos(phi),
                       -np.cos(delta)], axis=-1)
    slip = np.stack([np.cos(lam) * np.cos(phi) + np.cos(delta) * np.sin(lam) * np.sin(phi),
                     np.cos(lam) * np.sin(phi) - np.cos(delta) * np.sin(lam) * np.cos(phi),
                     -np.sin(lam) * np.sin(delta)], axis=-1)
    return normal, slip


def vectors_to_sdr(normal, slip) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strike, dip, rake in degrees of the plane with ``normal`` slipping along ``slip``.

    The pair (n, s) and (-n, -s) describe the same fault; a downward normal is flipped so that
    the dip is at most 90 degrees. For a horizontal plane the strike is set perpendicular to the
    slip (rake 90). Returns arrays of the broadcast leading shape (0-d for single vectors).
    """
    n = _unit(np.asarray(normal, dtype=float))
    s = _unit(np.asarray(slip, dtype=float))
    n, s = np.broadcast_arrays(n, s)
    down = n[..., 2] > 0
    n = np.where(down[..., None], -n, n)
    s = np.where(down[..., None], -s, s)
    horizontal = (1.0 - np.abs(n[..., 2])) <= _HORIZONTAL_EPS

    phi = np.arctan2(-n[..., 0], n[..., 1])
    phi = np.where(horizontal, np.arctan2(-s[..., 0], s[..., 1]), phi)
    delta = np.arctan2(np.hypot(n[..., 0], n[..., 1]), -n[..., 2])
    delta = np.where(horizontal, 0.0, delta)
    cos_lam = np.cos(phi) * s[..., 0] + np.sin(phi) * s[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        sin_lam = np.where(horizontal, np.sin(phi) * s[..., 0] - np.cos(phi) * s[..., 1],
                           -s[..., 2] / np.sin(delta))
    lam = np.arctan2(sin_lam, cos_lam)

    strike = np.mod(np.degrees(phi), 360.0)
    strike = np.where(strike >= 360.0, strike - 360.0, strike)
    rake = np.degrees(lam)
    rake = np.where(rake <= -180.0, rake + 360.0, rake)
    return strike, np.degrees(delta), rake


def auxiliary_plane(strike_deg, dip_deg, rake_deg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strike, dip, rake (degrees) of the second nodal plane: normal and slip exchanged."""
    normal, slip = sdr_to_vectors(strike_deg, dip_deg, rake_deg)
    return vectors_to_sdr(slip, normal)


def moment_tensor(normal, slip) -> np.ndarray:
    """Unit double-couple moment tensor M = n s^T + s n^T, shape (..., 3, 3), x north y east z down.

    The P-wave radiation amplitude along a unit ray a is a^T M a = 2 (a.n)(a.s).
    """
    n = np.asarray(normal, dtype=float)
    s = np.asarray(slip, dtype=float)
    return n[..., :, None] * s[..., None, :] + s[..., :, None] * n[..., None, :]


def pbt_axes(normal, slip) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pressure, tension and null axes (unit vectors, shape (..., 3)) of a double couple.

    T = (n + s)/sqrt(2), P = (n - s)/sqrt(2), B = n x s; signs are arbitrary (axes), use
    `axis_trend_plunge` for the lower-hemisphere trend and plunge.
    """
    n = _unit(np.asarray(normal, dtype=float))
    s = _unit(np.asarray(slip, dtype=float))
    t_axis = (n + s) / np.sqrt(2.0)
    p_axis = (n - s) / np.sqrt(2.0)
    b_axis = np.cross(n, s)
    return p_axis, t_axis, b_axis


def axis_trend_plunge(vectors) -> tuple[np.ndarray, np.ndarray]:
    """Trend (degrees clockwise from north, 0-360) and plunge (degrees down, 0-90) of axes.

    Axes pointing up are reversed first, so the result is on the lower hemisphere.
    """
    v = _unit(np.asarray(vectors, dtype=float))
    v = np.where((v[..., 2] < 0)[..., None], -v, v)
    plunge = np.degrees(np.arcsin(np.clip(v[..., 2], -1.0, 1.0)))
    trend = np.mod(np.degrees(np.arctan2(v[..., 1], v[..., 0])), 360.0)
    return trend, plunge


def ray_vectors(takeoff_deg, azimuth_deg) -> np.ndarray:
    """Unit ray directions (..., 3) for HASH take-off angles (0 = up, 180 = down) and azimuths."""
    t = np.radians(np.asarray(takeoff_deg, dtype=float))
    a = np.radians(np.asarray(azimuth_deg, dtype=float))
    return np.stack([np.sin(t) * np.cos(a), np.sin(t) * np.sin(a), -np.cos(t)], axis=-1)


def _form_traces(normal1, slip1, normal2, slip2):
    """Traces of the rotation from mechanism 1 to the four forms (n, s), (-n, -s), (s, n),
    (-s, -n) of mechanism 2, stacked on the last axis. With frames (n, s, n x s) the trace is
    the sum of the dot products of matching axes; n x s changes sign for the swapped forms."""
    n1, s1 = np.asarray(normal1, dtype=float), np.asarray(slip1, dtype=float)
    n2, s2 = np.asarray(normal2, dtype=float), np.asarray(slip2, dtype=float)
    nn = np.sum(n1 * n2, axis=-1)
    ss = np.sum(s1 * s2, axis=-1)
    ns = np.sum(n1 * s2, axis=-1)
    sn = np.sum(s1 * n2, axis=-1)
    bb = np.sum(np.cross(n1, s1) * np.cross(n2, s2), axis=-1)
    return np.stack([nn + ss + bb, -nn - ss + bb, ns + sn - bb, -ns - sn - bb], axis=-1)


def rotation_angle(normal1, slip1, normal2, slip2, return_aligned: bool = False):
    """Minimum rotation angle in degrees between two double couples (HASH's MECH_ROT).

    The second mechanism is tried as (n, s), (-n, -s), (s, n) and (-s, -n) — the four
    descriptions of one double couple — and the smallest rotation is kept; this is the Kagan
    angle (0-120 degrees). Broadcasts over leading dimensions. With ``return_aligned`` also
    returns the second mechanism's normal and slip in the best-aligned form.
    """
    traces = _form_traces(normal1, slip1, normal2, slip2)
    best = np.argmax(traces, axis=-1)
    trace = np.take_along_axis(traces, best[..., None], axis=-1)[..., 0]
    angle = np.degrees(np.arccos(np.clip((trace - 1.0) / 2.0, -1.0, 1.0)))
    if not return_aligned:
        return angle
    n2, s2 = np.broadcast_arrays(np.asarray(normal2, dtype=float), np.asarray(slip2, dtype=float))
    sign = np.where((best == 0) | (best == 2), 1.0, -1.0)[..., None]
    swap = (best >= 2)[..., None]
    return angle, sign * np.where(swap, s2, n2), sign * np.where(swap, n2, s2)


def kagan_angle(sdr1, sdr2) -> np.ndarray:
    """Kagan angle in degrees between mechanisms given as strike/dip/rake arrays (..., 3)."""
    a = np.asarray(sdr1, dtype=float)
    b = np.asarray(sdr2, dtype=float)
    n1, s1 = sdr_to_vectors(a[..., 0], a[..., 1], a[..., 2])
    n2, s2 = sdr_to_vectors(b[..., 0], b[..., 1], b[..., 2])
    return rotation_angle(n1, s1, n2, s2)


def flat_distance_azimuth(event_lat, event_lon, station_lat, station_lon):
    """Epicentral distance (km) and event-to-station azimuth (degrees 0-360), flat earth.

    HASH's formula in HASH's single precision: east = dlon * 111.2 * cos(event latitude),
    north = dlat * 111.2 km (broadcast)."""
    from .fortran import flat_distance_azimuth_f32  # numba, loaded on first use

    return flat_distance_azimuth_f32(event_lat, event_lon, station_lat, station_lon)
