"""hash_core numerics: grid, ray tracing, random streams, misfit limits, MECH_PROB, gaps, grades."""
import numpy as np
import pytest

import hash_core as hc
from hash_core.focal import (focal_mechanism, perturb_given_angles,
                             takeoffs_for_trials, trial_depths)
from hash_core.fortran import misfit_allowances, nint, sp_allowances
from hash_core.grid import mechanism_grid
from hash_core.params import HashParams
from hash_core.raytrace import lookup_takeoff, takeoff_table
from hash_core.rng import HashStream, make_rng
from hash_core.search import predicted_log_sp, search_polarities, search_polarities_sp
from hash_core.solution import (azimuth_takeoff_gaps, mech_average, mech_probability,
                                polarity_misfit, quality_grade)


@pytest.mark.parametrize("dang, size", [(10, 4032), (7, 10426), (5, 31032), (3, 141180)])
def test_grid_sizes(dang, size):
    grid = mechanism_grid(dang)
    assert len(grid) == size
    assert np.allclose(np.sum(grid.normal * grid.slip, axis=1), 0, atol=1e-6)
    assert np.all(grid.normal[:, 2] >= -1e-7)  # normals on the lower hemisphere


def test_fortran_rounding_of_misfit_allowances():
    assert nint(2.5) == 3 and nint(-2.5) == -3 and round(2.5) == 2
    assert misfit_allowances(50, 0.1, 2) == (5, 3)  # 0.5*50*0.1 = 2.5 rounds up as in Fortran
    assert misfit_allowances(10, 0.1, 2) == (2, 2)
    assert sp_allowances(20, 0.3, 2) == (pytest.approx(6.0), pytest.approx(3.0))
    assert sp_allowances(3, 0.3, 2) == (2.0, 2.0)


def test_half_space_takeoffs_match_straight_rays():
    table = takeoff_table([0.0, 100.0], [6.0, 6.0])
    distance = np.array([2.0, 10.0, 30.0, 90.0])
    takeoff, time = lookup_takeoff(table, distance, 12.0)
    assert np.allclose(takeoff, np.degrees(np.arctan2(distance, 12.0)), atol=0.15)
    assert np.allclose(time, np.hypot(distance, 12.0) / 6.0, atol=2e-3)
    # HASH's table holds 0 ("missing") at distance 0: its lookup extrapolates below 2 km
    assert table.takeoff_deg[:, 0].tolist() == [0.0] * 14
    near, _ = lookup_takeoff(table, [0.0, 0.5], 12.0)
    assert np.allclose(near, np.degrees(np.arctan2([0.0, 0.5], 12.0)), atol=0.5)


def test_gradient_model_has_turning_rays_and_rejects_deep_sources():
    table = takeoff_table([0.0, 10.0, 30.0, 60.0], [5.0, 6.0, 6.8, 8.0])
    takeoff, _ = lookup_takeoff(table, [5.0, 150.0], 15.0)
    assert takeoff[0] < 90 < takeoff[1]  # near: up-going; far: down-going, turning
    far, _ = lookup_takeoff(table, np.arange(0, 200, 10.0), 9.0)
    assert np.all(np.diff(far) >= -1e-6)  # take-off grows with distance
    outside, _ = lookup_takeoff(table, 20.0, [45.0, -1.0, np.nan])
    assert np.all(np.isnan(outside))


def test_hash_stream_is_hash_lcg():
    stream = HashStream()
    j, expected = 314159, []
    for _ in range(24):
        j = (2311 * j + 25367) % 120050
        expected.append(j / 120050)
    normals = stream.normal(2)
    assert normals == pytest.approx([sum(expected[:12]) - 6, sum(expected[12:]) - 6], abs=1e-5)
    first = HashStream().subset(1000, 10)
    assert len(set(first.tolist())) == 10 and first[0] == int(16806 / 2147483646 * 1000)
    assert np.array_equal(make_rng("numpy", 3).normal(5), make_rng("numpy", 3).normal(5))
    with pytest.raises(ValueError):
        make_rng("fortran")


