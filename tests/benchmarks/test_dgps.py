"""The benchmark's process registry: every process builds, and its stated truth is E[Y(t)]."""

import numpy as np
import pytest

from benchmarks.dgps import CURVE_DGPS, DEVELOPMENT_DGPS, DGPS, HIGHDIM_DGPS, VALIDATION_DGPS, make_bench_data


def test_the_groups_partition_the_registry():
    groups = [*DEVELOPMENT_DGPS, *VALIDATION_DGPS, *HIGHDIM_DGPS, *CURVE_DGPS, "dowhy_linear"]
    assert sorted(groups) == sorted(DGPS)
    for name in HIGHDIM_DGPS:
        bench = make_bench_data(name, 120, 0)
        p = int(name.removeprefix("sparse").removeprefix("mixed"))
        assert len(bench.confounders) == p and bench.truth.shape == bench.grid.shape


@pytest.mark.parametrize(
    "name", ["interaction", "highdim", "null", "skewed", "sparse40", "mixed40", *CURVE_DGPS]
)
def test_truth_equals_the_mean_outcome_under_intervention(name):
    """Monte Carlo of do(a = t) at three grid points: within 4 standard errors of the stated curve."""
    make = DGPS[name]
    bench = make(500, 0)
    for t, truth in zip(bench.grid[[0, 25, 49]], bench.truth[[0, 25, 49]], strict=True):
        y = make(20_000, 1, intervention=float(t)).data[bench.outcome].to_numpy()
        assert abs(y.mean() - truth) < 4 * y.std() / np.sqrt(y.size), (name, t)


def test_high_dimensional_processes_hide_their_confounders_among_the_columns():
    bench = make_bench_data("sparse40", 3000, 0)
    X = bench.X.to_numpy()
    corr = np.abs([np.corrcoef(X[:, j], bench.a)[0, 1] for j in range(X.shape[1])])
    strongest = np.argsort(-corr)[:3]
    assert not set(strongest) <= {0, 1, 2, 3}  # the confounders are not simply the first columns
