"""The figures as a reader sees them: labelled, uncluttered, nothing hidden."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from focalflow.mechanisms.catalog import add_derived_columns  # noqa: E402
from focalflow.products.plots.catalog import plot_mechanism_map, plot_roses  # noqa: E402
from focalflow.products.plots.event import PWindow, draw_event  # noqa: E402

MECHANISM = {"event_id": "e1", "time": "2024-05-06T02:52:30Z", "mag": 1.5, "strike": 134.0,
             "dip": 43.0, "rake": -94.0, "quality": "A", "polarity_misfit": 7.4,
             "fault_plane_uncertainty": 22.0, "mult_solution_flag": "True"}


def observations(count: int = 24) -> pd.DataFrame:
    """Stations all around the ball, some right on the P axis (plunge ~87°)."""
    rng = np.random.default_rng(4)
    azimuth = np.linspace(0, 360, count, endpoint=False)
    takeoff = rng.uniform(100, 175, count)
    takeoff[:3] = [178.0, 177.0, 176.0]  # near the centre, where the P axis of this normal fault is
    return pd.DataFrame({"label": [f"XX.S{k:02d}" for k in range(count)], "network": "XX",
                         "station": [f"S{k:02d}" for k in range(count)], "takeoff": takeoff,
                         "azimuth": azimuth, "distance_km": np.linspace(3, 120, count),
                         "polarity": np.where(np.arange(count) % 2, 1.0, -1.0), "weight": 1.0,
                         "misfit": np.arange(count) == 5, "sp_ratio": np.nan,
                         "prob_up": 0.9, "prob_down": 0.1})


def windows_for(obs: pd.DataFrame) -> dict:
    windows = {}
    for k, label in enumerate(obs["label"]):
        data = np.zeros(400)
        data[200:210] = (k + 1) * 100.0  # peak amplitude (k + 1) * 100
        windows[label] = PWindow(label, data, rate_hz=100.0, start_s=-2.0, pick_s=0.0)
    return windows


def overlaps(a, b) -> bool:
    """Two pixel boxes (x0, y0, x1, y1) sharing more than a few pixels."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width > 0 and height > 0 and width * height > 4


def test_station_labels_on_the_ball_keep_off_the_p_and_t_axes():
    obs = observations()
    rgb, sheet = draw_event(MECHANISM, obs, windows_for(obs), station_labels=True)
    assert [text for text, _ in sheet.ball_labels] == list(obs["label"])
    radius = 6
    markers = [(x - radius, y - radius, x + radius, y + radius) for x, y in (
        (px, sheet.fig.bbox.height - py) for px, py in
        sheet.ball.transData.transform(sheet.markers))]
    assert len(markers) == 2
    assert not [m for m in markers for _, box in sheet.ball_labels if overlaps(m, box)]
    ball = sheet.beachball(rgb)
    assert ball.shape[0] < rgb.shape[0] and ball.shape[1] < rgb.shape[1]
    assert (ball < 128).any(axis=-1).mean() > 0.01          # drawn, not blank


def test_waveform_rows_are_ordered_by_azimuth_with_distance_and_amplitude():
    obs = observations(6).sample(frac=1.0, random_state=1)  # any order in
    rgb, sheet = draw_event(MECHANISM, obs, windows_for(obs))
    assert [row["label"] for row in sheet.rows] == [f"XX.S{k:02d}" for k in range(6)]
    for row in obs.itertuples():
        shown = next(r for r in sheet.rows if r["label"] == row.label)
        assert shown["azimuth"] == f"{row.azimuth:.0f}°"
        assert shown["distance"] == f"{row.distance_km:.1f} km"
    peaks = {label: f"{(k + 1) * 100}" for k, label in enumerate(obs["label"])}  # each trace's
    assert [row["peak"] for row in sheet.rows] == [peaks[row["label"]] for row in sheet.rows]
    assert [row["flags"] for row in sheet.rows] == ["", "", "", "", "", "misfit"]
    numbers = sorted((text for text, _ in sheet.ball_labels), key=int)
    assert numbers == [str(k + 1) for k in range(6)]
    again, _ = draw_event(MECHANISM, obs, windows_for(obs))   # the reused sheet: same image
    np.testing.assert_array_equal(again, rgb)


def test_an_event_with_many_stations_gets_a_taller_sheet():
    few = observations(6)
    many = observations(45)
    small, _ = draw_event(MECHANISM, few, windows_for(few))
    tall, sheet = draw_event(MECHANISM, many, windows_for(many))
    assert tall.shape[0] > small.shape[0] and len(sheet.rows) == 45


def catalog_frame(qualities: str) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = len(qualities)
    return add_derived_columns(pd.DataFrame({
        "event_id": [f"e{k}" for k in range(n)], "origin_lat": 36.0 + rng.normal(0, 0.01, n),
        "origin_lon": -117.6 + rng.normal(0, 0.01, n), "origin_depth_km": 8.0,
        "mag": rng.uniform(1, 3, n), "strike": rng.uniform(0, 360, n),
        "dip": rng.uniform(20, 90, n), "rake": rng.uniform(-180, 180, n),
        "quality": list(qualities), "time": ""}))


