"""A small synthetic network for the stage 1 and 2 tests: one or two events, five stations.

Stations (100 Hz, responses attached):

- ``XX.NEAR``  HH Z/N/E, 10 km from the epicentre;
- ``XX.TILT``  HH Z/1/2 with the horizontals at azimuth 30 and 120 degrees (needs rotation);
- ``XX.MIXD``  HH Z only and BH Z/N/E at location 00: the complete BH instrument wins;
- ``XX.VERT``  EH Z only (a vertical short-period station);
- ``XX.FAR``   HH Z/N/E, 300 km away (outside a 150 km radius).

Waveforms are noise plus a P onset (up on Z) at distance / 6 km/s after the origin; analyst P
(and S) picks are written as a CSV catalog (events.csv and picks.csv columns).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from obspy import Inventory, Stream, Trace, UTCDateTime
from obspy.core.inventory import (Channel, InstrumentSensitivity, Network, PolesZerosResponseStage,
                                  Response, Site, Station)
from obspy.geodetics import gps2dist_azimuth

from focalflow.tables import write_table

EPICENTRE = (35.70, -117.50)
ORIGINS = {"ev1": UTCDateTime("2020-01-01T00:00:00.000"),
           "ev2": UTCDateTime("2020-01-01T06:00:00.000")}
VP_KM_S = 6.0
RATE_HZ = 100.0

# code: (lat, lon, [(location, channel, azimuth_deg, dip_deg), ...])
STATIONS = {
    "NEAR": (35.79, -117.50, [("", "HHZ", 0, -90), ("", "HHN", 0, 0), ("", "HHE", 90, 0)]),
    "TILT": (35.70, -117.35, [("", "HHZ", 0, -90), ("", "HH1", 30, 0), ("", "HH2", 120, 0)]),
    "MIXD": (35.55, -117.60, [("", "HHZ", 0, -90), ("00", "BHZ", 0, -90), ("00", "BHN", 0, 0),
                              ("00", "BHE", 90, 0)]),
    "VERT": (35.85, -117.70, [("", "EHZ", 0, -90)]),
    "FAR": (38.40, -117.50, [("", "HHZ", 0, -90), ("", "HHN", 0, 0), ("", "HHE", 90, 0)]),
}


def p_arrival(station: str, origin: UTCDateTime) -> UTCDateTime:
    lat, lon, _ = STATIONS[station]
    distance_km = gps2dist_azimuth(*EPICENTRE, lat, lon)[0] / 1000.0
    return origin + np.hypot(distance_km, 8.0) / VP_KM_S


def velocity_response(gain: float = 1.5e9) -> Response:
    """A 1 Hz geophone (counts per m/s), built by hand: Response.from_paz imports half of SciPy."""
    stage = PolesZerosResponseStage(
        1, gain, 1.0, "M/S", "COUNTS", "LAPLACE (RADIANS/SECOND)", 1.0,
        zeros=[0j, 0j], poles=[-4.44 + 4.44j, -4.44 - 4.44j], normalization_factor=1.0)
    return Response(instrument_sensitivity=InstrumentSensitivity(gain, 1.0, "M/S", "COUNTS"),
                    response_stages=[stage])


def build_inventory() -> Inventory:
    """StationXML content of the five stations, with a simple velocity response per channel."""
    stations = []
    for code, (lat, lon, channels) in STATIONS.items():
        chans = []
        for location, channel, azimuth, dip in channels:
            response = velocity_response()
            chans.append(Channel(channel, location, latitude=lat, longitude=lon, elevation=500.0,
                                 depth=0.0, azimuth=azimuth, dip=dip, sample_rate=RATE_HZ,
                                 start_date=UTCDateTime(2019, 1, 1), response=response))
        stations.append(Station(code, lat, lon, 500.0, channels=chans, site=Site(name=code),
                                start_date=UTCDateTime(2019, 1, 1)))
    return Inventory(networks=[Network("XX", stations=stations)], source="focalflow tests")


def build_stream(start_s: float = -40.0, end_s: float = 100.0, seed: int = 0) -> Stream:
    """Continuous data around every origin of ``ORIGINS`` for every channel."""
    rng = np.random.default_rng(seed)
    stream = Stream()
    for origin in ORIGINS.values():
        t0 = origin + start_s
        npts = int(round((end_s - start_s) * RATE_HZ))
        times = np.arange(npts) / RATE_HZ
        for code, (_, _, channels) in STATIONS.items():
            onset = p_arrival(code, origin) - t0
            for location, channel, _, _ in channels:
                data = rng.normal(0, 20, npts)
                after = times >= onset
                amplitude = 2000.0 if channel.endswith("Z") else 800.0
                data[after] += amplitude * np.sin(2 * np.pi * 4.0 * (times[after] - onset)) \
                    * np.exp(-(times[after] - onset) / 2.0)
                stream += Trace(data.astype(np.int32), header=dict(
                    network="XX", station=code, location=location, channel=channel,
                    sampling_rate=RATE_HZ, starttime=t0))
    return stream


def write_catalog(folder: Path, events: list[str] | None = None) -> tuple[Path, Path]:
    """events.csv and picks.csv (the CSV catalog format) for ``events``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    events = events or list(ORIGINS)
    event_rows, pick_rows = [], []
    for event_id in events:
        origin = ORIGINS[event_id]
        event_rows.append({"event_id": event_id, "time": str(origin), "latitude": EPICENTRE[0],
                           "longitude": EPICENTRE[1], "depth": 8.0, "horz_uncert_km": 0.5,
                           "vert_uncert_km": 1.0, "mag": 2.5})
        for code, (_, _, channels) in STATIONS.items():
            p = p_arrival(code, origin)
            pick_rows.append({"event_id": event_id, "network": "XX", "station": code,
                              "location": channels[0][0], "channel": channels[0][1], "phase": "P",
                              "time": str(p), "onset": "i", "polarity": "U", "weight": 0,
                              "source": "synthetic"})
            pick_rows.append({"event_id": event_id, "network": "XX", "station": code,
                              "location": channels[0][0], "channel": channels[0][1], "phase": "S",
                              "time": str(origin + (p - origin) * 1.73), "onset": "e",
                              "polarity": "", "weight": 1, "source": "synthetic"})
    events_csv, picks_csv = folder / "events.csv", folder / "picks.csv"
    write_table(pd.DataFrame(event_rows), events_csv, "events")
    write_table(pd.DataFrame(pick_rows), picks_csv, "picks")
    return events_csv, picks_csv


