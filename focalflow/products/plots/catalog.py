"""Figures of a whole mechanism catalog (a frame from :func:`focalflow.mechanisms.catalog.read_mechanism_catalog`).

Each ``plot_*`` function draws one figure and returns it; :func:`draw_catalog_figures` writes
them all as PNG files. Angles in degrees, depths in km, magnitudes as given in the catalog.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from focalflow.mechanisms.classify import (CLASS_COLORS, FAULTING_CLASSES, class_boundaries,  # noqa: E402
                                ternary_xy)
from focalflow.mechanisms.catalog import times_of  # noqa: E402
from focalflow.products.plots.beachball import add_beachballs  # noqa: E402
from focalflow.products.plots.style import save_figure, style  # noqa: E402
from focalflow.workdir import atomic_path  # noqa: E402

CATALOG_FIGURES = {"map": "mechanism_map.png", "ternary": "faulting_ternary.png",
                   "magnitudes": "magnitude_distribution.png",
                   "orientations": "orientations_time.png", "roses": "orientation_roses.png",
                   "quality": "quality_summary.png"}
QUALITY_LETTERS = "ABCDEF"


def plot_mechanism_map(catalog: pd.DataFrame, stations: pd.DataFrame | None = None,
                       title: str | None = None) -> plt.Figure:
    """Map of beachballs (size by magnitude, colour by faulting class, paler for quality C–D
    and faint for E–F) and stations (triangles).

    When the events fill a small part of the network, a second panel beside the map zooms on
    them (a panel rather than an inset, so no station is hidden). ``stations`` needs
    ``latitude``, ``longitude`` and ``station`` columns.
    """
    with style():
        lat, lon = catalog["origin_lat"].to_numpy(float), catalog["origin_lon"].to_numpy(float)
        located = np.isfinite(lat) & np.isfinite(lon)
        lats, lons = list(lat[located]), list(lon[located])
        if stations is not None and len(stations):
            lats += list(stations["latitude"].astype(float))
            lons += list(stations["longitude"].astype(float))
        if not lats:
            fig, ax = plt.subplots(figsize=(8.0, 7.2))
            ax.text(0.5, 0.5, "no located mechanisms", ha="center", transform=ax.transAxes)
            return fig
        lat0 = float(np.mean(lats))
        aspect = 1.0 / np.cos(np.radians(lat0))
        span = max(np.ptp(lats), np.ptp(lons) / aspect, 0.01)
        sub = catalog if located.all() else catalog[located]
        centre_lat, centre_lon, spread = _core_extent(sub, aspect, span)
        zoom = spread < 0.25 * span
        if zoom:
            fig, (ax, detail) = plt.subplots(1, 2, figsize=(14.0, 7.2),
                                             gridspec_kw={"width_ratios": [1.0, 1.0],
                                                          "wspace": 0.28})
        else:
            fig, ax = plt.subplots(figsize=(8.0, 7.2))
        margin = 0.08 * span
        ax.set_xlim(min(lons) - margin * aspect, max(lons) + margin * aspect)
        ax.set_ylim(min(lats) - margin, max(lats) + margin)
        ax.set_aspect(aspect)
        _draw_mechanisms(ax, sub, span, aspect, size=0.5 if zoom else 1.0)
        _draw_stations(ax, stations, labels=stations is not None and len(stations) <= 40)
        if zoom:
            half = max(0.6 * spread, 0.03 * span)
            detail.set_xlim(centre_lon - half * aspect, centre_lon + half * aspect)
            detail.set_ylim(centre_lat - half, centre_lat + half)
            detail.set_aspect(aspect)
            _draw_mechanisms(detail, sub, 2 * half, aspect)
            _draw_stations(detail, _inside(stations, detail), labels=True)
            _scale_bar(detail, lat0, 2 * half)
            _geo_axes(detail)
            detail.set_title("Zoom on the epicentral area")
            ax.indicate_inset([centre_lon - half * aspect, centre_lat - half, 2 * half * aspect,
                               2 * half], inset_ax=detail, edgecolor="0.3")
        _scale_bar(ax, lat0, span)
        _geo_axes(ax)
        handles = _class_handles(catalog) + _quality_handles(catalog)
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.95,
                  title="Faulting class", title_fontsize=8).set_zorder(10)
        mags = sub["mag"].to_numpy(float)
        size_note = "size ∝ magnitude" if np.isfinite(mags).any() else "no magnitudes: equal sizes"
        ax.set_title(title or f"{len(sub)} focal mechanisms ({size_note})")
        return fig


def _core_extent(sub: pd.DataFrame, aspect: float, span: float) -> tuple[float, float, float]:
    """Centre latitude, longitude and size (degrees of latitude) of where most epicentres are:
    the 2nd-98th percentile box for 20 events or more, so a few outliers do not prevent a
    zoom on the cluster."""
    if len(sub) < 2:
        return (float(sub["origin_lat"].mean()) if len(sub) else 0.0,
                float(sub["origin_lon"].mean()) if len(sub) else 0.0, span)
    quantiles = (0.02, 0.98) if len(sub) >= 20 else (0.0, 1.0)
    lat = sub["origin_lat"].quantile(quantiles).to_numpy(float)
    lon = sub["origin_lon"].quantile(quantiles).to_numpy(float)
    return float(lat.mean()), float(lon.mean()), max(lat[1] - lat[0], (lon[1] - lon[0]) / aspect)


def _geo_axes(ax) -> None:
    """Longitude/latitude labels, with few enough ticks that the labels never run together."""
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ticker.ScalarFormatter(useOffset=False))
    ax.set_xlabel("Longitude (°)")
    ax.set_ylabel("Latitude (°)")


def _inside(stations: pd.DataFrame | None, ax) -> pd.DataFrame | None:
    """The stations within the axes' current limits."""
    if stations is None or not len(stations):
        return stations
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    lon, lat = stations["longitude"].astype(float), stations["latitude"].astype(float)
    return stations[lon.between(x0, x1) & lat.between(y0, y1)]


