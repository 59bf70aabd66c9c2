"""Synthetic P onsets with realistic noise: the training data of the project's own model.

Each example is a whole vertical-component trace (``trace_s`` long, at one of several native
sampling rates) with a P pick near its middle, passed through the model's own preprocessing
(:meth:`models.base.PolarityModel.preprocess`: demean, detrend, taper, zero-phase resampling,
window), so the network is trained on exactly what it sees in production.

The recipe of one trace with an onset:

* **source**: a one-sided displacement pulse (half-sine, triangle or Brune-like ``t e^{-t/tau}``)
  of duration 0.4-1 dominant periods; the trace records its derivative (velocity), whose first
  motion has the sign of the pulse, times the polarity (+1 up / -1 down, balanced);
* **path and instrument**: a *causal* Butterworth band-pass (order 2-4) around the dominant
  frequency ``fc`` (log-uniform in ``freq_hz``, at most ``max_freq_fraction`` x the native
  rate), so nothing moves before the onset; optionally 1-5 reverberations (delayed copies,
  random sign, 0.6-8 periods later) and, for emergent onsets, a rising envelope
  ``1 - exp(-t/tau_r)``;
* or (``brune_fraction``) the textbook omega-squared source: displacement
  ``t exp(-2 pi fc t)`` convolved with a causal attenuation kernel ``t exp(-pi t / t*)``
  (corner ``fc`` up to 0.45 x the rate, t* log-uniform in ``t_star_s``), differentiated, with a
  weak coda, mostly through the digitiser taper below; small events' onsets are then a sharp,
  sometimes 1-2 sample wide first swing followed by a broader opposite one;
* **noise**: coloured Gaussian noise (spectral slope ``f^-alpha/2``), a microseism (0.1-0.5 Hz
  sinusoid up to 50 x the noise), occasional spikes (never within 0.3 s of the pick) and mains
  hum, a DC offset; some traces are
  low-passed with a zero-phase filter afterwards (a user's pre-filter: acausal precursors);
* **digitiser** (``digitiser_fraction``): a broadband onset (energy up to the Nyquist frequency)
  and a zero-phase taper of the whole spectrum near Nyquist, like a linear-phase anti-alias FIR:
  sample-to-sample ringing *before* a sharp onset, which must not be taken for the first motion;
* **SNR**: peak signal over the standard deviation of the noise in the signal's band,
  log-uniform in ``snr``;
* **pick jitter**: the pick is the true onset plus a Gaussian error whose spread grows with the
  period (up to ``0.004 s + 0.12 / fc``), clipped to ``max_jitter_s``.

Labels: ``polarity`` is the sign of the first extremum of the clean signal (the true first
motion on the recorded trace); it is 0 (undecided) for pure-noise traces (``noise_fraction``) and
where that first half-cycle is below ``undecided_snr`` times the in-band noise. ``clarity`` is
0 impulsive / 1 emergent / 2 unclear (undecided rows).

Everything is drawn from one ``numpy.random.Generator``: the same recipe and seed give the same
data.
"""
from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt, sosfiltfilt

IMPULSIVE, EMERGENT, UNCLEAR = 0, 1, 2


@dataclass(frozen=True)
class Recipe:
    """What the synthetic data set is made of (all drawn per trace)."""

    rates_hz: tuple[float, ...] = (100.0, 200.0, 250.0, 500.0)
    rate_weights: tuple[float, ...] = (0.4, 0.2, 0.1, 0.3)
    trace_s: float = 4.0
    freq_hz: tuple[float, float] = (1.0, 40.0)
    snr: tuple[float, float] = (2.0, 500.0)
    undecided_snr: float = 2.0
    noise_fraction: float = 0.12
    emergent_fraction: float = 0.35
    reverb_fraction: float = 0.6
    zero_phase_fraction: float = 0.15
    digitiser_fraction: float = 0.3
    brune_fraction: float = 0.35
    brune_digitiser_fraction: float = 0.8
    t_star_s: tuple[float, float] = (0.001, 0.05)
    max_freq_fraction: float = 0.3
    spike_fraction: float = 0.08
    hum_fraction: float = 0.05
    max_jitter_s: float = 0.2
    noise_slope: tuple[float, float] = (-0.5, 1.5)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SyntheticTraces:
    """Traces of one sampling rate with their pick and labels (one row per trace)."""

    sampling_rate_hz: float
    traces: np.ndarray          # (n, npts) float64
    pick_index: np.ndarray      # (n,) sample of the (jittered) pick
    polarity: np.ndarray        # (n,) +1 up, -1 down, 0 undecided (true first motion)
    clarity: np.ndarray         # (n,) IMPULSIVE / EMERGENT / UNCLEAR
    snr: np.ndarray             # (n,) SNR of the first half-cycle (0 for pure noise)
    freq_hz: np.ndarray         # (n,) dominant frequency (nan for pure noise)
    jitter_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # pick - onset


