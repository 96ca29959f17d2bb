"""Long statistical checks against known truths (``pytest -m slow``; a few minutes).

Tolerances come from the measured seed-to-seed spread (``measure_margins.py`` and the benchmark
page); each test names the numbers it relies on.
"""

import warnings

import numpy as np
import pytest

from dowhy_e2b import AverageDoseResponse, E2BWeights, EntropyBalancingWeights, UnitWeights
from dowhy_e2b.datasets import make_nonlinear

pytestmark = pytest.mark.slow


def _rmse(weighter, ds):
    grid = ds.default_grid()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = AverageDoseResponse(weighter, n_bootstrap=0, dose_grid=grid).fit(ds.X, ds.a, ds.y)
    return float(np.sqrt(np.mean((fit.predict(grid) - ds.true_adrf(grid)) ** 2)))


def test_entropy_balancing_cuts_the_unweighted_error_at_least_2_5_fold():
    """Nonlinear process, n = 2000, 10 seeds: unweighted RMSE ~0.95, EB ~0.25-0.35 (the issue's
    measured reference); a 2.5-fold cut leaves margin for the spread (s.e. of the mean ~0.02)."""
    seeds = range(2000, 2010)
    data = [make_nonlinear(n_samples=2000, random_state=s) for s in seeds]
    unweighted = np.mean([_rmse(UnitWeights(), ds) for ds in data])
    for moments in (1, 3):
        eb = np.mean([_rmse(EntropyBalancingWeights(moments=moments), ds) for ds in data])
        assert eb * 2.5 <= unweighted, (moments, eb, unweighted)


def test_e2b_beats_the_best_entropy_balancing_over_20_seeds():
    """Nonlinear process, n = 1000, 20 fresh seeds: the ratio of mean RMSEs (E2B over the best of
    EB with 1, 2, 3 moments) is at most 0.9 and its upper 2-s.e. bound (delta method over seeds)
    stays below 1 — the issue's acceptance criterion."""
    seeds = range(3000, 3020)
    e2b, eb = [], []
    for s in seeds:
        ds = make_nonlinear(n_samples=1000, random_state=s)
        e2b.append(_rmse(E2BWeights(random_state=s), ds))
        eb.append([_rmse(EntropyBalancingWeights(moments=m), ds) for m in (1, 2, 3)])
    e2b = np.array(e2b)
    eb = np.array(eb)
    best = eb[:, np.argmin(eb.mean(axis=0))]
    ratio = e2b.mean() / best.mean()
    # Delta method for a ratio of paired means.
    d = e2b / e2b.mean() - best / best.mean()
    se = ratio * d.std(ddof=1) / np.sqrt(len(d))
    assert ratio <= 0.9 and ratio + 2 * se < 1.0, (ratio, se)
