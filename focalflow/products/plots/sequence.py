"""Figures of the sequence analyses (:mod:`focalflow.products.sequence`): strike against time,
the strike/rake group map, the triggering front, the magnitude distribution, activation frames.
Each function returns a matplotlib figure (save it with ``style.save_figure``)."""
from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from focalflow.products.plots.style import style

GROUP_COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                "#17becf"]
WELL_COLORS = ["#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#a6761d"]


def group_color(group: int) -> str:
    return GROUP_COLORS[(int(group) - 1) % len(GROUP_COLORS)]


def _datetimes(times) -> np.ndarray:
    return np.array([np.datetime64(t.rstrip("Z"), "ms") for t in times],
                    dtype="datetime64[ms]").astype("O")


def _marker_sizes(mags: np.ndarray, small: float, large: float) -> np.ndarray:
    if not np.isfinite(mags).any():
        return np.full(len(mags), small)
    low, high = np.nanmin(mags), np.nanmax(mags)
    scaled = (np.nan_to_num(mags, nan=low) - low) / max(high - low, 1e-6)
    return small + (large - small) * scaled ** 2


def _time_axis(ax) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _well_colors(wells: pd.DataFrame | None) -> dict[str, str]:
    if wells is None:
        return {}
    return {w: WELL_COLORS[i % len(WELL_COLORS)] for i, w in enumerate(dict.fromkeys(wells["well"]))}


def plot_strike_time(events: pd.DataFrame, start_deg: float, wells: pd.DataFrame | None = None,
                     injection: pd.DataFrame | None = None):
    """Folded strike (``strike_folded``) of each event against ``time``, coloured by ``group``,
    sized by ``mag``; each well's stages as shaded spans with a line at their start; the
    injection rate on a second axis."""
    with style():
        fig, ax = plt.subplots(figsize=(11.0, 5.2))
        colours = _well_colors(wells)
        if wells is not None:
            for row in wells.itertuples():
                begin, end = _datetimes([row.start, row.end])
                ax.axvspan(begin, end, color=colours[row.well], alpha=0.12, lw=0)
                ax.axvline(begin, color=colours[row.well], lw=0.8, alpha=0.8)
            for well, colour in colours.items():
                ax.plot([], [], color=colour, lw=6, alpha=0.4, label=f"{well} stages")
        sizes = _marker_sizes(events["mag"].to_numpy(float), 6, 60)
        when = _datetimes(events["time"])
        for group in sorted(events["group"].unique()):
            rows = (events["group"] == group).to_numpy()
            ax.scatter(when[rows], events["strike_folded"].to_numpy()[rows], s=sizes[rows],
                       color=group_color(group), alpha=0.65, linewidths=0.2, edgecolors="white",
                       label=f"group {group} ({rows.sum()})", zorder=3)
        ax.set_ylim(start_deg, start_deg + 180)
        ax.set_yticks(np.arange(np.ceil(start_deg / 30) * 30, start_deg + 181, 30))
        ax.set_ylabel(f"Strike, nodal plane 1 (°, folded into {start_deg:.0f}–{start_deg + 180:.0f})")
        ax.set_xlabel("Origin time (UTC)")
        _time_axis(ax)
        ax.grid(alpha=0.3, lw=0.4)
        handles, labels = ax.get_legend_handles_labels()
        if injection is not None:
            rate = next(c for c in injection.columns if c.startswith("rate"))
            twin = ax.twinx()
            twin.step(_datetimes(injection["time"]), injection[rate], where="post",
                      color="0.25", lw=1.0, alpha=0.8, label=f"injection {rate}")
            twin.set_ylabel(rate.replace("_", " "))
            twin.set_ylim(bottom=0)
            more = twin.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.08 if injection is not None
                                                                    else 1.01, 1.0),
                  fontsize=8, frameon=False, markerscale=1.5)
        size_note = "size ∝ magnitude" if np.isfinite(events["mag"]).any() else "no magnitudes"
        ax.set_title(f"Strike against time, {len(events)} mechanisms ({size_note})")
        return fig


