"""Faulting classes (Frohlich 1992), the ternary diagram, and the beachball polygons."""
import numpy as np
import pytest
from matplotlib.path import Path as PolygonPath

from focalflow.mechanisms.classify import (classify_mechanisms, class_boundaries, mechanism_axes,
                                ternary_xy)
from focalflow.products.plots.beachball import compressional_polygons, project_takeoff
from hash_core.geometry import ray_vectors, sdr_to_vectors


def test_pure_mechanisms_fall_in_their_class():
    classes = classify_mechanisms([0, 0, 0, 0, 120], [90, 45, 45, 60, 30], [0, 90, -90, -45, 90])
    assert list(classes) == ["strike-slip", "reverse", "normal", "oblique", "reverse"]


def test_classes_follow_frohlichs_plunge_limits():
    rng = np.random.default_rng(3)
    strike, dip, rake = rng.uniform(0, 360, 500), rng.uniform(1, 90, 500), rng.uniform(-180, 180, 500)
    axes = mechanism_axes(strike, dip, rake)
    classes = classify_mechanisms(strike, dip, rake)
    assert np.all(axes["b_plunge"][classes == "strike-slip"] > 60)
    assert np.all(axes["t_plunge"][classes == "reverse"] > 50)
    assert np.all(axes["p_plunge"][classes == "normal"] > 60)
    oblique = classes == "oblique"
    assert np.all((axes["b_plunge"][oblique] <= 60) & (axes["t_plunge"][oblique] <= 50)
                  & (axes["p_plunge"][oblique] <= 60))
    # plunges of three orthogonal axes: sin² sum to one
    total = sum(np.sin(np.radians(axes[f"{a}_plunge"])) ** 2 for a in "ptb")
    assert np.allclose(total, 1.0, atol=1e-9)


def test_missing_angles_give_no_class():
    assert list(classify_mechanisms([10, np.nan], [80, 40], [0, 10])) == ["strike-slip", ""]


def test_ternary_vertices_and_boundaries():
    assert np.allclose(np.ravel(ternary_xy(0, 0, 90)), [0, np.sqrt(2)])
    assert np.allclose(np.ravel(ternary_xy(0, 90, 0)), [np.sqrt(1.5), -np.sqrt(0.5)])
    assert np.allclose(np.ravel(ternary_xy(90, 0, 0)), [-np.sqrt(1.5), -np.sqrt(0.5)])
    # random mechanisms land inside the triangle
    rng = np.random.default_rng(0)
    axes = mechanism_axes(rng.uniform(0, 360, 300), rng.uniform(0, 90, 300),
                          rng.uniform(-180, 180, 300))
    x, y = ternary_xy(axes["p_plunge"], axes["t_plunge"], axes["b_plunge"])
    triangle = PolygonPath(np.array([ternary_xy(0, 0, 90), ternary_xy(0, 90, 0),
                                     ternary_xy(90, 0, 0)])[..., 0])
    assert triangle.contains_points(np.column_stack([x, y]), radius=1e-6).all()
    assert set(class_boundaries()) == {"strike-slip", "reverse", "normal"}


@pytest.mark.parametrize("sdr", [(0, 90, 0), (0, 45, 90), (200, 50, -95), (10, 0.0, 30),
                                 (33, 20, -170), (120, 35, 80), (300, 89.9, 45)])
def test_compressional_polygons_cover_the_compressional_rays(sdr):
    polygons = [PolygonPath(p) for p in compressional_polygons(*sdr, n=180)]
    area = sum(0.5 * abs(np.dot(p.vertices[:, 0], np.roll(p.vertices[:, 1], 1))
                         - np.dot(p.vertices[:, 1], np.roll(p.vertices[:, 0], 1)))
               for p in polygons)
    # a double couple compresses exactly half the focal sphere; equal-area keeps the share
    assert area == pytest.approx(np.pi / 2, rel=2e-3)
    rng = np.random.default_rng(7)
    takeoff, azimuth = rng.uniform(0, 180, 2000), rng.uniform(0, 360, 2000)
    normal, slip = sdr_to_vectors(*sdr)
    rays = ray_vectors(takeoff, azimuth)
    amplitude = (rays @ normal) * (rays @ slip)
    points = np.column_stack(project_takeoff(takeoff, azimuth))
    # away from the nodal lines and from the rim (drawn as chords)
    clear = (np.abs(amplitude) > 0.02) & (np.hypot(*points.T) < 0.98)
    inside = np.any([p.contains_points(points) for p in polygons], axis=0)
    assert np.array_equal(inside[clear], amplitude[clear] > 0)


def test_upgoing_rays_plot_at_their_antipode():
    x_up, y_up = project_takeoff(60.0, 30.0)   # up-going (0 = up)
    x_down, y_down = project_takeoff(120.0, 210.0)
    assert (x_up, y_up) == pytest.approx((x_down, y_down))
    assert np.hypot(*project_takeoff(90.0, 77.0)) == pytest.approx(1.0)
    assert np.hypot(*project_takeoff(180.0, 0.0)) == pytest.approx(0.0)
