"""Take-off angles of direct P waves in a 1-D velocity model: HASH v1.2's MK_TABLE and GET_TTS.

Built as HASH builds them, in single precision (HASH is REAL*4; only its layer integrals are
double), so that ``--hash-inp`` runs reproduce HASH's take-off angles to the bit:

* the model is a list of nodes (depth km, Vp km/s); each table depth that falls inside a layer
  (0.1 km or more from both nodes) becomes a node, its velocity linear in depth; a repeated
  depth is a discontinuity; below the last node there is nothing (rays that never turn inside
  the model are not used);
* ``n_rays + 1`` rays p = k * u_surface / n_rays are traced layer by layer with the exact
  integrals for a velocity exponential in depth (LAYERTRACE); a ray stops in the layer where it
  turns;
* per source depth the up-going rays (p increasing, while they reach the surface and their
  distance grows) are followed by the down-going turning rays (p decreasing); at each table
  distance the earliest arrival interpolated along a segment whose distance increases gives the
  take-off angle OF THE SEGMENT'S SECOND RAY (asin(p/u_source), not interpolated: HASH's rule);
* a node without an arrival holds 0 (HASH's "missing"), and so does distance 0;
* the lookup (GET_TTS) is bilinear where the four corners exist, else each depth row is
  extrapolated along the distance segment nearest the station (and so is any distance beyond
  the table); a depth outside the table has no angle.

Take-off angles are measured from vertical up (0 up, 90 horizontal, 180 down).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

DEFAULT_SOURCE_DEPTHS_KM = np.arange(0.0, 40.0, 3.0)     # 0, 3, ..., 39: 14 depths
DEFAULT_DISTANCES_KM = np.arange(0.0, 201.0, 2.0)        # 0, 2, ..., 200: 101 distances
#: What a trial does when its source depth (or a station distance) leaves the take-off table:
#: ``skip`` the trial (the observation, for a distance); ``clamp`` to the table's edge (SKHASH);
#: ``hash_v12`` as HASH v1.2: a 999 degree "take-off angle" for a depth outside (HASH uses it
#: as an angle), distances beyond the table extrapolated.
TABLE_EDGES = ("skip", "clamp", "hash_v12")
HASH_MISSING_ANGLE = 999.0

_F = np.float32
_DEGRAD = _F(180.0) / _F(3.14159265)


@dataclass(frozen=True)
class TakeoffTable:
    """First-arrival take-off angle (degrees from vertical up) and P travel time (s), float32
    arrays of shape (n source depths, n distances); 0 where no ray arrives (HASH's convention:
    the distance-0 column is always 0, and the lookup extrapolates over such nodes)."""

    source_depths_km: np.ndarray
    distances_km: np.ndarray
    takeoff_deg: np.ndarray
    travel_time_s: np.ndarray


@njit(cache=True, error_model="numpy")
def _layer_trace(p1, h1, utop1, ubot1):
    """LAYERTRACE (exponential velocity in depth): distance and time across one layer of
    thickness h for ray parameter p, in double precision from and to single precision; code 0:
    turned above the layer, 1: passed through, 2: turned inside it."""
    p, h, utop, ubot = float(p1), float(h1), float(utop1), float(ubot1)
    y = utop - p
    if y <= 0.0:
        return _F(0.0), _F(0.0), 0
    qs = math.sqrt(y * (utop + p))
    qr = math.atan2(qs, p)
    b = -math.log(ubot / utop) / h
    if b == 0.0:  # constant velocity
        b = 1.0 / h
        etau, ex, code = qs, p / qs, 1
    else:
        etau, ex = qs - p * qr, qr
        if ubot <= p:
            code = 2
        else:
            code = 1
            qs = math.sqrt((ubot - p) * (ubot + p))
            qr = math.atan2(qs, p)
            etau = etau - qs + p * qr
            ex = ex - qr
    dx = ex / b
    return _F(dx), _F(etau / b + p * dx), code


@njit(cache=True, error_model="numpy")
def _insert_table_depths(z, alpha, deptab):
    """The model nodes with each table depth lying inside a layer inserted (velocity linear in
    depth), then the last node repeated (a zero-thickness end), as MK_TABLE does."""
    zs = list(z)
    vs = list(alpha)
    zs.append(zs[-1])
    vs.append(vs[-1])
    tenth = _F(0.1)
    for i in range(len(z), 0, -1):
        for idep in range(len(deptab) - 1, -1, -1):
            dep = deptab[idep]
            if zs[i - 1] <= dep - tenth and zs[i] >= dep + tenth:
                zs.insert(i, dep)
                vs.insert(i, vs[i - 1])
                frac = (zs[i] - zs[i - 1]) / (zs[i + 1] - zs[i - 1])
                vs[i] = vs[i - 1] + frac * (vs[i + 1] - vs[i - 1])
    return np.array(zs, dtype=np.float32), np.array(vs, dtype=np.float32)


@njit(cache=True, error_model="numpy")
def _mk_table(z, alpha, deptab, delttab, nump):
    """MK_TABLE for one model: (take-off, travel time) tables (n depths, n distances)."""
    z, alpha = _insert_table_depths(z, alpha, deptab)
    npts = z.size
    slow = _F(1.0) / alpha
    pmax = slow[0]
    plongcut = slow[npts - 1]
    pstep = pmax / _F(nump)
    npmax = int((pmax + pstep / _F(2.0)) / pstep) + 1
    ndep, ndel = deptab.size, delttab.size
    ptab = np.empty(npmax, np.float32)
    deltab = np.empty(npmax, np.float32)
    tttab = np.empty(npmax, np.float32)
    depxcor = np.full((npmax, ndep), _F(-999.0))
    deptcor = np.full((npmax, ndep), _F(-999.0))
    depucor = np.full((npmax, ndep), _F(-999.0))
    for ip in range(npmax):
        p = pstep * _F(ip)
        ptab[ip] = p
        x = _F(0.0)
        t = _F(0.0)
        for idep in range(ndep):
            if deptab[idep] == 0.0:
                depxcor[ip, idep] = 0.0
                deptcor[ip, idep] = 0.0
                depucor[ip, idep] = slow[0]
        for i in range(npts - 1):
            h = z[i + 1] - z[i]
            if h == 0.0:  # an interface
                continue
            dx, dt, code = _layer_trace(p, h, slow[i], slow[i + 1])
            x = x + dx
            t = t + dt
            if code != 1:  # the ray has turned
                break
            for idep in range(ndep):
                if abs(z[i + 1] - deptab[idep]) < _F(0.1):
                    depxcor[ip, idep] = x
                    deptcor[ip, idep] = t
                    depucor[ip, idep] = slow[i + 1]
        deltab[ip] = _F(2.0) * x
        tttab[ip] = _F(2.0) * t

    takeoff = np.zeros((ndep, ndel), np.float32)
    times = np.zeros((ndep, ndel), np.float32)
    xsave = np.empty(2 * npmax + 1, np.float32)
    tsave = np.empty(2 * npmax + 1, np.float32)
    psave = np.empty(2 * npmax + 1, np.float32)
    usave = np.empty(2 * npmax + 1, np.float32)
    for idep in range(ndep):
        n = 0
        if deptab[idep] == 0.0:
            # HASH starts the down-going list one ray past the last traced one, a ray that
            # holds zeros: a point at distance 0 that only the distance-0 node could use
            xsave[0] = tsave[0] = psave[0] = usave[0] = 0.0
            n = 1
            last_up = npmax - 1
        else:
            xold = _F(-999.0)
            last_up = -1
            for i in range(npmax):  # up-going rays from the source
                x2 = depxcor[i, idep]
                if x2 == -999.0 or x2 <= xold:
                    break
                xsave[n] = x2
                tsave[n] = deptcor[i, idep]
                psave[n] = -ptab[i]
                usave[n] = depucor[i, idep]
                n += 1
                xold = x2
                last_up = i
        for i in range(last_up, -1, -1):  # down-going rays from the source
            if depxcor[i, idep] == -999.0:
                continue
            xsave[n] = deltab[i] - depxcor[i, idep]
            tsave[n] = tttab[i] - deptcor[i, idep]
            psave[n] = ptab[i]
            usave[n] = depucor[i, idep]
            n += 1
        for idel in range(ndel):
            dist = delttab[idel]
            best = _F(999.0)
            for i in range(1, n):
                x1, x2 = xsave[i - 1], xsave[i]
                if x1 > dist or x2 < dist:
                    continue
                if psave[i] > 0.0 and psave[i] < plongcut:  # never turned inside the model
                    continue
                frac = (dist - x1) / (x2 - x1)
                t1 = tsave[i - 1] + frac * (tsave[i] - tsave[i - 1])
                if t1 < best:
                    best = t1
                    angle = math.asin(psave[i] / usave[i]) * _DEGRAD
                    takeoff[idep, idel] = -angle if angle < 0.0 else _F(180.0) - angle
                    times[idep, idel] = t1
    if delttab[0] == 0.0:  # HASH: "straight up at zero range", which its lookup skips
        takeoff[:, 0] = 0.0
        times[:, 0] = 0.0
    return takeoff, times


def takeoff_table(layer_depth_km, vp_km_s, source_depths_km=DEFAULT_SOURCE_DEPTHS_KM,
                  distances_km=DEFAULT_DISTANCES_KM, n_rays: int = 9000) -> TakeoffTable:
    """HASH's MK_TABLE for one model (module docstring): ``layer_depth_km`` (increasing, a
    repeated depth is a discontinuity) and ``vp_km_s`` are the model's nodes; the table's
    source depths and distances (km, increasing) and the number of ray steps ``n_rays``
    default to HASH v1.2's (0-39 km by 3, 0-200 km by 2, 9000). Raises ValueError for a model
    that is not increasing in depth or has a non-positive velocity."""
    z = np.asarray(layer_depth_km, dtype=np.float32)
    v = np.asarray(vp_km_s, dtype=np.float32)
    if z.ndim != 1 or z.shape != v.shape or len(z) < 2:
        raise ValueError("velocity model needs matching 1-D arrays of at least two depths and "
                         "velocities")
    if np.any(np.diff(z) < 0) or np.any(v <= 0) or not np.all(np.isfinite(z) & np.isfinite(v)):
        raise ValueError("velocity model depths must increase and velocities be positive")
    deps = np.asarray(source_depths_km, dtype=np.float32)
    dels = np.asarray(distances_km, dtype=np.float32)
    if np.any(np.diff(deps) <= 0) or np.any(np.diff(dels) <= 0) or len(deps) < 2 or len(dels) < 2:
        raise ValueError("table depths and distances must increase, at least two of each")
    takeoff, times = _mk_table(z, v, deps, dels, int(n_rays))
    return TakeoffTable(deps, dels, takeoff, times)


@njit(cache=True, error_model="numpy")
def _row_value(values, x, row, ix1, ix2, dist):
    """Linear take-off along one depth row between distance nodes ix1, ix2 (may extrapolate)."""
    frac = (dist - x[ix1]) / (x[ix2] - x[ix1])
    return values[row, ix1] + frac * (values[row, ix2] - values[row, ix1])


@njit(cache=True, error_model="numpy")
def _nearest_segment(values, x, row, dist):
    """GET_TTS's extrapolation: the distance segment with both ends present whose midpoint is
    nearest ``dist`` (the first of equals); -1 if none."""
    best, best_off = -1, _F(999.0)
    for ix in range(1, x.size):
        if values[row, ix - 1] == 0.0 or values[row, ix] == 0.0:
            continue
        off = abs((x[ix - 1] + x[ix]) / _F(2.0) - dist)
        if off < best_off:
            best, best_off = ix, off
    return best


@njit(cache=True, error_model="numpy")
def _upper_node(nodes, value):
    """The first node index >= 1 whose node is at or beyond ``value`` (the last if none): the
    upper end of GET_TTS's bracketing interval."""
    for i in range(1, nodes.size):
        if nodes[i] >= value:
            return i
    return nodes.size - 1


