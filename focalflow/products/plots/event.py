"""Per-event figures: the beachball with the station polarities, and the P waveforms around it.

Observations are a frame with one row per station, columns ``label`` (station code),
``takeoff`` (degrees from vertical UP, HASH convention), ``azimuth`` (degrees), ``polarity``
(+1 up / -1 down / 0, the polarity HASH used: true ground motion), ``weight`` (0–1),
``misfit`` (bool: disagrees with the mechanism), and optionally ``distance_km`` (epicentral
distance), ``sp_ratio`` (log10 S/P, NaN where none) and ``prob_up``/``prob_down`` (CNN
probabilities, NaN where none).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from obspy import Trace, UTCDateTime  # noqa: E402

from focalflow.products.plots.beachball import draw_focal_sphere, project_takeoff  # noqa: E402
from focalflow.products.plots.style import style  # noqa: E402

UP_COLOR, DOWN_COLOR, NONE_COLOR = "#c0392b", "#2166ac", "0.55"
FILL_COLOR = "#bdbdbd"


@dataclass
class PWindow:
    """The vertical P window of one station, for :func:`plot_event_waveforms`."""

    label: str
    trace: Trace
    pick_time: UTCDateTime
    reversed: bool = False  # recorded polarity flipped by the station reversal table


def _number(mechanism: dict, key: str, fmt: str) -> str | None:
    value = pd.to_numeric(pd.Series([mechanism.get(key)]), errors="coerce").iloc[0]
    return None if pd.isna(value) else format(float(value), fmt)


def has_multiple_solutions(mechanism: dict) -> bool:
    """True if HASH flagged more than one acceptable solution (``mult_solution_flag``)."""
    return str(mechanism.get("mult_solution_flag", "")).strip().lower() in ("true", "1", "1.0")


def mechanism_title(mechanism: dict) -> str:
    """Two title lines: event, time, magnitude; mechanism, quality (and the multiple-solution
    flag), misfit, uncertainty."""
    first = [f"Event {mechanism['event_id']}"]
    if str(mechanism.get("time") or "").strip():
        first.append(str(mechanism["time"]).replace("T", " ")[:19])
    if _number(mechanism, "mag", ".1f") is not None:
        first.append(f"M {_number(mechanism, 'mag', '.1f')}")
    second = [f"strike/dip/rake {float(mechanism['strike']):.0f}/{float(mechanism['dip']):.0f}/"
              f"{float(mechanism['rake']):.0f}"]
    if str(mechanism.get("quality") or "").strip():
        quality = f"quality {mechanism['quality']}"
        second.append(quality + (" (multiple solutions)" if has_multiple_solutions(mechanism)
                                 else ""))
    if _number(mechanism, "polarity_misfit", ".1f") is not None:
        second.append(f"misfit {_number(mechanism, 'polarity_misfit', '.1f')}%")
    if _number(mechanism, "fault_plane_uncertainty", ".0f") is not None:
        second.append(f"uncertainty {_number(mechanism, 'fault_plane_uncertainty', '.0f')}°")
    return "  ·  ".join(first) + "\n" + "  ·  ".join(second)


LABEL_OFFSET_PT = 7.0
LABEL_REACH = 0.085  # roughly how far (unit-circle units) a short label's centre sits from its symbol


def _label_directions(x: np.ndarray, y: np.ndarray,
                      avoid: Sequence[tuple[float, float]]) -> np.ndarray:
    """A unit direction (n, 2) per station for its label: outward from the centre unless that
    lands on the P/T markers or another symbol, then the clearest of three other directions."""
    points = np.column_stack([x, y])
    obstacles = np.vstack([points, np.asarray(avoid, dtype=float).reshape(-1, 2)])
    weight = np.r_[np.ones(len(points)), np.full(len(avoid), 2.5)]  # keep well off P and T
    radius = np.hypot(x, y)
    outward = np.where(radius[:, None] > 0.12, points / np.maximum(radius, 1e-9)[:, None],
                       np.array([0.7071, 0.7071]))
    directions = np.empty_like(points)
    for i, base in enumerate(outward):
        candidates = [base, np.array([-base[1], base[0]]), np.array([base[1], -base[0]]), -base]
        best, best_clearance = base, -np.inf
        for k, direction in enumerate(candidates):
            spot = points[i] + LABEL_REACH * direction
            gaps = np.hypot(*(obstacles - spot).T) / weight
            gaps[i] = np.inf
            clearance = gaps.min() - 0.01 * k  # prefer earlier candidates when about equal
            if clearance > 0.07:
                best = direction
                break
            if clearance > best_clearance:
                best, best_clearance = direction, clearance
        directions[i] = best
    return directions


def draw_observations(ax, observations: pd.DataFrame, labels: bool = False,
                      numbers: list[str] | None = None,
                      avoid: Sequence[tuple[float, float]] = ()) -> None:
    """Station polarities on a beachball axes drawn by draw_focal_sphere: up filled red, down
    open blue, undecided small grey, misfits crossed; ``labels`` (station codes) or ``numbers``
    written beside the symbols, clear of each other and of the ``avoid`` points (P/T markers)."""
    if not len(observations):
        return
    x, y = project_takeoff(observations["takeoff"].to_numpy(float),
                           observations["azimuth"].to_numpy(float))
    polarity = observations["polarity"].to_numpy(float)
    weight = np.clip(np.nan_to_num(observations.get("weight", pd.Series(1.0, index=observations.index))
                                   .to_numpy(float), nan=1.0), 0.2, 1.0)
    size = 30 + 60 * weight
    up, down = polarity > 0, polarity < 0
    ax.scatter(x[up], y[up], s=size[up], marker="o", facecolors=UP_COLOR,
               edgecolors="black", linewidths=0.6, zorder=5)
    ax.scatter(x[down], y[down], s=size[down], marker="o", facecolors="white",
               edgecolors=DOWN_COLOR, linewidths=1.6, zorder=5)
    none = ~(up | down)
    ax.scatter(x[none], y[none], s=18, marker="o", facecolors=NONE_COLOR, edgecolors="none",
               zorder=5)
    misfit = observations.get("misfit", pd.Series(False, index=observations.index)) \
        .fillna(False).to_numpy(bool)
    ax.scatter(x[misfit], y[misfit], s=size[misfit] * 1.9, marker="x", color="black",
               linewidths=1.6, zorder=6)
    texts = numbers if numbers is not None else (
        list(observations["label"].astype(str)) if labels else None)
    if texts is None:
        return
    for xi, yi, (dx, dy), text in zip(x, y, _label_directions(x, y, avoid), texts):
        ax.annotate(text, (xi, yi), xytext=(LABEL_OFFSET_PT * dx, LABEL_OFFSET_PT * dy),
                    textcoords="offset points", fontsize=7.5, zorder=7, color="0.1",
                    ha="left" if dx > 0.38 else "right" if dx < -0.38 else "center",
                    va="bottom" if dy > 0.38 else "top" if dy < -0.38 else "center")


def _legend(ax, observations: pd.DataFrame, acceptable: np.ndarray | None) -> None:
    handles = [Line2D([], [], ls="", marker="o", mfc=UP_COLOR, mec="black", ms=7,
                      label="up (compression)"),
               Line2D([], [], ls="", marker="o", mfc="white", mec=DOWN_COLOR, mew=1.6, ms=7,
                      label="down (dilatation)")]
    if "polarity" in observations and (observations["polarity"] == 0).any():
        handles.append(Line2D([], [], ls="", marker="o", mfc=NONE_COLOR, mec="none", ms=5,
                              label="undecided (not used)"))
    if "misfit" in observations and observations["misfit"].fillna(False).astype(bool).any():
        handles.append(Line2D([], [], ls="", marker="x", color="black", mew=1.6, ms=8,
                              label="misfit"))
    handles.append(Line2D([], [], color="black", lw=1.4, label="nodal planes"))
    if acceptable is not None and len(acceptable):
        handles.append(Line2D([], [], color="0.45", lw=0.8, alpha=0.6,
                              label="acceptable mechanisms"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
              fontsize=8, frameon=False, handletextpad=0.3, columnspacing=1.0)


def plot_event_beachball(mechanism: dict, observations: pd.DataFrame,
                         acceptable: np.ndarray | None = None,
                         station_labels: bool = False) -> plt.Figure:
    """Beachball (lower hemisphere, equal area) with every station's polarity at its take-off
    angle and azimuth, misfits crossed, acceptable mechanisms as a cloud of nodal lines, P and
    T axes; quality, multiple-solution flag and misfit in the title. S/P ratios are listed in
    the waveforms figure, not drawn here."""
    with style():
        fig, ax = plt.subplots(figsize=(6.2, 6.9))
        markers = draw_focal_sphere(ax, float(mechanism["strike"]), float(mechanism["dip"]),
                                    float(mechanism["rake"]), color=FILL_COLOR,
                                    acceptable=acceptable)
        draw_observations(ax, observations, labels=station_labels, avoid=markers)
        _legend(ax, observations, acceptable)
        ax.set_title(mechanism_title(mechanism), fontsize=10)
        return fig


# Text columns beside each trace, in points from the trace axes' left/right edge.
LEFT_COLUMNS = (("#", -134.0, "right"), ("station", -90.0, "right"), ("az.", -50.0, "right"),
                ("dist.", -4.0, "right"))
RIGHT_COLUMNS = (("peak", 6.0, "left"), ("CNN up/down", 50.0, "left"),
                 ("log S/P", 128.0, "left"), ("", 170.0, "left"))


def plot_event_waveforms(mechanism: dict, observations: pd.DataFrame,
                         windows: dict[str, PWindow], acceptable: np.ndarray | None = None,
                         before_s: float = 0.15, after_s: float = 0.35) -> plt.Figure:
    """The beachball beside the vertical P windows ordered by azimuth, aligned on the pick
    (time 0) and coloured by the polarity used; stations numbered alike in both panels.

    Each trace row names the station, its azimuth (°) and epicentral distance (km, where
    ``observations`` has ``distance_km``), and on the right the trace's peak amplitude (the
    window's units, usually counts; each trace is drawn scaled to its own peak), the CNN
    probabilities, log10 S/P where measured, and whether the station is reversed or misfit.
    ``windows`` maps an observation ``label`` to its :class:`PWindow`; traces are shown as
    ground motion (flipped where the station is reversed).
    """
    rows = observations[observations["label"].isin(windows)].copy()
    rows["azimuth"] = rows["azimuth"].astype(float) % 360.0
    rows = rows.sort_values(["azimuth", "label"], kind="stable").reset_index(drop=True)
    numbers = [str(i + 1) for i in range(len(rows))]
    row_in = 0.3
    height = max(7.4, row_in * len(rows) + 2.0)
    width = 14.8
    with style():
        fig = plt.figure(figsize=(width, height))
        ball = fig.add_axes([0.2 / width, (height - 1.0 - 6.0) / height, 5.6 / width,
                             6.0 / height])
        markers = draw_focal_sphere(ball, float(mechanism["strike"]), float(mechanism["dip"]),
                                    float(mechanism["rake"]), color=FILL_COLOR,
                                    acceptable=acceptable)
        draw_observations(ball, observations[~observations["label"].isin(rows["label"])],
                          avoid=markers)
        draw_observations(ball, rows, numbers=numbers, avoid=markers)
        _legend(ball, observations, acceptable)
        traces = fig.add_axes([8.3 / width, 0.75 / height, 3.3 / width,
                               (height - 1.95) / height])
        for index, row in rows.iterrows():
            _draw_trace_row(traces, -float(index), numbers[index], row, windows[row["label"]],
                            before_s, after_s)
        for text, offset, align in LEFT_COLUMNS + RIGHT_COLUMNS:
            traces.annotate(text, xy=(1.0 if offset > 0 else 0.0, 0.72), fontsize=8.5,
                            xycoords=("axes fraction", "data"), xytext=(offset, 0),
                            textcoords="offset points", ha=align, va="bottom",
                            fontweight="bold", annotation_clip=False)
        traces.axvline(0.0, color="0.3", lw=0.6, ls="--")
        traces.set_xlim(-before_s, after_s)
        traces.set_ylim(-max(len(rows), 1) + 0.45, 0.7)
        traces.set_yticks([])
        for side in ("left", "right", "top"):
            traces.spines[side].set_visible(False)
        traces.set_xlabel("Time from P pick (s); each trace scaled to its peak amplitude "
                          "(peak column, in the window's units)")
        if not len(rows):
            traces.text(0.0, 0.0, "no P windows found", ha="center", va="center")
        fig.suptitle(mechanism_title(mechanism), fontsize=11, y=1.0 - 0.15 / height, va="top")
        return fig


def _draw_trace_row(ax, offset: float, number: str, row, window: PWindow, before_s: float,
                    after_s: float) -> None:
    times, values, peak = window_samples(window, before_s, after_s)
    color = UP_COLOR if row["polarity"] > 0 else DOWN_COLOR if row["polarity"] < 0 \
        else NONE_COLOR
    ax.plot(times, values * 0.42 + offset, color=color, lw=0.9)
    distance = row.get("distance_km", np.nan)
    prob_up, prob_down = row.get("prob_up", np.nan), row.get("prob_down", np.nan)
    sp_ratio = row.get("sp_ratio", np.nan)
    flags = [name for name, on in (("reversed", window.reversed),
                                   ("misfit", bool(row.get("misfit", False)))) if on]
    left = (number, row["label"], f"{row['azimuth']:.0f}°",
            f"{distance:.1f} km" if pd.notna(distance) else "–")
    right = (_amplitude(peak),
             f"{prob_up:.2f} / {prob_down:.2f}" if pd.notna(prob_up) and pd.notna(prob_down)
             else "–",
             f"{sp_ratio:.2f}" if pd.notna(sp_ratio) else "–", " ".join(flags))
    for text, (_, position, align) in zip(left + right, LEFT_COLUMNS + RIGHT_COLUMNS):
        ax.annotate(text, xy=(1.0 if position > 0 else 0.0, offset), fontsize=8.5,
                    xycoords=("axes fraction", "data"), xytext=(position, 0),
                    textcoords="offset points", ha=align, va="center", annotation_clip=False,
                    color="#7f0000" if "misfit" in flags and text else "black")


def _amplitude(value: float) -> str:
    """An amplitude in at most three significant digits, without an exponent where short."""
    if not np.isfinite(value):
        return "–"
    if 100 <= abs(value) < 1e6:
        return f"{value:.0f}"
    return f"{value:.3g}" if 0.01 <= abs(value) < 100 else f"{value:.2e}"


def window_samples(window: PWindow, before_s: float, after_s: float):
    """Times (s from the pick), values scaled to ±1 and the peak absolute amplitude (the
    trace's units) of the demeaned window around the pick."""
    trace = window.trace
    delta = trace.stats.delta
    start = (window.pick_time - trace.stats.starttime) - before_s
    first = max(int(np.floor(start / delta)), 0)
    last = min(int(np.ceil((window.pick_time - trace.stats.starttime + after_s) / delta)) + 1,
               trace.stats.npts)
    values = np.asarray(trace.data[first:last], dtype=float)
    times = (first + np.arange(len(values))) * delta - (window.pick_time - trace.stats.starttime)
    if not len(values):
        return times, values, np.nan
    before = values[times < 0]
    values = values - (before.mean() if len(before) else values.mean())
    peak = float(np.abs(values).max())
    values = values / peak if peak > 0 else values
    return times, -values if window.reversed else values, peak