# Lower qualities are drawn paler: (share of white mixed into the class colour, edge colour).
QUALITY_LOOK = {"A": (0.0, "black"), "B": (0.0, "black"), "C": (0.55, "0.35"),
                "D": (0.55, "0.35"), "E": (0.82, "0.55"), "F": (0.82, "0.55")}


def _quality_look(catalog: pd.DataFrame) -> tuple[list, list]:
    """(fill colour, edge colour) per mechanism: the class colour, mixed with white for lower
    quality letters (unknown letters look like A)."""
    from matplotlib.colors import to_rgb

    letters = catalog.get("quality", pd.Series("", index=catalog.index)).fillna("") \
        .astype(str).str.strip().str.upper()
    fills, edges = [], []
    for cls, letter in zip(catalog["faulting_class"], letters):
        white, edge = QUALITY_LOOK.get(letter, (0.0, "black"))
        rgb = np.array(to_rgb(CLASS_COLORS.get(cls, "black")))
        fills.append(tuple(rgb + (1.0 - rgb) * white))
        edges.append(edge)
    return fills, edges


def _class_handles(catalog: pd.DataFrame) -> list:
    counts = catalog["faulting_class"].value_counts()
    return [Line2D([], [], marker="o", ls="", markersize=8, markerfacecolor=CLASS_COLORS[c],
                   markeredgecolor="black", markeredgewidth=0.5,
                   label=f"{c} ({int(counts.get(c, 0))})")
            for c in FAULTING_CLASSES]


def _quality_handles(catalog: pd.DataFrame) -> list:
    """Legend entries for the quality shading, only when the catalog has C–F letters."""
    letters = set(catalog.get("quality", pd.Series(dtype=str)).fillna("").astype(str)
                  .str.strip().str.upper())
    if not letters & set("CDEF"):
        return []
    fills, edges = _quality_look(pd.DataFrame({"faulting_class": ["oblique"] * 3,
                                               "quality": ["A", "C", "E"]}))
    return [Line2D([], [], marker="o", ls="", markersize=8, markerfacecolor=fill,
                   markeredgecolor=edge, markeredgewidth=0.6, label=label)
            for fill, edge, label in zip(fills, edges, ("quality A–B", "quality C–D",
                                                        "quality E–F"))]


MAX_BALLS = 3000  # beyond this many events a map shows the largest as balls, the rest as dots


