"""S/P amplitude ratios measured from the P and S windows cut in stage 3.

The measurement, per station (one instrument: network, station, location, band+instrument code),
on the P and S windows of the event's windows file in the waveform store
(``store/windows/<event_id>.h5``, read as arrays; S windows predicted from P are not used):

Settings: :class:`~focalflow.mechanisms.sp_settings.SpSettings` (the ``hash.sp_*`` keys).

1. Every component of each window (normally Z, N, E; at least one) is demeaned with the samples
   before the pick, tapered over its first and last 0.1 s, and band-passed with a causal
   4-pole Butterworth filter from ``sp_freqmin_hz`` to ``sp_freqmax_hz`` (capped at 0.45 x the
   sampling rate). Causal, so that the P and S energy cannot leak into the noise windows
   before them. Amplitudes stay in counts: the components of an instrument are assumed to share
   one gain, as they do for the velocity sensors HASH users measure on.
2. The 3-component amplitude is the vector length ``sqrt(Z^2 + N^2 + E^2)`` at each sample, so the
   P and S amplitudes do not depend on incidence angle or on how S splits into SV and SH.
3. ``amp_p`` = its peak from 0.05 s before the P pick to ``sp_p_window_s`` after it (ending
   0.05 s before the S pick when that comes first); ``noise_p`` = its peak over ``sp_noise_window_s``
   ending 0.1 s before the P pick.
4. ``amp_s`` = its peak from 0.05 s before the S pick to ``sp_s_window_s`` after it; ``noise_s`` =
   its peak over ``sp_noise_window_s`` ending 0.1 s before the S pick but starting no earlier
   than the end of the P amplitude window (the P coda the S rides on); where that leaves less
   than 0.2 s (S close behind P), ``noise_s`` = ``noise_p``.
5. ``sp_ratio = log10(amp_s / amp_p) - correction`` (HASH/SKHASH station correction, log10, 0 where
   the station has none), kept only where ``amp_p / noise_p >= ratmin`` and
   ``amp_s / noise_s >= ratmin`` (HASH's rule); otherwise the row is written with a blank ratio.

The result has the columns of the ``sp_ratios`` table (:mod:`focalflow.tables`); ``channel`` is
the vertical channel's code.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from obspy import Stream

from focalflow.errors import FocalflowError, InputError
from focalflow.formats.skhash import read_skhash_statcor
from focalflow.mechanisms.bandpass import butterworth_bandpass, sosfilt
from focalflow.mechanisms.sp_settings import SpSettings
from focalflow.tables import COLUMNS
from focalflow.waveforms.store import WindowSet, read_sets

log = logging.getLogger(__name__)

PICK_LEAD_S = 0.05   # amplitude windows open this long before the pick (pick error)
NOISE_GAP_S = 0.1    # noise windows end this long before the pick
TAPER_S = 0.1
MIN_NOISE_S = 0.2


@dataclass
class SpAmplitudes:
    """Peak 3-component amplitudes (counts, filtered) of one station's P and S windows."""

    amp_p: float
    amp_s: float
    noise_p: float
    noise_s: float

    def passes(self, ratmin: float) -> bool:
        """HASH's signal-to-noise rule for using the ratio."""
        return bool(self.amp_p >= ratmin * self.noise_p and self.amp_s >= ratmin * self.noise_s
                    and self.amp_p > 0 and self.amp_s > 0)

    @property
    def log10_sp(self) -> float:
        return float(np.log10(self.amp_s / self.amp_p)) if self.amp_p > 0 and self.amp_s > 0 else np.nan


@dataclass
class Component:
    """One component of a window: start time, sampling rate (Hz), samples and a name. Times
    are UTCDateTimes or seconds after any common reference, as long as the picks use the same."""

    start: object
    rate: float
    data: np.ndarray
    name: str

    @classmethod
    def of_stream(cls, stream: Stream) -> list["Component"]:
        return [cls(tr.stats.starttime, tr.stats.sampling_rate, tr.data, tr.id) for tr in stream]