@njit(cache=True, error_model="numpy")
def _get_tts(takeoff, times, d, x, dist, depth, out_angle, out_time):
    """GET_TTS at (dist, depth) pairs; NaN where the depth is outside the table or no segment
    can be extrapolated."""
    nd = d.size
    for k in range(dist.size):
        qdep, dl = depth[k], dist[k]
        if not (qdep >= d[0] and qdep <= d[nd - 1]) or not np.isfinite(dl):
            out_angle[k] = np.nan
            out_time[k] = np.nan
            continue
        id2 = _upper_node(d, qdep)
        id1 = id2 - 1
        ix2 = _upper_node(x, dl)
        ix1 = ix2 - 1
        dfrac = (qdep - d[id1]) / (d[id2] - d[id1])
        if (takeoff[id1, ix1] != 0.0 and takeoff[id2, ix1] != 0.0 and takeoff[id1, ix2] != 0.0
                and takeoff[id2, ix2] != 0.0 and x[ix2] >= dl):
            t1 = _row_value(takeoff, x, id1, ix1, ix2, dl)
            t2 = _row_value(takeoff, x, id2, ix1, ix2, dl)
            s1 = _row_value(times, x, id1, ix1, ix2, dl)
            s2 = _row_value(times, x, id2, ix1, ix2, dl)
        else:
            b1 = _nearest_segment(takeoff, x, id1, dl)
            b2 = _nearest_segment(takeoff, x, id2, dl)
            if b1 < 0 or b2 < 0:
                out_angle[k] = np.nan
                out_time[k] = np.nan
                continue
            t1 = _row_value(takeoff, x, id1, b1 - 1, b1, dl)
            t2 = _row_value(takeoff, x, id2, b2 - 1, b2, dl)
            s1 = _row_value(times, x, id1, b1 - 1, b1, dl)
            s2 = _row_value(times, x, id2, b2 - 1, b2, dl)
        out_angle[k] = t1 + dfrac * (t2 - t1)
        out_time[k] = s1 + dfrac * (s2 - s1)


