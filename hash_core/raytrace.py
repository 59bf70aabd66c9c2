"""Take-off angles and travel times of direct P waves in a 1-D velocity model (HASH's MK_TABLE).

The model is a list of nodes (depth km, P velocity km/s); between nodes the velocity varies
exponentially with depth, which makes the ray integrals exact:
for slowness u(z) = u1 exp(-b (z - z1)) across a layer from u1 to u2 (b = ln(u1/u2)/h),
a ray of horizontal slowness p crosses a horizontal distance (acos(p/u1) - acos(p/u2))/b in time
(sqrt(u1^2 - p^2) - sqrt(u2^2 - p^2))/b, and turns where u = p.
For each source depth, rays p = k * u_surface / n_rays leave the source up-going (take-off
asin(p/u_source) from vertical up) or down-going and turning (180 minus that); at each table
distance the first arrival of all branches is kept. Take-off angles are measured from vertical
up (0 = up, 180 = down), HASH's convention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_SOURCE_DEPTHS_KM = np.arange(0.0, 40.0, 3.0)     # 0, 3, ..., 39: 14 depths
DEFAULT_DISTANCES_KM = np.arange(0.0, 201.0, 2.0)        # 0, 2, ..., 200: 101 distances


@dataclass(frozen=True)
class TakeoffTable:
    """Take-off angle (degrees from vertical up) and P travel time (s) of the first arrival,
    shape (n source depths, n distances). Gaps of the ray coverage (no arrival at a node) are
    filled by linear interpolation/extrapolation along distance, so the lookup is bilinear."""

    source_depths_km: np.ndarray
    distances_km: np.ndarray
    takeoff_deg: np.ndarray
    travel_time_s: np.ndarray


def _layer_integrals(p, u1, u2, h):
    """Distance and time across one layer (top slowness u1, bottom u2, thickness h) for rays p
    that cross it completely (p < u1 and p < u2); (n rays,) arrays."""
    eta1 = np.sqrt(np.maximum(u1 * u1 - p * p, 0.0))
    eta2 = np.sqrt(np.maximum(u2 * u2 - p * p, 0.0))
    if abs(u1 - u2) <= 1e-9 * u1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return h * p / eta1, h * u1 * u1 / eta1
    b = np.log(u1 / u2) / h
    dx = (np.arccos(np.clip(p / u1, -1.0, 1.0)) - np.arccos(np.clip(p / u2, -1.0, 1.0))) / b
    dt = (eta1 - eta2) / b
    return dx, dt


def _turning_integrals(p, u1, u2, h):
    """Distance and time from the top of a layer down to the turning point u = p (u2 <= p < u1)."""
    b = np.log(u1 / u2) / h
    dx = np.arccos(np.clip(p / u1, -1.0, 1.0)) / b
    dt = np.sqrt(np.maximum(u1 * u1 - p * p, 0.0)) / b
    return dx, dt


def _monotonic_runs(x):
    """(start, stop) index pairs of the runs of finite x that increase or decrease monotonically
    (zero steps are left out)."""
    step = np.sign(np.diff(x))  # NaN where either end is NaN
    step[np.isnan(step)] = 2.0  # a break
    runs = []
    change = np.flatnonzero(step[1:] != step[:-1]) + 1
    bounds = np.concatenate([[0], change, [len(step)]])
    for a, b in zip(bounds[:-1], bounds[1:]):
        if step[a] in (-1.0, 1.0):
            runs.append((int(a), int(b) + 1))
    return runs


def _first_arrivals(distances, x, t, takeoff):
    """Along each monotonic run of one branch, interpolate time and take-off linearly in
    distance at every table distance; keep the earliest arrival, NaN where none."""
    best_time = np.full(len(distances), np.inf)
    best_takeoff = np.full(len(distances), np.nan)
    for start, stop in _monotonic_runs(x):
        xs, ts, angles = x[start:stop], t[start:stop], takeoff[start:stop]
        if xs[-1] < xs[0]:
            xs, ts, angles = xs[::-1], ts[::-1], angles[::-1]
        covered = (distances >= xs[0]) & (distances <= xs[-1])
        if not covered.any():
            continue
        d = distances[covered]
        times = np.interp(d, xs, ts)
        better = times < best_time[covered]
        best_time[covered] = np.where(better, times, best_time[covered])
        best_takeoff[covered] = np.where(better, np.interp(d, xs, angles), best_takeoff[covered])
    if np.any(np.isfinite(x) & (x == 0.0)):  # a source at the surface reaches distance 0
        first = int(np.argmax(np.isfinite(x) & (x == 0.0)))
        zero = (distances == 0.0) & ~np.isfinite(best_time)
        best_time[zero], best_takeoff[zero] = t[first], takeoff[first]
    found = np.isfinite(best_time)
    return np.where(found, best_time, np.nan), np.where(found, best_takeoff, np.nan)


def _fill_along_distance(distances, values):
    """Fill NaN gaps of each row by linear interpolation, and the ends by linear extrapolation
    from the two nearest valid nodes; rows with fewer than two valid nodes stay NaN."""
    out = values.copy()
    for row in out:
        valid = np.isfinite(row)
        if valid.sum() < 2:
            row[:] = np.nan
            continue
        xs, ys = distances[valid], row[valid]
        filled = np.interp(distances, xs, ys)
        left = distances < xs[0]
        right = distances > xs[-1]
        filled[left] = ys[0] + (distances[left] - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
        filled[right] = ys[-1] + (distances[right] - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        row[:] = filled
    return out


def takeoff_table(layer_depth_km, vp_km_s, source_depths_km=DEFAULT_SOURCE_DEPTHS_KM,
                  distances_km=DEFAULT_DISTANCES_KM, n_rays: int = 9000) -> TakeoffTable:
    """Trace ``n_rays + 1`` rays through the model and tabulate first-arrival take-off angles.

    ``layer_depth_km`` (increasing, first 0) and ``vp_km_s`` are the model's nodes; source
    depths are inserted as nodes by linear interpolation of slowness; below the last node the
    velocity is constant.
    """
    z = np.asarray(layer_depth_km, dtype=float)
    v = np.asarray(vp_km_s, dtype=float)
    if z.ndim != 1 or z.shape != v.shape or len(z) < 1:
        raise ValueError("velocity model needs matching 1-D arrays of depths and velocities")
    if np.any(np.diff(z) < 0) or np.any(v <= 0) or not np.all(np.isfinite(z) & np.isfinite(v)):
        raise ValueError("velocity model depths must increase and velocities be positive")
    sources = np.asarray(source_depths_km, dtype=float)
    distances = np.asarray(distances_km, dtype=float)
    u = 1.0 / v
    deepest = max(z[-1], sources.max())
    if deepest > z[-1]:
        z, u = np.append(z, deepest), np.append(u, u[-1])
    extra = sources[~np.isin(sources, z)]
    u_extra = np.interp(extra, z, u)
    order = np.argsort(np.concatenate([z, extra]), kind="stable")
    z = np.concatenate([z, extra])[order]
    u = np.concatenate([u, u_extra])[order]

    p = np.arange(n_rays + 1) * (u[0] / n_rays)
    n_layers = len(z) - 1
    # per layer top: cumulative crossing distance/time from the surface and the number of
    # layers above that a ray could not cross; per layer: turning distance/time (NaN: none)
    cum_x = np.zeros((n_layers + 1, p.size))
    cum_t = np.zeros((n_layers + 1, p.size))
    blocked = np.zeros((n_layers + 1, p.size), int)
    turn_x = np.full((n_layers, p.size), np.nan)
    turn_t = np.full((n_layers, p.size), np.nan)
    cross_x = np.empty(p.size)
    cross_t = np.empty(p.size)
    for k in range(n_layers):
        h = z[k + 1] - z[k]
        u1, u2 = u[k], u[k + 1]
        crossing = p < min(u1, u2)
        turning = (p >= u2) & (p < u1)
        cross_x[:] = cross_t[:] = np.nan
        if h <= 0:  # a velocity discontinuity: cross it, or turn at it
            cross_x[crossing] = cross_t[crossing] = 0.0
            turn_x[k, turning] = turn_t[k, turning] = 0.0
        else:
            cross_x[crossing], cross_t[crossing] = _layer_integrals(p[crossing], u1, u2, h)
            if turning.any():
                turn_x[k, turning], turn_t[k, turning] = _turning_integrals(p[turning], u1, u2, h)
        cum_x[k + 1] = cum_x[k] + np.nan_to_num(cross_x)
        cum_t[k + 1] = cum_t[k] + np.nan_to_num(cross_t)
        blocked[k + 1] = blocked[k] + ~np.isfinite(cross_x)
    # the first layer at or below each layer in which a ray turns (n_layers: none)
    turns = np.isfinite(turn_x)
    next_turn = np.full((n_layers + 1, p.size), n_layers)
    for k in range(n_layers - 1, -1, -1):
        next_turn[k] = np.where(turns[k], k, next_turn[k + 1])
    rays = np.arange(p.size)

    takeoffs = np.full((sources.size, distances.size), np.nan)
    times = np.full((sources.size, distances.size), np.nan)
    for i, depth in enumerate(sources):
        s = int(np.flatnonzero(z == depth)[0])
        u_source = u[s]
        leaves = (p < u_source) & (blocked[s] == 0)
        angle = np.degrees(np.arcsin(np.clip(p / u_source, 0.0, 1.0)))
        up_x = np.where(leaves, cum_x[s], np.nan)
        up_t = cum_t[s]
        # down-going: cross layers from the source down to the first turning layer, come back
        if s < n_layers:
            turning_below = next_turn[s] < n_layers
            k = np.where(turning_below, next_turn[s], s)
            reaches = leaves & turning_below & (blocked[k, rays] == blocked[s])
            down_x = np.where(reaches, up_x + 2.0 * (cum_x[k, rays] - cum_x[s] + turn_x[k, rays]), np.nan)
            down_t = up_t + 2.0 * (cum_t[k, rays] - cum_t[s] + np.nan_to_num(turn_t[k, rays]))
        else:
            down_x = down_t = np.full(p.size, np.nan)

        t_up, a_up = _first_arrivals(distances, up_x, up_t, angle)
        t_down, a_down = _first_arrivals(distances, down_x, down_t, 180.0 - angle)
        use_down = np.isfinite(t_down) & ~(t_up <= t_down)
        times[i] = np.where(use_down, t_down, t_up)
        takeoffs[i] = np.where(use_down, a_down, a_up)

    takeoffs = np.clip(_fill_along_distance(distances, takeoffs), 0.0, 180.0)
    times = _fill_along_distance(distances, times)
    return TakeoffTable(sources.copy(), distances.copy(), takeoffs, times)


def lookup_takeoff(table: TakeoffTable, distance_km, depth_km) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear take-off angle (degrees) and travel time (s) at epicentral distances and source
    depths (broadcast). NaN where the depth or the distance is outside the table."""
    dist = np.asarray(distance_km, dtype=float)
    depth = np.asarray(depth_km, dtype=float)
    dist, depth = np.broadcast_arrays(dist, depth)
    deps, xs = table.source_depths_km, table.distances_km
    inside = ((depth >= deps[0]) & (depth <= deps[-1]) & (dist >= xs[0]) & (dist <= xs[-1])
              & np.isfinite(depth) & np.isfinite(dist))
    d = np.where(inside, depth, deps[0])
    x = np.where(inside, dist, xs[0])
    i = np.clip(np.searchsorted(deps, d, side="right") - 1, 0, len(deps) - 2)
    j = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 2)
    fd = (d - deps[i]) / (deps[i + 1] - deps[i])
    fx = (x - xs[j]) / (xs[j + 1] - xs[j])

    def bilinear(values):
        low = values[i, j] + fx * (values[i, j + 1] - values[i, j])
        high = values[i + 1, j] + fx * (values[i + 1, j + 1] - values[i + 1, j])
        return np.where(inside, low + fd * (high - low), np.nan)

    return bilinear(table.takeoff_deg), bilinear(table.travel_time_s)
