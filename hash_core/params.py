"""The one typed set of HASH parameters, and the run policy (random stream, seed, threads).

Every default, allowed range and description is written here once. The focalflow config
schema (``hash.*`` keys), the HASH v1.2 control-file reader and the SKHASH control-file reader
all *produce* a :class:`HashParams`; none of them restates a value.

Defaults are HASH v1.2's: the example values its drivers prompt for (``hash_driver1.f``:
npolmin 8, max_agap 90, max_pgap 60, dang 5, nmc 30, maxout 500, badfrac 0.1, delmax 120,
cangle 45, prob_max 0.1; driver 3: ratmin 3, qbadfac 0.3), ``param.inc``'s nmax0 = 500, the
fixed minimum misfit allowances of FOCALMC/FOCALAMP_MC (2 polarities, 2 in summed log10 S/P)
and the 1 km depth uncertainty used where the catalog gives none. SKHASH's defaults differ in
a few places (``focalflow.formats.skhash.SKHASH_DEFAULTS``: prob_max 0.2, a zero depth
uncertainty means an exact depth, ``$delmax`` 0 means no limit).

Units are in the names: ``_deg`` degrees, ``_km`` kilometres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

MISFIT_WEIGHTS = ("radiation", "hash_v12")
RANDOM_STREAMS = ("numpy", "hash")
TABLE_EDGES = ("skip", "clamp", "hash_v12")  # hash_core.raytrace.TABLE_EDGES


def _param(default: Any, doc: str, **limits: Any):
    """A parameter: its default, a one-line description and its allowed range (pydantic's
    ``ge``/``gt``/``le``/``lt``, or ``choices``)."""
    return field(default=default, metadata={"doc": doc, **limits})


def _check(instance) -> None:
    """Raise ValueError naming the first field outside its allowed range."""
    for item in fields(instance):
        value = getattr(instance, item.name)
        limits = item.metadata
        if "choices" in limits and value not in limits["choices"]:
            raise ValueError(f"{item.name} {value!r} is not one of {', '.join(limits['choices'])}")
        for key, test, words in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                                 ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
            if key in limits and not (isinstance(value, (int, float)) and test(value, limits[key])):
                raise ValueError(f"{item.name} {value!r} must be {words} {limits[key]}")


def describe(cls, name: str) -> dict[str, Any]:
    """``{"default": ..., "description": ..., "ge": ...}`` of field ``name`` of ``cls``
    (:class:`HashParams` or :class:`RunPolicy`), the form the config schema's ``Field`` takes."""
    item = next(f for f in fields(cls) if f.name == name)
    limits = {k: v for k, v in item.metadata.items() if k in ("ge", "gt", "le", "lt")}
    return {"default": item.default, "description": item.metadata["doc"], **limits}


