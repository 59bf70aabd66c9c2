"""How S/P amplitudes are measured from the P and S windows (``hash.sp_*`` keys): the one place
of their defaults, ranges and descriptions (the config schema takes them from here).

Pure Python, so the config schema imports it without ObsPy or SciPy; the measurement itself is
:mod:`focalflow.mechanisms.amplitudes`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hash_core.params import HashParams


def _setting(default: float, doc: str):
    return field(default=default, metadata={"doc": doc, "gt": 0})


@dataclass(frozen=True)
class SpSettings:
    """S/P measurement settings (seconds, hertz); ``ratmin`` is HASH's signal-to-noise limit."""

    freqmin_hz: float = _setting(1.0, "S/P amplitudes: low corner of the causal 4-pole "
                                 "Butterworth band-pass applied before measuring.")
    freqmax_hz: float = _setting(40.0, "S/P amplitudes: high corner of the band-pass (capped at "
                                 "0.45 x the sampling rate).")
    p_window_s: float = _setting(1.0, "S/P amplitudes: P peak searched from 0.05 s before the P "
                                 "pick to this long after it (and before the S pick).")
    s_window_s: float = _setting(2.0, "S/P amplitudes: S peak searched from 0.05 s before the S "
                                 "pick to this long after it.")
    noise_window_s: float = _setting(1.5, "S/P amplitudes: noise peak over this long, ending "
                                     "0.1 s before each pick.")
    ratmin: float = HashParams.ratmin

    @classmethod
    def from_config(cls, hash_config) -> "SpSettings":
        """The settings of a config's ``hash`` section (``sp_<name>`` keys and ``ratmin``)."""
        return cls(hash_config.sp_freqmin_hz, hash_config.sp_freqmax_hz, hash_config.sp_p_window_s,
                   hash_config.sp_s_window_s, hash_config.sp_noise_window_s, hash_config.ratmin)