def generate_traces(n: int, sampling_rate_hz: float, rng: np.random.Generator,
                    recipe: Recipe = Recipe()) -> SyntheticTraces:
    """``n`` synthetic traces at ``sampling_rate_hz`` following ``recipe``."""
    fs = float(sampling_rate_hz)
    npts = int(round(recipe.trace_s * fs))
    noise = coloured_noise(n, npts, fs, rng, recipe.noise_slope)
    traces = np.empty((n, npts))
    pick = np.empty(n)
    polarity = np.zeros(n, np.int64)
    clarity = np.full(n, UNCLEAR, np.int64)
    snr_fm = np.zeros(n)
    freq = np.full(n, np.nan)
    jitter = np.zeros(n)
    fmax = min(recipe.freq_hz[1], recipe.max_freq_fraction * fs)
    for i in range(n):
        pick[i] = npts / 2 + rng.uniform(-PICK_SPREAD_S, PICK_SPREAD_S) * fs
        trace = noise[i].copy()
        digitiser = rng.random() < recipe.digitiser_fraction
        if rng.random() >= recipe.noise_fraction:
            fc = np.exp(rng.uniform(np.log(recipe.freq_hz[0]), np.log(fmax)))
            sigma = rng.uniform(0, 1) * (0.004 + 0.12 / fc)
            jitter[i] = np.clip(rng.normal(0, sigma), -recipe.max_jitter_s, recipe.max_jitter_s)
            onset = int(round(pick[i] - jitter[i] * fs))
            if rng.random() < recipe.brune_fraction:
                emergent = False
                digitiser = rng.random() < recipe.brune_digitiser_fraction
                fc = np.exp(rng.uniform(np.log(recipe.freq_hz[0]), np.log(0.45 * fs)))
                signal = brune_signal(npts, fs, onset, fc, rng, recipe)
                band_noise = np.std(noise[i])
                first = first_extremum(signal[onset:])
            else:
                emergent = rng.random() < recipe.emergent_fraction
                tail, sos = onset_signal(npts - onset, fs, fc, emergent, rng, recipe,
                                         broadband=digitiser)
                band_noise = np.std(sosfilt(sos, noise[i]))
                first = first_extremum(tail)
                signal = np.concatenate([np.zeros(onset), tail])
            amplitude = np.exp(rng.uniform(*np.log(recipe.snr))) * band_noise
            sign = rng.choice((-1, 1))
            trace += sign * amplitude * signal
            snr_fm[i] = amplitude * abs(first) / band_noise
            freq[i] = fc
            if snr_fm[i] >= recipe.undecided_snr:
                polarity[i] = sign * int(np.sign(first))
                clarity[i] = IMPULSIVE if (not emergent and snr_fm[i] >= 5) else EMERGENT
        add_disturbances(trace, fs, rng, recipe, keep_clear=(pick[i] - 0.3 * fs, pick[i] + 0.3 * fs))
        if rng.random() < recipe.zero_phase_fraction:
            corner = min(rng.uniform(5.0, 45.0), 0.45 * fs)
            trace = sosfiltfilt(butterworth(4, 0.0, corner, fs), trace)
        if digitiser:
            trace = nyquist_taper(trace, rng.uniform(0.6, 0.9))
        traces[i] = trace + rng.normal(0, 100)
    return SyntheticTraces(fs, traces, pick, polarity, clarity, snr_fm, freq, jitter)


