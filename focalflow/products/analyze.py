"""Redraw the catalog figures of an existing mechanism catalog, without recomputing anything,
and analyse an induced sequence.

    python -m focalflow.products.analyze CATALOG [--out DIR] [--stations FILE]
        [--region LAT_MIN,LAT_MAX,LON_MIN,LON_MAX] [--start TIME] [--end TIME]
        [--class CLASS[,CLASS]] [--quality LETTERS] [--average] [--dpi N]
        [--sequence [ANALYSES]] [--wells FILE] [--injection FILE] [--events FILE]
        [--groups N] [--strike-from DEG] [--front-quantile Q] [--front-dimension 2|3]
        [--front-min-events N] [--mag-bin DM] [--mc-method maxc|gft] [--frames N]

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

``--sequence`` (all analyses, or a comma-separated choice of ``strike-time, groups, front,
activation, bvalue``) adds the analyses of an injection-induced sequence of
:mod:`focalflow.products.sequence`, each a figure and a table in DIR:

* ``groups``: ``strike_groups.png`` (map coloured by strike/rake group, each group's average
  mechanism), ``strike_groups.csv`` (the group of each event) and ``strike_group_summary.csv``;
* ``strike-time``: ``strike_time.png`` (nodal plane 1's strike folded into one half-circle
  against time, coloured by group; with ``--wells`` each well's stage times, with
  ``--injection`` the injection rate) and ``strike_time.csv``;
* ``front``: needs ``--wells`` (``well, stage, start, end, lat, lon, depth_km``; see
  :mod:`focalflow.formats.injection`): ``triggering_front.png`` and ``triggering_front.csv``
  (D with its 95 % interval for each stage with enough events);
* ``activation``: ``activation/frame_NN.png`` (``--frames`` equal time slices) and
  ``activation.gif``, ``activation.csv``;
* ``bvalue``: needs magnitudes (the catalog's, or ``--events``: a CSV with ``mag`` or
  ``magnitude`` and ``event_id``, e.g. the working directory's events.csv, which is then the
  whole catalog): ``magnitudes.png`` and ``bvalue.csv`` for the whole catalog and the mechanism
  subset.

``sequence_note.md`` lists what was made and what was skipped for want of an input.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from focalflow.mechanisms.classify import FAULTING_CLASSES, classify_mechanisms
from focalflow.errors import FocalflowError, InputError
from focalflow.log import setup_logging
from focalflow.mechanisms.catalog import read_mechanism_catalog, select
from focalflow.workdir import atomic_path, write_text_atomic as write_text

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
            dpi: int = 150, sequence: SequenceOptions | None = None, wells=None, injection=None,
            events=None) -> dict:
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
    if sequence is not None:
        result["sequence"] = analyze_sequence(selected, out_dir, sequence, stations, wells,
                                              injection, events, dpi)
    result["read_s"] = round(read_s, 2)
    result["total_s"] = round(time.perf_counter() - started, 2)
    return result


SEQUENCE_ANALYSES = ("groups", "strike-time", "front", "activation", "bvalue")


@dataclass
class SequenceOptions:
    """Settings of the sequence analyses (see the module docstring and
    :mod:`focalflow.products.sequence`)."""

    analyses: tuple[str, ...] = SEQUENCE_ANALYSES
    groups: int | None = None
    strike_from_deg: float | None = None
    front_quantile: float = 0.9
    front_dimension: int = 3
    front_min_events: int = 20
    mag_bin: float = 0.1
    mc_method: str = "maxc"
    frames: int = 12


def read_event_magnitudes(path: Path | str) -> pd.DataFrame:
    """``event_id`` and ``mag`` of a CSV catalog with a ``mag`` or ``magnitude`` column (rows
    without a magnitude dropped)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        frame = pd.read_csv(path, dtype={"event_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV catalog: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    column = next((c for c in ("mag", "magnitude") if c in frame.columns), None)
    if column is None:
        raise InputError(path, "a magnitude catalog needs a 'mag' or 'magnitude' column")
    mags = pd.to_numeric(frame[column], errors="coerce")
    ids = frame["event_id"].astype(str).str.strip() if "event_id" in frame.columns else ""
    return pd.DataFrame({"event_id": ids, "mag": mags}).dropna(subset=["mag"])


def analyze_sequence(catalog: pd.DataFrame, out_dir: Path, options: SequenceOptions,
                     stations: pd.DataFrame | None = None, wells_path=None, injection_path=None,
                     events_path=None, dpi: int = 150) -> dict:
    """The sequence analyses of ``options.analyses`` on ``catalog`` (a selection of
    :func:`read_mechanism_catalog`): figures, tables and ``sequence_note.md`` in ``out_dir``
    (module docstring); returns what was found (group counts, D per stage, b-values) and the
    notes."""
    from focalflow.formats.injection import read_injection, read_wells
    from focalflow.products import sequence
    from focalflow.products.plots import sequence as plots
    from focalflow.products.plots.style import save_figure

    wells = read_wells(wells_path) if wells_path else None
    injection = read_injection(injection_path) if injection_path else None
    done, skipped, result = [], [], {}
    catalog = catalog.copy()
    if events_path:
        extra = read_event_magnitudes(events_path)
        known = dict(zip(extra["event_id"], extra["mag"]))
        catalog["mag"] = catalog["mag"].fillna(catalog["event_id"].map(known))

    def write(table: pd.DataFrame, name: str) -> None:
        with atomic_path(out_dir / name) as tmp:
            table.to_csv(tmp, index=False)

    labels, summary = sequence.strike_rake_groups(catalog, options.groups)
    catalog["group"] = labels
    start = options.strike_from_deg if options.strike_from_deg is not None \
        else sequence.half_circle_start(catalog["strike"])
    catalog["strike_folded"] = np.round(sequence.fold_strikes(catalog["strike"], start), 1)
    timed = catalog[catalog["time"] != ""].reset_index(drop=True)
    result["groups"] = summary.to_dict("records")
    if "groups" in options.analyses:
        write(catalog[["event_id", "time", "origin_lat", "origin_lon", "origin_depth_km",
                       "strike", "dip", "rake", "strike_folded", "group"]], "strike_groups.csv")
        write(summary, "strike_group_summary.csv")
        save_figure(plots.plot_group_map(catalog, summary, wells, stations),
                    out_dir / "strike_groups.png", dpi)
        done.append(f"strike/rake groups: {len(summary)} groups by k-means on nodal plane 1 "
                    f"(sizes {', '.join(str(n) for n in summary['events'])}) — "
                    "strike_groups.png, strike_groups.csv, strike_group_summary.csv")
    if "strike-time" in options.analyses:
        if len(timed):
            write(timed[["event_id", "time", "strike", "strike_folded", "rake", "group", "mag"]],
                  "strike_time.csv")
            save_figure(plots.plot_strike_time(timed, start, wells, injection),
                        out_dir / "strike_time.png", dpi)
            extras = [w for w, given in (("stage times", wells is not None),
                                         ("injection rate", injection is not None)) if given]
            done.append(f"strike against time (strikes folded into {start:.0f}-{start + 180:.0f}°)"
                        + (f" with {' and '.join(extras)}" if extras else "")
                        + " — strike_time.png, strike_time.csv")
            if wells is None or injection is None:
                skipped.append("strike against time: give --wells (stage start/end times) and "
                               "--injection (time, rate) to draw the stimulation beside it")
        else:
            skipped.append("strike against time: no event has an origin time")
    if "front" in options.analyses:
        if wells is None:
            skipped.append("triggering front: needs --wells, a table well, stage, start, end, "
                           "lat, lon, depth_km giving each stage's injection point and start time")
        else:
            stages, points = sequence.front_by_stage(
                timed, wells, options.front_min_events, quantile=options.front_quantile,
                dimension=options.front_dimension)
            write(stages, "triggering_front.csv")
            save_figure(plots.plot_fronts(points, stages), out_dir / "triggering_front.png", dpi)
            result["front"] = stages.to_dict("records")
            done.append(f"triggering front: D fitted for {len(points)} of {len(stages)} stages "
                        f"(quantile {options.front_quantile}, {options.front_dimension}-D) — "
                        "triggering_front.png, triggering_front.csv")
    if "activation" in options.analyses:
        if len(timed):
            frames = sequence.activation_frames(timed["time"], options.frames)
            write(frames, "activation.csv")
            paths = write_activation(timed, frames, wells, out_dir, dpi)
            done.append(f"activation: {len(paths)} frames — activation/frame_NN.png, "
                        "activation.gif, activation.csv")
        else:
            skipped.append("activation: no event has an origin time")
    if "bvalue" in options.analyses:
        samples = {}
        if events_path:
            whole = read_event_magnitudes(events_path)["mag"].to_numpy(float)
            samples[f"whole catalog ({Path(events_path).name})"] = whole
        subset = catalog["mag"].to_numpy(float)
        samples["mechanism subset"] = subset[np.isfinite(subset)]
        fits, rows = {}, []
        for name, mags in samples.items():
            if len(mags) < 10:
                skipped.append(f"b-value of the {name}: {len(mags)} magnitudes (at least 10 "
                               "needed)" + ("" if events_path else "; the catalog has no "
                                            "magnitudes: give --events with a mag column"))
                continue
            fit = sequence.gutenberg_richter(mags, options.mag_bin, options.mc_method)
            fits[name] = (mags, fit)
            rows.append({"sample": name, **fit})
        if fits:
            write(pd.DataFrame(rows), "bvalue.csv")
            save_figure(plots.plot_magnitude_distribution(fits), out_dir / "magnitudes.png", dpi)
            result["bvalue"] = rows
            done.append("b-value: " + "; ".join(
                f"{r['sample']}: b = {r['b']:.2f} ± {r['b_sigma']:.2f}, Mc {r['mc']:.1f}"
                for r in rows) + " — magnitudes.png, bvalue.csv")
    note = ["# Sequence analyses", "", f"{len(catalog)} mechanisms; {len(timed)} with an origin "
            "time.", "", "## Made", ""] + [f"- {line}" for line in done] + \
        ["", "## Not made, or made without an input", ""] + \
        [f"- {line}" for line in skipped or ["nothing: every input was given"]] + [""]
    write_text(out_dir / "sequence_note.md", "\n".join(note))
    result["made"], result["skipped"] = done, skipped
    return result


def write_activation(events: pd.DataFrame, frames: pd.DataFrame, wells: pd.DataFrame | None,
                     out_dir: Path, dpi: int) -> list[Path]:
    """``activation/frame_NN.png`` for each frame and ``activation.gif`` (1 s per frame)."""
    from PIL import Image

    from focalflow.products.plots.sequence import plot_activation_frame
    from focalflow.products.plots.style import save_figure

    lats = list(events["origin_lat"]) + (list(wells["lat"]) if wells is not None else [])
    lons = list(events["origin_lon"]) + (list(wells["lon"]) if wells is not None else [])
    pad_lat = 0.05 * max(np.nanmax(lats) - np.nanmin(lats), 0.005)
    pad_lon = 0.05 * max(np.nanmax(lons) - np.nanmin(lons), 0.005)
    extent = (np.nanmin(lons) - pad_lon, np.nanmax(lons) + pad_lon,
              np.nanmin(lats) - pad_lat, np.nanmax(lats) + pad_lat)
    paths = []
    for _, frame in frames.iterrows():
        path = out_dir / "activation" / f"frame_{int(frame['frame']):02d}.png"
        save_figure(plot_activation_frame(events, frame, wells, extent, len(frames)), path,
                    min(dpi, 100))
        paths.append(path)
    images = [Image.open(p).convert("RGB") for p in paths]
    size = images[0].size
    images = [im.resize(size) for im in images]
    with atomic_path(out_dir / "activation.gif") as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=1000,
                       loop=0)
    return paths


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
    group = parser.add_argument_group("sequence analyses (see the module docstring)")
    group.add_argument("--sequence", nargs="?", const="all", metavar="ANALYSES",
                       help=f"all, or some of {','.join(SEQUENCE_ANALYSES)}")
    group.add_argument("--wells", type=Path, help="stages: well,stage,start,end,lat,lon,depth_km")
    group.add_argument("--injection", type=Path, help="injection rate: time,rate...")
    group.add_argument("--events", type=Path,
                       help="whole catalog with magnitudes (CSV: event_id, mag)")
    group.add_argument("--groups", type=int, help="number of strike/rake groups (default: "
                       "chosen by silhouette, 2-6)")
    group.add_argument("--strike-from", type=float, help="start of the strike half-circle "
                       "(degrees; default centred on the mean strike)")
    group.add_argument("--front-quantile", type=float, default=0.9)
    group.add_argument("--front-dimension", type=int, default=3, choices=(2, 3))
    group.add_argument("--front-min-events", type=int, default=20)
    group.add_argument("--mag-bin", type=float, default=0.1)
    group.add_argument("--mc-method", choices=("maxc", "gft"), default="maxc")
    group.add_argument("--frames", type=int, default=12, help="activation frames")
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
        sequence = sequence_options(args) if args.sequence else None
        if sequence is None and (args.wells or args.injection or args.events):
            raise FocalflowError("--wells, --injection and --events go with --sequence")
        result = analyze(args.catalog, args.out, args.stations, region, args.start, args.end,
                         classes, args.quality, args.average, args.dpi, sequence, args.wells,
                         args.injection, args.events)
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
    for line in result.get("sequence", {}).get("made", []):
        log.info("%s", line)
    for line in result.get("sequence", {}).get("skipped", []):
        log.info("skipped: %s", line)
    log.info("%d mechanisms drawn into %s in %.1f s", result["selected"], args.out,
             result["total_s"])
    return 0


def sequence_options(args) -> SequenceOptions:
    """The :class:`SequenceOptions` of the command line's arguments."""
    chosen = SEQUENCE_ANALYSES if args.sequence == "all" else \
        tuple(a.strip() for a in args.sequence.split(",") if a.strip())
    unknown = [a for a in chosen if a not in SEQUENCE_ANALYSES]
    if unknown or not chosen:
        raise FocalflowError(f"--sequence: unknown analysis {', '.join(unknown) or '(none)'}; "
                             f"use all or some of {', '.join(SEQUENCE_ANALYSES)}")
    if args.frames < 1 or args.mag_bin <= 0 or not 0 < args.front_quantile <= 1:
        raise FocalflowError("--frames must be >= 1, --mag-bin > 0 and --front-quantile in (0, 1]")
    return SequenceOptions(chosen, args.groups, args.strike_from, args.front_quantile,
                           args.front_dimension, args.front_min_events, args.mag_bin,
                           args.mc_method, args.frames)


if __name__ == "__main__":
    sys.exit(main())