def plot_group_map(events: pd.DataFrame, summary: pd.DataFrame,
                   wells: pd.DataFrame | None = None, stations: pd.DataFrame | None = None):
    """Epicentres coloured by strike/rake group, the wells' stage points, and under the map
    each group's average mechanism (HASH averaging) with its mean strike and rake."""
    from focalflow.products.plots.beachball import draw_focal_sphere

    with style():
        n = len(summary)
        fig = plt.figure(figsize=(max(8.0, 2.0 * n), 10.0))
        grid = fig.add_gridspec(2, n, height_ratios=[4.2, 1.3], hspace=0.25)
        ax = fig.add_subplot(grid[0, :])
        lat, lon = events["origin_lat"].to_numpy(float), events["origin_lon"].to_numpy(float)
        lat0 = float(np.nanmean(lat))
        aspect = 1.0 / np.cos(np.radians(lat0))
        sizes = _marker_sizes(events["mag"].to_numpy(float), 5, 50)
        for group in summary["group"]:
            rows = (events["group"] == group).to_numpy()
            ax.scatter(lon[rows], lat[rows], s=sizes[rows], color=group_color(group), alpha=0.7,
                       linewidths=0, label=f"group {group} ({rows.sum()})", zorder=3)
        if wells is not None:
            for well, colour in _well_colors(wells).items():
                part = wells[wells["well"] == well]
                ax.plot(part["lon"], part["lat"], "-s", color=colour, ms=4, mec="black",
                        mew=0.4, lw=1.2, label=f"{well} stages", zorder=4)
        lons = np.r_[lon, wells["lon"]] if wells is not None else lon
        lats = np.r_[lat, wells["lat"]] if wells is not None else lat
        pad = 0.08 * max(np.nanmax(lats) - np.nanmin(lats),
                         (np.nanmax(lons) - np.nanmin(lons)) / aspect, 0.002)
        limits = (np.nanmin(lons) - pad * aspect, np.nanmax(lons) + pad * aspect,
                  np.nanmin(lats) - pad, np.nanmax(lats) + pad)
        if stations is not None and len(stations):
            inside = stations[stations["longitude"].between(*limits[:2])
                              & stations["latitude"].between(*limits[2:])]
            ax.plot(inside["longitude"], inside["latitude"], "^", ms=6, mfc="white", mec="black",
                    label="stations", zorder=2)
        ax.set_xlim(*limits[:2])
        ax.set_ylim(*limits[2:])
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        ax.set_aspect(aspect)
        ax.set_xlabel("Longitude (°)")
        ax.set_ylabel("Latitude (°)")
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.grid(alpha=0.3, lw=0.4)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                  markerscale=1.5)
        ax.set_title(f"{len(events)} mechanisms in {n} strike/rake groups "
                     "(k-means on nodal plane 1's strike direction and rake)")
        for k, row in enumerate(summary.itertuples()):
            ball = fig.add_subplot(grid[1, k])
            draw_focal_sphere(ball, row.avg_strike, row.avg_dip, row.avg_rake,
                              color=group_color(row.group), axes_labels=False)
            ball.set_title(f"group {row.group}: {row.events}\nstrike {row.strike_deg:.0f}"
                           f"±{row.strike_spread_deg:.0f}°, rake {row.rake_deg:.0f}"
                           f"±{row.rake_spread_deg:.0f}°", fontsize=8)
        return fig


def plot_fronts(points: dict, stages: pd.DataFrame, max_panels: int = 6):
    """Distance from the injection point against time since the stage started, with the fitted
    front r = sqrt(4 pi D t) and its 95 % interval, for the stages with the most events."""
    fitted = stages.dropna(subset=["d_m2_s"]).sort_values("events", ascending=False)
    fitted = fitted.head(max_panels)
    with style():
        columns = min(3, max(len(fitted), 1))
        rows = int(np.ceil(max(len(fitted), 1) / columns))
        fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 4.0 * rows),
                                 squeeze=False)
        for ax, row in zip(axes.flat, fitted.itertuples()):
            part = points[(row.well, row.stage)]
            hours = part["time_s"] / 3600.0
            ax.scatter(hours, part["distance_m"], s=8, color="0.3", alpha=0.6, linewidths=0)
            t = np.linspace(0, part["time_s"].max() * 1.05, 200)
            for d, style_, label in ((row.d_m2_s, "-", f"D = {row.d_m2_s:.3g} m²/s"),
                                     (row.d_low_m2_s, ":", "95 % interval"),
                                     (row.d_high_m2_s, ":", None)):
                ax.plot(t / 3600.0, np.sqrt(4 * np.pi * d * t), style_, color="#d62728",
                        lw=1.4, label=label)
            ax.set_xlabel(f"time since stage start (h), {row.events} events")
            ax.set_ylabel("distance from injection point (m)")
            ax.set_title(f"{row.well} stage {row.stage}", fontsize=10)
            ax.set_ylim(bottom=0)
            ax.set_xlim(left=0)
            ax.grid(alpha=0.3, lw=0.4)
            ax.legend(fontsize=8, loc="upper left")
        for ax in list(axes.flat)[len(fitted):]:
            ax.axis("off")
            if not len(fitted):
                ax.text(0.5, 0.5, "no stage with enough events to fit a front", ha="center",
                        transform=ax.transAxes)
        fig.suptitle("Triggering front r = sqrt(4πDt) (Shapiro et al. 1997)")
        fig.tight_layout()
        return fig


