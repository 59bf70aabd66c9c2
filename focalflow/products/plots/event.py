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
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from focalflow.products.plots.beachball import (PROJECTION_NOTE, compressional_polygons,  # noqa: E402
                                                nodal_curve, nodal_curves, project_takeoff,
                                                project_vectors)
from focalflow.products.plots.glyphs import TextLayer, atlas  # noqa: E402
from focalflow.products.plots.style import rgb_copy, style  # noqa: E402
from hash_core.geometry import auxiliary_plane, pbt_axes, sdr_to_vectors  # noqa: E402

UP_COLOR, DOWN_COLOR, NONE_COLOR = "#c0392b", "#2166ac", "0.55"
FILL_COLOR = "#bdbdbd"


@dataclass
class PWindow:
    """The vertical P window of one station, for :func:`plot_event_waveforms`: its samples
    (the window's units, usually counts), sampling rate (Hz), the times of its first sample and
    of the pick (seconds after any common reference, e.g. the origin), and whether the
    station's recorded polarity is reversed (the reversal table)."""

    label: str
    data: np.ndarray
    rate_hz: float
    start_s: float
    pick_s: float
    reversed: bool = False


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


# The sheet, in inches: title band, ball panel (its crop is beachball.png), row table and traces.
WIDTH_IN, TITLE_IN, BALL_IN, LEGEND_IN, BOTTOM_IN = 14.2, 0.95, 5.6, 0.9, 0.6
ROW_IN, ROWS_PER_CLASS = 0.24, 30
TRACES_X_IN, TRACES_W_IN = 9.05, 2.2
FONT_PT, TITLE_PT = 8.5, 9.0
LEFT_FORMAT = "{:>3}  {:>12}  {:>4}  {:>8}"
RIGHT_FORMAT = "{:>8}  {:<11}  {:>7}  {}"
LEFT_HEADER = LEFT_FORMAT.format("#", "station", "az.", "dist.")
RIGHT_HEADER = RIGHT_FORMAT.format("peak", "CNN up/down", "log S/P", "")
MISFIT_COLOR = "#7f0000"
CLOUD_MAX = 100  # acceptable mechanisms drawn in the cloud (an even sample of more)


