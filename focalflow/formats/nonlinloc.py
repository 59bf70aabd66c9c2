"""NonLinLoc station lists: ``LOCSRCE STA LATLON lat lon depth_km elev`` (also ``GTSRCE``).

NonLinLoc gives the elevation in km; some lists (e.g. DiTing-FOCALFLOW's ``stations.nll``)
write metres. With ``elevation_unit="auto"`` a file whose elevations all lie within +-9 is read
as km, otherwise as m. Stations have no network or channel in this format (blank in the table,
matching any network).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.common import ReadProblem, check_codes, read_text_lines
from focalflow.tables import COLUMNS

KEYWORDS = ("LOCSRCE", "GTSRCE")


def read_nonlinloc_stations(path: Path | str, elevation_unit: Literal["auto", "m", "km"] = "auto"
                            ) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """Stations table rows of a NonLinLoc station list, and the lines that could not be read."""
    path = Path(path)
    rows, elevations, problems = [], [], []
    for number, line in enumerate(read_text_lines(path), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0] not in KEYWORDS:
            continue
        try:
            if len(fields) < 7 or fields[2] != "LATLON":
                raise ValueError("expected 'LOCSRCE STA LATLON lat lon depth_km elev'")
            check_codes(station=fields[1])
            latitude, longitude, elevation = float(fields[3]), float(fields[4]), float(fields[6])
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise ValueError(f"coordinates {latitude}, {longitude} out of range")
        except ValueError as exc:
            problems.append(ReadProblem(str(path), number, f"bad station line: {exc}"))
            continue
        rows.append({"network": "", "station": fields[1], "location": "", "channel": "",
                     "latitude": latitude, "longitude": longitude, "has_metadata": True})
        elevations.append(elevation)
    if not rows:
        raise InputError(path, f"no {' or '.join(KEYWORDS)} station line found")
    in_km = elevation_unit == "km" or (elevation_unit == "auto" and max(map(abs, elevations)) <= 9)
    for row, elevation in zip(rows, elevations):
        row["elevation"] = elevation * 1000.0 if in_km else elevation
    return pd.DataFrame(rows, columns=COLUMNS["stations"]), problems
