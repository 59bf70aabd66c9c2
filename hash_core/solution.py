"""From the set of acceptable mechanisms to graded solutions (MECH_AVG, MECH_PROB, GET_MISF,
GET_MISF_AMP, GET_GAP and the quality grades of HASH v1.2).

Mechanisms are (n, 3) arrays of unit fault normals and slips (x north, y east, z down); rays
are (n obs, 3) unit vectors of the unperturbed trial; angles in degrees.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from .fortran import misfit_allowances, sp_allowances
from .geometry import sdr_to_vectors, vectors_to_sdr
from .search import _sum_weighted_misfits, predicted_log_sp, sp_sum_misfits


_F = np.float32
_PI = _F(3.1415927)
_DEGRAD = _F(180.0) / _PI


# Vectors inside the kernels below are tuples of three float32 (no allocation in the inner
# loops: HASH's removal loop calls MECH_ROT about 3 n times per removal); the operations and
# their order are HASH's, in single precision.
@njit(cache=True, nogil=True, error_model="numpy")
def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@njit(cache=True, nogil=True, error_model="numpy")
def _row(vectors, k):
    return (vectors[k, 0], vectors[k, 1], vectors[k, 2])


@njit(cache=True, nogil=True, error_model="numpy")
def _scaled(v, factor):
    return (v[0] * factor, v[1] * factor, v[2] * factor)


@njit(cache=True, nogil=True, error_model="numpy")
def _unit_difference(a, b):
    """(a - b) / |a - b| and |a - b|."""
    d = (a[0] - b[0], a[1] - b[1], a[2] - b[2])
    scale = math.sqrt(_dot(d, d))
    return (d[0] / scale, d[1] / scale, d[2] / scale), scale


@njit(cache=True, nogil=True, error_model="numpy")
def _pick(values, i):
    return values[0] if i == 0 else (values[1] if i == 1 else values[2])


@njit(cache=True, nogil=True, error_model="numpy")
def _rotation_of_form(norm1, slip1, b1, n2, s2, clamp):
    """MECH_ROT's rotation angle (degrees) from (norm1, slip1) to one form (n2, s2); NaN when a
    dot product leaves [-1, 1] by rounding (HASH then never picks that form), unless ``clamp``
    (SKHASH clamps the dot products)."""
    b2 = _cross(n2, s2)
    d0 = _dot(norm1, n2)
    d1 = _dot(slip1, s2)
    d2 = _dot(b1, b2)
    if clamp:
        d0 = min(max(d0, _F(-1.0)), _F(1.0))
        d1 = min(max(d1, _F(-1.0)), _F(1.0))
        d2 = min(max(d2, _F(-1.0)), _F(1.0))
    phi = (math.acos(d0), math.acos(d1), math.acos(d2))
    tiny = _F(1e-4)
    if phi[0] < tiny and phi[1] < tiny and phi[2] < tiny:
        return _F(0.0)
    if phi[0] < tiny:
        return _DEGRAD * phi[1]
    if phi[1] < tiny:
        return _DEGRAD * phi[2]
    if phi[2] < tiny:
        return _DEGRAD * phi[0]
    # the rotation axis is orthogonal to the three difference vectors: use the two largest
    # (unless two are parallel)
    x0, scale0 = _unit_difference(norm1, n2)
    x1, scale1 = _unit_difference(slip1, s2)
    x2, scale2 = _unit_difference(b1, b2)
    qdot = (_dot(x1, x2), _dot(x0, x2), _dot(x0, x1))
    iout = -1
    for i in range(3):
        if _pick(qdot, i) > _F(0.9999):
            iout = i
    if iout == -1:
        scales = (scale0, scale1, scale2)
        smallest = _F(10000.0)
        for i in range(3):
            if _pick(scales, i) < smallest:
                smallest = _pick(scales, i)
                iout = i
    diffs = (x0, x1, x2)
    first = 0 if iout != 0 else 1
    second = 2 if iout != 2 else 1
    axis = _cross(_pick(diffs, first), _pick(diffs, second))
    length = math.sqrt(_dot(axis, axis))
    axis = (axis[0] / length, axis[1] / length, axis[2] / length)
    theta = (math.acos(_dot(norm1, axis)), math.acos(_dot(slip1, axis)),
             math.acos(_dot(b1, axis)))
    use = 0
    closest = _F(1000.0)
    for i in range(3):
        if abs(_pick(theta, i) - _PI / _F(2.0)) < closest:
            closest = abs(_pick(theta, i) - _PI / _F(2.0))
            use = i
    t = _pick(theta, use)
    value = (math.cos(_pick(phi, use)) - math.cos(t) * math.cos(t)) / (math.sin(t) * math.sin(t))
    value = min(max(value, _F(-1.0)), _F(1.0))
    return _DEGRAD * math.acos(value)


@njit(cache=True, nogil=True, error_model="numpy")
def _mech_rot(norm1, slip1, norm2, slip2, clamp=False):
    """HASH's MECH_ROT: the smallest rotation (degrees) from (norm1, slip1) to mechanism 2 tried
    as (n, s), (-n, -s), (s, n), (-s, -n); returns it and mechanism 2 in that form. ``clamp``:
    dot products clamped to [-1, 1] first (SKHASH; HASH gets NaN for a form, and 180 degrees
    when rounding puts every form out of range, e.g. for two identical mechanisms)."""
    b1 = _cross(norm1, slip1)
    best = _F(180.0)
    form = -1
    for k in range(4):
        sign = _F(-1.0) if k == 1 or k == 3 else _F(1.0)
        n2 = _scaled(slip2 if k >= 2 else norm2, sign)
        s2 = _scaled(norm2 if k >= 2 else slip2, sign)
        rotation = abs(_rotation_of_form(norm1, slip1, b1, n2, s2, clamp))
        if rotation < best:
            best = rotation
            form = k
    sign = _F(-1.0) if form == 1 or form == 3 else _F(1.0)
    if form >= 2:
        return best, _scaled(slip2, sign), _scaled(norm2, sign)
    return best, _scaled(norm2, sign), _scaled(slip2, sign)


#: Degrees between the nearest form of a mechanism and the next, or a threshold, below which
#: :func:`_mech_rot_fast` computes HASH's rotations exactly (far above the error of HASH's
#: formula where :func:`_form_is_plain` holds, under 0.1 degree).
_MARGIN = 0.5


@njit(cache=True, nogil=True, error_model="numpy")
def _unit_diff64(a, b):
    d = (a[0] - b[0], a[1] - b[1], a[2] - b[2])
    scale = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    if scale == 0.0:
        return d, scale
    return (d[0] / scale, d[1] / scale, d[2] / scale), scale


@njit(cache=True, nogil=True, error_model="numpy")
def _form_is_plain(n1, s1, b1, n2, s2, b2):
    """Whether HASH's MECH_ROT formula gives the true rotation angle (to float32 rounding) for
    the form (n2, s2, b2) of a mechanism, float64 vectors: no vector pair nearly parallel (its
    NaN cases) or nearly identical (its shortcuts), no near-tie in the choice of the two
    difference vectors it crosses, and those two far from parallel (else its rotation axis,
    and the angle, can be far off)."""
    x0, scale0 = _unit_diff64(n1, n2)
    x1, scale1 = _unit_diff64(s1, s2)
    x2, scale2 = _unit_diff64(b1, b2)
    if min(scale0, scale1, scale2) < 0.02:   # within about 1 degree: shortcuts, NaN, noise
        return False
    qdot = (_dot(x1, x2), _dot(x0, x2), _dot(x0, x1))
    iout = -1
    for i in range(3):
        q = _pick(qdot, i)
        if abs(q - 0.9999) < 1e-3:
            return False
        if q > 0.9999:
            iout = i
    if iout == -1:
        scales = (scale0, scale1, scale2)
        iout = 0
        for i in range(1, 3):
            if _pick(scales, i) < _pick(scales, iout):
                iout = i
        for i in range(3):
            if i != iout and _pick(scales, i) - _pick(scales, iout) < 1e-3:
                return False
    diffs = (x0, x1, x2)
    axis = _cross(_pick(diffs, 0 if iout != 0 else 1), _pick(diffs, 2 if iout != 2 else 1))
    return _dot(axis, axis) > 0.01


@njit(cache=True, nogil=True, error_model="numpy")
def _mech_rot_fast(norm1, slip1, b1, norm2, slip2, clamp, lower, upper):
    """:func:`_mech_rot` with HASH's result, computing its rotations only where they matter.

    (norm1, slip1) may be a few degrees off orthogonal (the margins widen by 5 times that; more
    than 5 degrees: the full MECH_ROT runs). The four forms' true rotation angles follow from
    traces of the frame products (dot
    products, float64); where :func:`_form_is_plain`, HASH's formula gives them to within
    float32 rounding, elsewhere it is computed. The form HASH picks is then the one nearest in
    angle unless another is within ``_MARGIN`` (then the full MECH_ROT runs). The returned
    rotation is HASH's exact value where it lies in [lower - _MARGIN, upper + _MARGIN] (where
    the caller's comparison could go either way), else the true angle, on the same side of the
    caller's threshold. Returns (rotation, n2, s2) as :func:`_mech_rot`."""
    n1 = (np.float64(norm1[0]), np.float64(norm1[1]), np.float64(norm1[2]))
    s1 = (np.float64(slip1[0]), np.float64(slip1[1]), np.float64(slip1[2]))
    # (norm1, slip1) may be off orthogonal by skew degrees (MECH_AVG's normalised sums before
    # it makes them orthogonal): HASH's formula then departs from the trace angles by about
    # that much, and the margins widen with it
    skew = math.degrees(abs(math.asin(min(1.0, abs(n1[0] * s1[0] + n1[1] * s1[1]
                                                    + n1[2] * s1[2])))))
    if skew > 5.0:
        return _mech_rot(norm1, slip1, norm2, slip2, clamp)
    margin = _MARGIN + 5.0 * skew
    bb1 = (np.float64(b1[0]), np.float64(b1[1]), np.float64(b1[2]))
    best = -1
    best_angle = 1000.0
    second_angle = 1000.0
    best_exact = False
    for k in range(4):
        sign = -1.0 if k == 1 or k == 3 else 1.0
        a = slip2 if k >= 2 else norm2
        c = norm2 if k >= 2 else slip2
        n2 = (sign * np.float64(a[0]), sign * np.float64(a[1]), sign * np.float64(a[2]))
        s2 = (sign * np.float64(c[0]), sign * np.float64(c[1]), sign * np.float64(c[2]))
        b2 = (n2[1] * s2[2] - n2[2] * s2[1], n2[2] * s2[0] - n2[0] * s2[2],
              n2[0] * s2[1] - n2[1] * s2[0])
        trace = (n1[0] * n2[0] + n1[1] * n2[1] + n1[2] * n2[2]
                 + s1[0] * s2[0] + s1[1] * s2[1] + s1[2] * s2[2]
                 + bb1[0] * b2[0] + bb1[1] * b2[1] + bb1[2] * b2[2])
        exact = False
        if _form_is_plain(n1, s1, bb1, n2, s2, b2):
            angle = math.degrees(math.acos(min(1.0, max(-1.0, (trace - 1.0) / 2.0))))
        else:
            f32 = _F(sign)
            angle = np.float64(abs(_rotation_of_form(
                norm1, slip1, b1, _scaled(a, f32), _scaled(c, f32), clamp)))
            exact = True
            if not angle == angle:      # NaN: HASH never picks this form
                continue
        if angle < best_angle:
            second_angle = best_angle
            best, best_angle, best_exact = k, angle, exact
        elif angle < second_angle:
            second_angle = angle
    if best < 0 or second_angle - best_angle < margin or best_angle > 180.0 - margin:
        return _mech_rot(norm1, slip1, norm2, slip2, clamp)   # ties, or none below HASH's 180
    sign = _F(-1.0) if best == 1 or best == 3 else _F(1.0)
    if best >= 2:
        n2f, s2f = _scaled(slip2, sign), _scaled(norm2, sign)
    else:
        n2f, s2f = _scaled(norm2, sign), _scaled(slip2, sign)
    if best_exact or not (lower - margin <= best_angle <= upper + margin):
        return _F(best_angle), n2f, s2f
    return abs(_rotation_of_form(norm1, slip1, b1, n2f, s2f, clamp)), n2f, s2f


