"""SAC files as an export of the waveform store (``sac.write_files``): a store row (a trace or a
P/S window, :mod:`focalflow.waveforms.store`) and its event as a :class:`SACTrace` with the
headers SAC users expect.

- reference time = the event origin time (snapped to the millisecond SAC can hold), ``iztype``
  ``io``, origin ``o`` ~ 0 s; ``b``/``e`` are seconds after the reference; absolute times are
  kept exactly (the snap moves ``b`` and the markers, not the samples);
- ``stla``/``stlo`` (degrees), ``stel`` (m above sea level), ``stdp`` (sensor depth, m);
- ``evla``/``evlo`` (degrees), ``evdp`` (km below sea level, the SAC >= v101 convention), ``mag``;
- ``cmpaz`` (degrees clockwise from north) and ``cmpinc`` (degrees from vertical up), unset
  where a station list gave no orientation;
- ``t1``/``kt1='P'`` and ``t2``/``kt2='S'``: the analyst's picks; windows also ``a``/``ka``
  (the window's pick and phase) and ``kuser0='predS'`` for an S window placed from the P time;
- ``dist`` (km), ``az``, ``baz``, ``gcarc`` from the coordinates (``lcalda`` true).

Data are raw counts in float32.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from obspy import UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.workdir import atomic_path


def sac_trace(row, samples: np.ndarray, event: dict, phase: str | None = None) -> SACTrace:
    """The SAC trace of one store ``row`` (a record of :data:`~focalflow.waveforms.store.TABLE`
    or a mapping with its fields) and its ``samples``; ``event`` has ``origin`` (ISO time),
    ``latitude``, ``longitude``, ``depth_km``, ``mag``; ``phase``: the window's phase."""
    def text(field: str) -> str:
        value = row[field]
        return value.decode() if isinstance(value, bytes) else str(value)

    origin = UTCDateTime(event["origin"])
    sac = SACTrace(data=np.require(samples, dtype=np.float32), delta=1.0 / float(row["rate_hz"]),
                   kstnm=text("station"), kcmpnm=text("channel"))
    for header, field in (("knetwk", "network"), ("khole", "location")):
        if text(field):
            setattr(sac, header, text(field))
    sac.reftime = origin  # first: SAC keeps milliseconds, so the times below follow the snap
    shift = float(origin - sac.reftime)
    sac.b = float(row["start_s"]) + shift
    sac.o = shift
    sac.iztype = "io"
    sac.stla, sac.stlo = float(row["station_lat"]), float(row["station_lon"])
    sac.stel, sac.stdp = float(row["station_elev_m"]), float(row["station_depth_m"])
    sac.evla, sac.evlo = float(event["latitude"]), float(event["longitude"])
    sac.evdp = float(event["depth_km"])
    if math.isfinite(float(event.get("mag", math.nan))):
        sac.mag = float(event["mag"])
    for header in ("cmpaz", "cmpinc"):  # unset where a station list gave no orientation
        if math.isfinite(float(row[header])):
            setattr(sac, header, float(row[header]))
    for number, (field, label) in enumerate((("p_s", "P"), ("s_s", "S")), start=1):
        if math.isfinite(float(row[field])):
            setattr(sac, f"t{number}", float(row[field]) + shift)
            setattr(sac, f"kt{number}", label)
    if phase is not None:
        sac.a, sac.ka = float(row["pick_s"]) + shift, phase
        if bool(row["predicted"]):
            sac.kuser0 = "predS"
    sac.lcalda = True
    return sac


def write_sac(sac: SACTrace, path: Path, if_changed: bool = False) -> None:
    """Write ``sac`` to ``path`` atomically (with ``if_changed``, an identical file is left
    untouched)."""
    with atomic_path(path, if_changed) as tmp:
        sac.write(str(tmp), byteorder="little")


def write_sac_folder(folder: Path, traces: list[tuple[str, SACTrace]],
                     if_changed: bool = False) -> list[Path]:
    """Write ``(name, SACTrace)`` pairs into ``folder``, deleting its other SAC files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, sac in traces:
        write_sac(sac, folder / name, if_changed)
    names = {name for name, _ in traces}
    for stale in folder.glob("*.sac"):
        if stale.name not in names:
            stale.unlink()
    return [folder / name for name in sorted(names)]