def lookup_takeoff(table: TakeoffTable, distance_km, depth_km,
                   edges: str = "skip") -> tuple[np.ndarray, np.ndarray]:
    """Take-off angle (degrees) and travel time (s) at epicentral distances and source depths
    (broadcast), HASH's GET_TTS in single precision. ``edges`` (:data:`TABLE_EDGES`): a depth
    outside the table gives NaN (``skip``), the edge's value (``clamp``; SKHASH keeps the
    deepest source 0.01 km above the last table depth) or 999 degrees (``hash_v12``); a
    distance beyond the table gives NaN (``skip``), the edge's value (``clamp``) or HASH's
    extrapolation (``hash_v12``)."""
    if edges not in TABLE_EDGES:
        raise ValueError(f"edges must be one of {', '.join(TABLE_EDGES)}, not {edges!r}")
    dist, depth = np.broadcast_arrays(np.asarray(distance_km, dtype=np.float32),
                                      np.asarray(depth_km, dtype=np.float32))
    shape = dist.shape
    dist = np.ascontiguousarray(dist.ravel())
    depth = np.ascontiguousarray(depth.ravel())
    d, x = table.source_depths_km, table.distances_km
    if edges == "clamp":
        depth = np.clip(depth, d[0], d[-1] - _F(0.01)).astype(np.float32)
        dist = np.clip(dist, x[0], x[-1]).astype(np.float32)
    angle = np.empty(dist.size, np.float32)
    time = np.empty(dist.size, np.float32)
    _get_tts(table.takeoff_deg, table.travel_time_s, d, x, dist, depth, angle, time)
    angle, time = angle.astype(float), time.astype(float)
    if edges == "skip":
        beyond = ~(dist <= x[-1])
        angle[beyond] = time[beyond] = np.nan
    elif edges == "hash_v12":
        outside = ~((depth >= d[0]) & (depth <= d[-1]))
        angle[outside] = HASH_MISSING_ANGLE
    return angle.reshape(shape), time.reshape(shape)
