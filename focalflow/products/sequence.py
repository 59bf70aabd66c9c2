"""Analyses of an injection-induced sequence from a mechanism catalog: arrays and tables only.

* **Strikes on one half-circle** (:func:`fold_strikes`): a nodal plane's strike and strike+180°
  are the same plane direction; strikes are folded into the half-circle ``[start, start+180)``,
  by default centred on the catalog's mean direction (:func:`axial_mean`: the mean of the doubled
  angles, halved), so one cluster is not split between 0° and 180°.
* **Strike/rake groups** (:func:`strike_rake_groups`): k-means (``scipy.cluster.vq.kmeans2``,
  k-means++ start, best of ``restarts`` seeded runs) on each mechanism's first nodal plane
  embedded on circles: (cos 2φ, sin 2φ) for the strike φ (a direction, period 180°) and
  (cos λ, sin λ) for the rake λ, so 179° and 1° are neighbours. The number of groups is given or
  chosen by the largest mean silhouette over 2-6. Groups are numbered by size (1 = largest).
* **Triggering front** (:func:`triggering_front`, Shapiro et al. 1997, 2002): events triggered by
  pore-pressure diffusion from an injection point lie inside r(t) = sqrt(4 pi D t) (r distance
  from the injection point, t time since injection started, D the hydraulic diffusivity). If
  they fill the volume inside the front uniformly in ``dimension`` dimensions (3: a volume, 2: a
  fault plane), r^2 / (4 pi t) has the distribution D u^(2/dimension), u uniform, so its
  ``quantile`` q is D q^(2/dimension): D is estimated as that quantile divided by
  q^(2/dimension) (robust to the few events beyond the front that a max would follow), with a
  95 % interval and standard deviation from a seeded bootstrap of the events.
* **Gutenberg-Richter b-value** (:func:`gutenberg_richter`): completeness magnitude Mc by
  maximum curvature (the most populated magnitude bin, plus ``maxc_correction``, 0.2 by default
  after Woessner & Wiemer 2005) or by goodness of fit (Wiemer & Wyss 2000: the smallest Mc whose
  Gutenberg-Richter fit explains 95 %, else 90 %, of the cumulative counts of the bins at and
  above it, R = 100 - 100 sum|B - S| / sum B; else maximum curvature); b by Aki (1965) / Utsu's maximum likelihood with the binning correction,
  b = log10(e) / (mean(M) - (Mc - dM/2)); its uncertainty by Shi & Bolt (1982),
  sigma = 2.3 b^2 sqrt(sum (M - mean)^2 / (n (n - 1))).
* **Activation frames** (:func:`activation_frames`): the catalog cut into equal time slices.

Distances use a local flat-earth approximation (111.195 km per degree of latitude; the
sequences these analyses are for span a few km).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from focalflow.errors import FocalflowError

KM_PER_DEG = 111.195
GROUP_RANGE = range(2, 7)


# ------------------------------------------------------------------ strikes and groups
def axial_mean(strike_deg) -> float:
    """Mean direction (degrees in [0, 180)) of strikes taken as directions (period 180°)."""
    doubled = np.radians(2.0 * np.asarray(strike_deg, float))
    return float(np.degrees(np.arctan2(np.sin(doubled).mean(), np.cos(doubled).mean())) / 2.0
                 % 180.0)


def half_circle_start(strike_deg) -> float:
    """The start of the half-circle centred on the strikes' :func:`axial_mean`."""
    return (axial_mean(strike_deg) - 90.0) % 180.0


def fold_strikes(strike_deg, start_deg: float) -> np.ndarray:
    """Strikes folded into ``[start_deg, start_deg + 180)`` (degrees)."""
    return (np.asarray(strike_deg, float) - start_deg) % 180.0 + start_deg


def circular_mean(angle_deg) -> float:
    """Mean direction of angles (degrees in (-180, 180])."""
    a = np.radians(np.asarray(angle_deg, float))
    return float(np.degrees(np.arctan2(np.sin(a).mean(), np.cos(a).mean())))


def circular_spread(angle_deg, period: float = 360.0) -> float:
    """Circular standard deviation (degrees) of angles with the given period."""
    a = np.radians(np.asarray(angle_deg, float) * 360.0 / period)
    length = np.hypot(np.sin(a).mean(), np.cos(a).mean())
    return float(np.degrees(np.sqrt(-2.0 * np.log(max(length, 1e-12)))) * period / 360.0)