def test_map_zooms_in_a_panel_that_hides_no_station_and_shades_low_quality():
    stations = pd.DataFrame({"network": "XX", "station": [f"S{k}" for k in range(12)],
                             "latitude": 36.0 + 0.8 * np.sin(np.arange(12)),
                             "longitude": -117.6 + 0.9 * np.cos(np.arange(12))})
    fig = plot_mechanism_map(catalog_frame("AABBCCDDEF"), stations)
    main, zoom = fig.axes
    x0, x1 = main.get_xlim()
    y0, y1 = main.get_ylim()
    assert stations["longitude"].between(x0, x1).all() and stations["latitude"].between(y0, y1).all()
    assert zoom.get_xlim()[1] - zoom.get_xlim()[0] < 0.25 * (x1 - x0)
    main_box, zoom_box = main.get_position(), zoom.get_position()
    assert zoom_box.x0 >= main_box.x1  # beside the map, not over it
    legend = [t.get_text() for t in main.get_legend().get_texts()]
    assert {"quality A–B", "quality C–D", "quality E–F"} <= set(legend)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in (main, zoom):
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert not [a for a, b in zip(boxes, boxes[1:]) if a.overlaps(b)]
    plt.close(fig)
    only_a = plot_mechanism_map(catalog_frame("AAAA"), stations)
    assert not [t for t in only_a.axes[0].get_legend().get_texts() if "quality" in t.get_text()]
    plt.close(only_a)


def test_rose_counts_are_whole_numbers():
    fig = plot_roses(catalog_frame("AAAAAAA"))
    fig.canvas.draw()
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert labels and all(label.isdigit() for label in labels), labels
    plt.close(fig)


def test_png_writer_round_trips_the_pixels_of_a_drawn_sheet(tmp_path):
    from PIL import Image

    from focalflow.products.plots.style import rgb_copy, write_png

    rgba = np.random.default_rng(4).integers(0, 256, (37, 53, 4), dtype=np.uint8)
    rgb = rgb_copy(rgba)
    assert rgb.flags["C_CONTIGUOUS"] and np.array_equal(rgb, rgba[..., :3])
    path = write_png(tmp_path / "sheet.png", rgb, dpi=150)
    with Image.open(path) as image:
        assert image.mode == "RGB" and image.info["dpi"] == pytest.approx((150, 150), abs=0.05)
        assert np.array_equal(np.asarray(image), rgb)


@pytest.mark.parametrize("text_x", [0.5, 0.995, 1.05])
def test_saved_figures_are_cropped_like_matplotlibs_tight_bounding_box(tmp_path, text_x):
    """Text in the middle, at the canvas edge (only the 0.1-inch margin runs off: padded
    with white) and beyond it (drawn again): the size matplotlib's tight box gives."""
    from PIL import Image

    from focalflow.products.plots.style import save_figure

    def figure():
        fig, ax = plt.subplots(figsize=(3.0, 2.0))
        ax.plot([0, 1], [0, 1])
        fig.text(text_x, 0.5, "edge", ha="right" if text_x < 1.01 else "left")
        return fig

    save_figure(figure(), tmp_path / "ours.png", 100)
    figure().savefig(tmp_path / "theirs.png", dpi=100, bbox_inches="tight", pad_inches=0.1)
    with Image.open(tmp_path / "ours.png") as ours, Image.open(tmp_path / "theirs.png") as theirs:
        assert abs(ours.width - theirs.width) <= 1 and abs(ours.height - theirs.height) <= 1
        pixels = np.asarray(ours.convert("RGB"))
    assert (pixels[:, -3:] == 255).all() and (pixels[-3:] == 255).all()  # white margins
    assert (pixels < 128).any()  # something was drawn
    plt.close("all")


def test_text_is_blended_by_glyph_coverage_and_clipped_at_the_image_edge():
    """Each pixel under a line of text becomes (background x (255 - coverage) + ink x
    coverage) / 255, rounded; a line that runs off the image is cut there."""
    from focalflow.products.plots.glyphs import TextLayer, atlas

    glyphs = atlas(8.0, 150)
    background = np.random.default_rng(5).integers(0, 256, (40, 90, 3), dtype=np.uint8)
    layer = TextLayer(background.copy())
    text = "ST12 -0.73°"
    x0, y0, x1, y1 = layer.put(glyphs, text, 30, 20, color="#1a64c8")
    assert (x1 - x0, y1 - y0) == (glyphs.width(text), glyphs.height) and x1 > 90  # runs off
    coverage = glyphs.line(text)[:, :90 - x0].astype(np.int64)[..., None]
    ink = np.array([0x1a, 0x64, 0xc8])
    under = background[y0:y1, x0:].astype(np.int64)
    expected = background.copy()
    expected[y0:y1, x0:] = (under * (255 - coverage) + ink * coverage + 127) // 255
    assert np.array_equal(layer.rgb, expected)
    assert not np.array_equal(layer.rgb, background)