def _draw_mechanisms(ax, sub: pd.DataFrame, span: float, aspect: float,
                     size: float = 1.0) -> None:
    """Beachballs of ``sub`` on a map ``span`` degrees (latitude) across; size by magnitude
    (times ``size``), colour by class, paler for lower quality. Of a catalog larger than
    :data:`MAX_BALLS` events, the largest (then best-graded) are balls, the others dots of
    their class colour beneath them."""
    if len(sub) > MAX_BALLS:  # ranked by magnitude, then quality letter (columns, no copies)
        mag = pd.to_numeric(sub["mag"], errors="coerce").fillna(-99.0).to_numpy(float)
        _, letter = np.unique(sub["quality"].astype(str).to_numpy(str), return_inverse=True)
        rank = np.lexsort((letter, -mag))
        rest = rank[MAX_BALLS:]
        ax.scatter(sub["origin_lon"].to_numpy(float)[rest], sub["origin_lat"].to_numpy(float)[rest],
                   s=2, c=class_rgba(sub["faulting_class"].iloc[rest], "#555555"), linewidths=0,
                   alpha=0.5, zorder=1, rasterized=True)
        sub = sub.iloc[rank[:MAX_BALLS]]
    mags = sub["mag"].to_numpy(float)
    # balls shrink with the number of events sharing the epicentral area
    spread = max(np.ptp(sub["origin_lat"]), np.ptp(sub["origin_lon"]) / aspect, 0.02 * span) \
        if len(sub) else span
    base = float(np.clip(spread / (2.0 * np.sqrt(max(len(sub), 1))), 0.008 * span,
                         0.035 * span))
    if np.isfinite(mags).any():
        low, high = np.nanmin(mags), np.nanmax(mags)
        scaled = (np.nan_to_num(mags, nan=low) - low) / max(high - low, 1e-6)
        radius = size * base * (0.6 + 1.2 * scaled)
    else:
        radius = np.full(len(sub), size * base)
    order = np.argsort(-radius, kind="stable")  # big ones first, small ones stay visible
    fills, edges = _quality_look(sub)
    many = len(sub) > 200
    add_beachballs(ax, sub["origin_lon"].to_numpy(float)[order],
                   sub["origin_lat"].to_numpy(float)[order], radius[order],
                   sub["strike"].to_numpy(float)[order], sub["dip"].to_numpy(float)[order],
                   sub["rake"].to_numpy(float)[order], colors=[fills[i] for i in order],
                   edgecolor=["0.25" if many and edges[i] == "black" else edges[i]
                              for i in order],
                   linewidth=0.2 if many else 0.6, aspect=aspect)


def class_rgba(classes: pd.Series, other: str = "black") -> np.ndarray:
    """RGBA (n, 4) of each faulting class's colour (``other`` for an unknown class): each
    colour converted once, not once per event."""
    codes, names = pd.factorize(classes.astype(object), use_na_sentinel=False)
    palette = np.array([to_rgba(CLASS_COLORS.get(name, other)) for name in names]).reshape(-1, 4)
    return palette[codes]


def _draw_stations(ax, stations: pd.DataFrame | None, labels: bool) -> None:
    if stations is None or not len(stations):
        return
    ax.plot(stations["longitude"].astype(float), stations["latitude"].astype(float),
            ls="", marker="^", ms=7, mfc="white", mec="black", mew=1.0, zorder=4)
    if labels:
        for row in stations.itertuples(index=False):
            ax.annotate(str(row.station), (float(row.longitude), float(row.latitude)),
                        xytext=(0, -9), textcoords="offset points", ha="center", va="top",
                        fontsize=7, zorder=4, annotation_clip=True)


def _scale_bar(ax, lat0: float, span_deg: float) -> None:
    km = span_deg * 111.19
    length = next((v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
                   if v >= km / 6), 1000)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = length / (111.19 * np.cos(np.radians(lat0)))
    xs = x1 - 0.05 * (x1 - x0) - width
    ys = y0 + 0.05 * (y1 - y0)
    ax.plot([xs, xs + width], [ys, ys], color="black", lw=3, solid_capstyle="butt", zorder=7)
    ax.text(xs + width / 2, ys + 0.012 * (y1 - y0), f"{length:g} km", ha="center",
            va="bottom", fontsize=8, zorder=7)


