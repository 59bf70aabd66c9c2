"""hash_core geometry: strike/dip/rake <-> vectors, nodal planes, P/T/B axes, Kagan angle."""
import numpy as np
import pytest

import hash_core as hc


def random_sdr(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform([0, 1, -179], [359, 89, 179], size=(n, 3))


def test_round_trip_strike_dip_rake():
    sdr = random_sdr(500)
    normal, slip = hc.sdr_to_vectors(*sdr.T)
    assert np.allclose(np.linalg.norm(normal, axis=1), 1) and np.allclose(np.sum(normal * slip, axis=1), 0)
    back = np.column_stack(hc.vectors_to_sdr(normal, slip))
    assert np.allclose(back, sdr, atol=1e-9)
    # (-n, -s) is the same fault: same strike/dip/rake
    assert np.allclose(np.column_stack(hc.vectors_to_sdr(-normal, -slip)), sdr, atol=1e-9)


def test_known_vectors_north_south_striking_thrust():
    normal, slip = hc.sdr_to_vectors(0, 45, 90)  # strikes north, dips east, pure thrust
    assert np.allclose(normal, [0, np.sqrt(0.5), -np.sqrt(0.5)])
    assert np.allclose(slip, [0, -np.sqrt(0.5), -np.sqrt(0.5)])  # hanging wall moves up-dip (west, up)


def test_auxiliary_plane_of_known_mechanisms():
    assert np.allclose([float(v) for v in hc.auxiliary_plane(0, 45, 90)], [180, 45, 90])
    # a vertical plane has two equivalent descriptions: (270, 90, 180) is (90, 90, 0) flipped
    aux = [float(v) for v in hc.auxiliary_plane(0, 90, 0)]
    assert aux[1] == pytest.approx(90) and aux[0] % 180 == pytest.approx(90)
    assert float(hc.kagan_angle([0, 90, 0], aux)) == pytest.approx(0, abs=1e-5)
    sdr = random_sdr(200, seed=1)
    aux = np.column_stack(hc.auxiliary_plane(*sdr.T))
    twice = np.column_stack(hc.auxiliary_plane(*aux.T))
    assert np.allclose(twice, sdr, atol=1e-8)
    assert np.allclose(hc.kagan_angle(sdr, aux), 0, atol=1e-5)  # same double couple


def test_p_t_b_axes_of_thrust_and_strike_slip():
    p, t, b = hc.pbt_axes(*hc.sdr_to_vectors(0, 45, 90))
    trend, plunge = hc.axis_trend_plunge(np.array([p, t, b]))
    assert plunge[0] == pytest.approx(0, abs=1e-9) and trend[0] % 180 == pytest.approx(90)
    assert plunge[1] == pytest.approx(90)
    assert plunge[2] == pytest.approx(0, abs=1e-9) and trend[2] % 180 == pytest.approx(0, abs=1e-9)
    p, t, _ = hc.pbt_axes(*hc.sdr_to_vectors(0, 90, 0))  # left-lateral on a north-striking plane
    p_trend, p_plunge = hc.axis_trend_plunge(p)
    t_trend, _ = hc.axis_trend_plunge(t)
    assert float(p_plunge) == pytest.approx(0, abs=1e-9)
    assert {round(float(p_trend)) % 180, round(float(t_trend)) % 180} == {135, 45}


def test_moment_tensor_is_traceless_and_gives_p_radiation():
    normal, slip = hc.sdr_to_vectors(30, 60, -45)
    m = hc.moment_tensor(normal, slip)
    assert np.trace(m) == pytest.approx(0, abs=1e-12)
    ray = hc.ray_vectors(70, 200)
    assert ray @ m @ ray == pytest.approx(2 * (ray @ normal) * (ray @ slip))


def test_kagan_angle_identical_rotated_and_symmetric():
    sdr = random_sdr(50, seed=2)
    assert np.allclose(hc.kagan_angle(sdr, sdr), 0, atol=1e-5)
    # a rake change is a rotation about the fault normal by that angle
    turned = sdr + np.array([0, 0, 20.0])
    assert np.allclose(hc.kagan_angle(sdr, turned), 20, atol=1e-6)
    other = random_sdr(50, seed=3)
    k = hc.kagan_angle(sdr, other)
    assert np.allclose(k, hc.kagan_angle(other, sdr)) and np.all(k <= 120 + 1e-9)


def test_rotation_angle_returns_aligned_form():
    n1, s1 = hc.sdr_to_vectors(10, 40, 80)
    n2, s2 = hc.sdr_to_vectors(*[float(v) for v in hc.auxiliary_plane(12, 41, 79)])
    angle, n_aligned, s_aligned = hc.rotation_angle(n1, s1, n2, s2, return_aligned=True)
    assert float(angle) < 5
    assert n_aligned @ n1 > 0.99 and s_aligned @ s1 > 0.99


def test_flat_distance_azimuth_in_hash_single_precision():
    distance, azimuth = hc.flat_distance_azimuth(34.0, -118.0, [34.1, 34.0], [-118.0, -117.9])
    assert distance[0] == pytest.approx(11.12, abs=1e-3)
    assert azimuth[0] == pytest.approx(0) and azimuth[1] == pytest.approx(90)
    # HASH's drivers compute in REAL*4: the result is the single-precision value
    f32 = np.float32
    dy = (f32(34.1) - f32(34.0)) * f32(111.2)
    assert distance[0] == float(dy)
