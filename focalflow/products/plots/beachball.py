"""Beachballs drawn with matplotlib: lower hemisphere, equal-area (Schmidt) projection.

Coordinates of the projection: unit circle, x east, y north. A ray or axis is given by its
azimuth (degrees clockwise from north) and either its plunge (degrees below horizontal) or its
take-off angle (HASH convention: degrees from vertical UP, 0 = up, 180 = down; up-going rays,
take-off < 90°, are shown at their antipode as usual for lower-hemisphere plots).
Compressional quadrants are those where P first motion is up (outward from the source).

The polygons are built from the two nodal curves and the rim, so thousands of mechanisms fit
in one :class:`~matplotlib.collections.PolyCollection`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import Circle

from hash_core.geometry import auxiliary_plane, pbt_axes, ray_vectors, sdr_to_vectors


def project_vectors(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal-area lower-hemisphere position of unit vectors (..., 3) in (north, east, down)."""
    v = np.asarray(vectors, dtype=float)
    v = np.where(v[..., 2:3] < -1e-9, -v, v)
    scale = 1.0 / np.sqrt(1.0 + np.clip(v[..., 2], 0.0, 1.0))
    return v[..., 1] * scale, v[..., 0] * scale


def project_takeoff(takeoff_deg, azimuth_deg) -> tuple[np.ndarray, np.ndarray]:
    """Equal-area position of rays given HASH take-off (0 = up) and azimuth, degrees."""
    return project_vectors(ray_vectors(takeoff_deg, azimuth_deg))


def project_trend_plunge(trend_deg, plunge_deg) -> tuple[np.ndarray, np.ndarray]:
    """Equal-area position of axes given trend and plunge, degrees."""
    return project_takeoff(90.0 + np.asarray(plunge_deg, dtype=float), trend_deg)


def _plane_vectors(strike_deg, dip_deg) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal strike direction and down-dip direction (..., 3) of planes (north, east, down)."""
    strike, dip = np.radians(np.asarray(strike_deg, dtype=float)), \
        np.radians(np.asarray(dip_deg, dtype=float))
    along = np.stack([np.cos(strike), np.sin(strike), np.zeros_like(strike)], axis=-1)
    down = np.stack([-np.sin(strike) * np.cos(dip), np.cos(strike) * np.cos(dip), np.sin(dip)],
                    axis=-1)
    return along, down


def nodal_curve(strike_deg: float, dip_deg: float, n: int = 91) -> np.ndarray:
    """Points (n, 2) of a plane's lower-hemisphere great circle, from strike to strike + 180°."""
    return nodal_curves([strike_deg], [dip_deg], n)[0]


def nodal_curves(strike_deg, dip_deg, n: int = 91) -> np.ndarray:
    """Points (m, n, 2) of the lower-hemisphere great circles of m planes (:func:`nodal_curve`
    of each, at once)."""
    along, down = _plane_vectors(np.asarray(strike_deg, dtype=float).reshape(-1),
                                 np.asarray(dip_deg, dtype=float).reshape(-1))
    theta = np.linspace(0.0, np.pi, n)[None, :, None]
    x, y = project_vectors(np.cos(theta) * along[:, None, :] + np.sin(theta) * down[:, None, :])
    return np.stack([x, y], axis=-1)


def _mechanism_geometry(strike_deg, dip_deg, rake_deg) -> dict[str, np.ndarray]:
    """Vectors and nodal planes of many mechanisms at once, for :func:`_polygons`."""
    strike = np.atleast_1d(np.asarray(strike_deg, dtype=float))
    dip = np.clip(np.atleast_1d(np.asarray(dip_deg, dtype=float)), 0.01, 90.0)
    rake = np.atleast_1d(np.asarray(rake_deg, dtype=float)).copy()
    normal, slip = sdr_to_vectors(strike, dip, rake)
    b_axis = pbt_axes(normal, slip)[2]
    # B on the rim makes the two nodal curves meet there; a 0.01° nudge keeps them apart.
    rim = np.abs(b_axis[:, 2]) < 1e-4
    if rim.any():
        rake[rim] += 0.01
        normal, slip = sdr_to_vectors(strike, dip, rake)
        b_axis = pbt_axes(normal, slip)[2]
    b_axis = np.where(b_axis[:, 2:3] < 0, -b_axis, b_axis)
    strike2, dip2, _ = (np.atleast_1d(a) for a in auxiliary_plane(strike, dip, rake))
    return {"strike": strike, "dip": dip, "normal": normal, "slip": slip, "b_axis": b_axis,
            "strike2": strike2, "dip2": np.clip(dip2, 0.01, 90.0)}


