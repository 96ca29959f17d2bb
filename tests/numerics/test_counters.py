"""Counter-based draws: the same numbers whatever the chunking, with the right distribution."""

import numpy as np
import pytest

from dowhy_e2b._numerics.counters import (
    row_exponential,
    row_folds,
    row_multipliers,
    row_poisson,
    row_uniforms,
)


def test_draws_do_not_depend_on_the_chunking():
    whole = row_uniforms(11, 0, 1000, stream=3)
    parts = np.concatenate([row_uniforms(11, s, min(s + 137, 1000), stream=3) for s in range(0, 1000, 137)])
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(row_folds(5, 0, 100, 5)[40:], row_folds(5, 40, 100, 5))
    np.testing.assert_array_equal(row_poisson(2, 0, 50, 1)[10:], row_poisson(2, 10, 50, 1))
    assert not np.array_equal(row_uniforms(11, 0, 100, 0), row_uniforms(11, 0, 100, 1))
    assert not np.array_equal(row_uniforms(11, 0, 100), row_uniforms(12, 0, 100))


def test_distributions():
    """200 000 draws: the Monte-Carlo s.e. of a frequency near 0.37 is 0.0011; 0.005 allows 4.5."""
    u = row_uniforms(1, 0, 200_000)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.003
    folds = row_folds(1, 0, 200_000, 5)
    np.testing.assert_allclose(np.bincount(folds) / folds.size, 0.2, atol=0.004)
    counts = row_poisson(1, 0, 200_000)
    expected = np.exp(-1.0) / np.array([1, 1, 2, 6])
    np.testing.assert_allclose(np.bincount(counts)[:4] / counts.size, expected, atol=0.005)


def test_exponential_multipliers():
    """200 000 Exponential(1) draws: the s.e. of the mean and of P(E > 1) are 0.0022 and 0.0011."""
    e = row_exponential(3, 0, 200_000)
    assert e.min() >= 0 and abs(e.mean() - 1) < 0.01 and abs(e.var() - 1) < 0.03
    assert abs((e > 1).mean() - np.exp(-1.0)) < 0.005
    np.testing.assert_array_equal(row_multipliers("exponential", 3, 10, 50), e[10:50])
    np.testing.assert_array_equal(row_multipliers("poisson", 3, 0, 50), row_poisson(3, 0, 50))
    with pytest.raises(ValueError, match="multipliers must be one of"):
        row_multipliers("bayes", 3, 0, 5)
