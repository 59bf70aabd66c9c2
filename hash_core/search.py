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


@njit(cache=True, fastmath={"contract", "nnan", "ninf", "nsz"})
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


@njit(cache=True, fastmath={"contract", "nnan", "ninf", "nsz"})
def _sum_sp_misfits(qx, qy, qz, sp_obs, i0, i1, b1x, b1y, b1z, b3x, b3y, b3z, table, qsum,
                    index):
    """Add to ``qsum[j]`` the |observed - predicted log10 S/P| of S/P rows i0..i1-1, the
    prediction looked up in ``table`` (flattened (181, 181): |d3| rows, |d1| columns) by the
    ray's direction cosines quantised to 1/180. ``index``: scratch, the size of ``qsum``.

    The table indices are computed in a loop of their own, which vectorises; the lookups
    (gathers) do not, and in the same loop they kept the index arithmetic scalar too."""
    n = qsum.size
    scale = np.float32(SP_TABLE_STEPS)
    half = np.float32(0.5)
    top = np.float32(SP_TABLE_STEPS)
    row = np.uint32(SP_TABLE_STEPS + 1)
    for i in range(i0, i1):
        x, y, z, observed = qx[i], qy[i], qz[i], sp_obs[i - i0]
        for j in range(n):
            d1 = x * b1x[j] + y * b1y[j] + z * b1z[j]
            d3 = x * b3x[j] + y * b3y[j] + z * b3z[j]
            # unsigned indices: no negative-index wrap-around check
            k3 = np.uint32(min(abs(d3) * scale + half, top))
            k1 = np.uint32(min(abs(d1) * scale + half, top))
            index[j] = k3 * row + k1
        for j in range(n):
            qsum[j] += abs(observed - table[index[j]])


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
    def _polarity_sp_search(px, py, pz, up, npol, sp_obs, use_trial, b1, b3, table, nmismax,
                            nextra, qmismax, qextra, first_trial):
        """FOCALAMP_MC: rows < ``npol`` are polarities, the rest S/P rows with observed log10
        S/P ``sp_obs[i - npol]``. Sets ``first_trial`` (as `_polarity_search`) for the
        mechanisms with polarity misfits <= max(nmismax, fewest + nextra) and summed S/P misfit
        <= max(qmismax, smallest + qextra) in some trial; when no mechanism of a trial passes
        both, the smallest S/P misfit is taken among the mechanisms passing the polarity
        limit."""
        ntrial, nobs = px.shape
        nrot = b1.shape[1]
        nblocks = (nrot + BLOCK - 1) // BLOCK
        nmiss = np.empty((ntrial, nrot), np.int16)
        qmis = np.empty((ntrial, nrot), np.float32)
        block_nmin = np.full((nblocks, ntrial), nobs + 1, np.int32)
        block_qmin = np.full((nblocks, ntrial), np.inf, np.float32)
        for block in loop(nblocks):
            j0 = block * BLOCK
            j1 = min(j0 + BLOCK, nrot)
            counts = np.empty(j1 - j0, np.int32)
            qsum = np.empty(j1 - j0, np.float32)
            index = np.empty(j1 - j0, np.uint32)
            for m in range(ntrial):
                if not use_trial[m]:
                    continue
                counts[:] = 0
                qsum[:] = 0.0
                _count_misfits(px[m], py[m], pz[m], up, 0, npol, b1[0, j0:j1], b1[1, j0:j1],
                               b1[2, j0:j1], b3[0, j0:j1], b3[1, j0:j1], b3[2, j0:j1], counts)
                _sum_sp_misfits(px[m], py[m], pz[m], sp_obs, npol, nobs, b1[0, j0:j1],
                                b1[1, j0:j1], b1[2, j0:j1], b3[0, j0:j1], b3[1, j0:j1],
                                b3[2, j0:j1], table, qsum, index)
                nmiss[m, j0:j1] = counts
                qmis[m, j0:j1] = qsum
                block_nmin[block, m] = counts.min()
                block_qmin[block, m] = qsum.min()
        max_miss = np.zeros(ntrial, np.int32)
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


def _log_sp_radiation(d1, d3):
    """log10(4.9 S / P) of a ray with direction cosines d1 (slip) and d3 (normal), clipped to
    [-2, 4]: P = |2 d1 d3| = |sin 2theta cos phi|, S^2 = cos^2 2theta cos^2 phi +
    cos^2 theta sin^2 phi with cos theta = d3, sin theta cos phi = d1."""
    d1 = np.asarray(d1, dtype=float)
    d3 = np.asarray(d3, dtype=float)
    p_amp = np.abs(2.0 * d1 * d3)
    sin2 = 1.0 - d3 * d3
    with np.errstate(divide="ignore", invalid="ignore"):
        s_sq = np.where(sin2 > 1e-12, ((2.0 * d3 * d3 - 1.0) ** 2 * d1 * d1
                                       + d3 * d3 * np.maximum(sin2 - d1 * d1, 0.0)) / sin2, 1.0)
        value = np.log10(SP_CONSTANT * np.sqrt(s_sq) / p_amp)
    value = np.where(s_sq <= 1e-24, SP_LOG_MIN, value)
    value = np.where(p_amp <= 1e-12, SP_LOG_MAX, value)
    return np.clip(value, SP_LOG_MIN, SP_LOG_MAX)


