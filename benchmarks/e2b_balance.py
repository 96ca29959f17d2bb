"""E2B's balance against plain entropy balancing with the same ridge, on real data (NHEFS).

*What If* §12.4 (Hernán & Robins): smokers with ``smokeintensity <= 25`` in the complete-case NHEFS
data (n = 1162), treatment ``smkintensity82_71``, outcome ``wt82_71``, the book's confounders
(sex, race, age, education, smoking intensity and years, exercise, activity, 1971 weight; the
categorical ones one-hot encoded). For several seeds: the ridge E2B chose, the ridge of its final
weights, and the largest weighted correlation of the treatment with a confounder — for E2B, for
plain entropy balancing with E2B's ridge, and unweighted.

Needs the ``causaldata`` package (``pip install causaldata``), which ships the data.

Run: ``python -m benchmarks.e2b_balance [--seeds 5]``.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import pandas as pd

from .metrics import max_abs_weighted_corr

__all__ = ["load_nhefs", "main"]

CONFOUNDERS = ["sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"]
CATEGORICAL = ["education", "exercise", "active"]


def load_nhefs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confounders (one-hot encoded), treatment and outcome of the *What If* §12.4 sample."""
    from causaldata import nhefs_complete

    data = nhefs_complete.load_pandas().data
    data = data[data.smokeintensity <= 25]
    X = pd.get_dummies(data[CONFOUNDERS], columns=CATEGORICAL, drop_first=True).astype(float)
    return X.to_numpy(), data.smkintensity82_71.to_numpy(float), data.wt82_71.to_numpy(float)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.e2b_balance", description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args(argv)
    try:
        X, a, y = load_nhefs()
    except ImportError:
        print("this check needs the causaldata package: pip install causaldata", file=sys.stderr)
        return 1
    from dowhy_e2b import E2BWeights, EntropyBalancingWeights

    print(
        f"NHEFS, n = {a.size}, {X.shape[1]} confounder columns; unweighted max |corr| "
        f"{max_abs_weighted_corr(a, X):.3f}\n"
    )
    print("| seed | ridge | final ridge | max \\|corr\\| E2B | EB, same ridge | converged | steps |")
    print("|---|---|---|---|---|---|---|")
    for seed in range(args.seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e2b = E2BWeights(random_state=seed).fit(X, a, y)
            eb = EntropyBalancingWeights(ridge=e2b.ridge_).fit(X, a)
        corr_e2b = max_abs_weighted_corr(a, X, e2b.weights_)
        corr_eb = max_abs_weighted_corr(a, X, eb.weights_)
        print(
            f"| {seed} | {e2b.ridge_:g} | {e2b.final_ridge_:.3g} | {corr_e2b:.3f} | {corr_eb:.3f} | "
            f"{e2b.converged_} | {e2b.n_steps_} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