def plot_ternary(catalog: pd.DataFrame) -> plt.Figure:
    """Frohlich's triangle: each mechanism placed by its P, T and B plunges."""
    with style():
        fig, ax = plt.subplots(figsize=(6.4, 6.0))
        corners = np.array([ternary_xy(0, 0, 90), ternary_xy(0, 90, 0), ternary_xy(90, 0, 0),
                            ternary_xy(0, 0, 90)])[..., 0]
        # the sides are curves in the gnomonic projection: one axis horizontal, the other two
        # complementary plunges
        edge = np.linspace(0.0, 90.0, 60)
        for plunges in ((edge, 90 - edge, 0 * edge), (0 * edge, edge, 90 - edge),
                        (edge, 0 * edge, 90 - edge)):
            x, y = ternary_xy(*plunges)
            ax.plot(x, y, color="black", lw=1.2, zorder=2)
        for x, y in class_boundaries().values():
            ax.plot(x, y, color="0.5", lw=0.8, ls="--", zorder=2)
        if len(catalog):
            x, y = ternary_xy(catalog["p_plunge"], catalog["t_plunge"], catalog["b_plunge"])
            size = 30 if len(catalog) < 200 else 10
            ax.scatter(x, y, s=size, c=class_rgba(catalog["faulting_class"]), edgecolors="black",
                       linewidths=0.3, alpha=0.8 if len(catalog) > 200 else 1.0, zorder=3)
        offsets = {0: (0, 12, "center", "bottom"), 1: (8, -8, "left", "top"),
                   2: (-8, -8, "right", "top")}
        for index, label in enumerate(("Strike-slip", "Reverse", "Normal")):
            dx, dy, ha, va = offsets[index]
            ax.annotate(label, corners[index], xytext=(dx, dy), textcoords="offset points",
                        ha=ha, va=va, fontsize=11, fontweight="bold")
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.0, 1.75)
        ax.legend(handles=_class_handles(catalog), loc="upper right", fontsize=8,
                  frameon=False, bbox_to_anchor=(1.02, 1.0))
        ax.set_title(f"Faulting classes (Frohlich 1992), {len(catalog)} mechanisms")
        return fig


def plot_magnitudes(catalog: pd.DataFrame) -> plt.Figure:
    """Magnitude histogram (0.1 bins) and cumulative number of events with magnitude ≥ M."""
    with style():
        fig, ax = plt.subplots(figsize=(7.0, 4.5))
        mags = catalog["mag"].to_numpy(float)
        mags = mags[np.isfinite(mags)]
        if not len(mags):
            ax.text(0.5, 0.5, f"no magnitudes in this catalog ({len(catalog)} mechanisms)",
                    ha="center", va="center", transform=ax.transAxes, fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title("Magnitude distribution")
            return fig
        width = 0.1
        edges = np.arange(np.floor(mags.min() / width) * width,
                          np.ceil(mags.max() / width) * width + 2 * width, width) - width / 2
        ax.hist(mags, bins=edges, color="#9ecae1", edgecolor="#3182bd", label="per 0.1 unit")
        ax.set_xlabel("Magnitude")
        ax.set_ylabel("Number of events")
        cumulative = ax.twinx()
        levels = np.sort(np.unique(np.round(mags, 2)))
        counts = np.array([(mags >= m - 1e-9).sum() for m in levels])
        cumulative.semilogy(levels, counts, "o-", color="#d95f02", ms=3, lw=1.2,
                            label="cumulative N(≥M)")
        cumulative.set_ylabel("Cumulative number N(≥M)")
        cumulative.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        cumulative.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        lines = ax.get_legend_handles_labels()
        more = cumulative.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right", fontsize=8)
        ax.set_title(f"Magnitude distribution of {len(mags)} events with mechanisms")
        return fig


def plot_orientations_over_time(catalog: pd.DataFrame) -> plt.Figure:
    """Strike, dip, rake and P/T axis trend and plunge against origin time."""
    with style():
        fig, axes = plt.subplots(5, 1, figsize=(9.0, 10.0), sharex=True)
        fig.subplots_adjust(right=0.85)  # the legends beside the panels stay on the canvas
        times = times_of(catalog)
        use_time = np.isfinite(times.astype("datetime64[ms]").astype(float)).any() \
            if len(times) else False
        x = times.astype("datetime64[ms]") if use_time else np.arange(len(catalog))
        size = 12 if len(catalog) < 300 else 3
        panels = [
            (("strike", "Nodal plane 1", "#1b9e77"), ("strike2", "Nodal plane 2", "#7570b3"),
             "Strike (°)", (0, 360)),
            (("dip", "Nodal plane 1", "#1b9e77"), ("dip2", "Nodal plane 2", "#7570b3"),
             "Dip (°)", (0, 90)),
            (("rake", "Nodal plane 1", "#1b9e77"), ("rake2", "Nodal plane 2", "#7570b3"),
             "Rake (°)", (-180, 180)),
            (("p_trend", "P axis", "#2166ac"), ("t_trend", "T axis", "#b2182b"),
             "Axis trend (°)", (0, 360)),
            (("p_plunge", "P axis", "#2166ac"), ("t_plunge", "T axis", "#b2182b"),
             "Axis plunge (°)", (0, 90)),
        ]
        for ax, (first, second, label, limits) in zip(axes, panels):
            for column, name, color in (first, second):
                ax.scatter(x, catalog[column], s=size, color=color, label=name, alpha=0.7,
                           linewidths=0)
            ax.set_ylabel(label)
            ax.set_ylim(*limits)
            step = 90 if limits[1] - limits[0] >= 180 else 30
            ax.set_yticks(np.arange(limits[0], limits[1] + 1, step))
            ax.grid(True, lw=0.4, alpha=0.5)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, markerscale=2.5,
                      frameon=False)
        if use_time:
            locator = mdates.AutoDateLocator()
            axes[-1].xaxis.set_major_locator(locator)
            axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            axes[-1].set_xlabel("Origin time (UTC)")
        else:
            axes[-1].set_xlabel("Event number (no origin times)")
        axes[0].set_title(f"Mechanism orientations over time ({len(catalog)} mechanisms)")
        fig.align_ylabels(axes)
        return fig


