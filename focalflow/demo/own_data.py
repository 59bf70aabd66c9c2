"""The demo as a user's own data arrives: one miniSEED file per event, the picks as QuakeML,
the stations as a plain list (``examples/event_mseed_quakeml.yaml`` runs on it).

:func:`write_own_data` reads a demo folder written by :func:`focalflow.demo.generate` and writes

- ``waveforms/<origin time>_<event id>.mseed``: every channel of every station from 30 s before
  to 90 s after the origin, all in one file per event;
- ``catalog.xml``: QuakeML as data centres write it: origins with depth in metres, picks with
  the phase hints ``Pg``/``Sg``, listed after their arrivals, every third pick without an
  arrival;
- ``stations.txt``: ``NET STA LAT LON ELEV`` lines, no channels, no orientation;
- ``reversals.csv``: the demo's polarity-reversal table.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from focalflow.errors import FocalflowError

PRE_ORIGIN_S = 30.0
POST_ORIGIN_S = 90.0


def write_own_data(demo_dir: Path | str, out_dir: Path | str) -> Path:
    """Write the own-data form of the demo at ``demo_dir`` into ``out_dir``; returns it."""
    from obspy import UTCDateTime, read_inventory
    from obspy.clients.filesystem.sds import Client

    from focalflow.formats.hypoinverse import read_hypoinverse
    from focalflow.formats.quakeml import catalog_from_tables
    from focalflow.workdir import atomic_path, write_text_atomic

    demo_dir, out_dir = Path(demo_dir), Path(out_dir)
    if not (demo_dir / "phases.arc").is_file():
        raise FocalflowError(f"{demo_dir}: not a demo folder (no phases.arc); run "
                             "python -m focalflow.demo first")
    events, picks, _ = read_hypoinverse(demo_dir / "phases.arc")
    inventory = read_inventory(str(demo_dir / "stationxml" / "*.xml"))
    archive = Client(str(demo_dir / "sds"))
    (out_dir / "waveforms").mkdir(parents=True, exist_ok=True)
    for event in events.itertuples(index=False):
        origin = UTCDateTime(event.time)
        stream = archive.get_waveforms("FF", "*", "*", "*", origin - PRE_ORIGIN_S,
                                       origin + POST_ORIGIN_S)
        name = f"{origin.strftime('%Y%m%dT%H%M%S')}_{event.event_id}.mseed"
        with atomic_path(out_dir / "waveforms" / name) as tmp:
            stream.write(str(tmp), format="MSEED")

    catalog = catalog_from_tables(events, picks)
    for event in catalog:
        origin = event.origins[0]
        for pick in event.picks:
            pick.phase_hint = {"P": "Pg", "S": "Sg"}[pick.phase_hint]
        by_pick = {str(a.pick_id): a for a in origin.arrivals}
        origin.arrivals = [by_pick[str(pick.resource_id)] for k, pick in enumerate(event.picks)
                           if k % 3 != 2]
        for arrival in origin.arrivals:
            arrival.phase = {"P": "Pg", "S": "Sg"}[arrival.phase]
    with atomic_path(out_dir / "catalog.xml") as tmp:
        catalog.write(str(tmp), format="QUAKEML")

    lines = [f"{net.code} {sta.code} {sta.latitude:.5f} {sta.longitude:.5f} {sta.elevation:.0f}"
             for net in inventory for sta in net]
    write_text_atomic(out_dir / "stations.txt", "\n".join(sorted(set(lines))) + "\n")
    shutil.copyfile(demo_dir / "reversals.csv", out_dir / "reversals.csv")
    return out_dir
