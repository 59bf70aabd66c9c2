"""Settings for users' own data: reversing a whole deployment in one line, and the warning when
an assumed depth uncertainty is large for shallow events recorded close by."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from focalflow.errors import InputError
from focalflow.formats.reversals import all_stations_reversed, read_reversals, reversed_mask
from focalflow.mechanisms.observations import make_observations
from focalflow.mechanisms.solve import solve_event, velocity_tables
from hash_core.params import HashParams


def test_one_line_reverses_every_station_or_one_network(tmp_path):
    times = ["2016-11-04T06:48:25Z"] * 3
    mask = reversed_mask(all_stations_reversed(), ["5B", "5B", "XX"], ["1107", "1108", "A1"], times)
    assert mask.tolist() == [True, True, True]
    path = tmp_path / "reversals.csv"
    path.write_text("network,station,start,end\n5B,*,2016-11-01,2016-11-30\n")
    table = read_reversals(path)
    assert reversed_mask(table, ["5B", "XX"], ["1107", "A1"], times[:2]).tolist() == [True, False]
    assert not reversed_mask(table, ["5B"], ["1107"], ["2016-12-01T00:00:00Z"])[0]
    path.write_text("network,station,start,end\n5B,,,\n")
    with pytest.raises(InputError, match="reversals.csv, line 2: blank station"):
        read_reversals(path)


def shallow_event(vert_uncert_km=float("nan")):
    """A 3 km deep event recorded 1-8 km away on a ring of 16 stations (polarities of a
    vertical strike-slip fault)."""
    azimuths = np.arange(0.0, 360.0, 22.5)
    distances = np.tile([1.0, 3.0, 5.0, 8.0], 4)
    polarity = np.sign(np.sin(2 * np.radians(azimuths)) + 1e-9)
    obs = make_observations(pd.DataFrame({
        "event_id": "ev1", "station": [f"S{k:02d}" for k in range(16)], "kind": "P",
        "p_polarity": polarity, "distance_km": distances, "azimuth_deg": azimuths,
        "sp_ratio": np.nan}))
    event = {"event_id": "ev1", "time": "2020-01-01T00:00:00Z", "latitude": 54.3,
             "longitude": -117.2, "depth": 3.0, "horz_uncert_km": np.nan,
             "vert_uncert_km": vert_uncert_km, "mag": 0.0}
    return event, obs


@pytest.mark.parametrize("assumed_km, catalog_km, warned", [
    (1.0, float("nan"), True),     # the default 1 km is 20% of the 5 km median distance
    (0.2, float("nan"), False),
    (1.0, 0.3, False),             # the catalog's own uncertainty is used, nothing assumed
])
def test_large_assumed_depth_uncertainty_is_a_warning(repo_dir, caplog, assumed_km, catalog_km,
                                                     warned):
    event, obs = shallow_event(catalog_km)
    tables = velocity_tables([repo_dir / "velocity" / "demo.txt"])
    with caplog.at_level(logging.WARNING, logger="focalflow.mechanisms.solve"):
        result = solve_event(event, obs, HashParams(depth_uncert_km=assumed_km, nmc=5), tables)
    assert len(result["mechanisms"]) >= 1
    assert ("assumed depth uncertainty" in caplog.text) == warned
    if warned:
        assert ("event ev1: the assumed depth uncertainty (1 km, hash.depth_uncert_km; the "
                "catalog gives none) is 20% of the median hypocentral distance (5.0 km)") \
            in caplog.text