def test_driver_perturbations_keep_trial_one_and_draw_in_order():
    takeoff, azimuth = perturb_given_angles([100.0, 60.0], [10.0, 200.0], [10.0, 5.0],
                                            [1.0, 2.0], 4, HashStream())
    deviates = HashStream().normal(2 * 3 * 2).reshape(2, 3, 2)  # station, trial, (az, takeoff)
    assert takeoff[:, 0].tolist() == [100.0, 60.0] and azimuth[:, 0].tolist() == [10.0, 200.0]
    assert np.allclose(azimuth[1, 1:], 200.0 + 2.0 * deviates[1, :, 0])
    assert np.allclose(takeoff[0, 1:], 100.0 + 10.0 * deviates[0, :, 1])
    # HASH's catalog sigma 0 means "unknown": 1 km; SKHASH's means an exact depth
    assert HashParams().depth_sigma_km(0.0) == 1.0 and HashParams().depth_sigma_km("") == 1.0
    assert HashParams(zero_depth_uncert_exact=True).depth_sigma_km(0.0) == 0.0
    depths, models = trial_depths(10.0, 1.0, 5, 3, HashStream())
    assert depths[0] == 10.0 and np.allclose(depths[1:], 10.0 + HashStream().normal(4))
    assert models.tolist() == [0, 2, 0, 1, 2]
    assert np.all(trial_depths(10.0, 0.0, 5, 3, HashStream())[0] == 10.0)
    table = takeoff_table([0.0, 40.0], [6.0, 6.0])
    takeoff, azimuth = takeoffs_for_trials([10.0, 20.0], [30.0, 40.0], 6.0, 0.5, [table], 5,
                                           HashStream())
    assert takeoff.shape == (2, 5) and np.all(azimuth[1] == 40.0)
    with pytest.raises(ValueError, match="outside"):
        takeoffs_for_trials([10.0], [30.0], 80.0, 0.5, [table], 5, HashStream())


def synthetic_event(sdr, n=40, seed=0):
    rng = np.random.default_rng(seed)
    takeoff = np.degrees(np.arccos(rng.uniform(-0.9, 0.9, n)))
    azimuth = rng.uniform(0, 360, n)
    normal, slip = hc.sdr_to_vectors(*sdr)
    rays = hc.ray_vectors(takeoff, azimuth)
    polarity = np.where(2 * (rays @ normal) * (rays @ slip) >= 0, 1, -1)
    return takeoff, azimuth, polarity, rays, normal, slip


def test_polarity_search_recovers_mechanism_and_matches_brute_force():
    takeoff, azimuth, polarity, rays, *_ = synthetic_event((120, 50, 70))
    polarity[:2] *= -1  # two bad picks
    grid = mechanism_grid(10)
    impulsive = np.arange(len(polarity)) % 3 != 0
    accepted = search_polarities(rays[None], polarity, impulsive, grid, 0.1, 2)
    d = (rays @ grid.slip.T) * (rays @ grid.normal.T)
    miss = (d > 0) != (polarity[:, None] > 0)
    miss0, total = miss[impulsive].sum(0), miss.sum(0)
    ntotal, nextra = misfit_allowances(len(polarity), 0.1, 2)
    best0 = miss0.min()
    limit_total = max(ntotal if best0 == 0 else len(polarity), total[miss0 == best0].min() + nextra)
    expected = np.flatnonzero((miss0 <= max(ntotal, best0 + nextra)) & (total <= limit_total))
    assert np.array_equal(accepted, expected)
    solution = focal_mechanism(takeoff, azimuth, polarity, impulsive, None,
                               HashParams(dang_deg=5, nmc=1), make_rng("numpy", 0))
    truth = [120, 50, 70]
    sdr = [solution.strike[0], solution.dip[0], solution.rake[0]]
    assert float(hc.kagan_angle(truth, sdr)) < 15
    assert solution.quality[0] in "ABCD" and solution.num_p_pol == 40


