"""The demo's own radiation pattern and TauP rays, checked against independent formulas."""
import numpy as np
import pytest

from focalflow.demo.radiation import auxiliary_plane, radiation
from focalflow.demo.traveltimes import DemoTravelTimes, named_discontinuity_model, read_velocity_model


def aki_richards_4_89(strike, dip, rake, takeoff, azimuth):
    """P, SV, SH radiation of Aki & Richards (2002) eq. 4.89 (angles in degrees)."""
    s, d, r = np.radians([strike, dip, rake])
    i, phi = np.radians(takeoff), np.radians(azimuth) - s
    p = (np.cos(r) * np.sin(d) * np.sin(i) ** 2 * np.sin(2 * phi)
         - np.cos(r) * np.cos(d) * np.sin(2 * i) * np.cos(phi)
         + np.sin(r) * np.sin(2 * d) * (np.cos(i) ** 2 - np.sin(i) ** 2 * np.sin(phi) ** 2)
         + np.sin(r) * np.cos(2 * d) * np.sin(2 * i) * np.sin(phi))
    sv = (np.sin(r) * np.cos(2 * d) * np.cos(2 * i) * np.sin(phi)
          - np.cos(r) * np.cos(d) * np.cos(2 * i) * np.cos(phi)
          + 0.5 * np.cos(r) * np.sin(d) * np.sin(2 * i) * np.sin(2 * phi)
          - 0.5 * np.sin(r) * np.sin(2 * d) * np.sin(2 * i) * (1 + np.sin(phi) ** 2))
    sh = (np.cos(r) * np.cos(d) * np.cos(i) * np.sin(phi)
          + np.cos(r) * np.sin(d) * np.sin(i) * np.cos(2 * phi)
          + np.sin(r) * np.cos(2 * d) * np.cos(i) * np.cos(phi)
          - 0.5 * np.sin(r) * np.sin(2 * d) * np.sin(i) * np.sin(2 * phi))
    return p, sv, sh


def test_radiation_matches_aki_richards_for_random_mechanisms_and_rays():
    rng = np.random.default_rng(1)
    for _ in range(20):
        strike, dip, rake = rng.uniform(0, 360), rng.uniform(1, 89), rng.uniform(-180, 180)
        takeoff, azimuth = rng.uniform(0, 180, 50), rng.uniform(0, 360, 50)
        ours = radiation(strike, dip, rake, takeoff, azimuth)
        for mine, reference in zip(ours, aki_richards_4_89(strike, dip, rake, takeoff, azimuth)):
            np.testing.assert_allclose(mine, reference, atol=1e-12)


def test_thrust_compresses_straight_down_and_auxiliary_plane_radiates_the_same():
    p, _, _ = radiation(0.0, 45.0, 90.0, np.array([0.0]), np.array([0.0]))
    assert p[0] == pytest.approx(1.0)  # a 45-degree thrust: pure compression below the source
    strike2, dip2, rake2 = auxiliary_plane(30.0, 60.0, -70.0)
    takeoff, azimuth = np.linspace(5, 175, 30), np.linspace(0, 350, 30)
    np.testing.assert_allclose(radiation(30.0, 60.0, -70.0, takeoff, azimuth)[0],
                               radiation(strike2, dip2, rake2, takeoff, azimuth)[0], atol=1e-9)


@pytest.fixture(scope="module")
def travel_times(repo_dir):
    return DemoTravelTimes(repo_dir / "velocity" / "demo.txt")


def test_taup_rays_on_the_demo_model(travel_times, repo_dir):
    depth, vp = read_velocity_model(repo_dir / "velocity" / "demo.txt")
    assert "mantle" in named_discontinuity_model(depth, vp)
    (p_near, s_near), (p_far, s_far) = travel_times.first_arrivals(10.0, [0.001, 0.9])
    assert p_near.takeoff_deg > 175  # a station above the source: the ray leaves straight up
    assert p_near.time_s == pytest.approx(np.trapezoid(1 / np.interp(np.linspace(0, 10, 1001), depth, vp),
                                                       np.linspace(0, 10, 1001)), abs=0.02)
    assert s_near.time_s == pytest.approx(1.73 * p_near.time_s, rel=1e-3)
    assert p_far.takeoff_deg < 90  # 100 km away the first P dives into the faster crust below
    assert 100 / 8.0 < p_far.time_s < 100 / 5.0
