"""The offline demo: a seeded synthetic earthquake sequence with known focal mechanisms.

``generate(out_dir, seed)`` writes::

    sds/YEAR/FF/STA/CHAN.D/FF.STA..CHAN.D.YEAR.DOY   100 Hz miniSEED (Steim2), counts
    stationxml/FF.STA.xml                            StationXML with poles-zeros responses
    phases.arc                                       Hypoinverse-2000 archive of analyst picks
    reversals.csv                                    network,station,start,end (reversed period)
    truth.csv                                        one row per event (below)
    truth_picks.csv                                  one row per event and station (below)

``truth.csv``: event_id, time, lat, lon, depth (km), mag, strike, dip, rake (the mechanism the
waveforms were made with, Aki & Richards convention) and strike2, dip2, rake2 (its auxiliary
plane). ``truth_picks.csv``: event_id, network, station, distance_km (epicentral), azimuth_deg
(event to station), takeoff_p_deg / takeoff_s_deg (from the downward vertical, TauP),
incidence_p_deg, p_time / s_time (true arrivals, UTC), p_radiation (signed, + = compression),
s_radiation (total S, >= 0), first_motion_ground (+1 up / -1 down, true ground motion),
first_motion_recorded (on the recorded trace: flipped where ``reversed``), reversed,
log10_sp_true (log10 of 1.73^3 x S radiation / |P radiation|: the S/P amplitude ratio of the
noise-free far field), snr_p / snr_s (noise-free peak over the station's 1-30 Hz noise RMS).

Rays, travel times and take-off angles come from ObsPy TauP on ``velocity/demo.txt``; the
radiation pattern is computed in :mod:`focalflow.demo.radiation`. The same seed gives
byte-identical files.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from obspy import Stream, Trace, UTCDateTime
from obspy.core.inventory import Channel, Inventory, Network, Site, Station
from obspy.core.inventory.response import Response
from obspy.geodetics import gps2dist_azimuth, kilometers2degrees

from focalflow.demo.radiation import auxiliary_plane, radiation
from focalflow.demo.synthetics import (BodyWave, body_waves, brune_corner_hz, coloured_noise,
                                       moment_from_magnitude)
from focalflow.demo.traveltimes import VP_VS, DemoTravelTimes, read_velocity_model
from focalflow.resources import VELOCITY_DIR
from focalflow.errors import FocalflowError
from focalflow.workdir import atomic_path

VELOCITY_FILE = VELOCITY_DIR / "demo.txt"
MARKER = ".focalflow_demo"

NETWORK = "FF"
CENTER_LAT, CENTER_LON = 36.40, -117.90
FIRST_DAY = UTCDateTime(2024, 5, 6)
N_DAYS = 4
SAMPLING_RATE_HZ = 100.0
PRE_ORIGIN_S, POST_ORIGIN_S = 31.0, 91.0  # a little more than stage 1's default 30 s / 90 s
SENSITIVITY_COUNTS_PER_M_S = 2.0e8
Q_P, Q_S = 1000.0, 1000.0  # mild path attenuation; most smoothing is each station's kappa

# (strike, dip, rake) templates: two of each kind, perturbed by the seed
MECHANISM_TEMPLATES = [
    (30, 85, 5), (135, 80, 175),        # strike-slip
    (200, 50, -95), (320, 45, -80),     # normal
    (100, 35, 85), (280, 30, 100),      # reverse
    (60, 65, -40), (170, 70, 140),      # oblique
    (10, 55, 50), (250, 75, -150),      # oblique
]
ROTATED_STATIONS = {"ST05": 35.0, "ST18": 290.0}   # azimuth of channel 1 (channel 2 = +90)
NOISY_STATIONS = ("ST03", "ST14", "ST26")
REVERSED_STATION = "ST11"


@dataclass
class DemoStation:
    code: str
    latitude: float
    longitude: float
    elevation_m: float
    microseism_rms: float
    high_frequency_rms: float
    kappa_s: float  # near-surface attenuation time added to t* of every arrival
    channel1_azimuth_deg: float | None  # None: Z, N, E channels

    @property
    def channels(self) -> list[tuple[str, float, float]]:
        """(channel code, azimuth, dip) of the station's three channels (SEED: dip -90 is up)."""
        if self.channel1_azimuth_deg is None:
            return [("HHZ", 0.0, -90.0), ("HHN", 0.0, 0.0), ("HHE", 90.0, 0.0)]
        a = self.channel1_azimuth_deg
        return [("HHZ", 0.0, -90.0), ("HH1", a % 360.0, 0.0), ("HH2", (a + 90.0) % 360.0, 0.0)]