def test_sp_search_uses_ratios():
    takeoff, azimuth, polarity, rays, normal, slip = synthetic_event((30, 70, -20), n=20, seed=4)
    sp_rows = hc.ray_vectors(*synthetic_event((0, 45, 0), n=10, seed=5)[:2])
    observed = predicted_log_sp(sp_rows, normal, slip)
    all_rays = np.concatenate([rays, sp_rows])
    all_polarity = np.concatenate([polarity, np.zeros(10, int)])
    sp = np.concatenate([np.full(20, np.nan), observed])
    grid = mechanism_grid(10)
    with_sp = search_polarities_sp(all_rays[None], all_polarity, sp, grid, 0.1, 2, 0.3, 2)
    pol_only = search_polarities(rays[None], polarity, np.ones(20, bool), grid, 0.1, 2)
    assert 0 < len(with_sp) < len(pol_only)  # the ratios narrow the set
    solution = focal_mechanism(np.concatenate([takeoff, np.degrees(np.arccos(-sp_rows[:, 2]))]),
                               np.concatenate([azimuth, np.degrees(np.arctan2(sp_rows[:, 1], sp_rows[:, 0]))]),
                               all_polarity, None, sp, HashParams(nmc=1),
                               make_rng("numpy", 0))
    assert solution.num_sp == 10 and solution.sp_misfit[0] < 0.3
    assert float(hc.kagan_angle([30, 70, -20], [solution.strike[0], solution.dip[0], solution.rake[0]])) < 15
    with pytest.raises(ValueError, match="S/P"):
        search_polarities_sp(all_rays[None], all_polarity, np.full(30, np.nan), grid, 0.1, 2,
                             0.3, 2)


def test_mech_probability_splits_two_clusters_and_truncates_rotation():
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.normal(100, 5, 60), rng.normal(50, 3, 60), rng.normal(80, 5, 60)])
    b = np.column_stack([rng.normal(10, 5, 40), rng.normal(80, 3, 40), rng.normal(-170, 5, 40)])
    normals, slips = hc.sdr_to_vectors(*np.concatenate([a, b]).T)
    clusters = mech_probability(normals, slips, 45.0, 0.25, 5)
    assert [round(c.prob, 2) for c in clusters] == [0.6, 0.4]
    first = [float(v) for v in hc.vectors_to_sdr(clusters[0].normal, clusters[0].slip)]
    assert float(hc.kagan_angle(first, [100, 50, 80])) < 5
    assert clusters[0].fault_uncertainty_deg > 20  # RMS over the whole set, outliers included
    avg_n, avg_s = mech_average(normals[:60], slips[:60])
    assert abs(avg_n @ avg_s) < np.sin(np.radians(0.01))  # MECH_AVG: orthogonal to 0.01 deg
    # one mechanism 45.9 deg away stays (int(45.9) = 45 is not > 45); 46.5 deg is removed
    n0, s0 = hc.sdr_to_vectors(0, 60, 90)
    for turn, n_kept in ((45.9 * 2, 2), (46.5 * 2, 1)):
        n1, s1 = hc.sdr_to_vectors(0, 60, 90 + turn)  # the average sits half-way between
        kept = mech_probability(np.array([n0, n1]), np.array([s0, s1]), 45.0, 0.25, 5)[0]
        assert len(kept.members) == n_kept


def test_gaps_and_polarity_misfit():
    agap, pgap = azimuth_takeoff_gaps([30, 150, 60, 80], [10, 100, 200, 300])
    # 150 deg folds up to 30 deg at azimuth 280: azimuths 10, 200, 280, 300; take-offs 30-80
    assert (agap, pgap) == (190, 30)
    rays = hc.ray_vectors([45, 45], [0, 180])
    normal, slip = hc.sdr_to_vectors(0, 45, 90)
    mfrac, stdr, predicted = polarity_misfit(rays, [1, -1], [True, False], normal, slip)
    assert predicted.tolist() == [1, 1] and mfrac == pytest.approx(1 / 3)
    assert stdr == pytest.approx(np.sqrt(0.5))  # both rays have P radiation 0.5