def plot_roses(catalog: pd.DataFrame) -> plt.Figure:
    """Rose diagrams (10° bins) of strike (both planes), rake, and P and T axis trends."""
    with style():
        fig, axes = plt.subplots(2, 2, figsize=(8.0, 8.4), subplot_kw={"projection": "polar"})
        panels = [
            (np.concatenate([catalog["strike"], catalog["strike2"]]), "Strike, both planes",
             "#1b9e77", (0, 360)),
            (np.concatenate([catalog["rake"], catalog["rake2"]]), "Rake, both planes",
             "#7570b3", (-180, 180)),
            (_both_ways(catalog["p_trend"]), "P-axis trend (both ends)", "#2166ac", (0, 360)),
            (_both_ways(catalog["t_trend"]), "T-axis trend (both ends)", "#b2182b", (0, 360)),
        ]
        for ax, (values, title, color, (low, high)) in zip(axes.ravel(), panels):
            values = np.asarray(values, dtype=float)
            values = values[np.isfinite(values)]
            edges = np.radians(np.arange(low, high + 10, 10))
            counts, _ = np.histogram(np.radians(values), bins=edges)
            ax.bar(edges[:-1], counts, width=np.radians(10), align="edge", color=color,
                   edgecolor="white", linewidth=0.5, alpha=0.9)
            ax.set_theta_zero_location("N")
            ax.set_theta_direction(-1)
            if low < 0:
                ax.set_thetagrids([0, 90, 180, 270], ["0°", "90°", "±180°", "−90°"])
            else:
                ax.set_thetagrids([0, 90, 180, 270], ["N", "E", "S", "W"])
            ax.tick_params(labelsize=8)
            # counts are whole numbers: integer rings, labelled between the bars' main axes
            ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=4, integer=True, min_n_ticks=1))
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0f}"))
            ax.set_rlabel_position(22.5 if low >= 0 else 45.0)
            ax.tick_params(axis="y", labelsize=7, labelcolor="0.35")
            ax.set_title(title, pad=14, fontsize=10)
        fig.suptitle(f"Orientation rose diagrams ({len(catalog)} mechanisms, counts per 10°)")
        fig.tight_layout()
        return fig


def _both_ways(trend: pd.Series) -> np.ndarray:
    """An axis points both ways: its trend and the opposite one (near-horizontal axes otherwise
    split between two opposite lower-hemisphere trends)."""
    values = trend.to_numpy(float)
    return np.concatenate([values, (values + 180.0) % 360.0])