def generate(out_dir: Path | str = "demo_data", seed: int = 0) -> Path:
    """Write the demo into ``out_dir`` (replacing an earlier demo there) and return its path.

    Refuses to overwrite a non-empty folder that is not a demo folder.
    """
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise FocalflowError(f"{out_dir}: exists and is not a focalflow demo folder; "
                             "choose another --out")
    rng = np.random.default_rng(seed)
    stations = _make_stations(rng)
    events = _make_events(rng)
    travel_times = DemoTravelTimes(VELOCITY_FILE)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        reversal = _reversal_period(events)
        waveforms, picks, truth_picks = _simulate(events, stations, travel_times, reversal, rng)
        _write_sds(waveforms, tmp / "sds")
        _write_stationxml(stations, tmp / "stationxml")
        _write_phase_file(events, picks, tmp / "phases.arc")
        pd.DataFrame([{"network": NETWORK, "station": REVERSED_STATION,
                       "start": str(reversal[0]), "end": str(reversal[1])}]).to_csv(
            tmp / "reversals.csv", index=False)
        _truth_table(events).to_csv(tmp / "truth.csv", index=False, float_format="%.4f")
        truth_picks.to_csv(tmp / "truth_picks.csv", index=False, float_format="%.5g")
        (tmp / MARKER).write_text(f"focalflow synthetic demo, seed {seed}\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir


def _make_stations(rng: np.random.Generator) -> list[DemoStation]:
    """30 stations: azimuths evenly spread (jittered), distances 5-100 km from the cluster."""
    n = 30
    azimuths = (np.arange(n) * 360.0 / n + rng.uniform(-4, 4, n)) % 360.0
    distances = rng.permutation(np.geomspace(5.0, 100.0, n))
    stations = []
    for k, (az, dist) in enumerate(zip(azimuths, distances), start=1):
        code = f"ST{k:02d}"
        lat = CENTER_LAT + dist * np.cos(np.radians(az)) / 111.19
        lon = CENTER_LON + dist * np.sin(np.radians(az)) / (111.19 * np.cos(np.radians(CENTER_LAT)))
        noisy = code in NOISY_STATIONS
        stations.append(DemoStation(
            code, round(float(lat), 5), round(float(lon), 5), round(float(rng.uniform(50, 900)), 1),
            microseism_rms=float(rng.uniform(1e-7, 4e-7)) * (3 if noisy else 1),
            high_frequency_rms=float(rng.uniform(4e-9, 2e-8)) * (8 if noisy else 1),
            kappa_s=float(rng.uniform(0.015, 0.035)),
            channel1_azimuth_deg=ROTATED_STATIONS.get(code)))
    return stations


def _make_events(rng: np.random.Generator) -> pd.DataFrame:
    """Ten events within ~8 km of the centre, 3-15 km deep, M 1.5-3.5, over four days."""
    rows = []
    n = len(MECHANISM_TEMPLATES)
    order = rng.permutation(n)
    mags = rng.permutation(np.linspace(1.5, 3.5, n))
    for k in range(n):
        strike, dip, rake = MECHANISM_TEMPLATES[order[k]]
        day = k * N_DAYS // n
        seconds = rng.uniform(1, 11) * 3600 if k % 2 == 0 else rng.uniform(12, 22) * 3600
        time = FIRST_DAY + day * 86400 + round(seconds, 2)
        rows.append({
            "time": time,
            "latitude": round(CENTER_LAT + rng.uniform(-0.07, 0.07), 4),
            "longitude": round(CENTER_LON + rng.uniform(-0.08, 0.08), 4),
            "depth": round(float(rng.uniform(3.0, 15.0)), 2),
            "mag": round(float(mags[k]), 2),
            "strike": float((strike + rng.uniform(-15, 15)) % 360.0),
            "dip": float(np.clip(dip + rng.uniform(-5, 5), 5, 90)),
            "rake": float((rake + rng.uniform(-10, 10) + 180.0) % 360.0 - 180.0),
            "stress_drop_pa": float(10 ** rng.uniform(5.8, 7.0)),
        })
    events = pd.DataFrame(rows).sort_values("time", ignore_index=True)
    events["event_id"] = [f"{60000001 + k}" for k in range(n)]
    return events


def _reversal_period(events: pd.DataFrame) -> tuple[UTCDateTime, UTCDateTime]:
    """A period covering events 4-7 (in time order), during which REVERSED_STATION is wired backwards."""
    times = list(events["time"])
    start = times[2] + (times[3] - times[2]) / 2
    end = times[6] + (times[7] - times[6]) / 2
    return UTCDateTime(start.strftime("%Y-%m-%dT%H:%M:00")), UTCDateTime(end.strftime("%Y-%m-%dT%H:%M:00"))


def _simulate(events, stations, travel_times, reversal, rng):
    """Waveforms (list of Traces), analyst picks and per-pick truth for every event and station."""
    depth_model, vp_model = read_velocity_model(VELOCITY_FILE)
    traces, picks, truth = [], [], []
    npts = int(round((PRE_ORIGIN_S + POST_ORIGIN_S) * SAMPLING_RATE_HZ))
    for event in events.itertuples(index=False):
        origin = UTCDateTime(event.time)
        start = UTCDateTime(round(float(origin - PRE_ORIGIN_S) * SAMPLING_RATE_HZ) / SAMPLING_RATE_HZ)
        geometry = [gps2dist_azimuth(event.latitude, event.longitude, s.latitude, s.longitude)
                    for s in stations]
        epi_km = np.array([g[0] / 1000.0 for g in geometry])
        azimuths = np.array([g[1] for g in geometry])
        arrivals = travel_times.first_arrivals(event.depth, [kilometers2degrees(d) for d in epi_km])
        takeoff_p = np.array([a[0].takeoff_deg for a in arrivals])
        takeoff_s = np.array([a[1].takeoff_deg for a in arrivals])
        p_rad, _, _ = radiation(event.strike, event.dip, event.rake, takeoff_p, azimuths)
        _, sv_rad, sh_rad = radiation(event.strike, event.dip, event.rake, takeoff_s, azimuths)
        vp_source = float(np.interp(event.depth, depth_model, vp_model))
        vs_source = vp_source / VP_VS
        moment = moment_from_magnitude(event.mag)
        corner = brune_corner_hz(moment, event.stress_drop_pa, vs_source)
        reversed_now = reversal[0] <= origin <= reversal[1]
        for k, station in enumerate(stations):
            p_arr, s_arr = arrivals[k]
            hypo_km = float(np.hypot(epi_km[k], event.depth))
            waves = [BodyWave("P", p_arr.time_s + (origin - start), (p_rad[k],), vp_source,
                              p_arr.incidence_deg, azimuths[k],
                              p_arr.time_s / Q_P + station.kappa_s),
                     BodyWave("S", s_arr.time_s + (origin - start), (sv_rad[k], sh_rad[k]),
                              vs_source, s_arr.incidence_deg, azimuths[k],
                              s_arr.time_s / Q_S + station.kappa_s)]
            signal = body_waves(waves, moment, corner, hypo_km, npts, SAMPLING_RATE_HZ, rng)
            noise = coloured_noise(npts, SAMPLING_RATE_HZ, rng, station.microseism_rms,
                                   station.high_frequency_rms)
            sign = -1.0 if (reversed_now and station.code == REVERSED_STATION) else 1.0
            traces += _record(station, sign * (signal + noise), start)
            snr_p = _peak_after(signal[2], waves[0].time_s, 0.5) / station.high_frequency_rms
            snr_s = _peak_after(np.linalg.norm(signal[:2], axis=0), waves[1].time_s, 1.0) \
                / station.high_frequency_rms
            p_ground = int(np.sign(p_rad[k]))
            s_total = float(np.hypot(sv_rad[k], sh_rad[k]))
            log_sp = np.log10(VP_VS ** 3 * s_total / max(abs(p_rad[k]), 1e-6))
            truth.append({
                "event_id": event.event_id, "network": NETWORK, "station": station.code,
                "distance_km": epi_km[k], "azimuth_deg": azimuths[k],
                "takeoff_p_deg": takeoff_p[k], "takeoff_s_deg": takeoff_s[k],
                "incidence_p_deg": p_arr.incidence_deg,
                "p_time": str(origin + p_arr.time_s), "s_time": str(origin + s_arr.time_s),
                "p_radiation": p_rad[k], "s_radiation": s_total,
                "first_motion_ground": p_ground, "first_motion_recorded": int(sign) * p_ground,
                "reversed": bool(sign < 0), "log10_sp_true": log_sp,
                "snr_p": snr_p, "snr_s": snr_s})
            picks += _analyst_picks(event.event_id, station, origin, p_arr.time_s, s_arr.time_s,
                                    int(sign) * p_ground, snr_p, snr_s, rng)
    return traces, pd.DataFrame(picks), pd.DataFrame(truth)


def _peak_after(values: np.ndarray, time_s: float, length_s: float) -> float:
    i0 = int(time_s * SAMPLING_RATE_HZ)
    return float(np.max(np.abs(values[i0:i0 + int(length_s * SAMPLING_RATE_HZ)])))


def _record(station: DemoStation, ground_neu: np.ndarray, start: UTCDateTime) -> list[Trace]:
    """Project (north, east, up) ground velocity on each channel and digitise to counts."""
    traces = []
    for channel, azimuth, dip in station.channels:
        az, dp = np.radians(azimuth), np.radians(dip)
        # SEED orientation: dip measured down from horizontal, so dip -90 points up
        direction = np.array([np.cos(dp) * np.cos(az), np.cos(dp) * np.sin(az), -np.sin(dp)])
        counts = np.round(direction @ ground_neu * SENSITIVITY_COUNTS_PER_M_S).astype(np.int32)
        traces.append(Trace(counts, header={
            "network": NETWORK, "station": station.code, "location": "", "channel": channel,
            "starttime": start, "sampling_rate": SAMPLING_RATE_HZ}))
    return traces


def _analyst_picks(event_id, station, origin, p_travel_s, s_travel_s, recorded_motion,
                   snr_p, snr_s, rng) -> list[dict]:
    """Picks as an analyst would make them: a P pick when the P wave clears the noise (impulsive
    and weighted 0-1 when strong, emergent 2-3 when weak), polarity read from the recorded trace
    when clear (occasionally wrong when weak), and an S pick on most stations."""
    picks = []
    base = {"event_id": event_id, "network": NETWORK, "station": station.code, "location": "",
            "channel": "HHZ", "source": "demo"}
    if snr_p >= 3.0:
        impulsive = snr_p >= 15.0
        weight = (0 if snr_p >= 60 else 1) if impulsive else (2 if snr_p >= 6 else 3)
        jitter = rng.normal(0, (0.01, 0.015, 0.03, 0.05)[weight])
        polarity = ""
        if impulsive and rng.uniform() < 0.95 or (not impulsive and snr_p >= 6 and rng.uniform() < 0.5):
            wrong = rng.uniform() < (0.01 if impulsive else 0.08)
            polarity = "U" if recorded_motion * (-1 if wrong else 1) > 0 else "D"
        picks.append(base | {"phase": "P", "time": str(origin + p_travel_s + jitter),
                             "onset": "i" if impulsive else "e", "polarity": polarity,
                             "weight": weight})
    if snr_s >= 3.0 and rng.uniform() < 0.9:
        weight = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
        picks.append(base | {"channel": station.channels[1][0], "phase": "S",
                             "time": str(origin + s_travel_s + rng.normal(0, 0.02 * weight)),
                             "onset": "i" if weight == 1 else "e", "polarity": "", "weight": weight})
    return picks


def _write_sds(traces: list[Trace], root: Path) -> None:
    """One miniSEED file per channel and day, SDS layout, records of 512 bytes."""
    by_file: dict[Path, Stream] = {}
    for tr in traces:
        start = tr.stats.starttime
        path = (root / f"{start.year}" / tr.stats.network / tr.stats.station / f"{tr.stats.channel}.D"
                / f"{tr.id}.D.{start.year}.{start.julday:03d}")
        by_file.setdefault(path, Stream()).append(tr)
    for path, stream in sorted(by_file.items()):
        stream.sort(["starttime"])
        with atomic_path(path) as tmp:
            stream.write(str(tmp), format="MSEED", encoding="STEIM2", reclen=512)


def _write_stationxml(stations: list[DemoStation], folder: Path) -> None:
    """``FF.STA.xml`` per station: a velocity sensor with a flat response from 1/120 Hz up."""
    response = Response.from_paz(
        zeros=[0j, 0j], poles=[-0.037 + 0.037j, -0.037 - 0.037j],
        stage_gain=SENSITIVITY_COUNTS_PER_M_S, stage_gain_frequency=1.0,
        input_units="M/S", output_units="COUNTS")
    response.recalculate_overall_sensitivity(1.0)
    created = UTCDateTime(2024, 1, 1)
    for station in stations:
        channels = [Channel(code, "", station.latitude, station.longitude, station.elevation_m, 0.0,
                            azimuth=azimuth, dip=dip, sample_rate=SAMPLING_RATE_HZ,
                            start_date=UTCDateTime(2020, 1, 1), response=response)
                    for code, azimuth, dip in station.channels]
        sta = Station(station.code, station.latitude, station.longitude, station.elevation_m,
                      channels=channels, site=Site(name=f"focalflow demo {station.code}"),
                      start_date=UTCDateTime(2020, 1, 1), creation_date=UTCDateTime(2020, 1, 1))
        inventory = Inventory([Network(NETWORK, stations=[sta], start_date=UTCDateTime(2020, 1, 1))],
                              source="focalflow demo", created=created)
        with atomic_path(folder / f"{NETWORK}.{station.code}.xml") as tmp:
            inventory.write(str(tmp), format="STATIONXML")


def _write_phase_file(events: pd.DataFrame, picks: pd.DataFrame, path: Path) -> None:
    from focalflow.formats.hypoinverse import write_hypoinverse

    catalog = pd.DataFrame({
        "event_id": events["event_id"], "time": [str(t) for t in events["time"]],
        "latitude": events["latitude"], "longitude": events["longitude"], "depth": events["depth"],
        "horz_uncert_km": 0.3, "vert_uncert_km": 0.6, "mag": events["mag"]})
    write_hypoinverse(catalog, picks, path)


def _truth_table(events: pd.DataFrame) -> pd.DataFrame:
    aux = [auxiliary_plane(e.strike, e.dip, e.rake) for e in events.itertuples()]
    return pd.DataFrame({
        "event_id": events["event_id"], "time": [str(t) for t in events["time"]],
        "lat": events["latitude"], "lon": events["longitude"], "depth": events["depth"],
        "mag": events["mag"], "strike": events["strike"], "dip": events["dip"],
        "rake": events["rake"], "strike2": [a[0] for a in aux], "dip2": [a[1] for a in aux],
        "rake2": [a[2] for a in aux]})
