"""focalflow's Python API: solve focal mechanisms from arrays or tables, read catalogs as
ObsPy :class:`~obspy.core.event.Catalog` objects. Reach it as ``focalflow.solve``,
``focalflow.read_mechanisms`` and ``focalflow.read_phases`` (imported on first use, so
``import focalflow`` stays fast).

Angles are in degrees (take-off from vertical UP, HASH's convention: 0 up, 180 down; azimuth
clockwise from north), polarities +1 up / -1 down (true ground motion), S/P ratios as log10,
distances in km. The examples below run as tests (``tests/test_api.py``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from obspy import Catalog

from focalflow.errors import FocalflowError

log = logging.getLogger("focalflow.api")


@dataclass
class Mechanisms:
    """What :func:`solve` returns: three tables with SKHASH's column names.

    ``mechanisms``: one row per solution (HASH may give several per event, the preferred one
    first): strike/dip/rake of both planes, quality letter A-F, uncertainties, misfit (%),
    probability, station distribution ratio, gaps. ``acceptable``: the acceptable
    mechanisms of each event (strike, dip, rake). ``polinfo``: one row per observation used,
    with its take-off angle, azimuth and agreement with the preferred mechanism.
    """

    mechanisms: pd.DataFrame
    acceptable: pd.DataFrame
    polinfo: pd.DataFrame

    @property
    def preferred(self) -> pd.DataFrame:
        """One row per event: its preferred solution."""
        return self.mechanisms.drop_duplicates("event_id").reset_index(drop=True)


def solve(polarity=None, takeoff_deg=None, azimuth_deg=None, *, sp_ratio=None,
          takeoff_sigma_deg: float = 5.0, azimuth_sigma_deg: float = 5.0,
          observations: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
          velocity_models: Sequence[Path | str] | None = None, **hash_params) -> Mechanisms:
    """Focal mechanisms by HASH's method (Hardebeck & Shearer 2002, 2003).

    From arrays, for one event (event id ``"1"``): P polarities at take-off angles and
    azimuths, optionally log10 S/P ratios (NaN where none), the angles perturbed by their
    sigmas in the Monte Carlo trials (HASH driver 1). From tables, for many events:
    ``observations`` with one row per polarity or S/P ratio (``event_id``, ``p_polarity``,
    and either ``takeoff_deg``/``azimuth_deg`` or station coordinates ``station_lat``,
    ``station_lon`` with ``events`` (event_id, time, latitude, longitude, depth km,
    vert_uncert_km) and ``velocity_models`` (files) to compute them).

    ``hash_params``: HASH's parameters by their names in :class:`hash_core.params.HashParams`
    (``npolmin``, ``max_agap_deg``, ``dang_deg``, ``nmc``, ``badfrac``, ``delmax_km``,
    ``prob_max``, ...; HASH v1.2's defaults) and the run policy's (``rng``, ``seed``,
    ``threads``).

    A mechanism with a known answer, seen by 40 stations:

    >>> import numpy as np
    >>> import focalflow
    >>> from hash_core.geometry import kagan_angle, ray_vectors, sdr_to_vectors
    >>> rng = np.random.default_rng(1)
    >>> takeoff, azimuth = rng.uniform(95, 170, 40), rng.uniform(0, 360, 40)
    >>> normal, slip = sdr_to_vectors(30.0, 60.0, 90.0)
    >>> rays = ray_vectors(takeoff, azimuth)
    >>> polarity = np.sign((rays @ normal) * (rays @ slip))
    >>> result = focalflow.solve(polarity, takeoff, azimuth)
    >>> best = result.preferred.iloc[0]
    >>> angle = kagan_angle([30.0, 60.0, 90.0], [best["strike"], best["dip"], best["rake"]])
    >>> best["quality"] in "AB", float(angle) < 15
    (True, True)
    """
    from focalflow.mechanisms.observations import add_distance_azimuth, make_observations
    from focalflow.mechanisms.result_tables import round_tables
    from focalflow.mechanisms.solve import solve_catalog, velocity_tables
    from hash_core.params import HashParams, RunPolicy

    params, policy = _parameters(hash_params, HashParams, RunPolicy)
    if observations is None:
        if polarity is None or takeoff_deg is None or azimuth_deg is None:
            raise FocalflowError("give polarity, takeoff_deg and azimuth_deg, or observations")
        observations, events = _one_event(polarity, takeoff_deg, azimuth_deg, sp_ratio,
                                          takeoff_sigma_deg, azimuth_sigma_deg)
    elif events is None:
        raise FocalflowError("observations need an events table (event_id, time, latitude, "
                             "longitude, depth, ...)")
    observations = make_observations(observations, kind="P")
    tables = None
    if velocity_models:
        tables = velocity_tables(velocity_models, params)
        observations = add_distance_azimuth(observations, events)
    problems: list[tuple] = []
    frames = round_tables(solve_catalog(events, observations, params, policy, tables,
                                        lambda *problem: problems.append(problem)))
    for event_id, station, reason in problems:
        log.warning("event %s%s: %s", event_id, f" station {station}" if station else "", reason)
    return Mechanisms(frames["mechanisms"], frames["acceptable"], frames["polinfo"])


def _parameters(values: dict, *kinds) -> list:
    """``values`` split between the dataclasses ``kinds`` by field name (each built and
    checked); FocalflowError for a name none of them has or a value out of range."""
    names = [{f.name for f in fields(kind)} for kind in kinds]
    unknown = sorted(set(values) - set().union(*names))
    if unknown:
        raise FocalflowError(f"unknown HASH parameter(s) {', '.join(unknown)}; use "
                             f"{', '.join(sorted(set().union(*names)))}")
    try:
        return [kind(**{k: v for k, v in values.items() if k in known})
                for kind, known in zip(kinds, names)]
    except ValueError as exc:
        raise FocalflowError(str(exc)) from None


def _one_event(polarity, takeoff_deg, azimuth_deg, sp_ratio, takeoff_sigma_deg,
               azimuth_sigma_deg) -> tuple[pd.DataFrame, pd.DataFrame]:
    polarity, takeoff, azimuth = (np.asarray(a, dtype=float).ravel()
                                  for a in (polarity, takeoff_deg, azimuth_deg))
    if not len(polarity) == len(takeoff) == len(azimuth):
        raise FocalflowError(f"polarity, takeoff_deg and azimuth_deg differ in length "
                             f"({len(polarity)}, {len(takeoff)}, {len(azimuth)})")
    rows = pd.DataFrame({"event_id": "1", "kind": "P", "p_polarity": polarity,
                         "takeoff_deg": takeoff, "azimuth_deg": azimuth,
                         "takeoff_sigma_deg": takeoff_sigma_deg,
                         "azimuth_sigma_deg": azimuth_sigma_deg,
                         "station": [f"S{k:03d}" for k in range(len(polarity))]})
    if sp_ratio is not None:
        ratios = np.asarray(sp_ratio, dtype=float).ravel()
        has = np.isfinite(ratios)
        sp = rows[has].assign(kind="SP", p_polarity=0.0, sp_ratio=ratios[has], impulsive=False)
        rows = pd.concat([rows, sp], ignore_index=True)
    events = pd.DataFrame([{"event_id": "1", "time": "", "latitude": np.nan,
                            "longitude": np.nan, "depth": np.nan, "horz_uncert_km": np.nan,
                            "vert_uncert_km": np.nan, "mag": np.nan}])
    return rows, events


def read_mechanisms(path: Path | str) -> Catalog:
    """A mechanism catalog as an ObsPy Catalog: focalflow's ``mechanisms.xml`` (read as it
    is) or ``mechanisms.csv``, SKHASH's ``out.csv``, or a whitespace table
    ``event_id lat lon depth_km strike dip rake`` (one focal mechanism per event).

    >>> import tempfile, pathlib
    >>> import focalflow
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mechanisms.txt"
    >>> _ = path.write_text("ev1 35.70 -117.50 8.0 30 60 90\\n")
    >>> event = focalflow.read_mechanisms(path)[0]
    >>> plane = event.preferred_focal_mechanism().nodal_planes.nodal_plane_1
    >>> plane.strike, plane.dip, plane.rake, event.preferred_origin().depth
    (30.0, 60.0, 90.0, 8000.0)
    """
    path = Path(path)
    if path.is_file() and path.read_bytes()[:4096].lstrip().startswith(b"<"):
        from obspy import read_events

        return read_events(str(path), format="QUAKEML")
    from focalflow.formats.quakeml_mechanisms import mechanisms_catalog
    from focalflow.mechanisms.catalog import read_mechanism_catalog

    return mechanisms_catalog(read_mechanism_catalog(path))


def read_phases(path: Path | str, format: str = "auto") -> Catalog:  # noqa: A002
    """Events and analyst picks (a Hypoinverse-2000 archive as served by SCEDC, QuakeML, or
    focalflow's CSV) as an ObsPy Catalog; lines that cannot be read are skipped and logged.

    >>> import tempfile, pathlib
    >>> import focalflow
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> _ = path.write_text("event_id,time,latitude,longitude,depth,mag\\n"
    ...                     "ev1,2019-07-04T17:33:49Z,35.705,-117.504,10.5,6.4\\n")
    >>> event = focalflow.read_phases(path)[0]
    >>> str(event.preferred_origin().time), event.preferred_magnitude().mag
    ('2019-07-04T17:33:49.000000Z', 6.4)
    """
    from focalflow.catalog import FORMATS, guess_format
    from focalflow.formats.csv_tables import read_csv_catalog
    from focalflow.formats.hypoinverse import read_hypoinverse
    from focalflow.formats.quakeml import catalog_from_tables, read_quakeml

    kind = guess_format(path) if format == "auto" else format
    readers = {"hypoinverse": read_hypoinverse, "quakeml": read_quakeml,
               "csv": read_csv_catalog}
    if kind not in readers:
        raise FocalflowError(f"format {kind!r} is not one of auto, {', '.join(FORMATS)}")
    events, picks, problems = readers[kind](path)
    for problem in problems:
        log.warning("%s", problem)
    return catalog_from_tables(events, picks)