def quality_summary(catalog: pd.DataFrame) -> pd.DataFrame:
    """Rows per quality letter (and ``all``): count, share, median fault-plane uncertainty (°),
    median polarity misfit (%), median number of polarities, median station distribution ratio."""
    def medians(group: pd.DataFrame) -> dict:
        out = {"events": len(group), "percent": 100.0 * len(group) / max(len(catalog), 1)}
        for column, name in (("fault_plane_uncertainty", "median_uncertainty_deg"),
                             ("polarity_misfit", "median_misfit_percent"),
                             ("num_p_pol", "median_polarities"),
                             ("sta_distribution_ratio", "median_sta_distribution_ratio")):
            values = pd.to_numeric(group[column], errors="coerce") if column in group.columns \
                else pd.Series(dtype=float)
            out[name] = float(values.median()) if values.notna().any() else np.nan
        return out

    rows = []
    letters = catalog["quality"].fillna("").astype(str).str.upper()
    for letter in QUALITY_LETTERS:
        if (letters == letter).any():
            rows.append({"quality": letter, **medians(catalog[letters == letter])})
    rows.append({"quality": "all", **medians(catalog)})
    return pd.DataFrame(rows)


def plot_quality_summary(catalog: pd.DataFrame) -> plt.Figure:
    """The quality summary table, beside the histogram of polarity misfits where known."""
    summary = quality_summary(catalog)
    misfits = pd.to_numeric(catalog.get("polarity_misfit", pd.Series(dtype=float)),
                            errors="coerce").dropna()
    with style():
        height = 0.9 + 0.33 * (len(summary) + 1)
        if len(misfits):
            fig, (table_ax, hist_ax) = plt.subplots(
                1, 2, figsize=(11.0, max(height, 3.6)), gridspec_kw={"width_ratios": [1.6, 1.0]})
        else:
            fig, table_ax = plt.subplots(figsize=(7.0, height))
        table_ax.axis("off")
        header = ["Quality", "Events", "%", "Median\nuncert. (°)", "Median\nmisfit (%)",
                  "Median\nN pol.", "Median\nSTDR (%)"]
        cells = [[r.quality, f"{r.events:d}", f"{r.percent:.1f}",
                  *(("–" if not np.isfinite(v) else f"{v:.1f}") for v in
                    (r.median_uncertainty_deg, r.median_misfit_percent, r.median_polarities,
                     r.median_sta_distribution_ratio))]
                 for r in summary.itertuples(index=False)]
        table = table_ax.table(cellText=cells, colLabels=header, loc="upper center",
                               cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(9)
        table.scale(1.0, 1.6)
        for (row, _), cell in table.get_celld().items():
            cell.set_edgecolor("0.7")
            if row == 0:
                cell.set_facecolor("#e6e6e6")
                cell.set_height(cell.get_height() * 1.5)
            elif row == len(cells):
                cell.set_facecolor("#f5f5f5")
                cell.get_text().set_fontweight("bold")
        table_ax.set_title(f"Mechanism quality (HASH letters), {len(catalog)} mechanisms")
        if len(misfits):
            hist_ax.hist(misfits, bins=np.arange(0, max(misfits.max(), 10) + 2.5, 2.5),
                         color="#bcbddc", edgecolor="#54278f")
            hist_ax.set_xlabel("Polarity misfit (%)")
            hist_ax.set_ylabel("Number of mechanisms")
            hist_ax.set_title("Polarity misfits")
        fig.tight_layout()
        return fig


def draw_catalog_figures(catalog: pd.DataFrame, out_dir: Path | str,
                         stations: pd.DataFrame | None = None, dpi: int = 150) -> dict[str, Path]:
    """Write every catalog figure into ``out_dir``; returns {figure key: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    makers = {"map": lambda: plot_mechanism_map(catalog, stations),
              "ternary": lambda: plot_ternary(catalog),
              "magnitudes": lambda: plot_magnitudes(catalog),
              "orientations": lambda: plot_orientations_over_time(catalog),
              "roses": lambda: plot_roses(catalog),
              "quality": lambda: plot_quality_summary(catalog)}
    written = {}
    for key, make in makers.items():
        path = out_dir / CATALOG_FIGURES[key]
        save_figure(make(), path, dpi)
        written[key] = path
    summary_path = out_dir / "quality_summary.csv"
    with atomic_path(summary_path) as tmp:
        quality_summary(catalog).round(2).to_csv(tmp, index=False)
    return written
