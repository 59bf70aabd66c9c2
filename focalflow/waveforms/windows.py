"""P and S windows cut around picks (stage 3).

:func:`cut_window` cuts a window of a SAC trace around a pick on the trace's own sample grid;
:func:`predicted_s_time` places an S window where no S pick exists.
"""
from __future__ import annotations

import numpy as np
from obspy import UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.errors import FocalflowError
from focalflow.formats.common import iso_time


class WindowOutside(FocalflowError):
    """A window around a pick that the waveform does not cover; the message says by how much."""


def cut_window(sac: SACTrace, pick_time: UTCDateTime, before_s: float, after_s: float,
               phase: str, predicted: bool = False) -> SACTrace:
    """A copy of ``sac`` holding ``before_s`` before to ``after_s`` after ``pick_time``.

    The window starts on the trace's own sample grid and always has
    ``round((before_s + after_s) / delta) + 1`` samples. Every header is kept; ``a``/``ka`` are
    set to the pick (seconds after the reference time) and its phase, and a predicted pick is
    marked ``kuser0 = 'predS'``. Raises :class:`WindowOutside` when the trace does not cover the
    whole window.
    """
    start = sac.reftime + sac.b
    first = int(round((pick_time - before_s - start) / sac.delta))
    count = int(round((before_s + after_s) / sac.delta)) + 1
    if first < 0 or first + count > sac.npts:
        end = start + (sac.npts - 1) * sac.delta
        where = "outside" if not start <= pick_time <= end else "too close to the edge of"
        raise WindowOutside(f"{phase} pick {iso_time(pick_time)} is {where} the waveform "
                            f"({iso_time(start)} - {iso_time(end)}) for a window of "
                            f"-{before_s:g} s to +{after_s:g} s")
    window = sac.copy()
    window.data = np.array(sac.data[first:first + count])
    window.b = sac.b + first * sac.delta
    window.a = float(pick_time - sac.reftime)
    window.ka = phase
    if predicted:
        window.kuser0 = "predS"
    return window


def predicted_s_time(origin: UTCDateTime, p_time: UTCDateTime, vp_vs: float) -> UTCDateTime:
    """S arrival predicted from the P travel time: origin + vp_vs * (P - origin)."""
    return origin + vp_vs * (p_time - origin)
