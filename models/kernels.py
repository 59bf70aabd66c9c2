"""Numba kernels of the models' preprocessing: one pass over each trace, no temporary arrays.

Compiled once and cached by numba (``cache=True``: beside the sources, or ``NUMBA_CACHE_DIR``):
``python -m models.kernels`` at set-up (the README's install command), else on first use
(~7 s). They release the GIL, so stage 4 prepares the next windows in a second thread while
the network runs.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def clean_resampled_windows(data, start, taper, taps, up, down, length):  # pragma: no cover
    """Windows of ``length`` samples cut from the rows of ``data`` (n, npts) after removing each
    row's mean and least-squares line and multiplying by ``taper`` (npts,), then resampling by
    ``up/down`` with the centred FIR ``taps`` (odd length, already scaled by ``up``; zero taps
    are skipped; zeros outside the trace): sample ``j`` of window ``r`` is sample
    ``start[r] + j`` of the resampled row. With ``taps = [1.0]`` and ``up = down = 1`` it cuts without resampling.
    Returns float64 (n, length)."""
    n, npts = data.shape
    half = len(taps) // 2
    # polyphase form: output sample m takes up-sampled position p = m * down + half, i.e. trace
    # samples p // up - i and taps p % up + up * i; each phase keeps its non-zero taps only
    # (an interpolating filter is zero at every up-th tap but its centre)
    per_phase = (len(taps) + up - 1) // up
    weights = np.zeros((up, per_phase))
    lags = np.zeros((up, per_phase), np.int64)
    counts = np.zeros(up, np.int64)
    for k in range(len(taps)):
        phase = k % up
        if taps[k] != 0.0:
            weights[phase, counts[phase]] = taps[k]
            lags[phase, counts[phase]] = k // up
            counts[phase] += 1
    pad = per_phase + 1
    cleaned = np.zeros(npts + 2 * pad)
    centre = (npts - 1) / 2.0
    spread = 0.0
    for i in range(npts):
        spread += (i - centre) ** 2
    out = np.empty((n, length))
    for r in range(n):
        row = data[r]
        total = 0.0
        moment = 0.0
        for i in range(npts):
            total += row[i]
            moment += row[i] * (i - centre)
        mean = total / npts
        slope = moment / spread if spread > 0 else 0.0
        for i in range(npts):
            cleaned[pad + i] = (row[i] - mean - slope * (i - centre)) * taper[i]
        for j in range(length):
            position = (start[r] + j) * down + half
            phase = position % up
            last = pad + position // up
            acc = 0.0
            for k in range(counts[phase]):
                acc += weights[phase, k] * cleaned[last - lags[phase, k]]
            out[r, j] = acc
    return out


@njit(cache=True, nogil=True)
def noise_scaled_inputs(windows, noise_samples, noise_scale):  # pragma: no cover
    """FocalflowNet's two input channels before the squashing (see :mod:`models.focalflow_net`)
    from windows (n, length): the window minus the median of its first ``noise_samples``
    samples, (0) over its largest absolute value and (1) over ``noise_scale`` times the noise
    level (1.4826 x the median absolute deviation of those samples, at least 1 % of the peak).
    Returns float32 (n, length, 2), the channels side by side as the network takes them."""
    n, length = windows.shape
    out = np.empty((n, length, 2), np.float32)
    scratch = np.empty(noise_samples)
    for r in range(n):
        row = windows[r]
        for j in range(noise_samples):
            scratch[j] = row[j]
        base = _median(scratch)
        peak = 0.0
        for j in range(length):
            peak = max(peak, abs(row[j] - base))
        for j in range(noise_samples):
            scratch[j] = abs(row[j] - base)
        level = max(_median(scratch) * 1.4826, 1e-2 * peak) + 1e-30
        for j in range(length):
            x = row[j] - base
            out[r, j, 0] = x / (peak + 1e-30)
            out[r, j, 1] = x / (noise_scale * level)
    return out


@njit(cache=True, nogil=True)
def _median(values):  # pragma: no cover
    """The median of ``values`` as ``np.median`` gives it (the mean of the two middle values
    when their number is even), selecting in place (``values`` is reordered) without the copy
    and sort ``np.median`` makes for every call."""
    n = len(values)
    upper = _select(values, n // 2)
    if n % 2:
        return upper
    lower = values[0]  # the largest of the values the selection left below the upper middle
    for i in range(1, n // 2):
        lower = max(lower, values[i])
    return (lower + upper) / 2.0


@njit(cache=True, nogil=True)
def _select(values, k):  # pragma: no cover
    """The ``k``-th smallest of ``values`` (0-based), reordering them so that those before
    position ``k`` are not larger and those after are not smaller (Hoare's selection)."""
    low, high = 0, len(values) - 1
    while low < high:
        pivot = values[(low + high) // 2]
        i, j = low, high
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            high = j
        elif k >= i:
            low = i
        else:
            break
    return values[k]


def compile_kernels() -> float:
    """Compile (and cache) the kernels for the argument types stage 4 passes (samples in float32
    from the waveform store or float64, the shared read-only taper and taps); returns the
    seconds taken."""
    import time
    from fractions import Fraction

    from models.base import hann_taper, resampling_taps

    started = time.perf_counter()
    for dtype in (np.float32, np.float64):
        clean_resampled_windows(np.ones((1, 8), dtype), np.zeros(1, np.int64), hann_taper(8),
                                resampling_taps(Fraction(2, 1)), 2, 1, 4)
    noise_scaled_inputs(np.ones((1, 8)), 4, 4.0)
    return time.perf_counter() - started


if __name__ == "__main__":
    print("compiling the models' preprocessing kernels, once, ~10 s (later runs load them from "
          "numba's cache)", flush=True)
    print(f"models' preprocessing kernels ready in {compile_kernels():.0f} s")
