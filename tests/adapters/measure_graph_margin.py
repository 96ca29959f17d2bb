"""Measure the margin of ``test_do_and_graphs.py::test_adjusting_on_the_graph_removes_the_confounding``.

Run: ``python -m tests.adapters.measure_graph_margin`` (about a minute). On the fertiliser graph at
n = 1500 it fits, through ``CausalModel.do`` on DoWhy's default adjustment set, the naive curve
(unweighted smooth of the outcome on the dose) and the entropy-balancing curve (moments 2, doubly
robust stage), and prints the ratio of their RMSEs against the true curve over 25 grid points.
Seeds 1000-1019 are used only here; its output is quoted in the test.
"""

import warnings

import numpy as np
from dowhy import CausalModel

import dowhy_e2b  # noqa: F401  (registers the estimators)
from dowhy_e2b.datasets import load_fertiliser


def rmses(seed: int) -> tuple[float, float]:
    """RMSEs of the naive and the adjusted curve against the truth."""
    ds = load_fertiliser(n_samples=1500, random_state=seed)
    model = CausalModel(data=ds.data, treatment=ds.treatment, outcome=ds.outcome, graph=ds.graph())
    estimand = model.identify_effect()
    grid = ds.default_grid(25)
    truth = ds.true_adrf(grid)
    naive = model.do(grid, estimand, "unweighted", method_params={"outcome_stage": "weighted"})
    adjusted = model.do(grid, estimand, "entropy_balancing", method_params={"moments": 2, "random_state": 0})
    return float(np.sqrt(np.mean((naive - truth) ** 2))), float(np.sqrt(np.mean((adjusted - truth) ** 2)))


def main() -> None:
    warnings.simplefilter("ignore")
    naive, adjusted = np.array([rmses(seed) for seed in range(1000, 1020)]).T
    r = adjusted / naive
    print(
        "adjusted / naive RMSE on the fertiliser graph, n=1500, seeds 1000-1019: "
        f"mean {r.mean():.3f}, sd {r.std(ddof=1):.3f}, max {r.max():.3f}; "
        f"mean + 3 sd = {r.mean() + 3 * r.std(ddof=1):.3f}; naive RMSE {naive.min():.2f}-{naive.max():.2f}"
    )


if __name__ == "__main__":
    main()
