"""Measure the seed-to-seed spread behind the tolerances of the statistical tests.

Run: ``python -m tests.statistical.measure_margins`` (a few minutes). Its output is quoted in
the docstrings of ``tests/statistical/test_*.py`` and ``tests/estimators/test_e2b_beats_eb.py``.
Seeds 1000-1019 are used only here, never to tune anything.
"""

import warnings

import numpy as np

from benchmarks.dgps import DGPS
from dowhy_e2b import AverageDoseResponse, E2BWeights, EntropyBalancingWeights
from dowhy_e2b.datasets import make_nonlinear


def rmse(weighter, X, a, y, grid, truth):
    fit = AverageDoseResponse(
        weighter, outcome_stage="weighted", n_knots=5, penalty=0.0, n_bootstrap=0, dose_grid=grid
    ).fit(X, a, y)
    return float(np.sqrt(np.mean((fit.predict(grid) - truth) ** 2)))


def ratios(make, seeds):
    """E2B's RMSE over the best entropy balancing's (moments 1-3), per seed and pooled."""
    e2b, eb = [], []
    for seed in seeds:
        X, a, y, grid, truth = make(seed)
        eb.append([rmse(EntropyBalancingWeights(moments=m), X, a, y, grid, truth) for m in (1, 2, 3)])
        e2b.append(rmse(E2BWeights(random_state=seed), X, a, y, grid, truth))
    e2b, eb = np.array(e2b), np.array(eb)
    per_seed = e2b / eb.min(axis=1)
    best = eb[:, np.argmin(eb.mean(axis=0))]
    pooled = e2b.mean() / best.mean()
    d = e2b / e2b.mean() - best / best.mean()
    return per_seed, pooled, pooled * d.std(ddof=1) / np.sqrt(len(d))


def nonlinear(seed):
    ds = make_nonlinear(n_samples=1000, random_state=seed)
    grid = ds.default_grid()
    return ds.X, ds.a, ds.y, grid, ds.true_adrf(grid)


def registry(name):
    def make(seed):
        bench = DGPS[name](1000, seed)
        return bench.X, bench.a, bench.y, bench.grid, bench.truth

    return make


def main() -> None:
    warnings.simplefilter("ignore")
    r, pooled, se = ratios(nonlinear, range(1000, 1020))
    print(
        "E2B / best EB RMSE on nonlinear n=1000, seeds 1000-1019: per seed "
        f"mean {r.mean():.3f}, sd {r.std(ddof=1):.3f}, max {r.max():.3f}; pooled {pooled:.3f} ± {se:.3f}"
    )
    for name in ("sparse40", "mixed40"):
        r, pooled, se = ratios(registry(name), range(1000, 1010))
        print(
            f"E2B / best EB RMSE on {name} n=1000, seeds 1000-1009: per seed mean {r.mean():.3f}, "
            f"max {r.max():.3f}; pooled {pooled:.3f} ± {se:.3f}"
        )


if __name__ == "__main__":
    main()
