"""Per-event figures: the beachball with the station polarities, and the P waveforms around it.

Observations are a frame with one row per station, columns ``label`` (station code),
``takeoff`` (degrees from vertical UP, HASH convention), ``azimuth`` (degrees), ``polarity``
(+1 up / -1 down / 0, the polarity HASH used: true ground motion), ``weight`` (0–1),
``misfit`` (bool: disagrees with the mechanism), and optionally ``sp_ratio`` (log10 S/P, NaN
where none) and ``prob_up``/``prob_down`` (CNN probabilities, NaN where none).
"""
from __future__ import annotations

from dataclasses import dataclass

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


def mechanism_title(mechanism: dict) -> str:
    """Two title lines: event, time, magnitude; mechanism, quality, misfit, uncertainty."""
    def number(key, fmt):
        value = pd.to_numeric(pd.Series([mechanism.get(key)]), errors="coerce").iloc[0]
        return None if pd.isna(value) else format(float(value), fmt)

    first = [f"Event {mechanism['event_id']}"]
    if str(mechanism.get("time") or "").strip():
        first.append(str(mechanism["time"]).replace("T", " ")[:19])
    if number("mag", ".1f") is not None:
        first.append(f"M {number('mag', '.1f')}")
    second = [f"{float(mechanism['strike']):.0f}/{float(mechanism['dip']):.0f}/"
              f"{float(mechanism['rake']):.0f}"]
    if str(mechanism.get("quality") or "").strip():
        second.append(f"quality {mechanism['quality']}")
    if number("polarity_misfit", ".1f") is not None:
        second.append(f"misfit {number('polarity_misfit', '.1f')}%")
    if number("fault_plane_uncertainty", ".0f") is not None:
        second.append(f"uncertainty {number('fault_plane_uncertainty', '.0f')}°")
    return "  ·  ".join(first) + "\n" + "  ·  ".join(second)


def draw_observations(ax, observations: pd.DataFrame, labels: bool = False,
                      numbers: list[str] | None = None) -> None:
    """Station polarities (and S/P ratios) on a beachball axes drawn by draw_focal_sphere."""
    if not len(observations):
        return
    x, y = project_takeoff(observations["takeoff"].to_numpy(float),
                           observations["azimuth"].to_numpy(float))
    polarity = observations["polarity"].to_numpy(float)
    weight = np.clip(np.nan_to_num(observations.get("weight", pd.Series(1.0, index=observations.index))
                                   .to_numpy(float), nan=1.0), 0.2, 1.0)
    size = 30 + 60 * weight
    if "sp_ratio" in observations and observations["sp_ratio"].notna().any():
        has_sp = observations["sp_ratio"].notna().to_numpy()
        points = ax.scatter(x[has_sp], y[has_sp], s=size[has_sp] * 2.0, marker="s",
                            c=observations["sp_ratio"].to_numpy(float)[has_sp], cmap="viridis",
                            alpha=0.85, edgecolors="none", zorder=4)
        bar = ax.figure.colorbar(points, ax=ax, shrink=0.5, pad=0.02)
        bar.set_label("log$_{10}$ S/P")
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
    if texts is not None:
        for xi, yi, text in zip(x, y, texts):
            ax.annotate(text, (xi, yi), xytext=(4, 3), textcoords="offset points",
                        fontsize=6.5, zorder=7, color="0.15")