@njit(cache=True, nogil=True, error_model="numpy")
def _normalised(v):
    total = _F(0.0)
    total = total + v[0] * v[0]
    total = total + v[1] * v[1]
    total = total + v[2] * v[2]
    length = math.sqrt(total)
    return (v[0] / length, v[1] / length, v[2] / length)


@njit(cache=True, nogil=True, error_model="numpy")
def _form_of(n2, norm2, slip2):
    """Which form of (norm2, slip2) the vector n2 returned by MECH_ROT is: 0 (n, s),
    1 (-n, -s), 2 (s, n), 3 (-s, -n)."""
    if n2 == norm2:
        return 0
    if n2 == slip2:
        return 2
    return 1 if n2 == _scaled(norm2, _F(-1.0)) else 3


@njit(cache=True, nogil=True, error_model="numpy")
def _in_form(v_n, v_s, form):
    if form == 0:
        return v_n, v_s
    if form == 1:
        return _scaled(v_n, _F(-1.0)), _scaled(v_s, _F(-1.0))
    if form == 2:
        return v_s, v_n
    return _scaled(v_s, _F(-1.0)), _scaled(v_n, _F(-1.0))


@njit(cache=True, nogil=True, error_model="numpy")
def _forms_to_first(normals, slips, members, clamp, forms):
    """MECH_AVG's alignment: ``forms[k]`` the form of member k closest to the first."""
    ref_n, ref_s = _row(normals, members[0]), _row(slips, members[0])
    ref_b = _cross(ref_n, ref_s)
    forms[0] = 0
    for k in range(1, members.size):
        m_n, m_s = _row(normals, members[k]), _row(slips, members[k])
        _, n2, _ = _mech_rot_fast(ref_n, ref_s, ref_b, m_n, m_s, clamp, np.inf, np.inf)
        forms[k] = _form_of(n2, m_n, m_s)


