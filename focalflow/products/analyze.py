"""Redraw the catalog figures of an existing mechanism catalog, without recomputing anything.

    python -m focalflow.products.analyze CATALOG [--out DIR] [--stations FILE]
        [--region LAT_MIN,LAT_MAX,LON_MIN,LON_MAX] [--start TIME] [--end TIME]
        [--class CLASS[,CLASS]] [--quality LETTERS] [--average] [--dpi N]

CATALOG is focalflow's ``mechanisms.csv`` or ``mechanisms.xml``, SKHASH's ``out.csv``, or a
whitespace table ``event_id lat lon depth strike dip rake`` (e.g. ToC2ME's
``mt_solution_*.txt``). The selection options keep mechanisms inside a latitude/longitude box,
a time range and given Frohlich classes (normal, reverse, strike-slip, oblique) or quality
letters. Writes into DIR (default ``analysis``): the catalog figures, ``catalog.csv`` (the
selection with the second plane, P/T/B axes and ``faulting_class``), ``quality_summary.csv``
and, with ``--average``, ``average_mechanism.csv`` and ``average_mechanism.png``: the average
of the selected mechanisms by HASH's averaging (MECH_AVG), with the rotation angle of each
mechanism to it. Stations for the map: ``--stations`` with a stations.csv or a whitespace list
``station network longitude latitude``.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from focalflow.mechanisms.classify import FAULTING_CLASSES, classify_mechanisms
from focalflow.errors import FocalflowError, InputError
from focalflow.log import setup_logging
from focalflow.mechanisms.catalog import read_mechanism_catalog, select
from focalflow.workdir import atomic_path

log = logging.getLogger("focalflow.products.analyze")


def read_station_list(path: Path | str) -> pd.DataFrame:
    """Stations (network, station, latitude, longitude) from a stations.csv or a whitespace
    list ``station network longitude latitude``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    if not lines:
        raise InputError(path, "file is empty")
    if "," in lines[0]:
        frame = pd.read_csv(path, dtype={"network": str, "station": str})
        missing = [c for c in ("station", "latitude", "longitude") if c not in frame.columns]
        if missing:
            raise InputError(path, f"missing column(s) {', '.join(missing)}")
        if "network" not in frame.columns:
            frame["network"] = ""
        return frame.drop_duplicates(["network", "station"])[["network", "station", "latitude",
                                                              "longitude"]]
    rows = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        try:
            rows.append({"station": fields[0], "network": fields[1],
                         "longitude": float(fields[2]), "latitude": float(fields[3])})
        except (IndexError, ValueError):
            raise InputError(path, f"expected 'station network longitude latitude', got "
                             f"{line.strip()!r}", line=number) from None
    return pd.DataFrame(rows)


def average_mechanism(catalog: pd.DataFrame) -> dict:
    """HASH's average (MECH_AVG) of the catalog's mechanisms and the spread around it.

    Returns strike/dip/rake of both planes (degrees), the class, the number of mechanisms, and
    the median and RMS rotation angle (degrees) of the mechanisms to the average.
    """
    from hash_core.geometry import (auxiliary_plane, rotation_angle, sdr_to_vectors,
                                    vectors_to_sdr)
    from hash_core.solution import mech_average

    if not len(catalog):
        raise FocalflowError("no mechanism in the selection to average")
    normals, slips = sdr_to_vectors(catalog["strike"].to_numpy(float),
                                    catalog["dip"].to_numpy(float),
                                    catalog["rake"].to_numpy(float))
    normal, slip = mech_average(normals, slips)
    strike, dip, rake = (float(v) for v in vectors_to_sdr(normal, slip))
    strike2, dip2, rake2 = (float(v) for v in auxiliary_plane(strike, dip, rake))
    rotations = np.asarray(rotation_angle(normal, slip, normals, slips), dtype=float)
    return {"mechanisms": len(catalog), "strike": round(strike, 1), "dip": round(dip, 1),
            "rake": round(rake, 1), "strike2": round(strike2, 1), "dip2": round(dip2, 1),
            "rake2": round(rake2, 1),
            "faulting_class": str(classify_mechanisms(strike, dip, rake)[0]),
            "median_rotation_deg": round(float(np.median(rotations)), 1),
            "rms_rotation_deg": round(float(np.sqrt(np.mean(rotations ** 2))), 1)}