def measure_sp_amplitudes(p_window, s_window, p_time, s_time,
                          settings: SpSettings = SpSettings()) -> SpAmplitudes:
    """Measure P and S amplitudes and the noise before each (module docstring, steps 1-4).

    ``p_window`` and ``s_window`` hold the components of one instrument around the P and S
    picks (an ObsPy Stream or :class:`Component` lists; same sampling rate within a window).
    Raises :class:`FocalflowError` when a window is empty or does not reach the pick.
    """
    p_start, p_rate, p_amp = _vector_amplitude(_components(p_window), p_time, settings)
    s_start, s_rate, s_amp = _vector_amplitude(_components(s_window), s_time, settings)
    p_end = min(p_time + settings.p_window_s, s_time - PICK_LEAD_S)
    amp_p = _peak(p_amp, p_start, p_rate, p_time - PICK_LEAD_S, p_end, "P")
    noise_p = _peak(p_amp, p_start, p_rate, p_time - NOISE_GAP_S - settings.noise_window_s,
                    p_time - NOISE_GAP_S, "noise before P")
    amp_s = _peak(s_amp, s_start, s_rate, s_time - PICK_LEAD_S, s_time + settings.s_window_s, "S")
    noise_start = max(s_time - NOISE_GAP_S - settings.noise_window_s, p_end, s_start)
    if (s_time - NOISE_GAP_S) - noise_start >= MIN_NOISE_S:
        noise_s = _peak(s_amp, s_start, s_rate, noise_start, s_time - NOISE_GAP_S, "noise before S")
    else:
        noise_s = noise_p
    return SpAmplitudes(amp_p, amp_s, noise_p, noise_s)


def _components(window) -> list[Component]:
    return Component.of_stream(window) if isinstance(window, Stream) else list(window)