def _legend(ax, observations: pd.DataFrame, acceptable: np.ndarray | None) -> None:
    handles = [Line2D([], [], ls="", marker="o", mfc=UP_COLOR, mec="black", ms=7,
                      label="up (compression)"),
               Line2D([], [], ls="", marker="o", mfc="white", mec=DOWN_COLOR, mew=1.6, ms=7,
                      label="down (dilatation)")]
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
    T axes; quality and misfit in the title; S/P ratios as coloured squares where used."""
    with style():
        fig, ax = plt.subplots(figsize=(6.2, 6.6))
        draw_focal_sphere(ax, float(mechanism["strike"]), float(mechanism["dip"]),
                          float(mechanism["rake"]), color=FILL_COLOR, acceptable=acceptable)
        draw_observations(ax, observations, labels=station_labels)
        _legend(ax, observations, acceptable)
        ax.set_title(mechanism_title(mechanism), fontsize=10)
        return fig


def plot_event_waveforms(mechanism: dict, observations: pd.DataFrame,
                         windows: dict[str, PWindow], acceptable: np.ndarray | None = None,
                         before_s: float = 0.15, after_s: float = 0.35) -> plt.Figure:
    """The beachball beside the vertical P windows ordered clockwise around the ball, aligned on
    the pick (time 0), coloured by the polarity used; stations numbered alike in both panels.

    ``windows`` maps an observation ``label`` to its :class:`PWindow`; traces are shown as
    ground motion (flipped where the station is reversed) and scaled to their own maximum.
    """
    rows = observations[observations["label"].isin(windows)].copy()
    rows["azimuth"] = rows["azimuth"].astype(float) % 360.0
    # order by position on the ball (up-going rays plot at their antipode): clockwise from N
    x, y = project_takeoff(rows["takeoff"].to_numpy(float), rows["azimuth"].to_numpy(float))
    rows["position_deg"] = np.degrees(np.arctan2(x, y)) % 360.0
    rows = rows.sort_values("position_deg", kind="stable").reset_index(drop=True)
    numbers = [str(i + 1) for i in range(len(rows))]
    columns = 1 if len(rows) <= 24 else 2
    per_column = int(np.ceil(max(len(rows), 1) / columns))
    with style():
        fig = plt.figure(figsize=(6.5 + 5.2 * columns, max(6.6, 0.26 * per_column + 1.6)))
        grid = fig.add_gridspec(1, 1 + columns, width_ratios=[1.45] + [1.0] * columns,
                                wspace=0.55)
        ball = fig.add_subplot(grid[0, 0])
        draw_focal_sphere(ball, float(mechanism["strike"]), float(mechanism["dip"]),
                          float(mechanism["rake"]), color=FILL_COLOR, acceptable=acceptable)
        draw_observations(ball, observations[~observations["label"].isin(rows["label"])])
        draw_observations(ball, rows, numbers=numbers)
        _legend(ball, observations, acceptable)
        axes = [fig.add_subplot(grid[0, 1 + c]) for c in range(columns)]
        for index, row in rows.iterrows():
            ax = axes[index // per_column]
            offset = -(index % per_column)
            window = windows[row["label"]]
            times, values = _window_samples(window, before_s, after_s)
            if row["polarity"] > 0:
                color = UP_COLOR
            elif row["polarity"] < 0:
                color = DOWN_COLOR
            else:
                color = NONE_COLOR
            ax.plot(times, values * 0.45 + offset, color=color, lw=0.9)
            label = f"{numbers[index]}  {row['label']}  {row['azimuth']:.0f}°"
            ax.text(-before_s - 0.01 * (before_s + after_s), offset, label, ha="right",
                    va="center", fontsize=6.5)
            notes = []
            prob_up, prob_down = row.get("prob_up", np.nan), row.get("prob_down", np.nan)
            if pd.notna(prob_up) and pd.notna(prob_down):
                notes.append(f"up {prob_up:.2f} / dn {prob_down:.2f}")
            if window.reversed:
                notes.append("rev")
            if bool(row.get("misfit", False)):
                notes.append("misfit")
            if notes:
                ax.text(after_s + 0.01 * (before_s + after_s), offset, "  ".join(notes),
                        ha="left", va="center", fontsize=6.0,
                        color="black" if not bool(row.get("misfit", False)) else "#7f0000")
        for ax in axes:
            ax.axvline(0.0, color="0.3", lw=0.6, ls="--")
            ax.set_xlim(-before_s, after_s)
            ax.set_ylim(-per_column + 0.4, 0.7)
            ax.set_yticks([])
            for side in ("left", "right", "top"):
                ax.spines[side].set_visible(False)
            ax.set_xlabel("Time from P pick (s)")
        if not len(rows):
            axes[0].text(0.0, 0.0, "no P windows found", ha="center", va="center")
        fig.suptitle(mechanism_title(mechanism), fontsize=10, y=0.995)
        return fig


def _window_samples(window: PWindow, before_s: float, after_s: float):
    """Times (s from the pick) and values scaled to ±1 of the window around the pick."""
    trace = window.trace
    delta = trace.stats.delta
    start = (window.pick_time - trace.stats.starttime) - before_s
    first = max(int(np.floor(start / delta)), 0)
    last = min(int(np.ceil((window.pick_time - trace.stats.starttime + after_s) / delta)) + 1,
               trace.stats.npts)
    values = np.asarray(trace.data[first:last], dtype=float)
    times = (first + np.arange(len(values))) * delta - (window.pick_time - trace.stats.starttime)
    if not len(values):
        return times, values
    before = values[times < 0]
    values = values - (before.mean() if len(before) else values.mean())
    peak = np.abs(values).max()
    values = values / peak if peak > 0 else values
    return times, -values if window.reversed else values
