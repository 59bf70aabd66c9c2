"""From the set of acceptable mechanisms to graded solutions (MECH_AVG, MECH_PROB, GET_MISF,
GET_MISF_AMP, GET_GAP and the quality grades of HASH v1.2).

Mechanisms are (n, 3) arrays of unit fault normals and slips (x north, y east, z down); rays
are (n obs, 3) unit vectors of the unperturbed trial; angles in degrees.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .geometry import sdr_to_vectors, vectors_to_sdr
from .search import predicted_log_sp


@njit(cache=True)
def _best_form(rn, rs, rb, n, s, b):
    """Which form of mechanism (n, s, null b) is closest to (rn, rs, rb): 0 (n, s), 1 (-n, -s),
    2 (s, n), 3 (-s, -n), and the trace of that rotation. Frames (n, s, n x s): the trace is
    the sum of the dot products of matching axes; the null axis flips for the swapped forms."""
    nn = rn[0] * n[0] + rn[1] * n[1] + rn[2] * n[2]
    ss = rs[0] * s[0] + rs[1] * s[1] + rs[2] * s[2]
    ns = rn[0] * s[0] + rn[1] * s[1] + rn[2] * s[2]
    sn = rs[0] * n[0] + rs[1] * n[1] + rs[2] * n[2]
    bb = rb[0] * b[0] + rb[1] * b[1] + rb[2] * b[2]
    best, trace = 0, nn + ss + bb
    if -nn - ss + bb > trace:
        best, trace = 1, -nn - ss + bb
    if ns + sn - bb > trace:
        best, trace = 2, ns + sn - bb
    if -ns - sn - bb > trace:
        best, trace = 3, -ns - sn - bb
    return best, trace


@njit(cache=True)
def _angle_deg(trace):
    return np.degrees(np.arccos(min(1.0, max(-1.0, (trace - 1.0) / 2.0))))


@njit(cache=True)
def _cross(a, b):
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


@njit(cache=True)
def _add_aligned(normals, slips, nulls, r, k, weight, sum_n, sum_s):
    """Add ``weight`` times mechanism k, in its form closest to mechanism r, to the sums."""
    form, _ = _best_form(normals[r], slips[r], nulls[r], normals[k], slips[k], nulls[k])
    sign = weight if form == 0 or form == 2 else -weight
    if form < 2:
        sum_n += sign * normals[k]
        sum_s += sign * slips[k]
    else:
        sum_n += sign * slips[k]
        sum_s += sign * normals[k]


@njit(cache=True)
def _orthonormal_average(sum_n, sum_s):
    """Normalise the sums, then turn both by the same angle in their plane until orthogonal."""
    n = sum_n / np.sqrt(np.sum(sum_n ** 2))
    s = sum_s / np.sqrt(np.sum(sum_s ** 2))
    bisector = (n + s) / np.sqrt(np.sum((n + s) ** 2))
    across = (n - s) / np.sqrt(np.sum((n - s) ** 2))
    return (bisector + across) / np.sqrt(2.0), (bisector - across) / np.sqrt(2.0)


@njit(cache=True)
def _aligned_sums(normals, slips, nulls, members):
    """Sums of the normals and slips of ``members``, each aligned to the first (MECH_AVG)."""
    sum_n = np.zeros(3)
    sum_s = np.zeros(3)
    for k in members:
        _add_aligned(normals, slips, nulls, members[0], k, 1.0, sum_n, sum_s)
    return sum_n, sum_s


@njit(cache=True, nogil=True)  # lets events run concurrently in threads
def _split_cluster(normals, slips, nulls, members, cangle_deg):
    """Remove the mechanism farthest from the average while that rotation exceeds cangle.

    HASH keeps the running maximum rotation in an INTEGER variable: a later mechanism whose
    real rotation exceeds the truncated maximum replaces an earlier one (ties go to the last),
    and removal stops when the truncated maximum is <= cangle. Returns (kept, removed), both in
    order (removed in order of removal), and the final average normal and slip.
    """
    kept = members.copy()
    n_kept = kept.size
    removed = np.empty(members.size, np.int64)
    n_removed = 0
    sum_n, sum_s = _aligned_sums(normals, slips, nulls, kept)
    while True:
        avg_n, avg_s = _orthonormal_average(sum_n, sum_s)
        avg_b = _cross(avg_n, avg_s)
        worst = -1
        max_rotation = 0
        for k in range(n_kept):
            j = kept[k]
            _, trace = _best_form(avg_n, avg_s, avg_b, normals[j], slips[j], nulls[j])
            rotation = _angle_deg(trace)
            if rotation > max_rotation:
                max_rotation = int(rotation)
                worst = k
        if n_kept <= 1 or max_rotation <= cangle_deg:
            break
        gone = kept[worst]
        removed[n_removed] = gone
        n_removed += 1
        kept[worst:n_kept - 1] = kept[worst + 1:n_kept].copy()
        n_kept -= 1
        if worst == 0:  # the alignment reference left: realign to the new first
            sum_n, sum_s = _aligned_sums(normals, slips, nulls, kept[:n_kept])
        else:
            _add_aligned(normals, slips, nulls, kept[0], gone, -1.0, sum_n, sum_s)
    return kept[:n_kept], removed[:n_removed], avg_n, avg_s


@njit(cache=True, nogil=True)  # lets events run concurrently in threads
def _rms_angles(normals, slips, nulls, members, avg_n, avg_s):
    """RMS angles (degrees) between the aligned normals (slips) of ``members`` and the average."""
    avg_b = _cross(avg_n, avg_s)
    sum_n = 0.0
    sum_s = 0.0
    for k in members:
        form, _ = _best_form(avg_n, avg_s, avg_b, normals[k], slips[k], nulls[k])
        sign = 1.0 if form == 0 or form == 2 else -1.0
        n, s = (normals[k], slips[k]) if form < 2 else (slips[k], normals[k])
        dn = min(1.0, max(-1.0, sign * (n[0] * avg_n[0] + n[1] * avg_n[1] + n[2] * avg_n[2])))
        ds = min(1.0, max(-1.0, sign * (s[0] * avg_s[0] + s[1] * avg_s[1] + s[2] * avg_s[2])))
        sum_n += np.degrees(np.arccos(dn)) ** 2
        sum_s += np.degrees(np.arccos(ds)) ** 2
    return np.sqrt(sum_n / members.size), np.sqrt(sum_s / members.size)


def mech_average(normals, slips) -> tuple[np.ndarray, np.ndarray]:
    """Average mechanism of a set (HASH's MECH_AVG): each mechanism is put in the form closest
    to the first, normals and slips are summed and normalised, then made orthogonal."""
    normals = np.ascontiguousarray(normals, dtype=float)
    slips = np.ascontiguousarray(slips, dtype=float)
    sum_n, sum_s = _aligned_sums(normals, slips, np.cross(normals, slips),
                                 np.arange(len(normals)))
    return _orthonormal_average(sum_n, sum_s)


@dataclass(frozen=True)
class Cluster:
    """One solution of MECH_PROB: its average mechanism, probability, RMS uncertainties of the
    fault and auxiliary planes (degrees) and the indices of its mechanisms in the input set."""

    normal: np.ndarray
    slip: np.ndarray
    prob: float
    fault_uncertainty_deg: float
    aux_uncertainty_deg: float
    members: np.ndarray


def mech_probability(normals, slips, cangle_deg: float, prob_max: float,
                     max_solutions: int) -> list[Cluster]:
    """Split acceptable mechanisms into up to ``max_solutions`` solutions (HASH's MECH_PROB).

    For each solution the set is averaged and the mechanism farthest from the average removed
    while that (integer-truncated) rotation exceeds ``cangle_deg``; prob = kept / total. The
    removed mechanisms form the next solution's set; a second or later solution with
    prob < ``prob_max`` ends the list. Uncertainties are the RMS angles between the aligned
    normals (slips) of ALL mechanisms of the solution's starting set (outliers included) and
    the average normal (slip).
    """
    normals = np.ascontiguousarray(normals, dtype=float)
    slips = np.ascontiguousarray(slips, dtype=float)
    nulls = np.cross(normals, slips)
    total = len(normals)
    remaining = np.arange(total)
    clusters: list[Cluster] = []
    while remaining.size and len(clusters) < max_solutions:
        kept, removed, avg_n, avg_s = _split_cluster(normals, slips, nulls, remaining, float(cangle_deg))
        prob = kept.size / total
        if clusters and prob < prob_max:
            break
        rms_fault, rms_aux = _rms_angles(normals, slips, nulls, remaining, avg_n, avg_s)
        clusters.append(Cluster(avg_n, avg_s, prob, float(rms_fault), float(rms_aux), kept))
        remaining = removed
    return clusters


def p_radiation(rays, normal, slip) -> np.ndarray:
    """P-wave radiation a^T M a = 2 (a.n)(a.s) = sin 2theta cos phi along unit rays (..., 3)."""
    rays = np.asarray(rays, dtype=float)
    return 2.0 * (rays @ np.asarray(normal, dtype=float)) * (rays @ np.asarray(slip, dtype=float))


def hash_v12_weight_mechanism(normal, slip) -> tuple[np.ndarray, np.ndarray]:
    """The mechanism whose radiation HASH v1.2 uses to weight its misfits.

    HASH v1.2's GET_MISF and GET_MISF_AMP convert the mechanism's strike, dip and rake to
    radians and then pass them to FPCOOR, which expects degrees: the weights (and, in
    GET_MISF_AMP, the predicted S/P ratios) come from a mechanism with those angles divided by
    57.3. The predicted polarities use the right mechanism. Reproducing this is what makes
    HASH's misfit, station distribution ratio and quality letters come out the same.
    """
    strike, dip, rake = vectors_to_sdr(np.asarray(normal, dtype=float), np.asarray(slip, dtype=float))
    normal_w, slip_w = sdr_to_vectors(np.radians(strike), np.radians(dip), np.radians(rake))
    return np.asarray(normal_w, dtype=float).reshape(3), np.asarray(slip_w, dtype=float).reshape(3)


def polarity_misfit(rays, polarity, impulsive, normal, slip, weight_mechanism=None):
    """HASH's GET_MISF: weighted misfit fraction and station distribution ratio.

    Predicted polarity = sign of the P radiation (0 counts as up); weight wt = sqrt(|radiation|),
    wo = 1 for impulsive, 0.5 for emergent picks. mfrac = sum(wt*wo over misfits) / sum(wt*wo);
    stdr = sum(wt*wo) / sum(wo). ``weight_mechanism`` (normal, slip), when given, is the
    mechanism whose radiation gives wt (see :func:`hash_v12_weight_mechanism`).
    Returns (mfrac, stdr, predicted polarity (+1/-1) per row).
    """
    radiation = p_radiation(rays, normal, slip)
    predicted = np.where(radiation >= 0.0, 1, -1)
    weighting = radiation if weight_mechanism is None else p_radiation(rays, *weight_mechanism)
    wt = np.sqrt(np.abs(weighting))
    wo = np.where(np.asarray(impulsive, dtype=bool), 1.0, 0.5)
    weight = wt * wo
    misfit = predicted != np.sign(np.asarray(polarity))
    total = weight.sum()
    mfrac = float(weight[misfit].sum() / total) if total > 0 else 0.0
    stdr = float(total / wo.sum()) if wo.sum() > 0 else 0.0
    return mfrac, stdr, predicted


def polarity_sp_misfit(rays, polarity, sp_log10, normal, slip, weight_mechanism=None):
    """HASH's GET_MISF_AMP: polarity misfit, mean S/P misfit and station distribution ratio.

    Rows with polarity 0 are S/P rows. Without the impulsive/emergent weights: mfrac =
    sum(wt over misfit polarities) / sum(wt over polarities); mavg = mean |observed - predicted
    log10 S/P|; stdr = mean wt over all rows. ``weight_mechanism``, when given, gives wt and
    the predicted S/P ratios (HASH v1.2's behaviour, :func:`hash_v12_weight_mechanism`).
    Returns (mfrac, mavg, stdr, predicted polarity).
    """
    polarity = np.asarray(polarity)
    radiation = p_radiation(rays, normal, slip)
    predicted = np.where(radiation >= 0.0, 1, -1)
    amplitude_mechanism = (normal, slip) if weight_mechanism is None else weight_mechanism
    wt = np.sqrt(np.abs(p_radiation(rays, *amplitude_mechanism)))
    is_pol = polarity != 0
    misfit = is_pol & (predicted != np.sign(polarity))
    pol_weight = wt[is_pol].sum()
    mfrac = float(wt[misfit].sum() / pol_weight) if pol_weight > 0 else 0.0
    sp_rows = ~is_pol
    if sp_rows.any():
        predicted_sp = predicted_log_sp(np.asarray(rays)[sp_rows], *amplitude_mechanism)
        mavg = float(np.mean(np.abs(np.asarray(sp_log10)[sp_rows] - predicted_sp)))
    else:
        mavg = 0.0
    stdr = float(wt.mean()) if wt.size else 0.0
    return mfrac, mavg, stdr, np.where(is_pol, predicted, 0)


def azimuth_takeoff_gaps(takeoff_deg, azimuth_deg) -> tuple[int, int]:
    """HASH's GET_GAP: largest azimuthal gap and largest take-off gap (degrees, truncated).

    Down-going rays are folded up (t -> 180 - t, azimuth + 180). The take-off gap is the largest
    of the steps between sorted take-offs, the smallest take-off and 90 minus the largest.
    """
    t = np.asarray(takeoff_deg, dtype=float)
    az = np.asarray(azimuth_deg, dtype=float)
    if t.size == 0:
        return 360, 90
    down = t > 90.0
    t = np.where(down, 180.0 - t, t)
    az = np.mod(np.where(down, az - 180.0, az), 360.0)
    az = np.sort(az)
    az_steps = np.append(np.diff(az), az[0] + 360.0 - az[-1])
    t = np.sort(t)
    t_steps = np.concatenate([np.diff(t), [t[0], 90.0 - t[-1]]])
    return int(az_steps.max()), int(t_steps.max())


def quality_grade(prob: float, fault_uncertainty_deg: float, aux_uncertainty_deg: float,
                  mfrac: float, stdr: float, azimuth_gap_deg: float, takeoff_gap_deg: float,
                  npol: int, npolmin: int, max_agap_deg: float, max_pgap_deg: float,
                  with_sp: bool) -> str:
    """HASH's quality letter.

    F: fewer than ``npolmin`` polarities. E (polarity-only runs): azimuthal gap > max_agap or
    take-off gap > max_pgap. A: prob > 0.8, mean RMS uncertainty <= 25, mfrac <= 0.15,
    stdr >= 0.5; B: > 0.6, <= 35, <= 0.20, >= 0.4; C: > 0.5, <= 45, <= 0.30, >= 0.3; else D.
    With S/P ratios (HASH driver 3) only prob and uncertainty are tested.
    """
    if npol < npolmin:
        return "F"
    if not with_sp and (azimuth_gap_deg > max_agap_deg or takeoff_gap_deg > max_pgap_deg):
        return "E"
    uncertainty = (fault_uncertainty_deg + aux_uncertainty_deg) / 2.0
    for letter, p_min, u_max, m_max, s_min in (("A", 0.8, 25.0, 0.15, 0.5),
                                               ("B", 0.6, 35.0, 0.20, 0.4),
                                               ("C", 0.5, 45.0, 0.30, 0.3)):
        if prob > p_min and uncertainty <= u_max and (with_sp or (mfrac <= m_max and stdr >= s_min)):
            return letter
    return "D"
