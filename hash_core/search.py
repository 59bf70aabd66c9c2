"""The Monte Carlo grid search of HASH (FOCALMC and FOCALAMP_MC), compiled with numba.

Data layout: rays are float32 arrays (n trials, n observations) of x, y, z; the grid is two
float32 (3, n mechanisms) arrays. Each trial runs a ``prange`` over mechanisms whose inner loop
over observations is a branch-free, vectorisable dot-product-and-count. Polarity rows are
ordered impulsive first so that impulsive misfits are a prefix sum. Kernels are compiled once
per machine (``cache=True``) with a single signature each, in two variants: ``prange`` over
blocks of mechanisms on numba's threads (one event at a time), and serial (events solved
concurrently in threads, as ``focalflow.mechanisms.solve`` does); both release the GIL.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from .fortran import misfit_allowances, sp_allowances
from .grid import MechanismGrid

SP_CONSTANT = np.float32(4.9)  # predicted S/P = 4.9 * S radiation / P radiation
SP_LOG_MAX = np.float32(4.0)   # predicted log10 S/P where the P radiation vanishes
SP_LOG_MIN = np.float32(-2.0)  # predicted log10 S/P where the S radiation vanishes


def set_threads(n: int | None = None) -> int:
    """Use ``n`` numba threads (default: ``NUMBA_NUM_THREADS`` or all cores); returns it.

    ``set_threads(1)`` gives single-core timings for per-core comparisons with HASH.
    """
    if n is None:
        n = numba.config.NUMBA_NUM_THREADS
    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def get_threads() -> int:
    """The number of numba threads in use (set by `set_threads` or NUMBA_NUM_THREADS)."""
    return numba.get_num_threads()


BLOCK = 1024  # mechanisms per block: the block's grid vectors and counts stay in L1 cache


@njit(cache=True, fastmath={"nnan", "ninf", "nsz"})
def _count_misfits(qx, qy, qz, up, i0, i1, b1x, b1y, b1z, b3x, b3y, b3z, counts):
    """Add to ``counts[j]`` the polarity misfits of rows i0..i1-1 for each mechanism j.

    Predicted polarity is up when (p.b1)(p.b3) > 0. Rows go four at a time so each mechanism's
    vectors are loaded once per four rays; the loop over mechanisms vectorises.
    """
    zero = np.float32(0.0)
    n = counts.size
    i = i0
    while i + 4 <= i1:
        xa, ya, za, ua = qx[i], qy[i], qz[i], up[i]
        xb, yb, zb, ub = qx[i + 1], qy[i + 1], qz[i + 1], up[i + 1]
        xc, yc, zc, uc = qx[i + 2], qy[i + 2], qz[i + 2], up[i + 2]
        xd, yd, zd, ud = qx[i + 3], qy[i + 3], qz[i + 3], up[i + 3]
        for j in range(n):
            e1x, e1y, e1z = b1x[j], b1y[j], b1z[j]
            e3x, e3y, e3z = b3x[j], b3y[j], b3z[j]
            m = np.int32(((xa * e1x + ya * e1y + za * e1z)
                          * (xa * e3x + ya * e3y + za * e3z) > zero) != ua)
            m += np.int32(((xb * e1x + yb * e1y + zb * e1z)
                           * (xb * e3x + yb * e3y + zb * e3z) > zero) != ub)
            m += np.int32(((xc * e1x + yc * e1y + zc * e1z)
                           * (xc * e3x + yc * e3y + zc * e3z) > zero) != uc)
            m += np.int32(((xd * e1x + yd * e1y + zd * e1z)
                           * (xd * e3x + yd * e3y + zd * e3z) > zero) != ud)
            counts[j] += m
        i += 4
    for k in range(i, i1):
        x, y, z, u = qx[k], qy[k], qz[k], up[k]
        for j in range(n):
            d1 = x * b1x[j] + y * b1y[j] + z * b1z[j]
            d3 = x * b3x[j] + y * b3y[j] + z * b3z[j]
            counts[j] += np.int32((d1 * d3 > zero) != u)


@njit(cache=True, fastmath={"nnan", "ninf", "nsz"})
def _sum_weighted_misfits(qx, qy, qz, up, weight, i0, i1, b1x, b1y, b1z, b3x, b3y, b3z, sums):
    """Add to ``sums[j]`` the weights of the polarity rows i0..i1-1 that mechanism j misfits
    (SKHASH's weighted misfit; unit weights give HASH's counts)."""
    zero = np.float32(0.0)
    n = sums.size
    for k in range(i0, i1):
        x, y, z, u, w = qx[k], qy[k], qz[k], up[k], weight[k]
        for j in range(n):
            d1 = x * b1x[j] + y * b1y[j] + z * b1z[j]
            d3 = x * b3x[j] + y * b3y[j] + z * b3z[j]
            sums[j] += w * np.float32((d1 * d3 > zero) != u)


@njit(cache=True, error_model="numpy")
def _sum_sp_misfits(qx, qy, qz, sp_obs, i0, i1, b1x, b1y, b1z, b2x, b2y, b2z, b3x, b3y, b3z,
                    sp_index, phi_index, sp_table, qsum):
    """Add to ``qsum[j]`` the |observed - predicted log10 S/P| of S/P rows i0..i1-1, predicted
    as FOCALAMP_MC does, in single precision: the ray's angle to the normal b3 and the azimuth
    of its projection in the fault plane (from b1 towards b2) are quantised through HASH's
    tables (direction cosines to 1/180, then angles to 1 degree) before the lookup. A row
    whose observed ratio is exactly 0 counts for nothing (HASH tests ``sp .ne. 0``)."""
    n = qsum.size
    one = np.float32(1.0)
    astep = np.float32(1.0) / np.float32(SP_TABLE_STEPS)
    top = np.int32(SP_TABLE_STEPS * 2)
    zero = np.int32(0)
    half = np.float64(0.5)
    width = np.int32(phi_index.shape[1])
    # the quantised angles in a loop of their own (it vectorises), the table lookups apart
    row = np.empty(n, np.int32)
    column = np.empty(n, np.int32)
    for i in range(i0, i1):
        x, y, z, observed = qx[i], qy[i], qz[i], sp_obs[i - i0]
        if observed == 0.0:
            continue
        for j in range(n):
            e3x, e3y, e3z = b3x[j], b3y[j], b3z[j]
            d3 = e3x * x + e3y * y + e3z * z
            r1 = x - d3 * e3x
            r2 = y - d3 * e3y
            r3 = z - d3 * e3z
            length = math.sqrt(r1 * r1 + r2 * r2 + r3 * r3)
            r1, r2, r3 = r1 / length, r2 / length, r3 / length
            c1 = b1x[j] * r1 + b1y[j] * r2 + b1z[j] * r3
            c2 = b2x[j] * r1 + b2y[j] * r2 + b2z[j] * r3
            k3 = min(max(np.int32(math.floor(np.float64((d3 + one) / astep) + half)), zero), top)
            k2 = min(max(np.int32(math.floor(np.float64((c2 + one) / astep) + half)), zero), top)
            k1 = min(max(np.int32(math.floor(np.float64((c1 + one) / astep) + half)), zero), top)
            row[j] = k3
            column[j] = k2 * width + k1
        flat_phi = phi_index.ravel()
        for j in range(n):
            qsum[j] += abs(observed - sp_table[sp_index[row[j]], flat_phi[column[j]]])


def _polarity_search_kernel(parallel: bool):
    """``_polarity_search`` compiled with ``prange`` over blocks of mechanisms on numba's
    threads (``parallel``), or serial for callers that solve events concurrently; both
    release the GIL. (A closure over the loop function: numba caches each variant apart.)"""
    loop = prange if parallel else range

    @njit(parallel=parallel, cache=True, nogil=True)
    def _polarity_search(px, py, pz, up, n_impulsive, use_trial, b1, b3, ntotal, nextra,
                         first_trial):
        """FOCALMC: set ``first_trial[j]`` (initially ntrial) to the first trial in which
        mechanism j passes the misfit limits. ``up``: observed polarity is up (bool); rows before
        ``n_impulsive`` are impulsive.

        Limits of a trial: impulsive misfits <= max(ntotal, best + nextra), where best is the
        grid's fewest impulsive misfits, and total misfits <= max(ntotal if best == 0 else
        nobs, fewest total misfits among mechanisms with ``best`` impulsive misfits + nextra).
        A block's own minima suffice to find these: blocks whose fewest impulsive misfits
        exceed the grid's hold no mechanism with ``best``.
        """
        ntrial, nobs = px.shape
        nrot = b1.shape[1]
        nblocks = (nrot + BLOCK - 1) // BLOCK
        nmiss0 = np.empty((ntrial, nrot), np.int16)
        nmiss = np.empty((ntrial, nrot), np.int16)
        block_best0 = np.full((nblocks, ntrial), nobs + 1, np.int32)
        block_best = np.full((nblocks, ntrial), nobs + 1, np.int32)
        for block in loop(nblocks):
            j0 = block * BLOCK
            j1 = min(j0 + BLOCK, nrot)
            counts = np.empty(j1 - j0, np.int32)
            for m in range(ntrial):
                if not use_trial[m]:
                    continue
                counts[:] = 0
                _count_misfits(px[m], py[m], pz[m], up, 0, n_impulsive, b1[0, j0:j1],
                               b1[1, j0:j1], b1[2, j0:j1], b3[0, j0:j1], b3[1, j0:j1],
                               b3[2, j0:j1], counts)
                nmiss0[m, j0:j1] = counts
                best0 = counts.min()
                _count_misfits(px[m], py[m], pz[m], up, n_impulsive, nobs, b1[0, j0:j1],
                               b1[1, j0:j1], b1[2, j0:j1], b3[0, j0:j1], b3[1, j0:j1],
                               b3[2, j0:j1], counts)
                nmiss[m, j0:j1] = counts
                best = nobs + 1
                for j in range(j0, j1):
                    if nmiss0[m, j] == best0:
                        best = min(best, nmiss[m, j])
                block_best0[block, m] = best0
                block_best[block, m] = best
        max_impulsive = np.zeros(ntrial, np.int32)
        max_total = np.zeros(ntrial, np.int32)
        for m in range(ntrial):
            best0 = block_best0[:, m].min()
            best = nobs + 1
            for block in range(nblocks):
                if block_best0[block, m] == best0:
                    best = min(best, block_best[block, m])
            max_impulsive[m] = max(ntotal, best0 + nextra)
            max_total[m] = max(ntotal if best0 == 0 else nobs, best + nextra)
        for block in loop(nblocks):
            j0 = block * BLOCK
            j1 = min(j0 + BLOCK, nrot)
            for m in range(ntrial):
                if not use_trial[m]:
                    continue
                limit0, limit = max_impulsive[m], max_total[m]
                for j in range(j0, j1):
                    if nmiss0[m, j] <= limit0 and nmiss[m, j] <= limit and m < first_trial[j]:
                        first_trial[j] = m
    return _polarity_search


def _polarity_sp_search_kernel(parallel: bool):
    """``_polarity_sp_search`` compiled with ``prange`` over blocks of mechanisms on numba's
    threads (``parallel``), or serial for callers that solve events concurrently; both
    release the GIL. (A closure over the loop function: numba caches each variant apart.)"""
    loop = prange if parallel else range

    @njit(parallel=parallel, cache=True, nogil=True)
    def _polarity_sp_search(px, py, pz, up, weight, npol, sp_obs, use_trial, b1, b2, b3,
                            sp_index, phi_index, sp_table, nmismax, nextra, qmismax, qextra,
                            first_trial):
        """FOCALAMP_MC, polarity misfits weighted as SKHASH weights them: rows < ``npol`` are
        polarities with weights ``weight``, the rest S/P rows with observed log10 S/P
        ``sp_obs[i - npol]``. Sets ``first_trial`` (as `_polarity_search`) for the mechanisms
        whose summed misfit weight is <= max(nmismax, fewest + nextra) and summed S/P misfit
        <= max(qmismax, smallest + qextra) in some trial; when no mechanism of a trial passes
        both, the smallest S/P misfit is taken among the mechanisms passing the polarity
        limit."""
        ntrial, nobs = px.shape
        nrot = b1.shape[1]
        nblocks = (nrot + BLOCK - 1) // BLOCK
        nmiss = np.empty((ntrial, nrot), np.float32)
        qmis = np.empty((ntrial, nrot), np.float32)
        block_nmin = np.full((nblocks, ntrial), np.inf, np.float32)
        block_qmin = np.full((nblocks, ntrial), np.inf, np.float32)
        for block in loop(nblocks):
            j0 = block * BLOCK
            j1 = min(j0 + BLOCK, nrot)
            counts = np.empty(j1 - j0, np.float32)
            qsum = np.empty(j1 - j0, np.float32)
            for m in range(ntrial):
                if not use_trial[m]:
                    continue
                counts[:] = 0.0
                qsum[:] = 0.0
                _sum_weighted_misfits(px[m], py[m], pz[m], up, weight, 0, npol, b1[0, j0:j1],
                                      b1[1, j0:j1], b1[2, j0:j1], b3[0, j0:j1], b3[1, j0:j1],
                                      b3[2, j0:j1], counts)
                _sum_sp_misfits(px[m], py[m], pz[m], sp_obs, npol, nobs, b1[0, j0:j1],
                                b1[1, j0:j1], b1[2, j0:j1], b2[0, j0:j1], b2[1, j0:j1],
                                b2[2, j0:j1], b3[0, j0:j1], b3[1, j0:j1], b3[2, j0:j1],
                                sp_index, phi_index, sp_table, qsum)
                nmiss[m, j0:j1] = counts
                qmis[m, j0:j1] = qsum
                block_nmin[block, m] = counts.min()
                block_qmin[block, m] = qsum.min()
        max_miss = np.zeros(ntrial, np.float32)
        max_q = np.zeros(ntrial, np.float32)
        for m in range(ntrial):
            max_miss[m] = max(nmismax, block_nmin[:, m].min() + nextra)
            max_q[m] = max(qmismax, block_qmin[:, m].min() + qextra)
        # which trials accept nothing with both limits, and their smallest S/P misfit among
        # the polarity passers
        block_passes = np.zeros((nblocks, ntrial), np.int32)
        block_qmin_pol = np.full((nblocks, ntrial), np.inf, np.float32)
        for block in loop(nblocks):
            j0 = block * BLOCK
            j1 = min(j0 + BLOCK, nrot)
            for m in range(ntrial):
                if not use_trial[m]:
                    continue
                n_pass = 0
                qmin_pol = np.float32(np.inf)
                for j in range(j0, j1):
                    if nmiss[m, j] <= max_miss[m]:
                        n_pass += qmis[m, j] <= max_q[m]
                        qmin_pol = min(qmin_pol, qmis[m, j])
                block_passes[block, m] = n_pass
                block_qmin_pol[block, m] = qmin_pol
        for m in range(ntrial):
            if block_passes[:, m].sum() == 0:
                max_q[m] = max(qmismax, block_qmin_pol[:, m].min() + qextra)
        for block in loop(nblocks):
            j0 = block * BLOCK
            j1 = min(j0 + BLOCK, nrot)
            for m in range(ntrial):
                if not use_trial[m]:
                    continue
                for j in range(j0, j1):
                    if (nmiss[m, j] <= max_miss[m] and qmis[m, j] <= max_q[m]
                            and m < first_trial[j]):
                        first_trial[j] = m
    return _polarity_sp_search


_POLARITY_SEARCH = {parallel: _polarity_search_kernel(parallel) for parallel in (True, False)}
_POLARITY_SP_SEARCH = {parallel: _polarity_sp_search_kernel(parallel)
                       for parallel in (True, False)}


SP_TABLE_STEPS = 180  # HASH's ntab: direction cosines in steps of 1/180, angles of 1 degree


@njit(cache=True, error_model="numpy")
def _hash_sp_tables(ntab):
    """FOCALAMP_MC's tables, single precision: the 1-degree index of the angle to the normal
    for each quantised cosine (2 ntab + 1), the 1-degree index of the azimuth in the fault
    plane for each pair of quantised cosines towards b2 and b1, and the predicted log10 S/P
    (4.9 S / P radiation; 4 where P vanishes, -2 where S does) per (angle, azimuth) index."""
    pi = np.float32(3.1415927)
    astep = np.float32(1.0) / np.float32(ntab)
    n = 2 * ntab + 1
    theta_index = np.empty(n, np.int64)
    phi_index = np.empty((n, n), np.int64)
    for i in range(n):
        c3 = np.float32(-1.0) + np.float32(i) * astep
        j = int(math.floor(float(math.acos(c3) / (pi * astep)) + 0.5))
        theta_index[i] = 0 if j >= ntab else j
        for k in range(n):
            c1 = np.float32(-1.0) + np.float32(k) * astep
            phi = math.atan2(c3, c1)
            if phi < 0.0:
                phi = phi + np.float32(2.0) * pi
            m = int(math.floor(float(phi / (pi * astep)) + 0.5))
            phi_index[i, k] = 0 if m >= 2 * ntab else m
    table = np.empty((ntab, 2 * ntab), np.float32)
    for i in range(2 * ntab):
        phi = np.float32(i) * pi * astep
        for j in range(ntab):
            theta = np.float32(j) * pi * astep
            p_amp = abs(math.sin(np.float32(2.0) * theta) * math.cos(phi))
            s1 = math.cos(np.float32(2.0) * theta) * math.cos(phi)
            s2 = -math.cos(theta) * math.sin(phi)
            s_amp = math.sqrt(s1 * s1 + s2 * s2)
            if p_amp == 0.0:
                table[j, i] = SP_LOG_MAX
            elif s_amp == 0.0:
                table[j, i] = SP_LOG_MIN
            else:
                table[j, i] = math.log10(SP_CONSTANT * s_amp / p_amp)
    return theta_index, phi_index, table


_SP_THETA_INDEX, _SP_PHI_INDEX, _SP_TABLE = _hash_sp_tables(SP_TABLE_STEPS)


@njit(cache=True, error_model="numpy")
def _to_car(takeoff, azimuth, out):
    """HASH's TO_CAR in single precision: unit rays (x north, y east, z down) of take-off
    angles (from vertical up) and azimuths in degrees; ``out`` (..., 3) float32."""
    degrad = np.float32(3.1415927) / np.float32(180.0)
    t = takeoff.ravel()
    a = azimuth.ravel()
    o = out.reshape(t.size, 3)
    for k in range(t.size):
        the, phi = t[k] * degrad, a[k] * degrad
        o[k, 0] = math.sin(the) * math.cos(phi)
        o[k, 1] = math.sin(the) * math.sin(phi)
        o[k, 2] = -math.cos(the)


def trial_rays(takeoff_deg, azimuth_deg) -> np.ndarray:
    """Unit rays (..., 3), float32, of take-off angles and azimuths (degrees), computed as HASH
    computes them (TO_CAR, single precision): the rays the grid search tests."""
    takeoff = np.ascontiguousarray(takeoff_deg, dtype=np.float32)
    azimuth = np.ascontiguousarray(azimuth_deg, dtype=np.float32)
    takeoff, azimuth = np.broadcast_arrays(takeoff, azimuth)
    out = np.empty(takeoff.shape + (3,), np.float32)
    _to_car(np.ascontiguousarray(takeoff), np.ascontiguousarray(azimuth), out)
    return out


def _rays_float32(rays: np.ndarray):
    """(n trials, n obs, 3) rays -> three C-contiguous float32 (n trials, n obs) arrays."""
    rays = np.asarray(rays, dtype=np.float32)
    return (np.ascontiguousarray(rays[..., 0]), np.ascontiguousarray(rays[..., 1]),
            np.ascontiguousarray(rays[..., 2]))


def _accepted(first_trial: np.ndarray, ntrial: int) -> np.ndarray:
    """Indices, in grid order, of the mechanisms accepted in some trial."""
    return np.flatnonzero(first_trial < ntrial)


def _usable_trials(px: np.ndarray) -> np.ndarray:
    """Trials (rows of a ray component) without NaN rays."""
    return np.all(np.isfinite(px), axis=1)


def search_polarities(rays, polarity, impulsive, grid: MechanismGrid, badfrac: float,
                      badmin: float, parallel: bool = True) -> np.ndarray:
    """Indices (grid order) of the mechanisms accepted by HASH's polarity-only search.

    rays: (n trials, n obs, 3) unit rays; trials containing NaN are skipped. polarity: (n obs,)
    +1/-1; impulsive: (n obs,) bool. Misfit limits from ``badfrac`` and ``badmin`` as in HASH
    (single-precision nint: nmismax = max(nint(npol*badfrac), badmin), nextra =
    max(nint(0.5*npol*badfrac), badmin); HASH v1.2's badmin is 2).
    ``parallel``: spread the grid over numba's threads; False runs a serial kernel (same
    result) for callers that solve several events at once in threads (both release the GIL).
    """
    polarity = np.asarray(polarity)
    impulsive = np.asarray(impulsive, dtype=bool)
    order = np.argsort(~impulsive, kind="stable")  # impulsive rows first
    px, py, pz = _rays_float32(np.asarray(rays)[:, order])
    up = np.ascontiguousarray(polarity[order] > 0)
    ntotal, nextra = misfit_allowances(len(polarity), badfrac, badmin)
    first_trial = np.full(len(grid), len(px), dtype=np.int32)
    kernel = _POLARITY_SEARCH[bool(parallel)]
    kernel(px, py, pz, up, np.int64(impulsive.sum()), _usable_trials(px), grid.slip_t,
           grid.normal_t, np.int64(ntotal), np.int64(nextra), first_trial)
    return _accepted(first_trial, len(px))


def search_polarities_sp(rays, polarity, sp_log10, grid: MechanismGrid, badfrac: float,
                         badmin: float, qbadfac: float, qbadmin: float, weight=None,
                         parallel: bool = True) -> np.ndarray:
    """Indices of the mechanisms accepted by HASH's search with polarities and S/P ratios
    (FOCALAMP_MC), polarities optionally weighted as SKHASH weights them.

    Rows with polarity +1/-1 are polarities, rows with polarity 0 carry an observed log10 S/P
    ratio in ``sp_log10`` (none: SKHASH's weighted polarity search). ``weight``: (n obs,)
    weights in [0, 1] of the polarity rows (default 1): a mechanism's polarity misfit is the
    summed weight of the polarities it misfits, and the allowances come from the summed weight
    W instead of the count (nmismax = max(nint(W*badfrac), badmin), nextra =
    max(nint(W*badfrac/2), badmin)). Limits as HASH: polarity misfit <= max(nmismax, least +
    nextra) and summed |observed - predicted log10 S/P| <= max(qmismax, least + qextra) with
    qmismax = max(nsp*qbadfac, qbadmin), qextra = max(nsp*qbadfac/2, qbadmin) (HASH v1.2's
    badmin and qbadmin are 2). ``parallel`` as in `search_polarities`.
    """
    polarity = np.asarray(polarity)
    sp_log10 = np.asarray(sp_log10, dtype=float)
    is_pol = polarity != 0
    weight = np.ones(len(polarity)) if weight is None else np.asarray(weight, dtype=float)
    order = np.concatenate([np.flatnonzero(is_pol), np.flatnonzero(~is_pol)])
    npol = int(is_pol.sum())
    px, py, pz = _rays_float32(np.asarray(rays)[:, order])
    up = np.ascontiguousarray(polarity[order] > 0)
    pol_weight = np.ascontiguousarray(np.abs(weight[order][:npol]), dtype=np.float32)
    sp_obs = np.ascontiguousarray(sp_log10[~is_pol], dtype=np.float32)
    if not np.all(np.isfinite(sp_obs)):
        raise ValueError("S/P rows (polarity 0) need a finite log10 S/P ratio")
    nmismax, nextra = misfit_allowances(float(pol_weight.sum(dtype=np.float64)), badfrac, badmin)
    qmismax, qextra = sp_allowances(len(sp_obs), qbadfac, qbadmin)
    first_trial = np.full(len(grid), len(px), dtype=np.int32)
    kernel = _POLARITY_SP_SEARCH[bool(parallel)]
    kernel(px, py, pz, up, pol_weight, np.int64(npol), sp_obs, _usable_trials(px),
           grid.slip_t, grid.null_t, grid.normal_t, _SP_THETA_INDEX, _SP_PHI_INDEX, _SP_TABLE,
           np.float32(nmismax), np.float32(nextra), np.float32(qmismax), np.float32(qextra),
           first_trial)
    return _accepted(first_trial, len(px))


def sp_sum_misfits(rays, sp_log10, grid: MechanismGrid, out: np.ndarray) -> np.ndarray:
    """Add to ``out`` (float32, one per grid mechanism) the summed |observed - predicted log10
    S/P| of the S/P rows ``rays`` (n, 3) with observed ``sp_log10``, predicted as FOCALAMP_MC
    predicts them."""
    px, py, pz = (np.ascontiguousarray(np.asarray(rays, np.float32)[:, k]) for k in range(3))
    _sum_sp_misfits(px, py, pz, np.ascontiguousarray(sp_log10, dtype=np.float32), 0, len(px),
                    grid.slip_t[0], grid.slip_t[1], grid.slip_t[2], grid.null_t[0],
                    grid.null_t[1], grid.null_t[2], grid.normal_t[0], grid.normal_t[1],
                    grid.normal_t[2], _SP_THETA_INDEX, _SP_PHI_INDEX, _SP_TABLE, out)
    return out


def predicted_log_sp(rays, normal, slip) -> np.ndarray:
    """Predicted log10 S/P (4.9 * S / P radiation) for rays (..., 3) and one mechanism
    (normal, slip), as HASH's GET_MISF_AMP computes it (no quantisation), clipped to [-2, 4]
    where a radiation vanishes."""
    rays = np.asarray(rays, dtype=float)
    normal = np.asarray(normal, dtype=float)
    slip = np.asarray(slip, dtype=float)
    d3 = np.clip(rays @ normal, -1.0, 1.0)
    projected = rays - d3[..., None] * normal
    with np.errstate(divide="ignore", invalid="ignore"):
        projected = projected / np.linalg.norm(projected, axis=-1, keepdims=True)
        theta = np.arccos(d3)
        phi = np.arctan2(projected @ np.cross(normal, slip), projected @ slip)
        p_amp = np.abs(np.sin(2 * theta) * np.cos(phi))
        s_amp = np.hypot(np.cos(2 * theta) * np.cos(phi), np.cos(theta) * np.sin(phi))
        value = np.log10(float(SP_CONSTANT) * s_amp / p_amp)
    value = np.where(np.isnan(value), float(SP_LOG_MAX), value)
    return np.clip(value, float(SP_LOG_MIN), float(SP_LOG_MAX))