class EventSheet:
    """The figure of one event, drawn again and again for event after event: the beachball
    (lower hemisphere, equal area) with every station's polarity at its take-off angle and
    azimuth, misfits crossed, the acceptable mechanisms as a cloud of nodal lines and the P and
    T axes, beside the vertical P windows ordered by azimuth, aligned on the pick (time 0) and
    coloured by the polarity used (the cloud shows at most :data:`CLOUD_MAX` acceptable
    mechanisms, an even sample of more), each row naming the station, its azimuth (°) and epicentral
    distance, the trace's peak amplitude (the window's units, usually counts; each trace is
    scaled to its own peak), the CNN probabilities, log10 S/P where measured, and whether the
    station is reversed or misfit. Stations are numbered alike on the ball and in the rows (or
    named on the ball with ``station_labels``). Traces are shown as ground motion.

    Built once (its static parts are kept as a background image), then :meth:`draw` only
    redraws what changes and writes the text from a glyph atlas: a few hundredths of a second
    per event. :meth:`beachball` crops the title, ball and legend for ``beachball.png``.
    Events with more than 30 stations use a taller sheet (one per multiple of 30).
    """

    def __init__(self, dpi: float = 100.0, before_s: float = 0.15, after_s: float = 0.35,
                 station_labels: bool = False, capacity: int = ROWS_PER_CLASS):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection, PolyCollection
        from matplotlib.figure import Figure

        self.dpi, self.before_s, self.after_s = float(dpi), before_s, after_s
        self.station_labels, self.capacity = station_labels, capacity
        rows_in = max(capacity * ROW_IN, BALL_IN + LEGEND_IN)
        self.height_in = TITLE_IN + rows_in + BOTTOM_IN
        self.glyphs = atlas(FONT_PT, dpi)
        self.title_glyphs = atlas(TITLE_PT, dpi, bold=True)
        with style():
            fig = Figure(figsize=(WIDTH_IN, self.height_in), dpi=dpi)
            FigureCanvasAgg(fig)
            H = self.height_in
            ball = fig.add_axes([0.2 / WIDTH_IN, (H - TITLE_IN - BALL_IN) / H, BALL_IN / WIDTH_IN,
                                 BALL_IN / H])
            self._ball_frame(ball)
            traces = fig.add_axes([TRACES_X_IN / WIDTH_IN, (H - TITLE_IN - capacity * ROW_IN) / H,
                                   TRACES_W_IN / WIDTH_IN, capacity * ROW_IN / H])
            traces.set_xlim(-before_s, after_s)
            traces.set_ylim(-capacity + 0.5, 0.5)
            traces.set_yticks([])
            for side in ("left", "right", "top"):
                traces.spines[side].set_visible(False)
            traces.axvline(0.0, color="0.3", lw=0.6, ls="--")
            traces.set_xlabel("Time from P pick (s); each trace\nscaled to its peak (peak column)",
                              fontsize=8.5)
            self.fig, self.ball, self.traces = fig, ball, traces
            self.fill = ball.add_collection(PolyCollection([], facecolors=FILL_COLOR, alpha=0.35,
                                                           linewidths=0, zorder=1, animated=True))
            self.cloud = ball.add_collection(LineCollection([], colors="0.45", linewidths=0.5,
                                                            zorder=2, animated=True))
            self.planes = ball.add_collection(LineCollection([], colors="black", linewidths=1.4,
                                                             zorder=3, animated=True))
            self.up = ball.scatter([], [], marker="o", facecolors=UP_COLOR, edgecolors="black",
                                   linewidths=0.6, zorder=5, animated=True)
            self.down = ball.scatter([], [], marker="o", facecolors="white",
                                     edgecolors=DOWN_COLOR, linewidths=1.6, zorder=5,
                                     animated=True)
            self.none = ball.scatter([], [], s=18, marker="o", facecolors=NONE_COLOR,
                                     edgecolors="none", zorder=5, animated=True)
            self.misfit = ball.scatter([], [], marker="x", color="black", linewidths=1.6,
                                       zorder=6, animated=True)
            self.axes_labels = [ball.text(0, 0, label, ha="center", va="center", fontsize=8.5,
                                          fontweight="bold", zorder=7, animated=True,
                                          bbox=dict(boxstyle="circle,pad=0.12", fc="white",
                                                    ec="black", lw=0.7))
                                for label in "PT"]
            self.lines = traces.add_collection(LineCollection([], linewidths=0.9, animated=True))
            fig.canvas.draw()
        self._background = fig.canvas.copy_from_bbox(fig.bbox)
        self.rows: list[dict] = []
        self.ball_labels: list[tuple[str, tuple[int, int, int, int]]] = []
        self.markers: list[tuple[float, float]] = []

    # ----------------------------------------------------------------- static parts
    def _px(self, inches: float) -> int:
        return int(round(inches * self.dpi))

    def _ball_frame(self, ax) -> None:
        """The parts of the ball that every event shares (cf. draw_focal_sphere)."""
        ax.set_aspect("equal")
        ax.set_xlim(-1.14, 1.14)
        ax.set_ylim(-1.2, 1.14)
        ax.axis("off")
        ax.add_patch(Circle((0, 0), 1.0, facecolor="white", edgecolor="none", zorder=0))
        ax.add_patch(Circle((0, 0), 1.0, facecolor="none", edgecolor="black", lw=1.5, zorder=4))
        ax.plot([0, 0], [1.0, 1.05], color="black", lw=1.2, zorder=4, clip_on=False)
        ax.text(0, 1.065, "N", ha="center", va="bottom", fontsize=10, fontweight="bold")
        ax.text(0, -1.05, PROJECTION_NOTE, ha="center", va="top", fontsize=8.5, color="0.3")
        handles = [Line2D([], [], ls="", marker="o", mfc=UP_COLOR, mec="black", ms=7,
                          label="up (compression)"),
                   Line2D([], [], ls="", marker="o", mfc="white", mec=DOWN_COLOR, mew=1.6, ms=7,
                          label="down (dilatation)"),
                   Line2D([], [], ls="", marker="o", mfc=NONE_COLOR, mec="none", ms=5,
                          label="undecided (not used)"),
                   Line2D([], [], ls="", marker="x", color="black", mew=1.6, ms=8,
                          label="misfit"),
                   Line2D([], [], color="black", lw=1.4, label="nodal planes"),
                   Line2D([], [], color="0.45", lw=0.8, alpha=0.6, label="acceptable mechanisms")]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
                  fontsize=8, frameon=False, handletextpad=0.3, columnspacing=1.0)

    # ----------------------------------------------------------------- one event
    def draw(self, mechanism: dict, observations: pd.DataFrame, windows: dict[str, PWindow],
             acceptable: np.ndarray | None = None) -> np.ndarray:
        """The sheet of one event as an RGB image (height, width, 3). ``observations`` as in
        the module docstring; ``windows`` maps an observation ``label`` to its P window."""
        strike, dip, rake = (float(mechanism[k]) for k in ("strike", "dip", "rake"))
        self._windows = windows
        canvas = self.fig.canvas
        canvas.restore_region(self._background)
        rows = observations[observations["label"].isin(windows)].copy()
        rows["azimuth"] = rows["azimuth"].astype(float) % 360.0
        rows = rows.sort_values(["azimuth", "label"], kind="stable").reset_index(drop=True)
        rows = rows.iloc[:self.capacity]
        self._ball(strike, dip, rake, acceptable, observations)
        for artist in (self.fill, self.cloud, self.planes, self.none, self.up, self.down,
                       self.misfit, *self.axes_labels):
            self.ball.draw_artist(artist)
        self._traces(rows, windows)
        self.traces.draw_artist(self.lines)
        rgb = rgb_copy(np.asarray(canvas.buffer_rgba()))
        self._write_text(TextLayer(rgb), mechanism, rows, observations)
        return rgb

    def beachball(self, rgb: np.ndarray) -> np.ndarray:
        """The title, ball and legend of a drawn sheet (``beachball.png``)."""
        return rgb[:self._px(TITLE_IN + BALL_IN + LEGEND_IN), :self._px(6.0)]

    def _ball(self, strike, dip, rake, acceptable, observations) -> None:
        self.fill.set_verts(compressional_polygons(strike, dip, rake, n=120))
        lines = []
        if acceptable is not None and len(acceptable):
            acceptable = np.asarray(acceptable, dtype=float)
            alpha = float(np.clip(8.0 / len(acceptable), 0.05, 0.5))
            if len(acceptable) > CLOUD_MAX:  # an even sample: the cloud's shape, at its cost
                acceptable = acceptable[np.linspace(0, len(acceptable) - 1, CLOUD_MAX).astype(int)]
                alpha = float(np.clip(8.0 / CLOUD_MAX, 0.05, 0.5))
            aux = np.column_stack([np.atleast_1d(a) for a in auxiliary_plane(*acceptable.T)])
            planes = np.vstack([acceptable[:, :2], aux[:, :2]])
            lines = nodal_curves(planes[:, 0], planes[:, 1], 41)
            self.cloud.set_alpha(alpha)
        self.cloud.set_segments(lines)
        strike2, dip2, _ = (float(np.asarray(a).reshape(-1)[0]) for a in
                            auxiliary_plane(strike, dip, rake))
        self.planes.set_segments([nodal_curve(strike, dip, 181), nodal_curve(strike2, dip2, 181)])
        normal, slip = sdr_to_vectors(strike, dip, rake)
        p_axis, t_axis, _ = pbt_axes(normal, slip)
        self.markers = []
        for text, vector in zip(self.axes_labels, (p_axis, t_axis)):
            x, y = project_vectors(np.asarray(vector, dtype=float).reshape(3))
            text.set_position((float(x), float(y)))
            self.markers.append((float(x), float(y)))
        x, y = project_takeoff(observations["takeoff"].to_numpy(float),
                               observations["azimuth"].to_numpy(float))
        polarity = observations["polarity"].to_numpy(float)
        weight = np.clip(np.nan_to_num(observations.get(
            "weight", pd.Series(1.0, index=observations.index)).to_numpy(float), nan=1.0), 0.2, 1.0)
        size = 30 + 60 * weight
        misfit = observations.get("misfit", pd.Series(False, index=observations.index)) \
            .fillna(False).to_numpy(bool)
        xy = np.column_stack([x, y])
        for artist, mask, sizes in ((self.up, polarity > 0, size), (self.down, polarity < 0, size),
                                    (self.none, polarity == 0, None),
                                    (self.misfit, misfit, size * 1.9)):
            artist.set_offsets(xy[mask] if mask.any() else np.zeros((0, 2)))
            if sizes is not None:
                artist.set_sizes(sizes[mask])

    def _traces(self, rows: pd.DataFrame, windows: dict[str, PWindow]) -> None:
        segments, colors = [], []
        for index, row in rows.iterrows():
            times, values, _ = window_samples(windows[row["label"]], self.before_s, self.after_s)
            segments.append(np.column_stack([times, values * 0.42 - float(index)]))
            colors.append(UP_COLOR if row["polarity"] > 0 else DOWN_COLOR if row["polarity"] < 0
                          else NONE_COLOR)
        self.lines.set_segments(segments)
        self.lines.set_colors(colors)

    def _write_text(self, layer: TextLayer, mechanism: dict, rows: pd.DataFrame,
                    observations: pd.DataFrame) -> None:
        """Title, column headers, station numbers (or names) on the ball and the rows' text."""
        bold = atlas(FONT_PT, self.dpi, bold=True)
        header_y = self._px(TITLE_IN) - bold.height / 2 - 2
        layer.put(bold, LEFT_HEADER, self._px(TRACES_X_IN - 0.1), header_y, ha="right")
        layer.put(bold, RIGHT_HEADER, self._px(TRACES_X_IN + TRACES_W_IN + 0.1), header_y)
        for k, line in enumerate(title_lines(mechanism)):
            layer.put(self.title_glyphs, line, self._px(0.25),
                      self._px(0.12) + k * (self.title_glyphs.height + 3), va="top")
        numbers = {label: str(k + 1) for k, label in enumerate(rows["label"])}
        self.ball_labels = []
        texts = observations["label"].astype(str).tolist() if self.station_labels else \
            [numbers.get(label, "") for label in observations["label"]]
        if any(texts):
            x, y = project_takeoff(observations["takeoff"].to_numpy(float),
                                   observations["azimuth"].to_numpy(float))
            directions = _label_directions(x, y, self.markers)
            pixels = self.ball.transData.transform(np.column_stack([x, y]))
            top = self.fig.bbox.height
            offset = LABEL_OFFSET_PT * self.dpi / 72.0
            for (px, py), (dx, dy), text in zip(pixels, directions, texts):
                if text:
                    box = layer.put(self.glyphs, text, px + offset * dx, top - py - offset * dy,
                                    color="0.1",
                                    ha="left" if dx > 0.38 else "right" if dx < -0.38 else "center",
                                    va="top" if dy < -0.38 else "bottom" if dy > 0.38 else "center")
                    self.ball_labels.append((text, box))
        self.rows = []
        pitch = self._px(ROW_IN)
        rows_top = self._px(TITLE_IN)
        for index, row in rows.iterrows():
            window = self._window_of(row)
            _, _, peak = window_samples(window, self.before_s, self.after_s)
            prob_up, prob_down = row.get("prob_up", np.nan), row.get("prob_down", np.nan)
            sp_ratio, distance = row.get("sp_ratio", np.nan), row.get("distance_km", np.nan)
            flags = " ".join(name for name, on in (("reversed", window.reversed),
                                                    ("misfit", bool(row.get("misfit", False))))
                             if on)
            cells = {"number": str(index + 1), "label": str(row["label"]),
                     "azimuth": f"{row['azimuth']:.0f}°",
                     "distance": f"{distance:.1f} km" if pd.notna(distance) else "–",
                     "peak": _amplitude(peak),
                     "cnn": f"{prob_up:.2f} / {prob_down:.2f}" if pd.notna(prob_up)
                     and pd.notna(prob_down) else "–",
                     "sp": f"{sp_ratio:.2f}" if pd.notna(sp_ratio) else "–", "flags": flags}
            self.rows.append(cells)
            color = MISFIT_COLOR if "misfit" in flags else "black"
            y = rows_top + (index + 0.5) * pitch
            layer.put(self.glyphs, LEFT_FORMAT.format(cells["number"], cells["label"],
                                                      cells["azimuth"], cells["distance"]),
                      self._px(TRACES_X_IN - 0.1), y, color=color, ha="right")
            layer.put(self.glyphs, RIGHT_FORMAT.format(cells["peak"], cells["cnn"], cells["sp"],
                                                       flags),
                      self._px(TRACES_X_IN + TRACES_W_IN + 0.1), y, color=color)
        if not len(rows):
            layer.put(self.glyphs, "no P windows found",
                      self._px(TRACES_X_IN + TRACES_W_IN / 2), rows_top + pitch, ha="center")

    def _window_of(self, row) -> PWindow:
        return self._windows[row["label"]]