def _polygons(geometry: dict, i: int, n: int) -> list[np.ndarray]:
    """Compressional polygons of mechanism ``i`` of a :func:`_mechanism_geometry` batch."""
    strikes = np.array([geometry["strike"][i], geometry["strike2"][i]])
    along, down = _plane_vectors(strikes, [geometry["dip"][i], geometry["dip2"][i]])
    b_axis = geometry["b_axis"][i]
    theta_b = np.clip(np.arctan2(down @ b_axis, along @ b_axis), 0.0, np.pi)
    # Each nodal curve runs from its strike (rim) through B to strike + 180° (rim); split at B
    # into four half-curves, each from B to one rim point.
    step = np.linspace(0.0, 1.0, n)
    theta = np.concatenate([theta_b[:, None] * (1 - step),
                            theta_b[:, None] + (np.pi - theta_b[:, None]) * step])  # (4, n)
    plane = np.array([0, 1, 0, 1])
    vectors = np.cos(theta)[..., None] * along[plane][:, None, :] \
        + np.sin(theta)[..., None] * down[plane][:, None, :]
    x, y = project_vectors(vectors)
    ends = sorted(zip(np.concatenate([strikes, strikes + 180.0]) % 360.0, range(4)))
    normal, slip = geometry["normal"][i], geometry["slip"][i]
    polygons = []
    for k in range(4):
        az0, first = ends[k]
        az1, second = ends[(k + 1) % 4]
        span = (az1 - az0) % 360.0
        middle = np.radians(az0 + span / 2)
        ray = np.array([np.cos(middle), np.sin(middle), 0.0])
        if (ray @ normal) * (ray @ slip) <= 0:
            continue
        rim = np.radians(az0 + np.linspace(0.0, span, max(2, int(span / 3))))
        polygons.append(np.vstack([np.column_stack([x[first], y[first]]),
                                   np.column_stack([np.sin(rim), np.cos(rim)]),
                                   np.column_stack([x[second], y[second]])[::-1]]))
    return polygons


def compressional_polygons(strike_deg: float, dip_deg: float, rake_deg: float,
                           n: int = 60) -> list[np.ndarray]:
    """Polygons (each (m, 2), unit circle) of the compressional quadrants of one mechanism."""
    return _polygons(_mechanism_geometry(strike_deg, dip_deg, rake_deg), 0, n)


def add_beachballs(ax, x, y, radius, strike, dip, rake, colors="black", edgecolor="black",
                   linewidth=0.4, aspect: float = 1.0, zorder: float = 3.0,
                   background="white") -> None:
    """Draw many beachballs at data positions ``x``, ``y`` with data radii ``radius``.

    ``aspect`` stretches x (use 1/cos(latitude) on a longitude/latitude map so balls stay round).
    ``colors`` and ``edgecolor`` are one colour or one per mechanism (fill of the
    compressional quadrants; outline).
    """
    x, y, radius, strike, dip, rake = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, dtype=float)) for a in (x, y, radius, strike, dip, rake)))
    colors = [colors] * len(x) if isinstance(colors, str) else list(colors)
    edgecolor = [edgecolor] * len(x) if isinstance(edgecolor, str) else list(edgecolor)
    rim = np.linspace(0.0, 2 * np.pi, 73)
    unit_circle = np.column_stack([np.sin(rim), np.cos(rim)])
    # One collection drawn in order: each ball's disc, fills and outline before the next ball,
    # so overlapping balls stay whole.
    geometry = _mechanism_geometry(strike, dip, rake)
    polygons, faces, edges, widths = [], [], [], []
    for i in range(len(x)):
        scale = np.array([radius[i] * aspect, radius[i]])
        centre = np.array([x[i], y[i]])
        disc = unit_circle * scale + centre
        polygons.append(disc)
        faces.append(background)
        edges.append("none")
        widths.append(0.0)
        for polygon in _polygons(geometry, i, n=24):
            polygons.append(polygon * scale + centre)
            faces.append(colors[i])
            edges.append("none")
            widths.append(0.0)
        polygons.append(disc)
        faces.append("none")
        edges.append(edgecolor[i])
        widths.append(linewidth)
    ax.add_collection(PolyCollection(polygons, facecolors=faces, edgecolors=edges,
                                     linewidths=widths, zorder=zorder))


PROJECTION_NOTE = "lower hemisphere, equal-area projection"