@njit(cache=True, nogil=True, error_model="numpy")
def _mech_avg_t(normals, slips, members, clamp=False, forms=None):
    """HASH's MECH_AVG of ``members`` (in order): each in its form closest to the first, normals
    and slips summed and normalised, then turned towards orthogonal (the worse-constrained
    vector more) until within 0.01 degrees. Tuples in, tuples out. ``forms``: the members'
    forms relative to the first when known (:func:`_forms_to_first`)."""
    first = members[0]
    avg_n = _row(normals, first)
    avg_s = _row(slips, first)
    if members.size <= 1:
        return avg_n, avg_s
    if forms is None:
        forms = np.empty(members.size, np.int8)
        _forms_to_first(normals, slips, members, clamp, forms)
    for k in range(1, members.size):
        n2, s2 = _in_form(_row(normals, members[k]), _row(slips, members[k]), forms[k])
        avg_n = (avg_n[0] + n2[0], avg_n[1] + n2[1], avg_n[2] + n2[2])
        avg_s = (avg_s[0] + s2[0], avg_s[1] + s2[1], avg_s[2] + s2[2])
    avg_n = _normalised(avg_n)
    avg_s = _normalised(avg_s)
    spread_n = _F(0.0)
    spread_s = _F(0.0)
    avg_b = _cross(avg_n, avg_s)
    for k in range(members.size):
        _, n2, s2 = _mech_rot_fast(avg_n, avg_s, avg_b, _row(normals, members[k]),
                                   _row(slips, members[k]), clamp, np.inf, np.inf)
        a_n = math.acos(min(max(_dot(n2, avg_n), _F(-1.0)), _F(1.0)))
        a_s = math.acos(min(max(_dot(s2, avg_s), _F(-1.0)), _F(1.0)))
        spread_n = spread_n + a_n * a_n
        spread_s = spread_s + a_s * a_s
    spread_n = math.sqrt(spread_n / _F(members.size))
    spread_s = math.sqrt(spread_s / _F(members.size))
    if spread_n + spread_s < _F(0.0001):
        return avg_n, avg_s
    fract1 = spread_n / (spread_n + spread_s)
    for _ in range(100):
        misfit = _F(90.0) - math.acos(_dot(avg_n, avg_s)) * _DEGRAD
        if abs(misfit) <= _F(0.01):
            break
        theta1 = misfit * fract1 / _DEGRAD
        theta2 = misfit * (_F(1.0) - fract1) / _DEGRAD
        old_n = avg_n
        sin1 = math.sin(theta1)
        sin2 = math.sin(theta2)
        avg_n = _normalised((avg_n[0] - avg_s[0] * sin1, avg_n[1] - avg_s[1] * sin1,
                             avg_n[2] - avg_s[2] * sin1))
        avg_s = _normalised((avg_s[0] - old_n[0] * sin2, avg_s[1] - old_n[1] * sin2,
                             avg_s[2] - old_n[2] * sin2))
    return avg_n, avg_s