def case_config(tmp_path: Path, source: str = "fdsn", url: str = "", **waveforms) -> dict:
    """A config mapping for this case: CSV catalog, tiny timeouts, working dir under tmp_path."""
    events_csv, picks_csv = write_catalog(tmp_path / "catalog")
    fdsn = {"providers": [url or "http://127.0.0.1:9"], "timeout_s": 1.0, "retries": 2,
            "backoff_s": 0.01, "stations_per_request": 2}
    fdsn.update(waveforms.pop("fdsn", {}))
    return {"workdir": str(tmp_path / "work"),
            "catalog": {"phase_file": str(events_csv), "format": "csv",
                        "picks_file": str(picks_csv)},
            "waveforms": {"source": source, "pre_origin_s": 20.0, "post_origin_s": 60.0,
                          "max_radius_km": 150.0, "fdsn": fdsn, **waveforms},
            "stations": {"reversals_file": None}}


def write_sds(stream: Stream, root: Path) -> Path:
    """Write ``stream`` as an SDS archive (one file per channel and day) under ``root``."""
    for tr in stream:
        day = tr.stats.starttime
        folder = root / f"{day.year}" / tr.stats.network / tr.stats.station / f"{tr.stats.channel}.D"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{tr.id}.D.{day.year}.{day.julday:03d}"
        path = folder / name
        existing = Stream()
        if path.exists():
            from obspy import read
            existing = read(str(path))
        (existing + Stream([tr])).write(str(path), format="MSEED")
    return root


def write_stationxml(inventory: Inventory, folder: Path) -> Path:
    """One StationXML file per station in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for net in inventory:
        for sta in net:
            inventory.select(network=net.code, station=sta.code).write(
                str(folder / f"{net.code}.{sta.code}.xml"), format="STATIONXML")
    return folder


def sds_config(tmp_path: Path) -> dict:
    """Config mapping reading this case from an SDS archive written under ``tmp_path``."""
    root = write_sds(build_stream(), tmp_path / "sds")
    xml_dir = write_stationxml(build_inventory(), tmp_path / "stationxml")
    config = case_config(tmp_path, source="sds")
    config["waveforms"]["sds"] = {"root": str(root), "stationxml_dir": str(xml_dir)}
    return config
