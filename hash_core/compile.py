"""Compile hash_core's numba kernels once per machine, and cache them where every later process
finds them (numba's ``cache=True``: beside the sources, or ``NUMBA_CACHE_DIR``).

    python -m hash_core.compile        # at set-up (the README's install command)

A first compilation takes about 30 s of CPU; afterwards a new process loads the kernels in
about a second. :func:`ensure_compiled` is what stage 6 calls before solving: it compiles only
when a kernel is missing from the cache, saying so ("compiling kernels, once, ~30 s").
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Iterator

MESSAGE = "compiling kernels, once, ~30 s"


def dispatchers() -> Iterator:
    """Every numba-compiled function of hash_core (those in module dicts too, such as the
    parallel and serial variants of a search kernel)."""
    from numba.core.registry import CPUDispatcher

    from hash_core import focal, raytrace, rng, search, solution

    for module in (focal, raytrace, rng, search, solution):
        for value in vars(module).values():
            values = value.values() if isinstance(value, dict) else \
                value if isinstance(value, (list, tuple)) else [value]
            for item in values:
                if isinstance(item, CPUDispatcher) and item.__module__.startswith("hash_core"):
                    yield item


def _cached(dispatcher) -> bool:
    cache = getattr(dispatcher, "_cache", None)
    try:
        return bool(cache._cache_file._load_index())
    except Exception:  # numba's cache layout changed, or no cache: compile to be sure
        return False


def kernels_cached() -> bool:
    """True when every kernel has a valid compiled version in numba's cache."""
    return all(_cached(d) for d in dispatchers())


def compile_kernels() -> float:
    """Compile (and cache) every kernel by solving two tiny events, with polarities only and
    with S/P ratios, one grid search on numba's threads and one serial, averaging two
    mechanisms, the leave-one-out check and a small take-off table built and looked up;
    returns the seconds taken."""
    import numpy as np

    from hash_core.focal import focal_mechanism, perturb_given_angles
    from hash_core.geometry import ray_vectors
    from hash_core.grid import mechanism_grid
    from hash_core.params import HashParams
    from hash_core.raytrace import lookup_takeoff, takeoff_table
    from hash_core.rng import make_rng
    from hash_core.solution import leave_one_out_rotation, mech_average

    started = time.perf_counter()
    g = np.random.default_rng(1)
    n = 16
    stream = make_rng("numpy", seed=0)
    takeoff, azimuth = perturb_given_angles(g.uniform(20, 160, n), g.uniform(0, 360, n),
                                            np.full(n, 5.0), np.full(n, 2.0), 4, stream)
    polarity = np.where(g.uniform(size=n) > 0.5, 1.0, -1.0)
    with_sp = polarity.copy()
    with_sp[:4] = 0.0
    sp = np.where(with_sp == 0, 0.5, np.nan)
    params = HashParams(dang_deg=30.0, nmc=4, max_agap_deg=360.0, max_pgap_deg=90.0)
    make_rng("hash").normal(2)  # HASH's own stream
    for parallel in (True, False):
        focal_mechanism(takeoff, azimuth, polarity, np.ones(n, bool), np.full(n, np.nan),
                        params, make_rng("numpy", seed=0), parallel)
        focal_mechanism(takeoff, azimuth, with_sp, np.ones(n, bool), sp, params,
                        make_rng("hash"), parallel)
    mech_average(np.array([[0.0, 0.0, 1.0], [0.0, 0.1, 1.0]]), np.array([[1.0, 0.0, 0.0]] * 2))
    rays = ray_vectors(takeoff[:, 0], azimuth[:, 0])  # the honest-quality leave-one-out
    leave_one_out_rotation(rays, with_sp, np.where(with_sp == 0, -0.3, np.nan), np.ones(n),
                           mechanism_grid(params.dang_deg), params)
    table = takeoff_table([0.0, 10.0, 30.0], [5.0, 6.0, 7.0], n_rays=200)
    lookup_takeoff(table, np.array([5.0, 500.0]), np.array([3.0, 3.0]))
    return time.perf_counter() - started


def ensure_compiled(say: Callable[[str], None] = print) -> bool:
    """Compile the kernels when some are not cached yet (telling ``say``); returns whether it
    compiled."""
    if kernels_cached():
        return False
    say(MESSAGE)
    compile_kernels()
    return True


def main() -> int:
    if kernels_cached():
        print("hash_core kernels already compiled and cached")
        return 0
    print(MESSAGE, flush=True)
    seconds = compile_kernels()
    state = "cached" if kernels_cached() else "compiled, but numba could not cache them " \
        "(set NUMBA_CACHE_DIR to a writable folder)"
    print(f"hash_core kernels {state} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
