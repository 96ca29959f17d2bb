"""Fast statistical check: E2B beats entropy balancing on one seeded nonlinear data set."""

import warnings

import numpy as np

from dowhy_e2b import AverageDoseResponse, E2BWeights, EntropyBalancingWeights
from dowhy_e2b.datasets import make_nonlinear


def _rmse(weighter, ds, grid):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = AverageDoseResponse(
            weighter, outcome_stage="weighted", n_knots=5, penalty=0.0, n_bootstrap=0, dose_grid=grid
        ).fit(ds.X, ds.a, ds.y)
    return float(np.sqrt(np.mean((fit.predict(grid) - ds.true_adrf(grid)) ** 2)))


def test_e2b_beats_the_best_entropy_balancing_on_a_seeded_nonlinear_case():
    """Margin from the measured seed-to-seed spread (``tests/statistical/measure_margins.py``,
    seeds 1000-1019, never used for tuning): the ratio E2B / best EB has mean 0.41, s.d. 0.22,
    and exceeded 0.85 on 1 seed in 20 (1.02). The threshold 0.85 is two s.d. above the mean, so a
    working E2B passes on typical seeds, while one that no longer learns (ratio near 1, plain
    entropy balancing) fails. The seed is the first of a range not used anywhere else."""
    ds = make_nonlinear(n_samples=1000, random_state=4000)
    grid = ds.default_grid()
    best_eb = min(_rmse(EntropyBalancingWeights(moments=m), ds, grid) for m in (1, 2, 3))
    e2b = _rmse(E2BWeights(random_state=4000), ds, grid)
    assert e2b < 0.85 * best_eb, (e2b, best_eb)