def plot_magnitude_distribution(samples: dict[str, tuple[np.ndarray, dict]]):
    """Non-cumulative (bars) and cumulative (points) magnitude counts of each sample with its
    Gutenberg-Richter fit above Mc; the legend gives b ± sigma (Shi & Bolt) and Mc."""
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 5.2))
        for colour, (name, (mags, fit)) in zip(["#1f77b4", "#d62728", "#2ca02c"], samples.items()):
            width = fit["bin_width"]
            m = np.round(np.asarray(mags, float)[np.isfinite(mags)] / width) * width
            centres, counts = np.unique(m, return_counts=True)
            cumulative = counts[::-1].cumsum()[::-1]
            ax.bar(centres, counts, width=width * 0.9, color=colour, alpha=0.25)
            ax.semilogy(centres, cumulative, "o", ms=3.5, color=colour,
                        label=f"{name}: {fit['events']} events")
            if np.isfinite(fit["b"]):
                line = np.linspace(fit["mc"] - width / 2, centres.max() + width / 2, 50)
                ax.semilogy(line, 10 ** (fit["a"] - fit["b"] * line), "-", color=colour, lw=1.5,
                            label=f"b = {fit['b']:.2f} ± {fit['b_sigma']:.2f}, "
                                  f"Mc = {fit['mc']:.1f} ({fit['mc_method']}), "
                                  f"{fit['events_above_mc']} ≥ Mc")
                ax.axvline(fit["mc"] - width / 2, color=colour, ls=":", lw=1)
        ax.set_xlabel("magnitude")
        ax.set_ylabel("number of events (bars: per bin; points: cumulative)")
        ax.grid(alpha=0.3, which="both", lw=0.4)
        ax.legend(fontsize=8)
        ax.set_title("Magnitude distribution and Gutenberg-Richter fit (Aki-Utsu)")
        return fig


def plot_activation_frame(events: pd.DataFrame, frame: pd.Series, wells: pd.DataFrame | None,
                          extent: tuple[float, float, float, float], n_frames: int):
    """One frame of the activation series: events before the frame in grey, those inside it
    coloured by group, the wells' stages active during it highlighted."""
    with style():
        fig, ax = plt.subplots(figsize=(7.0, 6.4))
        when = np.array([t.rstrip("Z") for t in events["time"]], dtype="datetime64[ms]")
        start, end = (np.datetime64(frame[k].rstrip("Z"), "ms") for k in ("start", "end"))
        before, inside = when < start, (when >= start) & (when <= end)
        lon, lat = events["origin_lon"].to_numpy(float), events["origin_lat"].to_numpy(float)
        ax.scatter(lon[before], lat[before], s=5, color="0.78", linewidths=0, zorder=2)
        ax.scatter(lon[inside], lat[inside], s=14, linewidths=0.2, edgecolors="black", zorder=3,
                   color=[group_color(g) for g in events["group"].to_numpy()[inside]])
        if wells is not None:
            for well, colour in _well_colors(wells).items():
                part = wells[wells["well"] == well]
                ax.plot(part["lon"], part["lat"], "-s", color=colour, lw=1, ms=3, alpha=0.6,
                        zorder=1)
                active = part[(part["start"] <= frame["end"]) & (part["end"] >= frame["start"])]
                ax.plot(active["lon"], active["lat"], "s", ms=8, color=colour, mec="black",
                        zorder=4, label=f"{well}: active stage" if len(active) else None)
        lon_min, lon_max, lat_min, lat_max = extent
        ax.set_xlim(lon_min, lon_max)
        ax.set_ylim(lat_min, lat_max)
        ax.set_aspect(1.0 / np.cos(np.radians((lat_min + lat_max) / 2)))
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.set_xlabel("Longitude (°)")
        ax.set_ylabel("Latitude (°)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper right")
        ax.set_title(f"frame {frame['frame']}/{n_frames}: {frame['start'][:16]} – "
                     f"{frame['end'][:16]}\n{frame['new_events']} new events (coloured by group),"
                     f" {frame['cumulative_events']} so far", fontsize=10)
        return fig
