"""Random streams for the Monte Carlo trials: NumPy's generator (default) or HASH v1.2's own.

Both expose ``normal(n)`` (n standard normal deviates, float64) and ``subset(n, k)`` (sorted
indices of k distinct items out of n). Use one stream for a whole run and draw in the order
HASH does (events in file order), so that a run is reproducible from its seed.
"""
from __future__ import annotations

import numpy as np


class NumpyStream:
    """NumPy's PCG64 generator with a seed: the default, deterministic for a given seed."""

    kind = "numpy"

    def __init__(self, seed: int | None = 0):
        self.seed = seed
        self._generator = np.random.default_rng(seed)

    def normal(self, n: int) -> np.ndarray:
        return self._generator.standard_normal(int(n))

    def subset(self, n: int, k: int) -> np.ndarray:
        return np.sort(self._generator.choice(int(n), size=int(k), replace=False))


class HashStream:
    """HASH v1.2's normal deviates (RAN_NORM): sum of 12 uniforms minus 6, in single precision.

    Uniforms come from the linear congruential generator j <- (2311 j + 25367) mod 120050,
    u = j / 120050, started at j = 314159. HASH keeps a random subset of acceptable
    mechanisms with the Fortran compiler's own rand(), which cannot be reproduced; ``subset``
    uses a NumPy generator seeded with ``subset_seed`` and does not touch the LCG stream.
    """

    kind = "hash"
    _A, _C, _M = 2311, 25367, 120050

    def __init__(self, seed: int = 314159, subset_seed: int = 0):
        self.seed = seed
        self._state = int(seed)
        self._subset_generator = np.random.default_rng(subset_seed)

    def uniform(self, n: int) -> np.ndarray:
        out = np.empty(int(n), dtype=np.float32)
        j = self._state
        for i in range(out.size):
            j = (self._A * j + self._C) % self._M
            out[i] = np.float32(j) / np.float32(self._M)
        self._state = j
        return out

    def normal(self, n: int) -> np.ndarray:
        uniforms = self.uniform(12 * int(n)).reshape(int(n), 12)
        total = np.zeros(int(n), dtype=np.float32)
        for k in range(12):  # left-to-right single-precision sum, as the Fortran loop
            total = total + uniforms[:, k]
        return (total - np.float32(6.0)).astype(np.float64)

    def subset(self, n: int, k: int) -> np.ndarray:
        return np.sort(self._subset_generator.choice(int(n), size=int(k), replace=False))


def make_rng(kind: str = "numpy", seed: int | None = None) -> NumpyStream | HashStream:
    """A random stream: ``"numpy"`` (seed default 0) or ``"hash"`` (seed default 314159)."""
    if kind == "numpy":
        return NumpyStream(0 if seed is None else seed)
    if kind == "hash":
        return HashStream(314159 if seed is None else seed)
    raise ValueError(f"unknown random stream {kind!r}: expected 'numpy' or 'hash'")
