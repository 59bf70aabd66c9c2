"""Faulting classes of focal mechanisms after Frohlich (1992), and his ternary diagram.

A mechanism is classified by the plunges of its P, T and B axes (degrees below horizontal):

- ``strike-slip``: B plunge > 60°
- ``reverse``:     T plunge > 50°
- ``normal``:      P plunge > 60°
- ``oblique``:     none of these (Frohlich's "odd" mechanisms)

The three plunges of orthogonal axes satisfy sin²δP + sin²δT + sin²δB = 1, so at most one
condition holds. Frohlich, C. (1992), Triangle diagrams: ternary graphs to display similarity
and diversity of earthquake focal mechanisms, Phys. Earth Planet. Inter. 75, 193–198.

>>> classify_plunges(10.0, 5.0, 78.0)
array(['strike-slip'], dtype='<U11')
"""
from __future__ import annotations

import numpy as np

from hash_core.geometry import axis_trend_plunge, pbt_axes, sdr_to_vectors

STRIKE_SLIP, REVERSE, NORMAL, OBLIQUE = "strike-slip", "reverse", "normal", "oblique"
FAULTING_CLASSES = (NORMAL, REVERSE, STRIKE_SLIP, OBLIQUE)
CLASS_COLORS = {NORMAL: "#2166ac", REVERSE: "#b2182b", STRIKE_SLIP: "#1b7837",
                OBLIQUE: "#8c8c8c"}

# Frohlich's limits on the plunges, degrees.
MIN_B_PLUNGE_STRIKE_SLIP_DEG = 60.0
MIN_T_PLUNGE_REVERSE_DEG = 50.0
MIN_P_PLUNGE_NORMAL_DEG = 60.0

_CENTRE_DEG = np.degrees(np.arctan(1.0 / np.sqrt(2.0)))  # 35.26°: plunge of the diagram centre


def mechanism_axes(strike_deg, dip_deg, rake_deg) -> dict[str, np.ndarray]:
    """Trend and plunge (degrees) of the P, T and B axes, each plunging downwards (0–90°).

    Returns a dict with keys ``p_trend``, ``p_plunge``, ``t_trend``, ``t_plunge``, ``b_trend``,
    ``b_plunge``; arrays of the broadcast input shape (1-D).
    """
    strike, dip, rake = (np.atleast_1d(np.asarray(a, dtype=float)) for a in
                         (strike_deg, dip_deg, rake_deg))
    normal, slip = sdr_to_vectors(strike, dip, rake)
    axes = dict(zip("ptb", pbt_axes(normal, slip)))
    out = {}
    for name, vectors in axes.items():
        trend, plunge = axis_trend_plunge(vectors)
        out[f"{name}_trend"] = np.atleast_1d(np.asarray(trend, dtype=float))
        out[f"{name}_plunge"] = np.atleast_1d(np.asarray(plunge, dtype=float))
    return out


def classify_plunges(p_plunge_deg, t_plunge_deg, b_plunge_deg) -> np.ndarray:
    """Frohlich class name of each mechanism from its P, T, B plunges (degrees)."""
    p, t, b = (np.abs(np.atleast_1d(np.asarray(a, dtype=float))) for a in
               (p_plunge_deg, t_plunge_deg, b_plunge_deg))
    classes = np.full(np.broadcast(p, t, b).shape, OBLIQUE, dtype="<U11")
    classes[b > MIN_B_PLUNGE_STRIKE_SLIP_DEG] = STRIKE_SLIP
    classes[t > MIN_T_PLUNGE_REVERSE_DEG] = REVERSE
    classes[p > MIN_P_PLUNGE_NORMAL_DEG] = NORMAL
    return classes


def classify_mechanisms(strike_deg, dip_deg, rake_deg) -> np.ndarray:
    """Frohlich class name (normal, reverse, strike-slip, oblique) of each mechanism.

    Angles in degrees (Aki & Richards convention); NaN input gives an empty string.
    """
    strike, dip, rake = (np.atleast_1d(np.asarray(a, dtype=float)) for a in
                         (strike_deg, dip_deg, rake_deg))
    valid = np.isfinite(strike) & np.isfinite(dip) & np.isfinite(rake)
    classes = np.full(strike.shape, "", dtype="<U11")
    if valid.any():
        axes = mechanism_axes(strike[valid], dip[valid], rake[valid])
        classes[valid] = classify_plunges(axes["p_plunge"], axes["t_plunge"], axes["b_plunge"])
    return classes


def ternary_xy(p_plunge_deg, t_plunge_deg, b_plunge_deg) -> tuple[np.ndarray, np.ndarray]:
    """Position in Frohlich's triangle (gnomonic projection), strike-slip apex at the top.

    Vertices: strike-slip (0, √2), reverse (√1.5, −√0.5), normal (−√1.5, −√0.5).
    """
    p, t, b = (np.radians(np.abs(np.atleast_1d(np.asarray(a, dtype=float)))) for a in
               (p_plunge_deg, t_plunge_deg, b_plunge_deg))
    psi = np.arctan2(np.sin(t), np.sin(p)) - np.pi / 4
    c = np.radians(_CENTRE_DEG)
    denom = np.sin(c) * np.sin(b) + np.cos(c) * np.cos(b) * np.cos(psi)
    x = np.cos(b) * np.sin(psi) / denom
    y = (np.cos(c) * np.sin(b) - np.sin(c) * np.cos(b) * np.cos(psi)) / denom
    return x, y


def class_boundaries(n: int = 60) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The limits of the three pure classes as curves in :func:`ternary_xy` coordinates."""
    phi = np.linspace(0.0, np.pi / 2, n)
    curves = {}
    for name, limit in ((STRIKE_SLIP, MIN_B_PLUNGE_STRIKE_SLIP_DEG),
                        (REVERSE, MIN_T_PLUNGE_REVERSE_DEG), (NORMAL, MIN_P_PLUNGE_NORMAL_DEG)):
        fixed = np.sin(np.radians(limit))
        rest = np.sqrt(1.0 - fixed ** 2)
        a = np.degrees(np.arcsin(rest * np.sin(phi)))
        o = np.degrees(np.arcsin(rest * np.cos(phi)))
        lim = np.full(n, limit)
        plunges = {STRIKE_SLIP: (o, a, lim), REVERSE: (o, lim, a), NORMAL: (lim, a, o)}[name]
        curves[name] = ternary_xy(*plunges)
    return curves