SP_TABLE_STEPS = 180  # direction cosines quantised to 1/180, as HASH's lookup tables
_cosines = np.arange(SP_TABLE_STEPS + 1) / SP_TABLE_STEPS
# predicted log10 S/P by |d3| (rows) and |d1| (columns); d1^2 + d3^2 > 1 cannot occur
_SP_TABLE = np.ascontiguousarray(_log_sp_radiation(_cosines[None, :], _cosines[:, None]),
                                 dtype=np.float32)


def _rays_float32(rays: np.ndarray):
    """(n trials, n obs, 3) float rays -> three C-contiguous float32 (n trials, n obs) arrays."""
    rays = np.asarray(rays, dtype=np.float32)
    return (np.ascontiguousarray(rays[..., 0]), np.ascontiguousarray(rays[..., 1]),
            np.ascontiguousarray(rays[..., 2]))


def _accepted(first_trial: np.ndarray, ntrial: int) -> np.ndarray:
    """Indices, in grid order, of the mechanisms accepted in some trial."""
    return np.flatnonzero(first_trial < ntrial)


def _usable_trials(rays: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(rays), axis=(1, 2))


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
    rays = np.asarray(rays, dtype=float)
    polarity = np.asarray(polarity)
    impulsive = np.asarray(impulsive, dtype=bool)
    order = np.argsort(~impulsive, kind="stable")  # impulsive rows first
    px, py, pz = _rays_float32(rays[:, order])
    up = np.ascontiguousarray(polarity[order] > 0)
    ntotal, nextra = misfit_allowances(len(polarity), badfrac, badmin)
    first_trial = np.full(len(grid), len(rays), dtype=np.int32)
    kernel = _POLARITY_SEARCH[bool(parallel)]
    kernel(px, py, pz, up, np.int64(impulsive.sum()), _usable_trials(rays), grid.slip_t,
           grid.normal_t, np.int64(ntotal), np.int64(nextra), first_trial)
    return _accepted(first_trial, len(rays))


def search_polarities_sp(rays, polarity, sp_log10, grid: MechanismGrid, badfrac: float,
                         badmin: float, qbadfac: float, qbadmin: float,
                         parallel: bool = True) -> np.ndarray:
    """Indices of the mechanisms accepted by HASH's search with polarities and S/P ratios.

    Rows with polarity +1/-1 are polarities, rows with polarity 0 carry an observed log10 S/P
    ratio in ``sp_log10``. Limits as HASH: polarity misfits <= max(nmismax, nmin + nextra)
    (npol = number of polarity rows) and summed |observed - predicted log10 S/P| <=
    max(qmismax, qmin + qextra) with qmismax = max(nsp*qbadfac, qbadmin), qextra =
    max(nsp*qbadfac/2, qbadmin) (HASH v1.2's badmin and qbadmin are 2).
    ``parallel`` as in `search_polarities`.
    """
    rays = np.asarray(rays, dtype=float)
    polarity = np.asarray(polarity)
    sp_log10 = np.asarray(sp_log10, dtype=float)
    is_pol = polarity != 0
    order = np.concatenate([np.flatnonzero(is_pol), np.flatnonzero(~is_pol)])
    npol = int(is_pol.sum())
    px, py, pz = _rays_float32(rays[:, order])
    up = np.ascontiguousarray(polarity[order] > 0)
    sp_obs = np.ascontiguousarray(sp_log10[~is_pol], dtype=np.float32)
    if not np.all(np.isfinite(sp_obs)):
        raise ValueError("S/P rows (polarity 0) need a finite log10 S/P ratio")
    nmismax, nextra = misfit_allowances(npol, badfrac, badmin)
    qmismax, qextra = sp_allowances(len(sp_obs), qbadfac, qbadmin)
    first_trial = np.full(len(grid), len(rays), dtype=np.int32)
    kernel = _POLARITY_SP_SEARCH[bool(parallel)]
    kernel(px, py, pz, up, np.int64(npol), sp_obs, _usable_trials(rays), grid.slip_t,
           grid.normal_t, _SP_TABLE.ravel(), np.int64(nmismax), np.int64(nextra),
           np.float32(qmismax), np.float32(qextra), first_trial)
    return _accepted(first_trial, len(rays))


def predicted_log_sp(rays, normal, slip) -> np.ndarray:
    """Predicted log10 S/P (4.9 * S / P radiation, clipped to [-2, 4]) for rays (..., 3) and one
    mechanism (normal, slip), from the same table as the search (direction cosines quantised
    to 1/180)."""
    rays = np.asarray(rays, dtype=float)
    k1 = np.minimum(np.floor(np.abs(rays @ np.asarray(slip, dtype=float)) * SP_TABLE_STEPS + 0.5),
                    SP_TABLE_STEPS).astype(int)
    k3 = np.minimum(np.floor(np.abs(rays @ np.asarray(normal, dtype=float)) * SP_TABLE_STEPS + 0.5),
                    SP_TABLE_STEPS).astype(int)
    return _SP_TABLE[k3, k1].astype(float)
