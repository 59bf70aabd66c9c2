"""Three-component synthetic seismograms: double-couple P and S pulses on coloured noise.

Ground velocity in m/s, components (north, east, up). Each body wave is a causal Brune pulse
(far-field displacement ~ t exp(-2 pi fc t)) smoothed by a causal attenuation-like filter of
time constant t*, scaled by the radiation coefficient over 4 pi rho c^3 r, and polarised along
the ray (P) or across it (SV, SH) at the receiver. Scattered coda (a decaying random wavetrain of
a few per cent of the direct amplitude) follows each arrival. Synthesis is in the frequency
domain so arrival times need not fall on samples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import next_fast_len

DENSITY_KG_M3 = 2700.0


@dataclass
class BodyWave:
    """One arrival at one station.

    ``radiation`` is the signed P coefficient, or (sv, sh) for S; ``velocity_km_s`` the wave
    speed at the source; ``incidence_deg`` the angle from the vertical at the receiver;
    ``azimuth_deg`` source to station; ``t_star_s`` the attenuation time; ``time_s`` the arrival
    time from the start of the trace.
    """

    phase: str
    time_s: float
    radiation: tuple[float, ...]
    velocity_km_s: float
    incidence_deg: float
    azimuth_deg: float
    t_star_s: float


def moment_from_magnitude(mag: float) -> float:
    """Seismic moment (N m) of moment magnitude ``mag`` (Hanks & Kanamori 1979)."""
    return 10.0 ** (1.5 * mag + 9.1)


def brune_corner_hz(moment_nm: float, stress_drop_pa: float, vs_km_s: float) -> float:
    """Brune (1970) corner frequency for a circular crack: fc = 0.37 vs (16 dsigma / 7 M0)^(1/3)."""
    return 0.37 * vs_km_s * 1e3 * (16.0 * stress_drop_pa / (7.0 * moment_nm)) ** (1.0 / 3.0)


def polarisation(wave: BodyWave) -> np.ndarray:
    """(north, east, up) ground-motion vector of the arrival at the receiver (no free surface)."""
    j, az = np.radians(wave.incidence_deg), np.radians(wave.azimuth_deg)
    radial = np.array([np.cos(az), np.sin(az), 0.0])
    if wave.phase == "P":
        # compression moves the ground along the upgoing ray: away from the source and up
        return wave.radiation[0] * (np.sin(j) * radial + np.array([0, 0, np.cos(j)]))
    sv, sh = wave.radiation
    # SV along the direction of increasing take-off angle, carried to the receiver
    e_sv = -np.cos(j) * radial + np.array([0, 0, np.sin(j)])
    e_sh = np.array([-np.sin(az), np.cos(az), 0.0])
    return sv * e_sv + sh * e_sh


def pulse_spectrum(freqs_hz: np.ndarray, corner_hz: float, t_star_s: float) -> np.ndarray:
    """Unit-area causal displacement pulse: a Brune source, 1/(1 + i f/fc)^2, smoothed by the
    causal kernel t exp(-t/t*), 1/(1 + 2 pi i f t*)^2, whose -3 dB point is close to that of
    the attenuation operator exp(-pi f t*) (an attenuation-like smoothing, no dispersion)."""
    source = 1.0 / (1.0 + 1j * freqs_hz / corner_hz) ** 2
    smoothing = 1.0 / (1.0 + 2j * np.pi * freqs_hz * t_star_s) ** 2
    return source * smoothing


def body_waves(waves: list[BodyWave], moment_nm: float, corner_hz: float, distance_km: float,
               npts: int, sampling_rate_hz: float, rng: np.random.Generator,
               coda_fraction: dict[str, float] | None = None) -> np.ndarray:
    """Noise-free ground velocity (m/s), shape (3, npts), components (north, east, up)."""
    coda_fraction = coda_fraction or {"P": 0.03, "S": 0.05}
    dt = 1.0 / sampling_rate_hz
    nfft = next_fast_len(npts)
    freqs = np.fft.rfftfreq(nfft, dt)
    # soften the brick-wall cut at Nyquist, as a digitiser's anti-alias filter would
    anti_alias = np.where(freqs > 0.8 * freqs[-1],
                          np.cos(0.5 * np.pi * (freqs - 0.8 * freqs[-1]) / (0.2 * freqs[-1])) ** 2, 1.0)
    time = np.arange(nfft) * dt
    out = np.zeros((3, nfft))
    for wave in waves:
        level = moment_nm / (4 * np.pi * DENSITY_KG_M3 * (wave.velocity_km_s * 1e3) ** 3
                             * distance_km * 1e3)
        shape = pulse_spectrum(freqs, corner_hz, wave.t_star_s) * anti_alias
        spectrum = level * 2j * np.pi * freqs * shape * np.exp(-2j * np.pi * freqs * wave.time_s)
        velocity = np.fft.irfft(spectrum, nfft) / dt
        out += polarisation(wave)[:, None] * velocity[None, :]
        # coda: random wavetrain with the pulse's spectrum, isotropic, decaying over a few seconds
        mean_radiation = 0.4 if wave.phase == "P" else 0.6
        lag = time - wave.time_s
        envelope = np.where(lag > 0, (1 - np.exp(-np.clip(lag, 0, None) / 0.3))
                            * np.exp(-np.clip(lag, 0, None) / 2.0), 0.0)
        white = np.fft.rfft(rng.standard_normal((3, nfft)), axis=1)
        coda = np.fft.irfft(white * np.abs(2j * np.pi * freqs * shape), nfft, axis=1)
        peak = np.max(np.abs(velocity))
        coda *= coda_fraction[wave.phase] * mean_radiation * peak / max(np.std(coda), 1e-30)
        out += coda * envelope[None, :]
    return out[:, :npts]


def coloured_noise(npts: int, sampling_rate_hz: float, rng: np.random.Generator,
                   microseism_rms: float, high_frequency_rms: float) -> np.ndarray:
    """Ground-velocity noise (m/s), shape (3, npts): a microseism peak near 0.2 Hz plus
    broadband 1-30 Hz noise (cultural/wind), each scaled to its RMS."""
    nfft = next_fast_len(npts)
    freqs = np.fft.rfftfreq(nfft, 1.0 / sampling_rate_hz)
    microseism = np.exp(-0.5 * ((freqs - 0.2) / 0.06) ** 2)
    high = (freqs / (freqs + 1.0)) ** 2 / (1.0 + (freqs / 30.0) ** 4)
    out = np.zeros((3, npts))
    for shape, rms in ((microseism, microseism_rms), (high, high_frequency_rms)):
        part = np.fft.irfft(np.fft.rfft(rng.standard_normal((3, nfft)), axis=1) * shape, nfft,
                            axis=1)[:, :npts]
        out += part * (rms / part.std(axis=1, keepdims=True))
    return out