def plot_average(catalog: pd.DataFrame, average: dict):
    """The average mechanism's beachball with the selected mechanisms' nodal lines as a cloud."""
    import matplotlib.pyplot as plt

    from focalflow.mechanisms.classify import CLASS_COLORS
    from focalflow.products.plots.beachball import draw_focal_sphere
    from focalflow.products.plots.style import style

    sample = catalog
    if len(sample) > 400:  # the cloud saturates long before; keep the figure light
        sample = catalog.sample(400, random_state=0)
    with style():
        fig, ax = plt.subplots(figsize=(6.0, 6.4))
        draw_focal_sphere(ax, average["strike"], average["dip"], average["rake"],
                          color=CLASS_COLORS.get(average["faulting_class"], "0.6"),
                          acceptable=sample[["strike", "dip", "rake"]].to_numpy(float))
        ax.set_title(f"Average of {average['mechanisms']} mechanisms: "
                     f"{average['strike']:.0f}/{average['dip']:.0f}/{average['rake']:.0f} "
                     f"({average['faulting_class']})\nrotation to the average: median "
                     f"{average['median_rotation_deg']:.0f}°, RMS {average['rms_rotation_deg']:.0f}°",
                     fontsize=10)
        return fig


def analyze(catalog_path: Path | str, out_dir: Path | str, stations_path=None, region=None,
            start=None, end=None, classes=None, qualities=None, average: bool = False,
            dpi: int = 150) -> dict:
    """Run the analysis (see the module docstring); returns counts and timings."""
    from focalflow.products.plots.catalog import draw_catalog_figures
    from focalflow.products.plots.style import save_figure

    started = time.perf_counter()
    out_dir = Path(out_dir)
    catalog = read_mechanism_catalog(catalog_path)
    selected = select(catalog, region=region, start=start, end=end, classes=classes,
                      qualities=qualities)
    stations = read_station_list(stations_path) if stations_path else None
    log.info("%d of %d mechanisms selected from %s", len(selected), len(catalog), catalog_path)
    read_s = time.perf_counter() - started
    draw_catalog_figures(selected, out_dir, stations, dpi=dpi)
    with atomic_path(out_dir / "catalog.csv") as tmp:
        selected.to_csv(tmp, index=False)
    result = {"mechanisms": len(catalog), "selected": len(selected),
              "classes": {c: int((selected["faulting_class"] == c).sum())
                          for c in FAULTING_CLASSES}}
    if average:
        mean = average_mechanism(selected)
        with atomic_path(out_dir / "average_mechanism.csv") as tmp:
            pd.DataFrame([mean]).to_csv(tmp, index=False)
        save_figure(plot_average(selected, mean), out_dir / "average_mechanism.png", dpi)
        result["average"] = mean
    result["read_s"] = round(read_s, 2)
    result["total_s"] = round(time.perf_counter() - started, 2)
    return result


def _floats(text: str, count: int, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise FocalflowError(f"--{name} needs {count} comma-separated numbers, got {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalflow.products.analyze",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("catalog", type=Path, help="mechanism catalog (see module docstring)")
    parser.add_argument("--out", type=Path, default=Path("analysis"),
                        help="output folder (default: analysis)")
    parser.add_argument("--stations", type=Path, help="stations for the map")
    parser.add_argument("--region", help="LAT_MIN,LAT_MAX,LON_MIN,LON_MAX (degrees)")
    parser.add_argument("--start", help="first origin time (ISO 8601 UTC)")
    parser.add_argument("--end", help="last origin time (ISO 8601 UTC)")
    parser.add_argument("--class", dest="classes",
                        help=f"faulting classes, comma-separated: {', '.join(FAULTING_CLASSES)}")
    parser.add_argument("--quality", help="quality letters to keep, e.g. AB")
    parser.add_argument("--average", action="store_true",
                        help="average mechanism of the selection (HASH's MECH_AVG)")
    parser.add_argument("--dpi", type=int, default=150, help="PNG resolution (default 150)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging("analyze", verbose=args.verbose)
    try:
        region = _floats(args.region, 4, "region") if args.region else None
        classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
        unknown = [c for c in classes or [] if c not in FAULTING_CLASSES]
        if unknown:
            raise FocalflowError(f"unknown class(es) {', '.join(unknown)}; use "
                                 f"{', '.join(FAULTING_CLASSES)}")
        result = analyze(args.catalog, args.out, args.stations, region, args.start, args.end,
                         classes, args.quality, args.average, args.dpi)
    except (FocalflowError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    log.info("faulting classes: %s", ", ".join(f"{k} {v}" for k, v in result["classes"].items()))
    if "average" in result:
        mean = result["average"]
        log.info("average mechanism of %d: strike %.1f dip %.1f rake %.1f (%s); rotation to it "
                 "median %.1f°, RMS %.1f°", mean["mechanisms"], mean["strike"], mean["dip"],
                 mean["rake"], mean["faulting_class"], mean["median_rotation_deg"],
                 mean["rms_rotation_deg"])
    log.info("%d mechanisms drawn into %s in %.1f s", result["selected"], args.out,
             result["total_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
