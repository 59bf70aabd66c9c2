"""Random streams for the Monte Carlo trials: NumPy's generator (default) or HASH v1.2's own.

Both expose ``normal(n)`` (n standard normal deviates, float64), ``uniform(n)`` (in [0, 1))
and ``subset(n, k)`` (indices
of k distinct items out of n, in the order drawn: HASH averages a set aligned to its first
member, so the order matters). Use one stream for a whole run and draw in the order
HASH does (events in file order), so that a run is reproducible from its seed.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _lcg_states(state, n, a, c, m):
    """The next ``n`` states of the linear congruential generator j <- (a j + c) mod m."""
    out = np.empty(n, np.int64)
    for i in range(n):
        state = (a * state + c) % m
        out[i] = state
    return out


class NumpyStream:
    """NumPy's PCG64 generator with a seed: the default, deterministic for a given seed."""

    kind = "numpy"

    def __init__(self, seed: int | None = 0):
        self.seed = seed
        self._generator = np.random.default_rng(seed)

    def normal(self, n: int) -> np.ndarray:
        return self._generator.standard_normal(int(n))

    def uniform(self, n: int) -> np.ndarray:
        return self._generator.random(int(n))

    def subset(self, n: int, k: int) -> np.ndarray:
        return np.sort(self._generator.choice(int(n), size=int(k), replace=False))


class HashStream:
    """HASH v1.2's normal deviates (RAN_NORM): sum of 12 uniforms minus 6, in single precision.

    Uniforms come from the linear congruential generator j <- (2311 j + 25367) mod 120050,
    u = j / 120050, started at j = 314159. When more mechanisms are acceptable than HASH
    keeps, it draws them with gfortran's RAND(): the multiplicative generator
    s <- 16807 s mod (2^31 - 1) started at s = 1, u = (s - 1) / (2^31 - 2); index int(u n),
    drawn again when already taken. ``subset`` reproduces that (a separate stream).

    It also carries the one other piece of state a HASH v1.2 run keeps between events:
    whether FOCALAMP_MC (the search with S/P ratios) has run. Its lookup step for the S/P
    tables is set only on the first call and not SAVEd, so in HASH's own runs (its
    ``example3.out``) the S/P ratios shape the search of the first event only and, after
    it, every mechanism gets the same S/P misfit: :attr:`sp_lookup_set` lets the search
    reproduce that (``hash_core.focal.focal_mechanism``).
    """

    kind = "hash"
    _A, _C, _M = 2311, 25367, 120050
    _RAND_A, _RAND_M = 16807, 2147483647

    def __init__(self, seed: int = 314159, rand_seed: int = 1):
        self.seed = seed
        self._state = int(seed)
        self._rand_state = int(rand_seed)
        self.sp_lookup_set = False

    def uniform(self, n: int) -> np.ndarray:
        states = _lcg_states(self._state, int(n), self._A, self._C, self._M)
        if states.size:
            self._state = int(states[-1])
        return states.astype(np.float32) / np.float32(self._M)

    def normal(self, n: int) -> np.ndarray:
        uniforms = self.uniform(12 * int(n)).reshape(int(n), 12)
        total = np.zeros(int(n), dtype=np.float32)
        for k in range(12):  # left-to-right single-precision sum, as the Fortran loop
            total = total + uniforms[:, k]
        return (total - np.float32(6.0)).astype(np.float64)

    def rand(self) -> float:
        """gfortran's RAND(0): the next single-precision uniform of the modulo generator."""
        self._rand_state = (self._RAND_A * self._rand_state) % self._RAND_M
        return np.float32(self._rand_state - 1) / np.float32(self._RAND_M - 2)

    def subset(self, n: int, k: int) -> np.ndarray:
        n, k = int(n), int(k)
        if k > n:
            raise ValueError(f"cannot draw {k} of {n} items without replacement")
        taken = np.zeros(n, dtype=bool)
        chosen = []
        while len(chosen) < k:  # HASH: nint(u * n + 0.5), in single precision
            index = min(int(self.rand() * np.float32(n)), n - 1)
            if not taken[index]:
                taken[index] = True
                chosen.append(index)
        return np.array(chosen, dtype=np.int64)


def make_rng(kind: str = "numpy", seed: int | None = None) -> NumpyStream | HashStream:
    """A random stream: ``"numpy"`` (seed default 0) or ``"hash"`` (seed default 314159)."""
    if kind == "numpy":
        return NumpyStream(0 if seed is None else seed)
    if kind == "hash":
        return HashStream(314159 if seed is None else seed)
    raise ValueError(f"unknown random stream {kind!r}: expected 'numpy' or 'hash'")
