"""Pure numerical functions on ndarrays: balancing features, the entropy dual, weighted statistics.

Nothing here imports pandas, torch or DoWhy; every function can be tested on its own.
"""

from .dual import (
    BalanceResult,
    dual_gradient,
    dual_hessian,
    dual_objective,
    effective_sample_size,
    entropy_weights,
    solve_dual,
    solve_entropy_balance,
)
from .features import BalanceFeatures, balance_features, drop_collinear, drop_collinear_gram
from .stats import weighted_corr, weighted_mean_shift

__all__ = [
    "BalanceFeatures",
    "BalanceResult",
    "balance_features",
    "drop_collinear",
    "drop_collinear_gram",
    "dual_gradient",
    "dual_hessian",
    "dual_objective",
    "effective_sample_size",
    "entropy_weights",
    "solve_dual",
    "solve_entropy_balance",
    "weighted_corr",
    "weighted_mean_shift",
]