@njit(cache=True, nogil=True, error_model="numpy")
def _as_array(v):
    return np.array([v[0], v[1], v[2]], dtype=np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def _mech_avg(normals, slips, members, clamp=False):
    """:func:`_mech_avg_t` with arrays out."""
    avg_n, avg_s = _mech_avg_t(normals, slips, members, clamp)
    return _as_array(avg_n), _as_array(avg_s)


@njit(cache=True, nogil=True, error_model="numpy")
def _rms_to_average(normals, slips, avg_n, avg_s, clamp):
    """RMS angles (degrees) between ALL the mechanisms, each in its form closest to the
    average, and the average normal (slip)."""
    avg_n = (avg_n[0], avg_n[1], avg_n[2])
    avg_s = (avg_s[0], avg_s[1], avg_s[2])
    sum_n = _F(0.0)
    sum_s = _F(0.0)
    avg_b = _cross(avg_n, avg_s)
    for k in range(normals.shape[0]):
        _, n2, s2 = _mech_rot_fast(avg_n, avg_s, avg_b, _row(normals, k), _row(slips, k), clamp,
                                   np.inf, np.inf)
        a_n = math.acos(min(max(_dot(n2, avg_n), _F(-1.0)), _F(1.0)))
        a_s = math.acos(min(max(_dot(s2, avg_s), _F(-1.0)), _F(1.0)))
        sum_n = sum_n + a_n * a_n
        sum_s = sum_s + a_s * a_s
    n = _F(normals.shape[0])
    return _DEGRAD * math.sqrt(sum_n / n), _DEGRAD * math.sqrt(sum_s / n)


@njit(cache=True, nogil=True, error_model="numpy")
def _split_iterative(normals, slips, members, cangle):
    """HASH's removal loop: drop the mechanism farthest from the average while that rotation,
    truncated to an integer (HASH keeps it in an INTEGER), exceeds cangle; among equals the
    last one found goes. Returns (kept, removed in the order HASH leaves them: last removed
    first) and the final average."""
    kept = members.copy()
    n_kept = kept.size
    removed = np.empty(members.size, np.int64)
    n_removed = 0
    forms = np.empty(members.size, np.int8)      # relative to kept[0], kept up to date
    _forms_to_first(normals, slips, kept, False, forms)
    while True:
        avg_n, avg_s = _mech_avg_t(normals, slips, kept[:n_kept], False, forms[:n_kept])
        avg_b = _cross(avg_n, avg_s)
        worst = -1
        max_rotation = 0
        for k in range(n_kept):
            rotation, _, _ = _mech_rot_fast(avg_n, avg_s, avg_b, _row(normals, kept[k]),
                                            _row(slips, kept[k]), False, float(max_rotation),
                                            np.inf)
            if rotation > max_rotation:
                max_rotation = int(rotation)
                worst = k
        if worst < 0 or max_rotation <= cangle or n_kept <= 1:
            break
        removed[n_removed] = kept[worst]
        n_removed += 1
        kept[worst:n_kept - 1] = kept[worst + 1:n_kept].copy()
        forms[worst:n_kept - 1] = forms[worst + 1:n_kept].copy()
        n_kept -= 1
        if worst == 0 and n_kept > 0:       # a new first member: align to it
            _forms_to_first(normals, slips, kept[:n_kept], False, forms)
    return kept[:n_kept], removed[:n_removed][::-1].copy(), _as_array(avg_n), _as_array(avg_s)


@njit(cache=True, nogil=True, error_model="numpy")
def _split_within_cangle(normals, slips, members, cangle):
    """SKHASH's averaging: the average of the set, then of those within cangle of it, then of
    those within cangle of that (SKHASH's default; ``$iterative_avg`` selects HASH's); its
    rotations clamp their dot products."""
    avg_n, avg_s = _mech_avg_t(normals, slips, members, True)
    avg_b = _cross(avg_n, avg_s)
    near = np.zeros(members.size, np.bool_)
    for k in range(members.size):
        rotation, _, _ = _mech_rot_fast(avg_n, avg_s, avg_b, _row(normals, members[k]),
                                        _row(slips, members[k]), True, float(cangle),
                                        float(cangle))
        near[k] = rotation <= cangle
    if not near.any():
        return members[:0], members.copy(), _as_array(avg_n), _as_array(avg_s)
    avg_n, avg_s = _mech_avg_t(normals, slips, members[near], True)
    avg_b = _cross(avg_n, avg_s)
    for k in range(members.size):
        rotation, _, _ = _mech_rot_fast(avg_n, avg_s, avg_b, _row(normals, members[k]),
                                        _row(slips, members[k]), True, float(cangle),
                                        float(cangle))
        near[k] = rotation <= cangle
    if near.any():
        avg_n, avg_s = _mech_avg_t(normals, slips, members[near], True)
    return members[near], members[~near], _as_array(avg_n), _as_array(avg_s)


@njit(cache=True, nogil=True, error_model="numpy")
def _fpcoor(fnorm, slip):
    """HASH's FPCOOR (vectors to strike, dip, rake in degrees), single precision."""
    if _F(1.0) - abs(fnorm[2]) <= _F(1e-7):
        dip = _F(0.0)
        phi = math.atan2(-slip[0], slip[1])
        clam = math.cos(phi) * slip[0] + math.sin(phi) * slip[1]
        slam = math.sin(phi) * slip[0] - math.cos(phi) * slip[1]
        lam = math.atan2(slam, clam)
    else:
        phi = math.atan2(-fnorm[0], fnorm[1])
        a = math.sqrt(fnorm[0] * fnorm[0] + fnorm[1] * fnorm[1])
        dip = math.atan2(a, -fnorm[2])
        clam = math.cos(phi) * slip[0] + math.sin(phi) * slip[1]
        slam = -slip[2] / math.sin(dip)
        lam = math.atan2(slam, clam)
        if dip > _F(0.5) * _PI:
            dip = _PI - dip
            phi = phi + _PI
            lam = -lam
    strike = phi * _DEGRAD
    if strike < 0.0:
        strike = strike + _F(360.0)
    rake = lam * _DEGRAD
    if rake <= -180.0:
        rake = rake + _F(360.0)
    if rake > 180.0:
        rake = rake - _F(360.0)
    return strike, dip * _DEGRAD, rake


def hash_sdr(normal, slip) -> tuple[float, float, float]:
    """Strike, dip, rake (degrees) of one mechanism as HASH's FPCOOR computes them (single
    precision: HASH's integer output is the nearest integer of these)."""
    strike, dip, rake = _fpcoor(np.asarray(normal, dtype=np.float32),
                                np.asarray(slip, dtype=np.float32))
    return float(strike), float(dip), float(rake)


def mech_average(normals, slips) -> tuple[np.ndarray, np.ndarray]:
    """Average mechanism of a set (HASH's MECH_AVG, single precision): each mechanism in its
    form closest to the first, normals and slips summed and normalised, then made orthogonal
    to within 0.01 degrees."""
    normals = np.ascontiguousarray(normals, dtype=np.float32).reshape(-1, 3)
    slips = np.ascontiguousarray(slips, dtype=np.float32).reshape(-1, 3)
    avg_n, avg_s = _mech_avg(normals, slips, np.arange(len(normals)))
    return avg_n.astype(float), avg_s.astype(float)


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
                     max_solutions: int, iterative: bool = True) -> list[Cluster]:
    """Split acceptable mechanisms into up to ``max_solutions`` solutions (HASH's MECH_PROB,
    single precision).

    ``iterative`` (HASH): the set is averaged and the mechanism farthest from the average
    removed while that (integer-truncated) rotation exceeds ``cangle_deg``; else (SKHASH's
    default) the solution is the average of the mechanisms within cangle of the average of
    those within cangle of the set's average. prob = kept / total. The others form the next
    solution's set (HASH: last removed first); a second or later solution with prob <
    ``prob_max`` ends the list (SKHASH's list is then sorted by prob). Uncertainties are the RMS
    angles between the aligned normals (slips) of ALL the acceptable mechanisms and the
    solution's average normal (slip), as HASH computes them for every solution.
    """
    normals = np.ascontiguousarray(normals, dtype=np.float32).reshape(-1, 3)
    slips = np.ascontiguousarray(slips, dtype=np.float32).reshape(-1, 3)
    total = len(normals)
    if total == 0:
        return []
    if total == 1:
        return [Cluster(normals[0].astype(float), slips[0].astype(float), 1.0, 0.0, 0.0,
                        np.zeros(1, np.int64))]
    split = _split_iterative if iterative else _split_within_cangle
    remaining = np.arange(total)
    clusters: list[Cluster] = []
    while remaining.size and len(clusters) < max_solutions:
        kept, removed, avg_n, avg_s = split(normals, slips, remaining, np.float32(cangle_deg))
        prob = float(np.float32(kept.size) / np.float32(total))
        if kept.size == 0 or (clusters and prob < prob_max):
            break
        rms_fault, rms_aux = _rms_to_average(normals, slips, avg_n, avg_s, not iterative)
        clusters.append(Cluster(avg_n.astype(float), avg_s.astype(float), prob,
                                float(rms_fault), float(rms_aux), kept))
        remaining = removed
    if not iterative:
        clusters.sort(key=lambda c: -c.prob)
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