@pytest.mark.parametrize("args, letter", [
    ((0.9, 20, 20, 0.1, 0.6, 40, 30, 20), "A"),
    ((0.9, 20, 20, 0.18, 0.6, 40, 30, 20), "B"),
    ((0.55, 40, 40, 0.1, 0.6, 40, 30, 20), "C"),
    ((0.4, 40, 40, 0.1, 0.6, 40, 30, 20), "D"),
    ((0.9, 20, 20, 0.1, 0.6, 91, 30, 20), "E"),
    ((0.9, 20, 20, 0.1, 0.6, 40, 61, 20), "E"),
    ((0.9, 20, 20, 0.1, 0.6, 40, 30, 7), "F"),
])
def test_quality_grades(args, letter):
    assert quality_grade(*args, npolmin=8, max_agap_deg=90, max_pgap_deg=60,
                         with_sp=False) == letter


def test_driver3_quality_ignores_misfit_and_gaps():
    assert quality_grade(0.9, 20, 20, 0.5, 0.1, 180, 80, 20, 8, 90, 60, with_sp=True) == "A"
    assert quality_grade(0.65, 30, 30, 0.5, 0.1, 180, 80, 20, 8, 90, 60, with_sp=True) == "B"


def test_too_few_polarities_and_bad_angles():
    takeoff, azimuth, polarity, *_ = synthetic_event((0, 45, 90), n=5)
    solution = focal_mechanism(takeoff, azimuth, polarity, params=HashParams(nmc=1))
    assert solution.quality[0] == "F" and np.isnan(solution.strike[0])
    takeoff[2] = np.nan
    with pytest.raises(ValueError, match="rows \\[2\\]"):
        focal_mechanism(takeoff, azimuth, polarity, params=HashParams(nmc=1))


def test_fast_mech_rot_gives_hash_mech_rot():
    """MECH_ROT's shortcut (forms chosen by frame traces, HASH's formula only where it can
    matter) returns what HASH's MECH_ROT returns: for random, near, identical and slightly
    skewed mechanism pairs, the same form and, with the window everywhere, the same rotation."""
    from hash_core.solution import _cross, _mech_rot, _mech_rot_fast

    grid = mechanism_grid(5.0)
    normals = np.ascontiguousarray(grid.normal, dtype=np.float32)
    slips = np.ascontiguousarray(grid.slip, dtype=np.float32)
    g = np.random.default_rng(4)
    f32 = np.float32

    def as_tuple(v):
        return tuple(f32(x) for x in v)

    checked = 0
    for _ in range(60):
        i = int(g.integers(len(normals)))
        n1, s1 = normals[i].astype(float), slips[i].astype(float)
        if g.uniform() < 0.5:      # a MECH_AVG sum: normalised, not quite orthogonal
            n1 = n1 + g.normal(0, 0.02, 3)
            s1 = s1 + g.normal(0, 0.02, 3)
            n1, s1 = n1 / np.linalg.norm(n1), s1 / np.linalg.norm(s1)
        n1, s1 = as_tuple(n1), as_tuple(s1)
        b1 = as_tuple(_cross(n1, s1))
        near = np.flatnonzero(np.abs(normals @ normals[i]) > 0.8)[:40]
        for j in [i, *near, *g.integers(len(normals), size=40)]:
            n2, s2 = as_tuple(normals[j]), as_tuple(slips[j])
            exact = _mech_rot(n1, s1, n2, s2, False)
            fast = _mech_rot_fast(n1, s1, b1, n2, s2, False, -np.inf, np.inf)
            assert fast[1] == exact[1] and fast[2] == exact[2], (i, j)
            assert fast[0] == exact[0], (i, j, fast[0], exact[0])
            checked += 1
    assert checked > 4000