def draw_focal_sphere(ax, strike: float, dip: float, rake: float, color="#c8553d",
                      acceptable: np.ndarray | None = None, axes_labels: bool = True,
                      note: bool = True) -> list[tuple[float, float]]:
    """A large single beachball on ``ax`` (unit circle): fill, nodal lines, P/T axes, and
    the nodal lines of the ``acceptable`` mechanisms ((n, 3) strike, dip, rake) as a cloud;
    ``note`` writes "lower hemisphere, equal-area projection" under the ball. Returns the
    projected positions of the P and T axis markers (so labels can keep clear of them)."""
    ax.set_aspect("equal")
    ax.set_xlim(-1.14, 1.14)
    ax.set_ylim(-1.2 if note else -1.14, 1.14)
    ax.axis("off")
    ax.add_patch(Circle((0, 0), 1.0, facecolor="white", edgecolor="none", zorder=0))
    for polygon in compressional_polygons(strike, dip, rake, n=120):
        ax.fill(polygon[:, 0], polygon[:, 1], color=color, alpha=0.35, lw=0, zorder=1)
    if acceptable is not None and len(acceptable):
        acceptable = np.asarray(acceptable, dtype=float)
        aux = np.column_stack([np.atleast_1d(a) for a in auxiliary_plane(*acceptable.T)])
        planes = np.vstack([acceptable[:, :2], aux[:, :2]])
        lines = nodal_curves(planes[:, 0], planes[:, 1], 61)
        alpha = float(np.clip(8.0 / len(acceptable), 0.05, 0.5))
        ax.add_collection(LineCollection(lines, colors="0.45", linewidths=0.5, alpha=alpha,
                                         zorder=2))
    strike2, dip2, _ = (float(np.asarray(a).reshape(-1)[0]) for a in
                        auxiliary_plane(strike, dip, rake))
    for s, d in ((strike, dip), (strike2, dip2)):
        curve = nodal_curve(s, d, 181)
        ax.plot(curve[:, 0], curve[:, 1], color="black", lw=1.4, zorder=3)
    ax.add_patch(Circle((0, 0), 1.0, facecolor="none", edgecolor="black", lw=1.5, zorder=4))
    ax.plot([0, 0], [1.0, 1.05], color="black", lw=1.2, zorder=4, clip_on=False)
    ax.text(0, 1.065, "N", ha="center", va="bottom", fontsize=10, fontweight="bold")
    if note:
        ax.text(0, -1.05, PROJECTION_NOTE, ha="center", va="top", fontsize=8.5, color="0.3")
    normal, slip = sdr_to_vectors(float(strike), float(dip), float(rake))
    p_axis, t_axis, _ = pbt_axes(normal, slip)
    markers = []
    if axes_labels:
        for vector, label in ((p_axis, "P"), (t_axis, "T")):
            px, py = project_vectors(np.asarray(vector, dtype=float).reshape(3))
            ax.text(px, py, label, ha="center", va="center", fontsize=8.5, fontweight="bold",
                    zorder=6, color="black",
                    bbox=dict(boxstyle="circle,pad=0.12", fc="white", ec="black", lw=0.7))
            markers.append((float(px), float(py)))
    return markers


def beachball_svg(strike: float, dip: float, rake: float, size_px: int = 40,
                  color: str = "#555555", edge: str = "#000000") -> str:
    """A small beachball as an inline SVG element (lower hemisphere, equal area; compressional
    quadrants filled with ``color``), for tables in HTML pages.

    >>> svg = beachball_svg(0.0, 90.0, 0.0, size_px=24)
    >>> svg.startswith("<svg") and svg.count("<path") == 2
    True
    """
    half = size_px / 2.0
    radius = half - 1.0

    def path(polygon: np.ndarray) -> str:
        points = " ".join(f"{half + radius * x:.1f},{half - radius * y:.1f}"
                          for x, y in polygon)
        return f'<path d="M{points}Z" fill="{color}"/>'

    body = "".join(path(p) for p in compressional_polygons(strike, dip, rake, n=24))
    return (f'<svg class="ball" width="{size_px}" height="{size_px}" '
            f'viewBox="0 0 {size_px} {size_px}" role="img" '
            f'aria-label="{strike:.0f}/{dip:.0f}/{rake:.0f}">'
            f'<circle cx="{half}" cy="{half}" r="{radius}" fill="#fff"/>{body}'
            f'<circle cx="{half}" cy="{half}" r="{radius}" fill="none" stroke="{edge}" '
            f'stroke-width="1"/></svg>')