def brune_signal(npts: int, fs: float, onset: int, corner_hz: float, rng: np.random.Generator,
                 recipe: Recipe) -> np.ndarray:
    """Ground velocity of an omega-squared (Brune) source, displacement ``t exp(-2 pi fc t)``,
    smoothed by a causal two-pole attenuation kernel ``t exp(-t / tau)`` (tau = t*/pi), starting
    at sample ``onset``, plus a weak P coda; peak 1, first motion positive, exactly causal.
    Sharp onsets keep energy up to the Nyquist frequency (the caller's digitiser taper then
    rings before them, as a real anti-alias filter does)."""
    t = np.arange(npts - onset) / fs
    source = t * np.exp(-2.0 * np.pi * corner_hz * t)
    tau = np.exp(rng.uniform(*np.log(recipe.t_star_s))) / np.pi
    kernel = t * np.exp(-t / tau)
    if kernel.sum() <= 0:
        kernel = np.eye(1, len(t), 1)[0]
    displacement = fftconvolve(source, kernel / kernel.sum())[:len(t)]
    displacement[displacement < 1e-9 * displacement.max()] = 0.0  # FFT round-off, never < 0
    velocity = np.zeros(npts)
    velocity[onset:] = np.diff(displacement, prepend=0.0)
    velocity /= np.abs(velocity).max()
    # the coda starts once the first half-cycle is over (where the velocity turns negative)
    negative = np.flatnonzero(velocity[onset:] < 0)
    coda_start = onset + (negative[0] if len(negative) else 0)
    lag = np.clip(np.arange(npts) - coda_start, 0, None) / fs
    envelope = (1.0 - np.exp(-lag / rng.uniform(0.05, 0.5))) * np.exp(-lag / rng.uniform(0.5, 5.0))
    spectrum = np.abs(np.fft.rfft(velocity))
    coda = np.fft.irfft(np.fft.rfft(rng.standard_normal(npts)) * spectrum, npts)
    coda *= rng.uniform(0.0, 0.3) / max(coda.std(), 1e-30)
    signal = velocity + coda * envelope
    return signal / np.abs(signal).max()


def onset_signal(npts: int, fs: float, fc: float, emergent: bool, rng: np.random.Generator,
                 recipe: Recipe, broadband: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A P arrival starting at sample 0 (peak 1, first motion positive) and the band-pass
    (second-order sections) applied to it. ``broadband``: the causal low-pass sits near the
    Nyquist frequency (0.3-0.45 x the rate), so a sharp onset keeps energy up to it."""
    duration = rng.uniform(0.4, 1.0) / fc
    m = max(2, int(round(duration * fs)))
    u = np.linspace(0.0, 1.0, m + 1)
    shape = rng.integers(3)
    if shape == 0:
        pulse = np.sin(np.pi * u)
    elif shape == 1:
        pulse = 1.0 - np.abs(2.0 * u - 1.0)
    else:
        pulse = u * np.exp(-6.0 * u)
    velocity = np.diff(pulse)
    signal = np.zeros(npts)
    signal[:min(npts, len(velocity))] = velocity[:npts]
    if rng.random() < recipe.reverb_fraction:
        direct = signal.copy()
        for _ in range(rng.integers(1, 6)):
            delay = int(round(rng.uniform(0.6, 8.0) / fc * fs))
            if delay < npts:
                signal[delay:] += rng.uniform(-1.2, 1.2) * direct[:npts - delay]
    low = fc * rng.uniform(0.05, 0.5)
    high = min(fc * rng.uniform(1.5, 4.0), 0.45 * fs)
    order = int(rng.integers(2, 5))
    if broadband:
        high, order = rng.uniform(0.3, 0.45) * fs, int(rng.integers(1, 3))
    sos = butterworth(order, max(low, 0.05) if low < 0.5 * high else 0.0, high, fs)
    signal = sosfilt(sos, signal)
    if emergent:
        tau = rng.uniform(0.3, 2.5) / fc
        signal *= 1.0 - np.exp(-np.arange(npts) / fs / tau)
    peak = np.abs(signal).max()
    return signal / peak if peak > 0 else signal, sos


def nyquist_taper(trace: np.ndarray, start: float) -> np.ndarray:
    """``trace`` through a zero-phase cos² taper of its spectrum from ``start`` x Nyquist to
    Nyquist: like a digitiser's linear-phase anti-alias FIR, it rings before a sharp onset."""
    spectrum = np.fft.rfft(trace)
    f = np.linspace(0.0, 1.0, len(spectrum))
    ramp = np.clip((f - start) / (1.0 - start), 0.0, 1.0)
    return np.fft.irfft(spectrum * np.cos(0.5 * np.pi * ramp) ** 2, len(trace))


def butterworth(order: int, low_hz: float, high_hz: float, fs: float) -> np.ndarray:
    """Butterworth high-pass at ``low_hz`` (none when 0) followed by a low-pass at ``high_hz``,
    as second-order sections. Corners are rounded to 1/16 octave so that the designs can be
    cached (designing one costs ~3 ms, filtering a trace ~0.1 ms)."""
    def snap(f):
        return float(2.0 ** (np.round(np.log2(f) * 16) / 16))

    lowpass = _butterworth(order, min(snap(high_hz), 0.45 * fs), "lowpass", fs)
    if low_hz <= 0:
        return lowpass
    return np.vstack([_butterworth(order, snap(low_hz), "highpass", fs), lowpass])


@functools.lru_cache(maxsize=None)
def _butterworth(order: int, corner_hz: float, kind: str, fs: float) -> np.ndarray:
    return butter(order, corner_hz, kind, fs=fs, output="sos")


def first_extremum(signal: np.ndarray) -> float:
    """Value of the first local extremum of a clean onset starting from rest (its first
    half-cycle; the sample before ``signal[0]`` is taken as 0, so a first sample that is
    already the peak counts)."""
    signal = np.where(np.abs(signal) > 1e-9 * np.abs(signal).max(), signal, 0.0)
    d = np.sign(np.diff(signal, prepend=0.0))
    moving = np.flatnonzero(d)
    if not len(moving):
        return 0.0
    start = moving[0]
    turns = np.flatnonzero(d[start:] == -d[start])
    end = start + turns[0] - 1 if len(turns) else len(signal) - 1  # d[k] = signal[k] - signal[k-1]
    return float(signal[end])


def coloured_noise(n: int, npts: int, fs: float, rng: np.random.Generator,
                   slope: tuple[float, float]) -> np.ndarray:
    """Gaussian noise of unit standard deviation with power spectrum ~ f^-alpha, alpha uniform
    in ``slope`` per trace."""
    spectrum = np.fft.rfft(rng.standard_normal((n, npts)), axis=1)
    f = np.fft.rfftfreq(npts, 1.0 / fs)
    f[0] = f[1]
    alpha = rng.uniform(*slope, size=(n, 1))
    spectrum *= (f / f[-1]) ** (-alpha / 2.0)
    noise = np.fft.irfft(spectrum, npts, axis=1)
    return noise / noise.std(axis=1, keepdims=True)


def add_disturbances(trace: np.ndarray, fs: float, rng: np.random.Generator, recipe: Recipe,
                     keep_clear: tuple[float, float] = (0.0, 0.0)) -> None:
    """Microseism, spikes and mains hum added in place (relative to unit noise); no spike
    between the samples ``keep_clear`` (around the pick: a spike there *is* a first motion)."""
    t = np.arange(len(trace)) / fs
    if rng.random() < 0.5:
        amplitude = np.exp(rng.uniform(np.log(0.1), np.log(50.0)))
        trace += amplitude * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 2 * np.pi))
    if rng.random() < recipe.spike_fraction:
        for _ in range(rng.integers(1, 4)):
            at = rng.integers(len(trace))
            if not keep_clear[0] <= at <= keep_clear[1]:
                trace[at] += rng.choice((-1, 1)) * rng.uniform(5, 50)
    if rng.random() < recipe.hum_fraction and fs > 130:
        trace += rng.uniform(0.2, 3) * np.sin(2 * np.pi * rng.choice((50.0, 60.0)) * t)