def _vector_amplitude(window: list[Component], pick, settings: SpSettings):
    """Filtered 3-component vector length of a window: (start time, sampling rate, samples)."""
    if len(window) == 0:
        raise FocalflowError("no trace in the window")
    rate = window[0].rate
    start = max(c.start for c in window)
    npts = min(int(round((c.start + (len(c.data) - 1) / c.rate - start) * rate)) + 1
               for c in window)
    if npts < 4 or not start < pick < start + npts / rate:
        raise FocalflowError(f"the window ({start} - {start + npts / rate}) does not contain the pick {pick}")
    freqmax = min(settings.freqmax_hz, 0.45 * rate)
    if settings.freqmin_hz >= freqmax:
        raise FocalflowError(f"filter band {settings.freqmin_hz}-{freqmax:g} Hz is empty at {rate:g} Hz")
    sos = butterworth_bandpass(4, settings.freqmin_hz, freqmax, rate)
    n_pre = max(int((pick - NOISE_GAP_S - start) * rate), 1)
    taper = np.ones(npts)
    n_taper = min(int(TAPER_S * rate), npts // 4)
    if n_taper > 0:
        ramp = 0.5 * (1 - np.cos(np.pi * np.arange(n_taper) / n_taper))
        taper[:n_taper], taper[-n_taper:] = ramp, ramp[::-1]
    power = np.zeros(npts)
    for component in window:
        if component.rate != rate:
            raise FocalflowError(f"{component.name}: sampling rate {component.rate:g} Hz differs "
                                 f"from the other components' {rate:g} Hz")
        first = int(round((start - component.start) * rate))
        data = np.asarray(component.data[first:first + npts], dtype=np.float64)
        data = (data - data[:n_pre].mean()) * taper
        power += sosfilt(sos, data) ** 2
    return start, rate, np.sqrt(power)


def _peak(values: np.ndarray, start, rate: float, t0, t1,
          what: str) -> float:
    i0 = max(int(np.floor((t0 - start) * rate)), 0)
    i1 = min(int(np.ceil((t1 - start) * rate)) + 1, len(values))
    if i1 - i0 < 2:
        raise FocalflowError(f"the window does not cover the {what} interval ({t0} - {t1})")
    return float(values[i0:i1].max())


# --------------------------------------------------------------------------- the store
def _windows_by_instrument(sets: dict[str, WindowSet]) -> dict[tuple[str, str, str, str],
                                                                  dict[str, list[int]]]:
    """(network, station, location, band+instrument) -> {'P': rows, 'S': rows}."""
    groups: dict = {}
    for phase, windows in sets.items():
        for i in range(len(windows)):
            network, station, location, channel = windows.codes(i)
            groups.setdefault((network, station, location, channel[:2]), {}).setdefault(
                phase, []).append(i)
    return groups


def _window(windows: WindowSet, rows: list[int], where: str) -> tuple[list[Component], float, bool]:
    """The components of one window, its pick (s after the origin) and whether it is a
    predicted S; InputError when the components disagree on the pick."""
    picks = {round(float(windows.table[i]["pick_s"]), 4) for i in rows}
    if len(picks) != 1:
        raise InputError(where, f"components of {'.'.join(windows.codes(rows[0])[:2])} disagree "
                                f"on the pick time: {sorted(picks)}")
    components = [Component(float(windows.table[i]["start_s"]), float(windows.table[i]["rate_hz"]),
                            windows.samples(i), ".".join(windows.codes(i))) for i in rows]
    return components, picks.pop(), bool(windows.table[rows[0]]["predicted"])


def measure_event_sp(windows_file: Path | str, event_id: str, settings: SpSettings = SpSettings(),
                     corrections: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """S/P ratios of every station of one event's windows file (``store/windows/<event>.h5``).

    Returns the table (``sp_ratios`` columns, blank ``sp_ratio`` where the signal-to-noise
    rule fails) and a list of (station, reason) for stations that could not be measured.
    """
    sets = read_sets(windows_file, ["P", "S"])
    rows, problems = [], []
    for (network, station, location, band), found in _windows_by_instrument(sets).items():
        name = f"{network}.{station}"
        if "P" not in found or "S" not in found:
            continue  # a station with only one of the two windows has no ratio to measure
        try:
            p_window, p_time, _ = _window(sets["P"], found["P"], str(windows_file))
            s_window, s_time, predicted = _window(sets["S"], found["S"], str(windows_file))
            if predicted:
                continue
            amps = measure_sp_amplitudes(p_window, s_window, p_time, s_time, settings)
        except FocalflowError as exc:
            problems.append((name, f"S/P not measured: {exc}"))
            continue
        vertical = next((c.name.split(".")[3] for c in p_window if c.name.endswith("Z")),
                        p_window[0].name.split(".")[3])
        correction = station_correction(corrections, network, station)
        ratio = amps.log10_sp - correction if amps.passes(settings.ratmin) else np.nan
        rows.append({"event_id": str(event_id), "network": network, "station": station,
                     "location": location, "channel": vertical, "sp_ratio": ratio,
                     "amp_p": amps.amp_p, "amp_s": amps.amp_s,
                     "noise_p": amps.noise_p, "noise_s": amps.noise_s})
    table = pd.DataFrame(rows, columns=COLUMNS["sp_ratios"])
    return table, problems


def station_correction(corrections: pd.DataFrame | None, network: str, station: str) -> float:
    """log10 S/P correction of a station (column ``sta_correction``); matched on the station
    code, and on the network where the correction table gives one; 0 where none matches."""
    if corrections is None or corrections.empty:
        return 0.0
    same = corrections["station"].astype(str) == station
    if "network" in corrections:
        nets = corrections["network"].astype(str).str.strip()
        same &= (nets == "") | (nets == network)
    values = corrections.loc[same, "sta_correction"]
    return float(values.iloc[0]) if len(values) else 0.0


def read_sp_corrections(path: Path | str | None) -> pd.DataFrame | None:
    """The log10 S/P station corrections of ``hash.sp_corrections_file`` (HASH statcor or
    SKHASH corfile CSV), or None without one; InputError when the file is missing."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise InputError(path, "S/P station-correction file not found")
    return read_skhash_statcor(path)


def measure_events_sp(executor, workdir, event_ids: list[str], settings: SpSettings,
                      corrections: pd.DataFrame | None, events_per_task: int = 20):
    """:func:`measure_event_sp` of many events through ``executor``
    (:mod:`focalflow.parallel`); yields ``(event_id, table or None, problems)`` in order."""
    tasks = [[(e, str(workdir.event_windows_file(e))) for e in event_ids[i:i + events_per_task]]
             for i in range(0, len(event_ids), events_per_task)]
    for results in executor.map(_measure_task, tasks, settings, corrections):
        yield from results


def _measure_task(task: list[tuple[str, str]], settings: SpSettings,
                  corrections: pd.DataFrame | None) -> list:
    out = []
    for event_id, path in task:
        if not Path(path).is_file():
            out.append((event_id, None, []))
            continue
        try:
            out.append((event_id, *measure_event_sp(path, event_id, settings, corrections)))
        except InputError as exc:
            out.append((event_id, None, [("", f"S/P not measured: {exc}")]))
    return out