def strike_rake_features(strike_deg, rake_deg) -> np.ndarray:
    """(cos 2φ, sin 2φ, cos λ, sin λ) of each plane: the space the groups are found in."""
    s, r = np.radians(2.0 * np.asarray(strike_deg, float)), np.radians(np.asarray(rake_deg, float))
    return np.column_stack([np.cos(s), np.sin(s), np.cos(r), np.sin(r)])


def silhouette(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (Rousseeuw 1987) of a partition, Euclidean distances."""
    from scipy.spatial.distance import cdist

    groups = np.unique(labels)
    if len(groups) < 2:
        return -1.0
    distance = cdist(features, features)
    mean_to = np.column_stack([distance[:, labels == g].sum(axis=1) for g in groups])
    sizes = np.array([(labels == g).sum() for g in groups], float)
    own = np.searchsorted(groups, labels)
    rows = np.arange(len(labels))
    a = mean_to[rows, own] / np.maximum(sizes[own] - 1, 1)
    other = mean_to / sizes
    other[rows, own] = np.inf
    b = other.min(axis=1)
    s = np.where(sizes[own] > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def kmeans(features: np.ndarray, k: int, seed: int = 0, restarts: int = 10) -> np.ndarray:
    """Labels 0..k-1 of the best (least within-group sum of squares) of ``restarts`` k-means++
    runs, renumbered by decreasing group size (ties: first appearance)."""
    from scipy.cluster.vq import kmeans2

    best, best_cost = None, np.inf
    for run in range(restarts):
        centroids, labels = kmeans2(features, k, minit="++", seed=seed + run)
        cost = float(((features - centroids[labels]) ** 2).sum())
        if cost < best_cost - 1e-9:
            best, best_cost = labels, cost
    sizes = np.bincount(best, minlength=k)
    order = sorted(range(k), key=lambda g: (-sizes[g], int(np.argmax(best == g))))
    return np.argsort(order)[best]


def strike_rake_groups(catalog: pd.DataFrame, n_groups: int | None = None, seed: int = 0
                       ) -> tuple[np.ndarray, pd.DataFrame]:
    """Group number (1 = largest) of each mechanism and the groups' summary (``group``,
    ``events``, ``strike_deg`` (axial mean), ``strike_spread_deg``, ``rake_deg``,
    ``rake_spread_deg``, HASH's average mechanism ``avg_strike/avg_dip/avg_rake``); see the
    module docstring for the method."""
    from focalflow.products.analyze import average_mechanism

    if len(catalog) < 3:
        raise FocalflowError(f"{len(catalog)} mechanism(s): too few to group")
    features = strike_rake_features(catalog["strike"], catalog["rake"])
    if n_groups is None:
        candidates = [k for k in GROUP_RANGE if k < len(catalog)]
        scored = {k: silhouette(features, kmeans(features, k, seed)) for k in candidates}
        n_groups = max(scored, key=scored.get)
    elif not 1 <= n_groups < len(catalog):
        raise FocalflowError(f"cannot make {n_groups} groups of {len(catalog)} mechanisms")
    labels = kmeans(features, n_groups, seed) + 1
    rows = []
    for group in range(1, n_groups + 1):
        members = catalog[labels == group]
        mean = average_mechanism(members)
        rows.append({"group": group, "events": len(members),
                     "strike_deg": round(axial_mean(members["strike"]), 1),
                     "strike_spread_deg": round(circular_spread(members["strike"], 180.0), 1),
                     "rake_deg": round(circular_mean(members["rake"]), 1),
                     "rake_spread_deg": round(circular_spread(members["rake"]), 1),
                     "avg_strike": mean["strike"], "avg_dip": mean["dip"],
                     "avg_rake": mean["rake"], "faulting_class": mean["faulting_class"]})
    return labels, pd.DataFrame(rows)


# ------------------------------------------------------------------ geometry and time
def seconds_since(times, reference: str) -> np.ndarray:
    """Seconds from ``reference`` (ISO text) to each of ``times`` (ISO texts; NaN for blanks)."""
    ref = np.datetime64(reference.rstrip("Z"), "ms")
    values = np.array([np.datetime64(t.rstrip("Z"), "ms") if t else np.datetime64("NaT", "ms")
                       for t in times], dtype="datetime64[ms]")
    return (values - ref).astype("timedelta64[ms]").astype(float) / 1000.0


def distance_m(lat, lon, depth_km, lat0: float, lon0: float, depth0_km: float) -> np.ndarray:
    """3-D distance (m) from a point, local flat-earth approximation."""
    north = (np.asarray(lat, float) - lat0) * KM_PER_DEG
    east = (np.asarray(lon, float) - lon0) * KM_PER_DEG * np.cos(np.radians(lat0))
    down = np.asarray(depth_km, float) - depth0_km
    return 1000.0 * np.sqrt(north ** 2 + east ** 2 + down ** 2)


# ------------------------------------------------------------------ triggering front
def triggering_front(distance: np.ndarray, time_s: np.ndarray, quantile: float = 0.9,
                     dimension: int = 3, n_boot: int = 1000, seed: int = 0) -> dict:
    """Hydraulic diffusivity D (m²/s) of the front r = sqrt(4 pi D t) from event distances (m)
    and times since injection start (s, > 0); see the module docstring. Returns ``d_m2_s``,
    ``d_low_m2_s``/``d_high_m2_s`` (95 % bootstrap interval), ``d_sigma_m2_s`` and ``events``."""
    distance, time_s = np.asarray(distance, float), np.asarray(time_s, float)
    use = np.isfinite(distance) & np.isfinite(time_s) & (time_s > 0)
    if use.sum() < 5:
        raise FocalflowError(f"{int(use.sum())} event(s) after the injection start: too few "
                             "to fit a triggering front")
    if not 0 < quantile <= 1 or dimension not in (1, 2, 3):
        raise FocalflowError("front quantile must be in (0, 1] and dimension 1, 2 or 3")
    ratio = distance[use] ** 2 / (4.0 * np.pi * time_s[use])
    scale = quantile ** (2.0 / dimension)
    estimate = float(np.quantile(ratio, quantile)) / scale
    rng = np.random.default_rng(seed)
    boot = np.quantile(ratio[rng.integers(0, len(ratio), (n_boot, len(ratio)))], quantile,
                       axis=1) / scale
    low, high = np.percentile(boot, [2.5, 97.5])
    return {"events": int(use.sum()), "d_m2_s": estimate, "d_low_m2_s": float(low),
            "d_high_m2_s": float(high), "d_sigma_m2_s": float(boot.std(ddof=1)),
            "quantile": quantile, "dimension": dimension}


def front_by_stage(catalog: pd.DataFrame, wells: pd.DataFrame, min_events: int = 20,
                   **options) -> tuple[pd.DataFrame, dict]:
    """:func:`triggering_front` of each stage, on the events from its start until the next stage
    (of any well) starts; returns the table (one row per stage: well, stage, start, events, D
    and its interval, or the reason it was not fitted) and, per fitted stage ``(well, stage)``,
    the events' distance (m), time (s) and event ids."""
    rows, points = [], {}
    starts = list(wells["start"]) + ["9999-12-31T00:00:00"]
    for i, stage in wells.reset_index(drop=True).iterrows():
        t = seconds_since(catalog["time"], stage["start"])
        window = seconds_since([starts[i + 1]], stage["start"])[0]
        inside = np.isfinite(t) & (t > 0) & (t <= window)
        r = distance_m(catalog["origin_lat"], catalog["origin_lon"], catalog["origin_depth_km"],
                       stage["lat"], stage["lon"], stage["depth_km"])
        inside &= np.isfinite(r)
        row = {"well": stage["well"], "stage": stage["stage"], "start": stage["start"],
               "events": int(inside.sum())}
        if inside.sum() < min_events:
            rows.append({**row, "note": f"fewer than {min_events} located events before the "
                                        "next stage"})
            continue
        fit = triggering_front(r[inside], t[inside], **options)
        rows.append({**row, **{k: fit[k] for k in ("d_m2_s", "d_low_m2_s", "d_high_m2_s",
                                                   "d_sigma_m2_s")}, "note": ""})
        points[(stage["well"], stage["stage"])] = {
            "distance_m": r[inside], "time_s": t[inside],
            "event_id": catalog["event_id"].to_numpy()[inside], "fit": fit}
    return pd.DataFrame(rows), points


# ------------------------------------------------------------------ magnitudes
def binned(mags, bin_width: float) -> np.ndarray:
    """Magnitudes rounded to bins of ``bin_width`` (centres at multiples of it)."""
    return np.round(np.asarray(mags, float) / bin_width) * bin_width


def aki_utsu_b(mags, mc: float, bin_width: float) -> tuple[float, float, int]:
    """(b, Shi & Bolt sigma, n) of binned magnitudes at and above ``mc`` (module docstring)."""
    m = np.asarray(mags, float)
    m = m[m >= mc - bin_width / 2 + 1e-9]
    if len(m) < 2 or m.mean() - (mc - bin_width / 2) <= 0:
        return np.nan, np.nan, len(m)
    b = np.log10(np.e) / (m.mean() - (mc - bin_width / 2))
    sigma = 2.3 * b ** 2 * np.sqrt(((m - m.mean()) ** 2).sum() / (len(m) * (len(m) - 1)))
    return float(b), float(sigma), len(m)


def mc_max_curvature(mags, bin_width: float, correction: float = 0.2) -> float:
    """Centre of the most populated magnitude bin plus ``correction``."""
    m = binned(mags, bin_width)
    centres, counts = np.unique(m, return_counts=True)
    return float(np.round((centres[np.argmax(counts)] + correction) / bin_width) * bin_width)


def mc_goodness_of_fit(mags, bin_width: float, min_events: int = 50,
                       correction: float = 0.2) -> tuple[float, float]:
    """(Mc, fit %) by Wiemer & Wyss (2000): the smallest Mc whose Gutenberg-Richter model
    explains >= 95 % (else >= 90 %) of the cumulative counts at and above it; maximum curvature
    (with ``correction``) and NaN when neither level is reached."""
    m = binned(mags, bin_width)
    centres = np.unique(m)
    fits = []
    for mc in centres:
        above = m[m >= mc - bin_width / 2 + 1e-9]
        b, _, n = aki_utsu_b(above, mc, bin_width)
        if n < min_events or not np.isfinite(b):
            break
        centres_above = np.arange(mc, above.max() + bin_width / 2, bin_width)
        observed = np.array([np.sum(above >= c - bin_width / 2 + 1e-9) for c in centres_above],
                            float)
        a = np.log10(n) + b * (mc - bin_width / 2)
        modelled = 10 ** (a - b * (centres_above - bin_width / 2))
        fits.append((float(mc), 100.0 - 100.0 * np.abs(observed - modelled).sum()
                     / observed.sum()))
    for level in (95.0, 90.0):
        for mc, fit in fits:
            if fit >= level:
                return mc, fit
    return mc_max_curvature(mags, bin_width, correction), np.nan


def gutenberg_richter(mags, bin_width: float = 0.1, method: str = "maxc",
                      maxc_correction: float = 0.2) -> dict:
    """Mc (``method`` maxc or gft), b with its Shi & Bolt sigma, the a-value (log10 of the
    number of events at and above Mc, extrapolated to M 0) and the counts."""
    m = binned(np.asarray(mags, float)[np.isfinite(mags)], bin_width)
    if len(m) < 10:
        raise FocalflowError(f"{len(m)} magnitude(s): too few for a b-value")
    fit = np.nan
    if method == "maxc":
        mc = mc_max_curvature(m, bin_width, maxc_correction)
    elif method == "gft":
        mc, fit = mc_goodness_of_fit(m, bin_width, correction=maxc_correction)
    else:
        raise FocalflowError(f"unknown Mc method {method!r} (maxc or gft)")
    b, sigma, n = aki_utsu_b(m, mc, bin_width)
    return {"events": int(len(m)), "mc": round(mc, 3), "mc_method": method,
            "gft_fit_percent": fit, "events_above_mc": n, "b": b, "b_sigma": sigma,
            "b_low": b - 1.96 * sigma, "b_high": b + 1.96 * sigma,
            "a": float(np.log10(max(n, 1)) + b * (mc - bin_width / 2)) if np.isfinite(b)
            else np.nan, "bin_width": bin_width}


# ------------------------------------------------------------------ activation
def activation_frames(times, n_frames: int) -> pd.DataFrame:
    """Equal time slices covering ``times`` (ISO texts): ``frame``, ``start``, ``end`` (ISO),
    ``new_events`` and ``cumulative_events``."""
    t = np.array([np.datetime64(x.rstrip("Z"), "ms") for x in times if x], dtype="datetime64[ms]")
    if not len(t):
        raise FocalflowError("no event has an origin time: no activation frames")
    first, last = t.min(), t.max()
    span = max(int((last - first).astype(int)), 1)
    edges = first + (np.linspace(0, span, n_frames + 1)).astype("timedelta64[ms]")
    edges[-1] = last
    rows, total = [], 0
    for k in range(n_frames):
        inside = (t >= edges[k]) & ((t < edges[k + 1]) if k < n_frames - 1 else (t <= edges[k + 1]))
        total += int(inside.sum())
        rows.append({"frame": k + 1, "start": str(edges[k]) + "Z", "end": str(edges[k + 1]) + "Z",
                     "new_events": int(inside.sum()), "cumulative_events": total})
    return pd.DataFrame(rows)