@dataclass(frozen=True)
class HashParams:
    """Parameters of HASH's grid search for one run (angles in degrees, distances in km).

    Raises ValueError for a value outside its range (the readers name the file and line).
    """

    npolmin: int = _param(8, "Minimum number of polarities (fewer: quality F).", ge=1)
    max_agap_deg: float = _param(90.0, "Maximum azimuthal gap.", gt=0, le=360)
    max_pgap_deg: float = _param(60.0, "Maximum take-off angle gap.", gt=0, le=90)
    dang_deg: float = _param(5.0, "Grid angle of the mechanism search.", ge=1, le=30)
    nmc: int = _param(30, "Monte Carlo trials (depth/model perturbations).", ge=1, le=1000)
    maxout: int = _param(500, "Most acceptable mechanisms kept per event.", ge=1)
    max_accepted: int = _param(
        500, "Most acceptable mechanisms kept for the probabilities (HASH's nmax0); a random "
        "subset when more pass.", ge=1)
    badfrac: float = _param(0.1, "Assumed fraction of wrong polarities.", ge=0, lt=1)
    badmin: float = _param(2.0, "Fewest wrong polarities always allowed (HASH: 2).", ge=0)
    qbadfac: float = _param(0.3, "Assumed noise in log10 S/P ratios.", ge=0)
    qbadmin: float = _param(2.0, "Smallest summed log10 S/P misfit always allowed (HASH: 2).",
                            ge=0)
    delmax_km: float = _param(120.0, "Largest source-station distance used.", gt=0)
    cangle_deg: float = _param(45.0, "Angle for computing probabilities.", gt=0, le=90)
    prob_max: float = _param(0.1, "Probability threshold for multiple solutions.", ge=0, le=1)
    max_solutions: int = _param(5, "Most solutions (multiples) reported per event.", ge=1)
    ratmin: float = _param(3.0, "Minimum signal-to-noise ratio of P and S amplitudes.", gt=0)
    depth_uncert_km: float = _param(1.0, "Depth sigma where the catalog gives none.", gt=0)
    misfit_weights: str = _param(
        "radiation", "Weights of polarity misfit and station distribution ratio: radiation "
        "(the mechanism's P radiation) or hash_v12 (as HASH v1.2 computes them, reproducing "
        "its quality letters).", choices=MISFIT_WEIGHTS)
    zero_depth_uncert_exact: bool = _param(
        False, "A catalog depth uncertainty of 0 means the depth is exact (SKHASH), not "
        "unknown (HASH).")
    always_sp: bool = _param(
        False, "Search with polarities and S/P ratios, and grade as HASH driver 3 does, even "
        "for events without S/P ratios.")
    gap_skips_search: bool = _param(
        False, "Polarity-only events whose gaps exceed max_agap_deg or max_pgap_deg get E "
        "without a search (HASH v1.2's drivers 1, 2, 4 and 5); false: searched and graded E.")
    table_depths_km: tuple = _param(
        (0.0, 39.0, 3.0), "Source depths of the take-off tables: first, last, step (km).")
    table_distances_km: tuple = _param(
        (0.0, 200.0, 2.0), "Distances of the take-off tables: first, last, step (km).")
    n_rays: int = _param(9000, "Rays traced per velocity model for the take-off tables.",
                         ge=10, le=100000)
    table_edges: str = _param(
        "skip", "A trial depth or station distance outside the take-off table: skip the trial "
        "(the observation), clamp to the table edge (SKHASH), or hash_v12 (HASH v1.2: a 999 "
        "degree angle, distances extrapolated).", choices=TABLE_EDGES)
    delmin_km: float = _param(0.0, "Smallest source-station distance used.", ge=0)
    max_takeoff_sigma_deg: float = _param(
        0.0, "Observations whose take-off angle varies more than this over the trials (standard "
        "deviation) are left out; 0: no limit (SKHASH's pmax).", ge=0)
    perturb_epicenter: bool = _param(
        False, "Also perturb the epicentre in the trials, by the horizontal uncertainty (SKHASH).")
    horz_uncert_km: float = _param(
        1.0, "Horizontal sigma where the catalog gives none (epicentral perturbation).", gt=0)
    iterative_avg: bool = _param(
        True, "Average the acceptable mechanisms as HASH does, removing the farthest one at a "
        "time; false: SKHASH's average of those within cangle.")
    honest_quality: bool = _param(
        True, "Cap a quality A or B at C where the coverage cannot support it (few observations, "
        "polarities of one sign or on one side of a nodal plane, a leave-one-out jump) and say "
        "why in quality_note; false: HASH's letters.")
    quality_min_polarities: int = _param(
        12, "Fewer observations (polarities and S/P ratios) than this cap the quality at C.",
        ge=0)
    quality_loo_max_deg: float = _param(
        30.0, "A mechanism moving more than this when one polarity is left out caps the quality "
        "at C.", gt=0, le=180)

    def __post_init__(self) -> None:
        _check(self)
        for name in ("table_depths_km", "table_distances_km"):
            value = getattr(self, name)
            if (len(value) != 3 or not all(isinstance(v, (int, float)) for v in value)
                    or not value[0] >= 0 or not value[2] > 0 or not value[1] > value[0]):
                raise ValueError(f"{name} {value!r} must be (first >= 0, last > first, step > 0)")
            object.__setattr__(self, name, tuple(float(v) for v in value))

    def horz_sigma_km(self, catalog_sigma_km) -> float:
        """The horizontal sigma (km) of an event: the catalog's, or :attr:`horz_uncert_km`
        where it is missing, negative or 0 (0 stays 0 with :attr:`zero_depth_uncert_exact`)."""
        return _sigma(catalog_sigma_km, self.horz_uncert_km, self.zero_depth_uncert_exact)

    def table_axes(self) -> tuple:
        """(source depths, distances) of the take-off tables, km."""
        import numpy as np

        first, last, step = self.table_depths_km
        depths = np.arange(first, last + step / 20.0, step)
        first, last, step = self.table_distances_km
        return depths, np.arange(first, last + step / 20.0, step)

    def depth_sigma_km(self, catalog_sigma_km) -> float:
        """The depth sigma (km) of an event whose catalog gives ``catalog_sigma_km``: the
        catalog's, or :attr:`depth_uncert_km` where it is missing, negative or 0 (0 stays 0
        with :attr:`zero_depth_uncert_exact`)."""
        return _sigma(catalog_sigma_km, self.depth_uncert_km, self.zero_depth_uncert_exact)


def _sigma(value, default: float, zero_exact: bool) -> float:
    try:
        sigma = float(value)
    except (TypeError, ValueError):
        sigma = math.nan
    if not math.isfinite(sigma) or sigma < 0 or (sigma == 0 and not zero_exact):
        return default
    return sigma


@dataclass(frozen=True)
class RunPolicy:
    """How a catalog is run; none of it changes a mechanism of the numpy stream.

    ``rng``: ``numpy`` (seeded; each event its own stream from ``seed`` and its id, so an
    event's result does not depend on the other events) or ``hash`` (HASH v1.2's one stream
    for the whole run, events in input order). ``threads``: cores (0: all).
    """

    rng: str = _param("numpy", "numpy: seeded generator; hash: HASH v1.2's stream.",
                      choices=RANDOM_STREAMS)
    seed: int = _param(0, "Seed of the numpy random stream.", ge=0)
    threads: int = _param(0, "Cores for stage 6 (0: all): events solved concurrently with the "
                          "numpy stream, else each grid search spread over them.", ge=0, le=256)

    def __post_init__(self) -> None:
        _check(self)
