"""E2B's balance guarantee: final weights never less balanced than plain entropy balancing.

With a dual ridge, balance is approximate, and learned base weights far from uniform can leave
more imbalance than plain entropy balancing with the same ridge. :func:`balance_no_worse_than_eb`
solves the final balancing with the ridge, and where that happens, with the largest smaller ridge
that keeps the imbalance of plain entropy balancing; if even exact balance fails, it returns plain
entropy balancing's weights. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._numerics import BalanceResult, solve_entropy_balance

__all__ = [
    "BALANCE_TOLERANCE",
    "MIN_RIDGE_FRACTION",
    "TIGHTENING_STEPS",
    "FinalBalance",
    "balance_no_worse_than_eb",
]

#: How much the final imbalance may exceed plain entropy balancing's at the same ridge (standard
#: deviations of a balancing feature): rounding, not a licence to unbalance.
BALANCE_TOLERANCE = 1e-4
#: When the learned base weights leave more imbalance than plain entropy balancing with the chosen
#: ridge, the largest smaller ridge that does not is searched between this fraction of the ridge
#: and the ridge, by this many bisection steps on the log scale (a ratio of 1.9 per step at 8).
MIN_RIDGE_FRACTION = 1e-3
TIGHTENING_STEPS = 8


@dataclass(frozen=True)
class FinalBalance:
    """The final balancing: its result, the ridge it used, and the plain entropy balancing it beat."""

    result: BalanceResult
    ridge: float
    fell_back: bool
    eb: BalanceResult


def balance_no_worse_than_eb(
    C: np.ndarray, log_base: np.ndarray, log_eb: np.ndarray, ridge: float
) -> FinalBalance:
    """Entropy balancing with base weights ``log_base``, at most as imbalanced as with ``log_eb``.

    Solves with ``ridge``. If the largest imbalance exceeds that of the same problem with base
    weights ``log_eb`` (plain entropy balancing: zero, or the log sample weights) by more than
    :data:`BALANCE_TOLERANCE`, the largest smaller ridge that meets it is found by bisection on
    the log scale (:data:`TIGHTENING_STEPS` solves between :data:`MIN_RIDGE_FRACTION` of the ridge
    and the ridge; exact balance when even that fraction fails). If exact balance fails too,
    plain entropy balancing's result is returned (``fell_back``).
    """
    eb = solve_entropy_balance(C, log_eb, ridge=ridge)
    target = eb.max_imbalance + BALANCE_TOLERANCE

    def meets(r: float) -> BalanceResult | None:
        result = solve_entropy_balance(C, log_base, ridge=r)
        return result if result.converged and result.max_imbalance <= target else None

    first = meets(ridge)
    if first is not None:
        return FinalBalance(first, float(ridge), False, eb)
    if ridge <= 0:
        return FinalBalance(eb, float(ridge), True, eb)
    lo, hi = np.log(MIN_RIDGE_FRACTION * ridge), np.log(ridge)
    best = meets(float(np.exp(lo)))
    best_ridge = float(np.exp(lo))
    if best is None:
        best, best_ridge = meets(0.0), 0.0
        if best is None:
            return FinalBalance(eb, float(ridge), True, eb)
    else:
        for _ in range(TIGHTENING_STEPS):
            mid = 0.5 * (lo + hi)
            result = meets(float(np.exp(mid)))
            if result is None:
                hi = mid
            else:
                lo, best, best_ridge = mid, result, float(np.exp(mid))
    return FinalBalance(best, best_ridge, False, eb)
