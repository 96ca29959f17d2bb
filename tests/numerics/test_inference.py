"""Bands and Wald tests from replicates, on simulated replicates with a known distribution."""

import numpy as np
import pytest

from dowhy_e2b._numerics.inference import dose_response_test, normal_band, simultaneous_band


def _smooth_replicates(rng, grid, n_rep, scale=0.1):
    """Replicates of a smooth random curve: random cubic polynomials of the grid."""
    coef = rng.normal(size=(n_rep, 4)) * scale
    V = np.vander(grid, 4, increasing=True)
    return coef @ V.T


def test_simultaneous_band_encloses_pointwise_band():
    rng = np.random.default_rng(0)
    grid = np.linspace(-1, 1, 40)
    est = np.sin(grid)
    reps = est + _smooth_replicates(rng, grid, 300)
    lo, hi, se = normal_band(est, reps, 0.95)
    blo, bhi, crit = simultaneous_band(est, reps, 0.95)
    assert crit >= 1.959
    assert np.all(blo <= lo + 1e-12) and np.all(hi <= bhi + 1e-12)
    np.testing.assert_allclose(se, reps.std(axis=0, ddof=1))


def test_simultaneous_band_covers_whole_curves_at_its_level():
    """The share of fresh curves inside the band estimates its coverage: 2000 draws give a
    Monte-Carlo s.e. of 0.005 around 0.95, so [0.93, 0.97] allows four s.e."""
    rng = np.random.default_rng(1)
    grid = np.linspace(-1, 1, 30)
    est = np.zeros_like(grid)
    reps = _smooth_replicates(rng, grid, 2000)
    blo, bhi, _ = simultaneous_band(est, reps, 0.95)
    fresh = _smooth_replicates(rng, grid, 2000)
    inside = np.all((fresh >= blo) & (fresh <= bhi), axis=1).mean()
    assert 0.93 <= inside <= 0.97


def test_wald_tests_hold_their_size_and_detect_curvature():
    """Under the null (estimate drawn from the replicates' own distribution), the rejection rate at
    5% over 400 simulated studies has a Monte-Carlo s.e. of 0.011: it must stay below 0.09. A curve
    with a clear bump is rejected as flat and as linear; a sloped line is rejected as flat only."""
    rng = np.random.default_rng(2)
    grid = np.linspace(-2, 2, 50)
    rejections = {"flat": 0, "linear": 0}
    for _ in range(400):
        reps = _smooth_replicates(rng, grid, 200)
        est = _smooth_replicates(rng, grid, 1)[0]
        for h in rejections:
            rejections[h] += dose_response_test(grid, est, reps, h).p_value < 0.05
    assert rejections["flat"] / 400 < 0.09 and rejections["linear"] / 400 < 0.09
    reps = _smooth_replicates(rng, grid, 200)
    bump = np.exp(-(grid**2))
    assert dose_response_test(grid, bump + reps[0], reps, "linear").p_value < 1e-3
    line = 0.5 * grid
    assert dose_response_test(grid, line, reps + line, "flat").p_value < 1e-3
    assert dose_response_test(grid, line, reps + line, "linear").p_value > 0.05
    result = dose_response_test(grid, line, reps, "flat")
    assert result["p_value"] == result.p_value and result.df == 3  # cubic replicates: 3 directions vary


def test_wald_test_validates_and_degenerates_gracefully():
    grid = np.linspace(0, 1, 10)
    with pytest.raises(ValueError, match="'flat' or 'linear'"):
        dose_response_test(grid, grid, np.zeros((5, 10)), "quadratic")
    assert np.isnan(dose_response_test(grid, grid, np.zeros((2, 10)), "flat").p_value)
    assert np.isnan(dose_response_test(grid, grid, np.zeros((50, 10)), "flat").p_value)  # no variance
