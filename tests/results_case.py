"""A small working directory as stage 6 leaves it, built from known mechanisms (for the
results/report/analysis tests): events.csv, stations.csv, reversals.csv, polarities.csv,
sp_ratios.csv, mechanisms.csv (one event with two solutions, one event without a mechanism),
mechanisms_acceptable.csv, polinfo.csv and vertical P windows in the waveform store.

Polarities are the P radiation of each mechanism at straight-ray take-off angles; station
``R01`` is reversed, so its recorded traces are flipped; one observation disagrees (a misfit).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from obspy import UTCDateTime

from focalflow.waveforms.store import WindowSet, write_event_windows
from hash_core.geometry import auxiliary_plane, ray_vectors, sdr_to_vectors

# event_id: (strike, dip, rake, magnitude, quality)
MECHANISMS = {"ev1": (30.0, 85.0, 5.0, 2.4, "A"), "ev2": (200.0, 50.0, -95.0, 1.1, "B"),
              "ev3": (120.0, 35.0, 80.0, 3.0, "A"), "ev4": (60.0, 60.0, 40.0, 1.7, "C")}
NO_MECHANISM = "ev5"
ORIGIN = (35.0, -118.0)
RATE_HZ = 100.0


def station_table(count: int = 12) -> pd.DataFrame:
    angles = np.radians(np.linspace(0, 360, count, endpoint=False) + 7.0)
    distance_deg = np.linspace(0.05, 0.25, count)
    return pd.DataFrame({
        "network": "XX", "station": [f"R{i + 1:02d}" for i in range(count)], "location": "",
        "channel": "HHZ", "latitude": ORIGIN[0] + distance_deg * np.cos(angles),
        "longitude": ORIGIN[1] + distance_deg * np.sin(angles) / np.cos(np.radians(ORIGIN[0])),
        "elevation": 100.0, "azimuth": 0.0, "dip": -90.0, "sampling_rate": RATE_HZ,
        "start": "2000-01-01T00:00:00.000000Z", "end": "", "has_metadata": True})


def build_workdir(root: Path) -> Path:
    """Write the working directory under ``root``; returns ``root``."""
    root = Path(root)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    stations = station_table()
    stations.to_csv(root / "stations.csv", index=False)
    pd.DataFrame([{"network": "XX", "station": "R01", "start": "", "end": ""}]).to_csv(
        root / "reversals.csv", index=False)
    rng = np.random.default_rng(1)
    events, mechanisms, acceptable, polinfo, polarities, sp_rows = [], [], [], [], [], []
    windows: list = []
    for number, event_id in enumerate([*MECHANISMS, NO_MECHANISM]):
        time = UTCDateTime(2021, 3, 1 + 3 * number, 4, 5, 6.5)
        lat, lon, depth = ORIGIN[0] + 0.01 * number, ORIGIN[1] - 0.01 * number, 8.0 + number
        mag = MECHANISMS.get(event_id, (0, 0, 0, 0.8, ""))[3]
        events.append({"event_id": event_id, "time": str(time), "latitude": lat,
                       "longitude": lon, "depth": depth, "horz_uncert_km": 0.5,
                       "vert_uncert_km": 1.0, "mag": mag})
        if event_id not in MECHANISMS:
            continue
        strike, dip, rake, _, quality = MECHANISMS[event_id]
        normal, slip = sdr_to_vectors(strike, dip, rake)
        north = (stations["latitude"] - lat) * 111.19
        east = (stations["longitude"] - lon) * 111.19 * np.cos(np.radians(lat))
        distance = np.hypot(north, east).to_numpy()
        azimuth = np.degrees(np.arctan2(east, north)).to_numpy() % 360
        takeoff = 180.0 - np.degrees(np.arctan2(distance, depth))  # down-going, 0 = up
        amplitude = (ray_vectors(takeoff, azimuth) @ normal) * (ray_vectors(takeoff, azimuth) @ slip)
        polarity = np.sign(amplitude)
        observed = polarity.copy()
        observed[3] *= -1  # one observation disagrees with the mechanism
        strike2, dip2, rake2 = (float(v) for v in auxiliary_plane(strike, dip, rake))
        base = {"event_id": event_id, "time": str(time), "origin_lat": lat, "origin_lon": lon,
                "origin_depth_km": depth, "horz_uncert_km": 0.5, "vert_uncert_km": 1.0,
                "quality": quality, "fault_plane_uncertainty": 12.0 + number,
                "aux_plane_uncertainty": 14.0, "num_p_pol": len(stations), "num_sp_ratios": 2,
                "polarity_misfit": 100.0 / len(stations), "prob_mech": 80.0,
                "sta_distribution_ratio": 55.0, "sp_misfit": 0.2,
                "mult_solution_flag": event_id == "ev2", "azimuthal_gap": 40.0,
                "takeoff_gap": 30.0}
        mechanisms.append({**base, "strike": strike, "dip": dip, "rake": rake,
                           "strike2": round(strike2, 1), "dip2": round(dip2, 1),
                           "rake2": round(rake2, 1)})
        if event_id == "ev2":  # HASH's second solution of a multiple-solution event
            s2, d2, r2 = (float(v) for v in auxiliary_plane(strike + 25, dip, rake))
            mechanisms.append({**base, "strike": strike + 25, "dip": dip, "rake": rake,
                               "strike2": round(s2, 1), "dip2": round(d2, 1),
                               "rake2": round(r2, 1), "quality": "C", "prob_mech": 20.0})
        for _ in range(25):
            acceptable.append({"event_id": event_id, "strike": strike + rng.normal(0, 6),
                               "dip": float(np.clip(dip + rng.normal(0, 5), 1, 90)),
                               "rake": rake + rng.normal(0, 8)})
        for k, row in stations.iterrows():
            code = f"XX.{row.station}.--.HHZ"
            common = {"event_id": event_id, "sta_code": code, "sr_dist_km": round(distance[k], 3),
                      "takeoff": round(takeoff[k], 1), "azimuth": round(azimuth[k], 1),
                      "origin_lat": lat, "origin_lon": lon, "origin_depth_km": depth,
                      "station_lat": row.latitude, "station_lon": row.longitude,
                      "mech_quality": quality}
            polinfo.append({**common, "p_polarity": observed[k], "source": "dl_p",
                            "pol_agreement": int(observed[k] == polarity[k])})
            up = 0.92 if observed[k] > 0 else 0.05
            polarities.append({"event_id": event_id, "network": "XX", "station": row.station,
                               "location": "", "channel": "HHZ", "p_polarity": int(observed[k]),
                               "prob_up": up, "prob_down": round(0.97 - up, 2),
                               "prob_undecided": 0.03, "clarity": "I", "model": "test"})
            if k in (2, 7):
                polinfo.append({**common, "p_polarity": np.nan, "source": "sp",
                                "pol_agreement": np.nan})
                sp_rows.append({"event_id": event_id, "network": "XX", "station": row.station,
                                "location": "", "channel": "HHZ", "sp_ratio": 0.4 + 0.1 * k,
                                "amp_p": 1.0, "amp_s": 3.0, "noise_p": 0.1, "noise_s": 0.1})
            windows.append(_p_window(row.station, distance[k] / 6.0,
                                     recorded=observed[k] * (-1 if row.station == "R01" else 1),
                                     rng=rng))
        rows, samples = zip(*windows)
        write_event_windows(root / "store", event_id, [WindowSet.from_rows("P", rows, samples)],
                            {"origin": str(time)})
        windows.clear()
    pd.DataFrame(events).to_csv(root / "events.csv", index=False)
    pd.DataFrame(mechanisms).to_csv(root / "mechanisms.csv", index=False)
    pd.DataFrame(acceptable).round(2).to_csv(root / "mechanisms_acceptable.csv", index=False)
    pd.DataFrame(polinfo).to_csv(root / "polinfo.csv", index=False)
    pd.DataFrame(polarities).to_csv(root / "polarities.csv", index=False)
    pd.DataFrame(sp_rows).to_csv(root / "sp_ratios.csv", index=False)
    return root


def _p_window(station: str, pick_s: float, recorded: float,
              rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """A 2 s vertical window, the pick 0.5 s in, first motion of sign ``recorded``; R01 is
    reversed (as reversals.csv says)."""
    t = np.arange(int(2.0 * RATE_HZ)) / RATE_HZ - 0.5
    onset = np.where(t >= 0, np.sin(2 * np.pi * 8.0 * t) * np.exp(-t / 0.25), 0.0)
    data = (recorded * onset + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
    return ({"network": "XX", "station": station, "location": "", "channel": "HHZ",
             "rate_hz": RATE_HZ, "start_s": pick_s - 0.5, "pick_s": pick_s,
             "reversed": station == "R01"}, data)