PICK_SPREAD_S = 0.3  # the pick lies within +-0.3 s of a trace's middle (generate_traces)


def recipe_for(model, recipe: Recipe = Recipe()) -> Recipe:
    """``recipe`` with traces long enough (whole seconds) for ``model``'s window to stay clear of
    the taper at every pick position: 4 s for FocalflowNet's 1.28 s, 8 s for EQpolarity's 6 s."""
    before_s = model.pick_sample / model.sampling_rate_hz
    after_s = (model.window_samples - model.pick_sample) / model.sampling_rate_hz
    usable = 0.5 - model.taper_fraction
    needed = (max(before_s, after_s) + PICK_SPREAD_S) / usable
    return replace(recipe, trace_s=max(recipe.trace_s, float(math.ceil(needed))))


def make_dataset(model, n: int, seed: int, recipe: Recipe = Recipe()) -> dict[str, np.ndarray]:
    """``n`` network inputs with labels, through ``model.preprocess`` (all rates, shuffled).

    Returns a dict with ``inputs`` (float32 ``(n, window, channels)``), ``polarity``
    (+1/-1/0), ``clarity``, ``snr``, ``freq_hz``, ``jitter_s``, ``rate_hz``.
    """
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.asarray(recipe.rate_weights) / np.sum(recipe.rate_weights))
    parts = []
    for rate, count in zip(recipe.rates_hz, counts):
        for begin in range(0, count, 2000):
            synthetic = generate_traces(min(2000, count - begin), rate, rng, recipe)
            inputs, valid, reasons = model.preprocess(synthetic.traces, synthetic.pick_index, rate)
            if not valid.all():
                raise RuntimeError(f"synthetic traces refused by preprocessing: {set(reasons) - {''}}")
            parts.append({"inputs": inputs, "polarity": synthetic.polarity,
                          "clarity": synthetic.clarity, "snr": synthetic.snr,
                          "freq_hz": synthetic.freq_hz, "jitter_s": synthetic.jitter_s,
                          "rate_hz": np.full(len(inputs), rate)})
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = rng.permutation(n)
    return {k: v[order] for k, v in data.items()}