def polarity_misfit(rays, polarity, impulsive, normal, slip, weight_mechanism=None,
                    weight=None):
    """HASH's GET_MISF: weighted misfit fraction and station distribution ratio.

    Predicted polarity = sign of the P radiation (0 counts as up); weight wt = sqrt(|radiation|),
    wo = 1 for impulsive, 0.5 for emergent picks. mfrac = sum(wt*wo over misfits) / sum(wt*wo);
    stdr = sum(wt*wo) / sum(wo). ``weight_mechanism`` (normal, slip), when given, is the
    mechanism whose radiation gives wt (see :func:`hash_v12_weight_mechanism`). With polarity
    weights ``weight`` (SKHASH): mfrac = sum(wt over misfits) / sum(wt), stdr = sum(wt) /
    sum(|weight|). Returns (mfrac, stdr, predicted polarity (+1/-1) per row).
    """
    radiation = p_radiation(rays, normal, slip)
    predicted = np.where(radiation >= 0.0, 1, -1)
    weighting = radiation if weight_mechanism is None else p_radiation(rays, *weight_mechanism)
    wt = np.sqrt(np.abs(weighting))
    if weight is None:
        wo = np.where(np.asarray(impulsive, dtype=bool), 1.0, 0.5)
    else:
        wo = np.ones(len(wt))
    misfit = predicted != np.sign(np.asarray(polarity))
    total = (wt * wo).sum()
    mfrac = float((wt * wo)[misfit].sum() / total) if total > 0 else 0.0
    count = wo.sum() if weight is None else np.abs(np.asarray(weight, dtype=float)).sum()
    stdr = float(total / count) if count > 0 else 0.0
    return mfrac, stdr, predicted


