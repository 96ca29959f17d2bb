"""Measure the seed-to-seed spread behind the tolerances of the statistical tests.

Run: ``python -m tests.statistical.measure_margins`` (about a minute). Its output is quoted in
the docstrings of ``tests/statistical/test_*.py`` and ``tests/estimators/test_e2b_beats_eb.py``.
Seeds 1000-1019 are used only here, never to tune anything.
"""

import warnings

import numpy as np

from dowhy_e2b import AverageDoseResponse, E2BWeights, EntropyBalancingWeights
from dowhy_e2b.datasets import make_nonlinear


def rmse(weighter, ds, grid):
    fit = AverageDoseResponse(weighter, n_bootstrap=0, dose_grid=grid).fit(ds.X, ds.a, ds.y)
    return float(np.sqrt(np.mean((fit.predict(grid) - ds.true_adrf(grid)) ** 2)))


def main() -> None:
    warnings.simplefilter("ignore")
    ratios = []
    for seed in range(1000, 1020):
        ds = make_nonlinear(n_samples=1000, random_state=seed)
        grid = ds.default_grid()
        best_eb = min(rmse(EntropyBalancingWeights(moments=m), ds, grid) for m in (1, 2, 3))
        ratios.append(rmse(E2BWeights(random_state=seed), ds, grid) / best_eb)
    r = np.array(ratios)
    print(
        "E2B / best EB RMSE on nonlinear n=1000, seeds 1000-1019: "
        f"mean {r.mean():.3f}, sd {r.std(ddof=1):.3f}, max {r.max():.3f}; "
        f"mean + 3 sd = {r.mean() + 3 * r.std(ddof=1):.3f}"
    )


if __name__ == "__main__":
    main()
