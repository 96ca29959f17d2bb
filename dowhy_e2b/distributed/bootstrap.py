r"""Bootstrap replicates of the chunked dose-response pipeline.

Both modes draw each replicate's multipliers (``bootstrap_multipliers``: Exponential(1) or
Poisson(1)) from ``(replicate seed, global row index)``
(:func:`~dowhy_e2b._numerics.counters.row_multipliers`), chunk by chunk, so no resampled copy of the data
is ever built and the replicates do not depend on the chunking; the replicate seeds come from
``random_state`` as in memory.

``"exact"`` (``dask.config.set({"dowhy-e2b.bootstrap": "exact"})``)
    Each replicate re-runs the whole chunked pipeline on the rows its multipliers draw, with the
    in-memory replicate's choices: weights re-estimated, the outcome models refitted on the
    replicate's folds with the point fit's ridge penalty, the curve's penalty chosen again at the
    point fit's knots. It reproduces the in-memory bootstrap (to rounding) and costs one pipeline
    (about 20 passes) per replicate: for small and medium data.
``"batched"`` (default)
    All replicates in a few passes over the data, each pass computing every replicate's statistics
    (a matrix of multipliers, one column per replicate):

    * entropy-balancing weights: the replicate's dual solved exactly (to ``tol``) from the point
      fit's solution, by Newton steps whose Hessian is the point fit's (a chord method: one pass per
      step for all replicates, cost :math:`O(nkB)` instead of :math:`O(nk^2B)`; its linear rate is the
      replicate Hessian's relative distance from the point fit's, :math:`O(n^{-1/2})`). The
      replicate's balance targets are its own weighted feature means, which is what re-running
      entropy balancing on the resample balances (the features' re-standardisation only changes
      coordinates). Unit weights: the multipliers; other weighters use ``"exact"``;
    * the outcome models are refitted for every replicate with the point fit's ridge penalty, on the
      point fit's spline knots and feature scales, by preconditioned conjugate gradients from the
      point fit's coefficients (the point fit's matrix as preconditioner; one pass per iteration for
      all models and replicates). That is the one approximation of the exact replicate, which
      re-chooses knots and scales on its rows; its measured effect is in the "Running on a cluster"
      page;
    * the curve: the smoother's sufficient statistics per replicate, the penalty chosen again (one
      more pass for ``penalty="loo"``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .._numerics.counters import row_multipliers
from . import option

__all__ = ["chunked_bootstrap"]

logger = logging.getLogger(__name__)


def _replicate_seeds(est: Any, n_boot: int) -> np.ndarray:
    return np.random.default_rng(est._seed).integers(0, np.iinfo(np.int32).max, size=n_boot)


def chunked_bootstrap(est: Any, data: Any, curve: Any, n_bootstrap: int | None = None) -> Any:
    """Fill ``bootstrap_coef_``, ``n_bootstrap_failed_`` and ``bootstrap_errors_`` of ``est`` (the
    caller warns about failed replicates: :func:`~dowhy_e2b.dose_response.warn_dropped`)."""
    n_boot = int(est.n_bootstrap if n_bootstrap is None else n_bootstrap)
    seeds = _replicate_seeds(est, n_boot)
    mode = option("bootstrap")
    if mode not in ("exact", "batched"):
        raise ValueError(f"dowhy-e2b.bootstrap must be 'exact' or 'batched', got {mode!r}.")
    from ..dose_response import quiet_replicates, record_replicates

    with quiet_replicates():
        if mode == "batched" and _batchable(est):
            from .batched import batched_replicates

            results = batched_replicates(est, data, curve, seeds)
        else:
            results = [_exact_replicate(est, data, curve, int(seed)) for seed in seeds]
    record_replicates(est, results, n_boot)
    return est


def _batchable(est: Any) -> bool:
    """Whether the batched replicates reproduce the exact ones' weights: unit weights, and entropy
    balancing (E2B's final balancing included) without a ridge or bound, whose solution does not
    depend on the features' scaling."""
    from ..e2b import E2BWeights
    from ..entropy import EntropyBalancingWeights
    from ..gps import UnitWeights

    w = est.weighter_
    if w is None or type(w) is UnitWeights:
        return True
    if isinstance(w, E2BWeights):
        return not float(getattr(w, "final_ridge_", w.ridge_))
    return isinstance(w, EntropyBalancingWeights) and not w.max_imbalance and not w.ridge


def _exact_replicate(est: Any, data: Any, curve: Any, seed: int) -> np.ndarray | str:
    """One replicate: the pipeline on the rows drawn, as the in-memory ``_replicate_coef``."""
    from .dose_response import fit_curve, plan_knots

    view = data.resampled(seed, est.bootstrap_multipliers)
    try:
        scan = view.scan()
        view = view.normalised(scan["weight_sum"])
        constant = not scan["range"].hi > scan["range"].lo
        weighter = None if est.weighter_ is None or constant else est.weighter_
        stage = est.outcome_stage_
        knots: dict = {}
        if stage == "doubly_robust":
            knots, _ = plan_knots(est, view, est._fold_seed, len(curve.models), False, curve_knots=False)
        knots["curve"] = curve_knots(est)
        alphas = None
        if curve.models:
            alphas = float(np.median([m.alpha_ for m in curve.models]))
        rep = fit_curve(
            est,
            view,
            stage,
            weighter,
            seed=est._fold_seed or 0,
            K=len(curve.models),
            doses=curve.spec.doses,
            knots=knots,
            alphas=alphas,
            check=False,
            replicate=True,
        )
        return rep.smoother.coef_
    except (ValueError, np.linalg.LinAlgError) as err:
        logger.debug("bootstrap replicate failed: %s", err)
        return f"{type(err).__name__}: {err}"


def curve_knots(est: Any) -> tuple[float, float, np.ndarray]:
    """``(lo, hi, inner)`` of the point fit's curve basis (replicates keep its knots)."""
    knots = np.asarray(est.smoother_.knots_, dtype=float)
    return float(knots[0]), float(knots[-1]), knots[1:-1]


def multipliers(seeds: np.ndarray, start: int, m: int, kind: str) -> np.ndarray:
    """The multipliers (``kind``) of the rows ``start..start+m-1``, one column per replicate seed."""
    return np.column_stack([row_multipliers(kind, int(seed), start, start + m) for seed in seeds])