def polarity_sp_misfit(rays, polarity, sp_log10, normal, slip, weight_mechanism=None,
                       weight=None):
    """HASH's GET_MISF_AMP: polarity misfit, mean S/P misfit and station distribution ratio.

    Rows with polarity 0 are S/P rows. Without the impulsive/emergent weights: mfrac =
    sum(wt over misfit polarities) / sum(wt over polarities); mavg = mean |observed - predicted
    log10 S/P|; stdr = mean wt over all rows (SKHASH, with polarity weights ``weight``: sum(wt)
    / (sum of the polarity weights + number of S/P rows)). ``weight_mechanism``, when given,
    gives wt and the predicted S/P ratios (HASH v1.2's behaviour,
    :func:`hash_v12_weight_mechanism`). Returns (mfrac, mavg, stdr, predicted polarity).
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
    if weight is None:
        count = float(wt.size)
    else:
        count = float(np.abs(np.asarray(weight, dtype=float))[is_pol].sum() + sp_rows.sum())
    stdr = float(wt.sum() / count) if count > 0 else 0.0
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


@njit(cache=True, nogil=True, error_model="numpy")
def _acceptable_average(counts, ntotal, nextra, sp_misfit, sp_least, n_sp, qmismax, qextra,
                        normals, slips, cangle):
    """Average (SKHASH's within-cangle averaging) of the grid mechanisms passing FOCALAMP_MC's
    single-trial limits: polarity misfit ``counts`` (float32 summed weights) within
    max(ntotal, fewest + nextra) and, with ``n_sp`` S/P ratios, summed S/P misfits within
    max(qmismax, smallest + qextra) (``sp_least``, the grid's smallest; the smallest among the
    polarity passers where none pass both); at most 500 of them, evenly spread over the grid. Sums in float32 as numpy makes
    them; returns the average normal and slip (float64)."""
    limit = max(ntotal, np.float64(counts.min() + np.float32(nextra)))
    passes = counts <= limit
    if n_sp > 0:
        qlimit = max(qmismax, np.float64(sp_least + np.float32(qextra)))
        both = passes & (sp_misfit <= qlimit)
        if not both.any():
            qlimit = max(qmismax, np.float64(sp_misfit[passes].min() + np.float32(qextra)))
            both = passes & (sp_misfit <= qlimit)
        passes = both
    accepted = np.flatnonzero(passes)
    if accepted.size > 500:
        accepted = accepted[np.linspace(0, accepted.size - 1, 500).astype(np.int64)]
    _, _, avg_n, avg_s = _split_within_cangle(normals, slips, accepted, cangle)
    return avg_n.astype(np.float64), avg_s.astype(np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _kagan_deg(n1, s1, n2, s2):
    """Smallest rotation (degrees) between two double couples, from the frame traces."""
    b1 = np.cross(n1, s1)
    b2 = np.cross(n2, s2)
    nn, ss, bb = np.dot(n1, n2), np.dot(s1, s2), np.dot(b1, b2)
    ns, sn = np.dot(n1, s2), np.dot(s1, n2)
    trace = max(nn + ss + bb, -nn - ss + bb, ns + sn - bb, -ns - sn - bb)
    return math.degrees(math.acos(min(1.0, max(-1.0, (trace - 1.0) / 2.0))))


@njit(cache=True, nogil=True, error_model="numpy")
def _leave_one_out_loop(misfit, counts, ntotal, nextra, sp_misfit, sp_least, n_sp, qmismax,
                        qextra, normals, slips, cangle):
    """The largest rotation of the average when row k of ``misfit`` leaves (allowances
    ``ntotal[k + 1]``, ``nextra[k + 1]``; index 0: all rows), and that row (-1: none)."""
    ref_n, ref_s = _acceptable_average(counts, ntotal[0], nextra[0], sp_misfit, sp_least, n_sp,
                                       qmismax, qextra, normals, slips, cangle)
    worst, worst_row = 0.0, -1
    for k in range(misfit.shape[0]):
        avg_n, avg_s = _acceptable_average(counts - misfit[k], ntotal[k + 1], nextra[k + 1],
                                           sp_misfit, sp_least, n_sp, qmismax, qextra, normals,
                                           slips, cangle)
        rotation = _kagan_deg(ref_n, ref_s, avg_n, avg_s)
        if rotation > worst:
            worst, worst_row = rotation, k
    return worst, worst_row


def leave_one_out_rotation(rays, polarity, sp_log10, weight, grid,
                           params) -> tuple[float, int]:
    """How far the mechanism moves when one polarity is left out: the largest rotation
    (degrees) between the average acceptable mechanism of the unperturbed rays and that of the
    same rays less one polarity, over the polarities, and the row whose removal moves it most
    (-1 if none). rays (n, 3); polarity +1/-1, 0 on S/P rows with log10 S/P ``sp_log10``;
    weight (n,) of the polarities (1: HASH's counts); ``params``: the misfit limits."""
    rays = np.asarray(rays, dtype=np.float32)
    polarity = np.asarray(polarity)
    is_pol = polarity != 0
    pol_rays = np.ascontiguousarray(rays[is_pol])
    weight = np.ascontiguousarray(np.asarray(weight, dtype=np.float32)[is_pol])
    up = np.ascontiguousarray(polarity[is_pol] > 0)
    counts = np.zeros(len(grid), np.float32)
    px, py, pz = (np.ascontiguousarray(pol_rays[:, i]) for i in range(3))
    b1, b3 = grid.slip_t, grid.normal_t
    _sum_weighted_misfits(px, py, pz, up, weight, 0, len(px), b1[0], b1[1], b1[2], b3[0],
                          b3[1], b3[2], counts)
    sp_misfit = np.zeros(len(grid), np.float32)
    sp_rows = np.ascontiguousarray(rays[~is_pol])
    if len(sp_rows):
        sp_sum_misfits(sp_rows, np.asarray(sp_log10, np.float32)[~is_pol], grid, sp_misfit)
    total = float(weight.sum())
    allowances = np.array([misfit_allowances(t, params.badfrac, params.badmin)
                           for t in [total, *(total - weight.astype(float))]], dtype=float)
    qmismax, qextra = (sp_allowances(len(sp_rows), params.qbadfac, params.qbadmin)
                       if len(sp_rows) else (0.0, 0.0))
    # Only grid mechanisms within the largest weight of the full set's misfit limit can pass
    # with one polarity less (the limits shrink with the summed weight); the rest are dropped
    # before the loop, keeping the grid order (and so the accepted sets).
    near = np.flatnonzero(counts - weight.max(initial=0.0)
                          <= max(allowances[0, 0], float(counts.min()) + allowances[0, 1]))
    slip = [np.ascontiguousarray(row) for row in grid.slip_t[:, near]]
    normal = [np.ascontiguousarray(row) for row in grid.normal_t[:, near]]
    misfit = np.zeros((len(px), near.size), np.float32)   # as the counts were summed
    for k in range(len(px)):
        _sum_weighted_misfits(px, py, pz, up, weight, k, k + 1, *slip, *normal, misfit[k])
    worst, row = _leave_one_out_loop(
        np.ascontiguousarray(misfit), counts[near], allowances[:, 0].copy(),
        allowances[:, 1].copy(), sp_misfit[near], sp_misfit.min(), len(sp_rows),
        float(qmismax), float(qextra),
        np.ascontiguousarray(grid.normal[near], dtype=np.float32),
        np.ascontiguousarray(grid.slip[near], dtype=np.float32), np.float32(params.cangle_deg))
    return float(worst), int(np.flatnonzero(is_pol)[row]) if row >= 0 else -1


class QualityChecks:
    """What an event's coverage supports, beyond HASH's letter (focalflow's honest quality).

    Each finding caps a letter A or B at C and is named in the note: fewer than
    ``params.quality_min_polarities`` observations (polarities and S/P ratios); all polarities
    of one sign; an azimuthal gap of the polarities beyond ``max_agap_deg`` (a side of the
    ball without polarities: one-sided coverage; HASH grades runs with S/P ratios without
    looking at the gaps and gives E to the others; the take-off gap is left to HASH's
    letter: the demo's well-recorded event 60000005 has 64 degrees); all polarities on one
    side of a nodal plane of the mechanism (the plane could turn into the empty side:
    one-sided coverage, checked per solution); a mechanism that moves more than
    ``params.quality_loo_max_deg`` when one polarity is left out
    (:func:`leave_one_out_rotation`, the S/P ratios kept; checked only for an A or B that
    nothing else caps, so a note may name fewer findings than apply). rays (n, 3) of the unperturbed
    trial, polarity +1/-1 (0 on S/P rows), sp_log10 and weight per row, gaps (azimuthal,
    take-off) in degrees as :func:`azimuth_takeoff_gaps` gives them.
    """

    def __init__(self, rays, polarity, sp_log10, weight, grid, params, gaps=(0, 0)):
        rays = np.asarray(rays, dtype=float)
        polarity = np.asarray(polarity)
        is_pol = polarity != 0
        self.folded = np.where((rays[is_pol, 2] < 0)[:, None], -rays[is_pol], rays[is_pol])
        self.reasons: list[str] = []
        npol, nsp = int(is_pol.sum()), int((~is_pol).sum())
        if gaps[0] > params.max_agap_deg:
            self.reasons.append(f"azimuthal gap {gaps[0]:g} deg of the polarities (limit "
                                f"{params.max_agap_deg:g}): one-sided coverage")
        if npol + nsp < params.quality_min_polarities:
            kinds = f"{npol} polarities" + (f" and {nsp} S/P ratios" if nsp else "")
            self.reasons.append(f"only {kinds} (fewer than {params.quality_min_polarities})")
        ups = int((polarity[is_pol] > 0).sum())
        if npol and ups in (0, npol):
            self.reasons.append(f"all {npol} polarities {'up' if ups else 'down'}")
        self._loo_inputs = (rays, polarity, sp_log10, weight, grid, params) if npol >= 2 else None
        self._loo: Optional[list[str]] = None

    def leave_one_out(self) -> list[str]:
        """The leave-one-out finding (computed once, when a letter depends on it)."""
        if self._loo is None:
            self._loo = []
            if self._loo_inputs is not None:
                params = self._loo_inputs[-1]
                rotation, row = leave_one_out_rotation(*self._loo_inputs)
                if rotation > params.quality_loo_max_deg:
                    self._loo.append(f"leaving out the polarity of row {row + 1} moves the "
                                     f"mechanism {rotation:.0f} deg (limit "
                                     f"{params.quality_loo_max_deg:g})")
        return self._loo

    def one_sided(self, normal, slip) -> list[str]:
        """The nodal planes of the mechanism with every polarity on one side of them."""
        found = []
        for vector, name in ((np.asarray(normal, float), "fault"),
                             (np.asarray(slip, float), "auxiliary")):
            side = self.folded @ vector
            if len(side) and (np.all(side >= 0) or np.all(side <= 0)):
                strike, dip, _ = vectors_to_sdr(vector, np.cross(vector, [0.0, 0.0, 1.0])
                                                if abs(vector[2]) < 1 else [1.0, 0.0, 0.0])
                found.append(f"all polarities on one side of the {name} plane (strike "
                             f"{float(strike):.0f}, dip {float(dip):.0f}): one-sided coverage")
        return found

    def grade(self, letter: str, normal, slip) -> tuple[str, str]:
        """(letter capped at C where a finding applies, the findings joined by "; "). The
        leave-one-out check, the costly one, runs only for an A or B that nothing else caps."""
        reasons = self.reasons + self.one_sided(normal, slip)
        if letter in ("A", "B") and not reasons:
            reasons = self.leave_one_out()
        capped = "C" if reasons and letter in ("A", "B") else letter
        return capped, "; ".join(reasons)
