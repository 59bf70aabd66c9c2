"""Far-field double-couple radiation (Aki & Richards 2002, sections 4.2-4.3).

Coordinates: x north, y east, z down. A ray leaving the source has take-off angle ``i`` measured
from the downward vertical (0 down, 90 horizontal, 180 up) and azimuth ``az`` clockwise from
north, so its unit direction is (sin i cos az, sin i sin az, cos i). Strike, dip and rake follow
Aki & Richards (strike clockwise from north with the fault dipping to its right; rake the slip
direction of the hanging wall, measured in the fault plane from the strike direction).

For fault normal n and slip d, the far-field P amplitude along the ray g is 2 (g.n)(g.d)
(positive: compression, first motion away from the source, i.e. up at the surface) and the S
displacement vector is (g.n) d + (g.d) n - 2 (g.n)(g.d) g (perpendicular to g).
All angles in degrees.
"""
from __future__ import annotations

import numpy as np


def fault_vectors(strike_deg: float, dip_deg: float, rake_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit fault normal (pointing into the hanging wall, i.e. upward) and slip vector (x N, y E, z down)."""
    phi, delta, lam = np.radians([strike_deg, dip_deg, rake_deg])
    normal = np.array([-np.sin(delta) * np.sin(phi), np.sin(delta) * np.cos(phi), -np.cos(delta)])
    slip = np.array([np.cos(lam) * np.cos(phi) + np.cos(delta) * np.sin(lam) * np.sin(phi),
                     np.cos(lam) * np.sin(phi) - np.cos(delta) * np.sin(lam) * np.cos(phi),
                     -np.sin(lam) * np.sin(delta)])
    return normal, slip


def ray_direction(takeoff_deg, azimuth_deg) -> np.ndarray:
    """Unit ray vector(s) at the source, shape (..., 3); take-off from the downward vertical."""
    i, az = np.radians(takeoff_deg), np.radians(azimuth_deg)
    return np.stack([np.sin(i) * np.cos(az), np.sin(i) * np.sin(az), np.cos(i)], axis=-1)


def radiation(strike_deg: float, dip_deg: float, rake_deg: float, takeoff_deg, azimuth_deg):
    """P, SV and SH radiation coefficients of a double couple along the given rays.

    Returns ``(p, sv, sh)`` arrays. ``p`` > 0 is compression (up first motion). ``sv`` is the
    S component along the direction of increasing take-off angle, ``sh`` along
    (-sin az, cos az, 0), i.e. horizontal and 90 degrees clockwise from the ray azimuth.
    ``sqrt(sv**2 + sh**2)`` is the total S radiation; all three are within [-1, 1].
    """
    normal, slip = fault_vectors(strike_deg, dip_deg, rake_deg)
    g = ray_direction(takeoff_deg, azimuth_deg)
    gn, gd = g @ normal, g @ slip
    p = 2.0 * gn * gd
    s_vec = gn[..., None] * slip + gd[..., None] * normal - p[..., None] * g
    i, az = np.radians(takeoff_deg), np.radians(azimuth_deg)
    e_sv = np.stack([np.cos(i) * np.cos(az), np.cos(i) * np.sin(az), -np.sin(i)], axis=-1)
    e_sh = np.stack([-np.sin(az), np.cos(az), np.zeros_like(az)], axis=-1)
    return p, np.sum(s_vec * e_sv, axis=-1), np.sum(s_vec * e_sh, axis=-1)


def auxiliary_plane(strike_deg: float, dip_deg: float, rake_deg: float) -> tuple[float, float, float]:
    """Strike, dip, rake of the other nodal plane (normal and slip exchanged)."""
    normal, slip = fault_vectors(strike_deg, dip_deg, rake_deg)
    return _plane_from_vectors(slip, normal)


def _plane_from_vectors(normal: np.ndarray, slip: np.ndarray) -> tuple[float, float, float]:
    if normal[2] > 0:  # make the normal point up, into the hanging wall
        normal, slip = -normal, -slip
    dip = np.degrees(np.arccos(np.clip(-normal[2], -1, 1)))
    strike = np.degrees(np.arctan2(-normal[0], normal[1])) % 360.0
    strike_vec = np.array([np.cos(np.radians(strike)), np.sin(np.radians(strike)), 0.0])
    up_dip = np.cross(normal, strike_vec)  # in-plane, 90 degrees from strike towards the hanging wall side
    rake = np.degrees(np.arctan2(slip @ up_dip, slip @ strike_vec))
    return float(strike), float(dip), float(rake)
