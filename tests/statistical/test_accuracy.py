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


def _rmse(weighter, ds, **stage):
    grid = ds.default_grid()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = AverageDoseResponse(weighter, n_bootstrap=0, dose_grid=grid, **stage).fit(ds.X, ds.a, ds.y)
    return float(np.sqrt(np.mean((fit.predict(grid) - ds.true_adrf(grid)) ** 2)))


#: Measured on seeds 3000-3019 (the ratio of mean RMSEs, E2B / best entropy balancing, ± s.e. by the
#: delta method): 0.31 ± 0.03 with the weighted stage (5 knots, unpenalised); 0.96 ± 0.05 with the
#: doubly robust stage, where E2B trained for the weighted stage whatever the stage (the previous
#: behaviour) scored 1.21 ± 0.05. With the weighted stage the issue's criterion (at most 0.9, upper
#: 2-s.e. bound below 1) holds with a wide margin; with the doubly robust stage the check is the
#: promise itself, "never worse" (below 1): it holds by less than one standard error, and the
#: previous behaviour fails it by four.
STAGES = {
    "weighted": {"outcome_stage": "weighted", "n_knots": 5, "penalty": 0.0},
    "doubly_robust": {},
}


def test_entropy_balancing_cuts_the_unweighted_error_at_least_2_5_fold():
    """Nonlinear process, n = 2000, 10 seeds, the weighted stage (where the weights carry all of the
    confounding; under the doubly robust stage the outcome model removes most of it even
    unweighted): unweighted RMSE ~0.95, EB ~0.25-0.35 (the issue's measured reference); a 2.5-fold
    cut leaves margin for the spread (s.e. of the mean ~0.02)."""
    seeds = range(2000, 2010)
    data = [make_nonlinear(n_samples=2000, random_state=s) for s in seeds]
    unweighted = np.mean([_rmse(UnitWeights(), ds, **STAGES["weighted"]) for ds in data])
    for moments in (1, 3):
        eb = np.mean(
            [_rmse(EntropyBalancingWeights(moments=moments), ds, **STAGES["weighted"]) for ds in data]
        )
        assert eb * 2.5 <= unweighted, (moments, eb, unweighted)


def _ratio(stage: str) -> tuple[float, float]:
    e2b, eb = [], []
    for s in range(3000, 3020):
        ds = make_nonlinear(n_samples=1000, random_state=s)
        e2b.append(_rmse(E2BWeights(random_state=s), ds, **STAGES[stage]))
        eb.append([_rmse(EntropyBalancingWeights(moments=m), ds, **STAGES[stage]) for m in (1, 2, 3)])
    e2b = np.array(e2b)
    eb = np.array(eb)
    best = eb[:, np.argmin(eb.mean(axis=0))]
    ratio = e2b.mean() / best.mean()
    # Delta method for a ratio of paired means.
    d = e2b / e2b.mean() - best / best.mean()
    return float(ratio), float(ratio * d.std(ddof=1) / np.sqrt(len(d)))


def test_e2b_beats_the_best_entropy_balancing_over_20_seeds():
    """Nonlinear process, n = 1000, 20 fresh seeds, the weighted stage: the ratio of mean RMSEs
    (E2B over the best of EB with 1, 2, 3 moments) is at most 0.9 and its upper 2-s.e. bound stays
    below 1 — the issue's acceptance criterion."""
    ratio, se = _ratio("weighted")
    assert ratio <= 0.9 and ratio + 2 * se < 1.0, (ratio, se)


def test_e2b_is_no_worse_than_entropy_balancing_under_the_doubly_robust_stage():
    """The same seeds with the default (doubly robust) stage, for which E2B is then trained."""
    ratio, se = _ratio("doubly_robust")
    assert ratio < 1.0, (ratio, se)
