"""A synthetic injection-induced sequence with known hydraulic diffusivity, b-value and fault
groups (seeded), for the tests of the sequence analyses."""
from __future__ import annotations

import numpy as np
import pandas as pd

KM_PER_DEG = 111.195
LAT0, LON0, DEPTH0_KM = 54.34, -117.24, 3.2
START = np.datetime64("2016-11-01T00:00:00", "ms")
WINDOW_S = 48 * 3600.0
# (strike, dip, rake) of the planted groups and their share of the events
GROUPS = [((30.0, 85.0, 180.0), 0.5), ((120.0, 80.0, 0.0), 0.3), ((75.0, 50.0, -90.0), 0.2)]


def front_events(n: int, d_m2_s: float, rng: np.random.Generator, dimension: int = 3
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Distances (m) and times (s) of events filling the sphere (or disc) r < sqrt(4 pi D t)
    uniformly, at times uniform over the stage window."""
    t = rng.uniform(60.0, WINDOW_S, n)
    r = np.sqrt(4 * np.pi * d_m2_s * t) * rng.uniform(0, 1, n) ** (1.0 / dimension)
    return r, t


def gutenberg_richter_mags(n: int, b: float, mc: float, rng: np.random.Generator,
                           bin_width: float = 0.1) -> np.ndarray:
    """Binned magnitudes: exponential above mc - bin/2 with the given b, plus an incomplete part
    below (detection falling off over one magnitude unit)."""
    low = mc - bin_width / 2
    start = low - 1.0
    mags = start + rng.exponential(1.0 / (b * np.log(10)), size=40 * n)
    detected = rng.uniform(0, 1, len(mags)) < np.clip((mags - start) / (low - start), 0, 1) ** 2
    mags = mags[detected | (mags >= low)][:n]
    return np.round(mags / bin_width) * bin_width


def synthetic_sequence(seed: int = 0, n: int = 600, d_m2_s: float = 0.4, b: float = 1.0,
                       mc: float = -0.5) -> dict:
    """The sequence: ``catalog`` (a mechanism catalog frame with time, location, strike, dip,
    rake, mag, ``true_group``), ``wells`` and ``injection`` frames, and the truth."""
    rng = np.random.default_rng(seed)
    r, t = front_events(n, d_m2_s, rng)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    north, east, down = (r[:, None] * direction).T
    lat = LAT0 + north / 1000.0 / KM_PER_DEG
    lon = LON0 + east / 1000.0 / (KM_PER_DEG * np.cos(np.radians(LAT0)))
    times = START + (t * 1000).astype("timedelta64[ms]")
    group = rng.choice(len(GROUPS), size=n, p=[share for _, share in GROUPS])
    sdr = np.array([GROUPS[g][0] for g in group])
    strike = (sdr[:, 0] + rng.normal(0, 4, n)) % 360
    dip = np.clip(sdr[:, 1] + rng.normal(0, 3, n), 5, 90)
    rake = (sdr[:, 2] + rng.normal(0, 6, n) + 180) % 360 - 180
    catalog = pd.DataFrame({
        "event_id": [f"ev{i:04d}" for i in range(n)],
        "time": [str(x) + "Z" for x in times], "origin_lat": lat, "origin_lon": lon,
        "origin_depth_km": DEPTH0_KM + down / 1000.0, "strike": np.round(strike, 1),
        "dip": np.round(dip, 1), "rake": np.round(rake, 1),
        "mag": gutenberg_richter_mags(n, b, mc, rng), "true_group": group + 1})
    wells = pd.DataFrame({
        "well": ["A", "A", "B"], "stage": ["1", "2", "1"],
        "start": [str(START) + "Z", str(START + np.timedelta64(int(WINDOW_S * 1000), "ms")) + "Z",
                  str(START + np.timedelta64(int(WINDOW_S * 1500), "ms")) + "Z"],
        "end": [str(START + np.timedelta64(6 * 3600 * 1000, "ms")) + "Z",
                str(START + np.timedelta64(int(WINDOW_S * 1000) + 6 * 3600 * 1000, "ms")) + "Z",
                str(START + np.timedelta64(int(WINDOW_S * 1500) + 6 * 3600 * 1000, "ms")) + "Z"],
        "lat": [LAT0, LAT0 + 0.01, LAT0 - 0.01], "lon": [LON0, LON0, LON0 + 0.01],
        "depth_km": [DEPTH0_KM] * 3})
    hours = np.arange(0, 80)
    injection = pd.DataFrame({
        "time": [str(START + np.timedelta64(int(h) * 3600, "s")) + "Z" for h in hours],
        "rate_m3_min": np.where((hours % 48) < 6, 12.0, 0.0)})
    return {"catalog": catalog, "wells": wells, "injection": injection,
            "d_m2_s": d_m2_s, "b": b, "mc": mc}
