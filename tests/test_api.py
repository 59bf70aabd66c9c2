"""The documented Python API: its docstring examples run as tests, and it is reached lazily
from ``import focalflow``."""
from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import focalflow
from focalflow.errors import FocalflowError

DOCUMENTED = ["focalflow.api", "focalflow.commands", "focalflow.products.plots.beachball",
              "focalflow.errors"]


@pytest.mark.parametrize("module", DOCUMENTED)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result


def test_api_names_resolve_on_first_use():
    assert {"solve", "read_mechanisms", "read_phases", "load_config"} <= set(dir(focalflow))
    assert focalflow.solve.__module__ == "focalflow.api"
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        focalflow.nothing  # noqa: B018


def test_solve_from_tables_with_velocity_models(repo_dir):
    """Stations and a 1-D model instead of given angles: take-off angles come from ray tracing."""
    import pandas as pd

    from hash_core.geometry import kagan_angle

    rng = np.random.default_rng(3)
    lat, lon = 36.0 + rng.uniform(-0.4, 0.4, 30), -117.5 + rng.uniform(-0.5, 0.5, 30)
    events = pd.DataFrame([{"event_id": "e1", "time": "2024-01-01T00:00:00Z", "latitude": 36.0,
                            "longitude": -117.5, "depth": 8.0, "horz_uncert_km": 0.5,
                            "vert_uncert_km": 0.5, "mag": 2.0}])
    result = focalflow.solve(observations=_radiated(lat, lon, 36.0, -117.5, 8.0,
                                                    (120.0, 50.0, -80.0), repo_dir),
                             events=events, velocity_models=[repo_dir / "velocity/demo.txt"],
                             nmc=10)
    best = result.preferred.iloc[0]
    assert len(result.preferred) == 1 and best["event_id"] == "e1"
    assert float(kagan_angle([120.0, 50.0, -80.0], best[["strike", "dip", "rake"]].to_numpy(float))) < 25
    assert len(result.polinfo) == 30 and len(result.acceptable) > 0


def _radiated(lat, lon, event_lat, event_lon, depth_km, sdr, repo_dir):
    """Polarity rows of stations at ``lat, lon`` for a mechanism, with take-off angles from the
    same velocity model the solver uses."""
    import pandas as pd

    from focalflow.mechanisms.solve import velocity_tables
    from hash_core.geometry import flat_distance_azimuth, ray_vectors, sdr_to_vectors
    from hash_core.raytrace import lookup_takeoff

    distance, azimuth = flat_distance_azimuth(event_lat, event_lon, lat, lon)
    takeoff, _ = lookup_takeoff(velocity_tables([repo_dir / "velocity/demo.txt"])[0], distance,
                                depth_km)
    normal, slip = sdr_to_vectors(*sdr)
    rays = ray_vectors(takeoff, azimuth)
    return pd.DataFrame({"event_id": "e1", "station": [f"S{k:02d}" for k in range(len(lat))],
                         "p_polarity": np.sign((rays @ normal) * (rays @ slip)),
                         "station_lat": lat, "station_lon": lon, "station_elev_m": 0.0})


def test_solve_refuses_unknown_parameters_and_ragged_arrays():
    with pytest.raises(FocalflowError, match="unknown HASH parameter.*dang\\b"):
        focalflow.solve([1, -1], [100, 120], [0, 90], dang=5)
    with pytest.raises(FocalflowError, match="differ in length"):
        focalflow.solve([1, -1, 1], [100, 120], [0, 90])
