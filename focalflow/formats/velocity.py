"""1-D P-wave velocity models: depth (km, positive down) and Vp (km/s) at that depth.

Five text forms are read, all as depth then Vp on each line (HASH interpolates linearly between
the listed depths; a depth listed twice is a discontinuity):

- focalflow's ``velocity/*.txt``: ``depth_km vp_km_s`` separated by blanks, ``#`` comments;
- HASH's ``vz.*`` files (and the DiTing-FOCALFLOW ``ca.forhash``): the same without comments;
- SKHASH's CSV velocity files: ``depth,vp`` with or without a header line;
- three-column ``depth vp vs`` files (any further columns, e.g. density, are ignored too);
- TauP's ``.nd`` (named discontinuities) files: a line holding one word (``mantle``,
  ``outer-core``, ``inner-core``, their synonyms ``moho``, ``cmb``, ``icocb``, or any label
  starting with a letter) only names the discontinuity below it and is skipped, as are ``//``
  comments; TauP's own labels are skipped in files of any name;
- TauP's ``.tvel`` files, whose two header lines are skipped.

Only the P column is used.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from focalflow.errors import InputError
from focalflow.formats.common import read_text_lines
from focalflow.workdir import write_text_atomic


MAX_VP_KM_S = 15.0  # P waves are slower everywhere in the Earth (about 13.7 km/s at most)
# TauP's names of the discontinuity below a ``.nd`` line (and their synonyms)
TAUP_DISCONTINUITIES = {"crust", "mantle", "moho", "outer-core", "cmb", "inner-core", "icocb",
                        "ice", "ice-ocean", "ice-crust", "ocean", "seabed"}
TVEL_HEADER_LINES = 2


def read_velocity_model(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(depth_km, vp_km_s)`` float arrays of a model file.

    Raises InputError naming the file and line for text that is not a pair of numbers, depths
    that decrease, velocities that are not positive, or fewer than two depths.
    """
    path = Path(path)
    depths, velocities = [], []
    lines = read_text_lines(path)
    first = TVEL_HEADER_LINES if path.suffix.lower() == ".tvel" else 0
    named_discontinuities = path.suffix.lower() == ".nd"
    for number, raw in enumerate(lines[first:], start=first + 1):
        line = raw.split("#", 1)[0].split("//", 1)[0].strip()
        if not line or line.lower() in TAUP_DISCONTINUITIES or (
                named_discontinuities and len(line.split()) == 1 and line[0].isalpha()):
            continue
        fields = line.replace(",", " ").split()
        try:
            depth, vp = float(fields[0]), float(fields[1])
        except (ValueError, IndexError):
            if not depths and not any(c.isdigit() for c in line):
                continue      # a CSV header such as "depth,vp"
            raise InputError(path, f"expected 'depth_km vp_km_s', got {raw.strip()!r}", line=number) from None
        if not np.isfinite(depth) or not np.isfinite(vp) or vp <= 0:
            raise InputError(path, f"velocity {vp} at depth {depth} is not a positive number", line=number)
        if vp > MAX_VP_KM_S:
            raise InputError(path, f"velocity {vp:g} at depth {depth:g} is above {MAX_VP_KM_S:g} "
                             "km/s, faster than any rock (a velocity in m/s?)", line=number)
        if depths and depth < depths[-1]:
            raise InputError(path, f"depth {depth} km is above the previous depth {depths[-1]} km "
                             "(depths must increase down the file)", line=number)
        depths.append(depth)
        velocities.append(vp)
    if len(depths) < 2:
        raise InputError(path, f"a velocity model needs at least two depths, found {len(depths)}")
    return np.array(depths), np.array(velocities)


def write_velocity_model(path: Path | str, depth_km, vp_km_s, header: str = "") -> Path:
    """Write a model as ``depth_km vp_km_s`` lines after ``header`` (made into # comments)."""
    comments = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    body = "".join(f"{d:7.2f} {v:7.3f}\n" for d, v in zip(depth_km, vp_km_s))
    write_text_atomic(path, comments + "# depth_km vp_km_s\n" + body)
    return Path(path)