def title_lines(mechanism: dict) -> list[str]:
    """The title of an event's figures: event, time, magnitude; mechanism and quality (and the
    multiple-solution flag); misfit and uncertainty."""
    first, second = mechanism_title(mechanism).split("\n")
    parts = second.split("  ·  ")
    return [first, "  ·  ".join(parts[:2]), "  ·  ".join(parts[2:])]


_SHEETS: dict[tuple, EventSheet] = {}


def event_sheet(rows: int, dpi: float = 100.0, before_s: float = 0.15, after_s: float = 0.35,
                station_labels: bool = False) -> EventSheet:
    """The (reused) sheet for an event with ``rows`` P windows."""
    capacity = ROWS_PER_CLASS * max(1, -(-rows // ROWS_PER_CLASS))
    key = (float(dpi), before_s, after_s, station_labels, capacity)
    if key not in _SHEETS:
        _SHEETS[key] = EventSheet(dpi, before_s, after_s, station_labels, capacity)
    return _SHEETS[key]


def draw_event(mechanism: dict, observations: pd.DataFrame, windows: dict[str, PWindow],
               acceptable: np.ndarray | None = None, dpi: float = 100.0, before_s: float = 0.15,
               after_s: float = 0.35, station_labels: bool = False) -> tuple[np.ndarray, EventSheet]:
    """One event's sheet image (RGB) and the sheet that drew it (see :class:`EventSheet`)."""
    count = int(observations["label"].isin(windows).sum())
    sheet = event_sheet(count, dpi, before_s, after_s, station_labels)
    return sheet.draw(mechanism, observations, windows, acceptable), sheet


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
    delta = 1.0 / window.rate_hz
    pick = window.pick_s - window.start_s  # seconds from the first sample
    first = max(int(np.floor((pick - before_s) / delta)), 0)
    last = min(int(np.ceil((pick + after_s) / delta)) + 1, len(window.data))
    values = np.asarray(window.data[first:last], dtype=float)
    times = (first + np.arange(len(values))) * delta - pick
    if not len(values):
        return times, values, np.nan
    before = values[times < 0]
    values = values - (before.mean() if len(before) else values.mean())
    peak = float(np.abs(values).max())
    values = values / peak if peak > 0 else values
    return times, -values if window.reversed else values, peak
