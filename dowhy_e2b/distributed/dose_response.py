r"""The dose-response pipeline of :class:`~dowhy_e2b.AverageDoseResponse` on chunked data.

The steps and their passes over the data (``K`` folds; every pass returns sums whose size depends
on the number of features, never on the rows):

1. a scan (rows, treatment range and values), then the exact quantiles behind the dose grid, the
   curve's knots and each fold model's knots (:mod:`~dowhy_e2b.distributed.quantiles`);
2. the weights (:mod:`~dowhy_e2b.distributed.weights`);
3. the doubly robust stage's outcome models, one per fold, each fitted on the other folds: the
   covariates' moments per fold, the features' moments, then the ridge regression's weighted
   cross-products (:class:`~dowhy_e2b._numerics.ridge.RidgeStats`), from which the penalty is
   chosen by generalised cross-validation exactly as in memory;
4. the g-computation curve: a per-chunk sum of every unit's predictions at the grid of doses
   (``predict_doses`` of the model that did not see its fold);
5. the smoother's sufficient statistics (:class:`~dowhy_e2b._numerics.splines.SmootherStats`) of
   the pseudo-outcomes, and for ``penalty="loo"`` one more pass for the leave-one-out sums.

Folds and bootstrap multipliers are counter-based draws from ``(seed, global row index)``, so the
chunked fit equals the in-memory one on the same data (up to rounding).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._numerics.counters import folds_at
from .._numerics.ridge import RidgeStats, ridge_fit
from .._numerics.splines import (
    PenalisedProblem,
    SmootherStats,
    select_penalty,
    smoother_stats,
    spline_basis_from,
)
from .._validation import check_dose_grid, point_fit_failure
from ..balance_check import MIN_ESS_FRACTION
from ..exceptions import BalanceWarning, ConstantTreatmentWarning, DiscreteTreatmentWarning
from ..outcome_models import FlexibleOutcomeRegressor, OutcomeFit
from ._chunks import Moments
from ._data import ChunkedData, check_treatment_counts, chunk_rows, chunked
from .quantiles import chunked_quantiles, treatment_values
from .weights import WeightFunction, chunked_balance_table, fit_weights_data, lazy_weights

__all__ = ["ChunkedCurve", "fit_curve", "fit_dose_response"]


# -- outcome models ----------------------------------------------------------------------------
def _fold_x_chunk(chunk: tuple, start: int, seed: int, K: int) -> list:
    X = chunk[0]
    folds = folds_at(seed, chunk_rows(chunk, start), K)
    return [Moments.of(X[folds == j]) for j in range(K)]


def _train_moments(per_fold: list[Moments], k: int) -> Moments:
    """The moments of the rows outside fold ``k``."""
    others = [m for j, m in enumerate(per_fold) if j != k]
    out = others[0]
    for m in others[1:]:
        out = out + m
    return out


def _fold_f_chunk(chunk: tuple, start: int, seed: int, models: list) -> list:
    X, a = chunk[0], chunk[1]
    folds = folds_at(seed, chunk_rows(chunk, start), len(models))
    out = []
    for k, model in enumerate(models):
        train = folds != k
        out.append(Moments.of(model._features(X[train], a[train])))
    return out


def _fold_ridge_chunk(chunk: tuple, start: int, seed: int, models: list) -> list:
    X, a, y, s = chunk[:4]
    folds = folds_at(seed, chunk_rows(chunk, start), len(models))
    out = []
    for k, model in enumerate(models):
        train = folds != k
        design = (model._features(X[train], a[train]) - model.f_mean_) / model.f_scale_
        out.append(RidgeStats.of(design, y[train], None if s is None else s[train]))
    return out


def _block_scales(model: FlexibleOutcomeRegressor, m: Moments) -> np.ndarray:
    """:meth:`FlexibleOutcomeRegressor._block_scales` from the features' moments."""
    q, d, k = model.basis_.n_basis, model.x_mean_.size, model.pairs_.shape[0]
    sd = np.sqrt(m.var)
    scale = np.where(sd > 0, sd, 1.0)
    for block in (slice(0, q), slice(q + d + k, sd.size)):
        var = m.var[block]
        rms = float(np.sqrt(np.mean(var))) if var.size else 1.0
        scale[block] = rms if rms > 0 else 1.0
    return scale


def fit_outcome_models(
    data: ChunkedData,
    regressor: FlexibleOutcomeRegressor,
    seed: int,
    K: int,
    knots: list,
    d: int,
    alphas: Any = None,
) -> tuple[list[FlexibleOutcomeRegressor], list[RidgeStats]]:
    """The cross-fitting models of :func:`~dowhy_e2b.outcome_models.cross_fit`, model ``k`` fitted
    on the rows outside fold ``k`` (three passes), and their ridge statistics. ``knots[k]``:
    ``(lo, hi, inner)`` of its basis."""
    per_fold = data.run(_fold_x_chunk, seed, K)
    models = []
    for k in range(K):
        model = _clone(regressor, alphas)
        lo, hi, inner = knots[k]
        model.basis_ = spline_basis_from(lo, hi, inner)
        mom = _train_moments(per_fold, k)
        sd = np.sqrt(mom.var)
        model.x_mean_, model.x_scale_ = mom.mean, np.where(sd > 0, sd, 1.0)
        pairs = np.array([(j, i) for j in range(d) for i in range(j, d)], dtype=int).reshape(-1, 2)
        if pairs.shape[0] > model.max_pairs:
            raise NotImplementedError(
                f"the outcome model on Dask collections keeps every covariate product; {d} covariates "
                f"give {pairs.shape[0]} products, more than max_pairs={model.max_pairs}: raise max_pairs "
                "or pass fewer (or coarser) covariates."
            )
        model.pairs_ = pairs
        model.n_features_in_ = d + 1
        models.append(model)
    for model, mom in zip(models, data.run(_fold_f_chunk, seed, models), strict=True):
        model.f_mean_, model.f_scale_ = mom.mean, _block_scales(model, mom)
    stats = data.run(_fold_ridge_chunk, seed, models)
    for model, st in zip(models, stats, strict=True):
        model._set_ridge(ridge_fit(st, model._alphas()))
    return models, stats


def _clone(regressor: Any, alphas: Any) -> FlexibleOutcomeRegressor:
    from sklearn.base import clone

    model = clone(regressor)
    if alphas is not None:
        model.set_params(alphas=alphas)
    return model


def _predict(models: list, folds: np.ndarray, X: np.ndarray, a: np.ndarray) -> np.ndarray:
    m = np.empty(a.size)
    for k, model in enumerate(models):
        test = folds == k
        if test.any():
            m[test] = model.predict(np.column_stack([X[test], a[test]]))
    return m


def _predict_doses(models: list, folds: np.ndarray, X: np.ndarray, doses: np.ndarray) -> np.ndarray:
    M = np.empty((X.shape[0], doses.size))
    for k, model in enumerate(models):
        test = folds == k
        if test.any():
            M[test] = model.predict_doses(X[test], doses)
    return M


def _gcomp_chunk(chunk: tuple, start: int, seed: int, models: list, doses: np.ndarray) -> tuple:
    X, a, _, s = chunk[:4]
    folds = folds_at(seed, chunk_rows(chunk, start), len(models))
    M = _predict_doses(models, folds, X, doses)
    s = np.ones(a.size) if s is None else s
    return s @ M, float(s.sum())


# -- the smoother ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurveSpec:
    """What a chunk needs to compute its pseudo-outcomes and smoothing weights."""

    stage: str
    dr_form: str
    weights: WeightFunction | None
    seed: int = 0
    models: tuple = ()
    doses: np.ndarray | None = None
    mbar: np.ndarray | None = None
    ratio_scale: float = 1.0
    smooth_scale: float = 1.0
    basis: Any = None

    def response(self, chunk: tuple, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a, v, smoothing weights)`` of a chunk (weights not yet rescaled to mean 1)."""
        from ..dose_response import dr_response

        X, a, y, s = chunk[:4]
        s = np.ones(a.size) if s is None else s
        w = s if self.weights is None else self.weights(X, a, chunk[3])
        if self.stage == "weighted" or not self.models:
            return a, y, w
        folds = folds_at(self.seed, chunk_rows(chunk, start), len(self.models))
        m = _predict(list(self.models), folds, X, a)
        mbar = np.interp(a, np.asarray(self.doses), np.asarray(self.mbar))
        v, sw = dr_response(self.dr_form, y, m, np.asarray(mbar), w, s, self.ratio_scale)
        return a, v, sw


def _weight_sums_chunk(chunk: tuple, start: int, weights: WeightFunction | None) -> np.ndarray:
    X, a, _, s = chunk[:4]
    s1 = np.ones(a.size) if s is None else s
    w = s1 if weights is None else weights(X, a, s)
    return np.array([s1.sum(), w.sum(), w @ w])


def _smoother_chunk(chunk: tuple, start: int, spec: CurveSpec) -> SmootherStats:
    a, v, sw = spec.response(chunk, start)
    B = _design(spec.basis, a)
    return smoother_stats(B, v, sw * spec.smooth_scale)


def _loo_chunk(chunk: tuple, start: int, spec: CurveSpec, problem: PenalisedProblem) -> tuple:
    a, v, sw = spec.response(chunk, start)
    return problem.loo_sums(problem.grid(), _design(spec.basis, a), v, sw * spec.smooth_scale)


def _design(basis: Any, a: np.ndarray) -> np.ndarray:
    """:meth:`WeightedDoseResponse.design_matrix` of a one-column model: intercept, basis less its
    first function."""
    return np.hstack([np.ones((a.size, 1)), basis.design(a)[:, 1:]])


def _smoother(est: Any, basis: Any, coef: np.ndarray, penalty: float, edf: float) -> Any:
    smoother = est._make_smoother(knots=basis.breakpoints if est.n_knots else "quantile")
    smoother.n_features_in_ = 1
    smoother.constant_columns_ = np.array([False])
    smoother.bases_ = [basis]
    smoother.knots_ = basis.breakpoints
    smoother.coef_, smoother.penalty_, smoother.edf_ = coef, penalty, edf
    return smoother


@dataclass
class ChunkedCurve:
    """One fit of the pipeline on chunked data: what ``AverageDoseResponse`` keeps of it."""

    weighter: Any
    weights: WeightFunction | None
    models: list
    smoother: Any
    spec: CurveSpec
    weight_sums: np.ndarray
    ridge_stats: list | None = None


def fit_curve(
    est: Any,
    data: ChunkedData,
    stage: str,
    weighter: Any,
    *,
    seed: int,
    K: int,
    doses: np.ndarray,
    knots: dict,
    alphas: Any = None,
    check: bool = True,
    replicate: bool = False,
) -> ChunkedCurve:
    """Weights, outcome models, g-computation and smoother on ``data`` (knots given: ``knots["curve"]``
    is ``(lo, hi, inner)``, ``knots[k]`` that of fold model ``k``)."""
    fn = None
    if weighter is not None and replicate:
        # A bootstrap replicate: the weights re-estimated as the fitted weighter's weights_for does
        # (E2B keeps its trained model; the others refit from scratch).
        from ..e2b import E2BWeights
        from .e2b import balance_with

        if isinstance(weighter, E2BWeights):
            fn = balance_with(weighter, data, check=False).weight_function_
        else:
            from .._base import strict_clone
            from ..dose_response import replicate_balance

            weighter = strict_clone(weighter) or clone(weighter)  # as weights_for(strict=True)
            with replicate_balance():
                fit_weights_data(weighter, data, named=True, check=check)
            fn = weighter.weight_function_
    elif weighter is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiscreteTreatmentWarning)
            fit_weights_data(weighter, data, named=True, check=check)
        fn = weighter.weight_function_
    models: list = []
    ridge_stats = None
    mbar = None
    if stage == "doubly_robust":
        models, ridge_stats = fit_outcome_models(
            data, est._regressor(), seed, K, [knots[k] for k in range(K)], len(data.names), alphas
        )
        total, s_sum = data.run(_gcomp_chunk, seed, models, doses)
        mbar = total / s_sum
    sums = data.run(_weight_sums_chunk, fn)
    smooth_sum = sums[0] if stage == "doubly_robust" and est.dr_form == "pseudo_outcome" else sums[1]
    lo, hi, inner = knots["curve"]
    basis = spline_basis_from(lo, hi, inner)
    spec = CurveSpec(
        stage,
        est.dr_form,
        fn,
        seed,
        tuple(models),
        doses,
        mbar,
        ratio_scale=float(sums[0] / sums[1]),
        smooth_scale=float(data.n / smooth_sum),
        basis=basis,
    )
    smoother = _smoother(est, basis, np.zeros(0), 0.0, 0.0)
    omega = smoother._penalty_matrix()
    problem = PenalisedProblem(data.run(_smoother_chunk, spec), omega)
    loo = None
    if est.penalty == "loo":
        total, weight = data.run(_loo_chunk, spec, problem)
        loo = total / weight
    fit = select_penalty(problem, est.penalty, loo_scores=loo)
    smoother.coef_, smoother.penalty_, smoother.edf_ = fit.coef, fit.penalty, fit.edf
    return ChunkedCurve(weighter, fn, models, smoother, spec, sums, ridge_stats)


# -- the estimator ----------------------------------------------------------------------------------
def _knot_probs(n_knots: int, distinct: int) -> np.ndarray:
    k = int(min(n_knots, distinct))
    return np.linspace(0, 1, k)[1:-1]


def plan_knots(
    est: Any, data: ChunkedData, seed: int | None, K: int, grid_probs: bool, curve_knots: bool = True
) -> tuple[dict, np.ndarray | None]:
    """Exact quantiles: the curve's knots, each fold model's knots and the dose grid's percentiles."""
    specs: list[tuple] = [("all",)]
    if seed is not None:
        specs += [("fold_not", seed, K, k) for k in range(K)]
    cap = max(int(est.n_knots), int(est._regressor().n_knots)) + 1
    # First the counts and distinct values, which fix how many knots each basis gets.
    from .quantiles import _summary_chunk

    summaries = data.run(_summary_chunk, treatment_values, specs, cap)
    probs = [_knot_probs(int(est.n_knots), summaries[0].distinct.size) if curve_knots else np.zeros(0)]
    if grid_probs:
        probs[0] = np.concatenate([probs[0], [0.05, 0.95]])
    reg_knots = int(est._regressor().n_knots)
    for s in summaries[1:]:
        probs.append(_knot_probs(int(min(reg_knots, max(s.distinct.size, 2))), s.distinct.size))
    quantiles, summaries = chunked_quantiles(
        data, treatment_values, specs, probs, distinct_cap=cap, summaries=summaries
    )
    out: dict = {}
    q0 = quantiles[0]
    grid = None
    if grid_probs:
        q0, grid = q0[:-2], q0[-2:]
    out["curve"] = (summaries[0].lo, summaries[0].hi, q0)
    for k, (q, s) in enumerate(zip(quantiles[1:], summaries[1:], strict=True)):
        out[k] = (s.lo, s.hi, q)
    return out, grid


def _check_supported(est: Any) -> None:
    from ..e2b import E2BWeights
    from ..entropy import EntropyBalancingWeights
    from ..gps import GPSWeights, UnitWeights

    if est.weighter is not None and not isinstance(
        est.weighter, (EntropyBalancingWeights, GPSWeights, UnitWeights, E2BWeights)
    ):
        raise TypeError(
            f"{type(est.weighter).__name__} cannot weight Dask collections; use EntropyBalancingWeights, "
            "E2BWeights, GPSWeights or UnitWeights."
        )
    if (
        est.outcome_stage == "doubly_robust"
        and est.outcome_regressor is not None
        and not isinstance(est.outcome_regressor, FlexibleOutcomeRegressor)
    ):
        raise TypeError(
            "the doubly robust stage on Dask collections fits FlexibleOutcomeRegressor from per-chunk "
            f"statistics; got outcome_regressor={est.outcome_regressor!r}."
        )


def fit_dose_response(est: Any, X: Any, a: Any, y: Any, sample_weight: Any = None) -> Any:
    """:meth:`AverageDoseResponse.fit` on Dask collections (same attributes; ``weights_`` and the
    outcome predictions are lazy Dask arrays)."""
    _check_supported(est)
    data = chunked(X, a, y, sample_weight)
    if not data.has_y:
        raise ValueError("y (the outcome) is required.")
    scan = data.scan()
    check_treatment_counts(scan, data.n)
    lo, hi = scan["range"].lo, scan["range"].hi
    if sample_weight is not None and not scan["weight_sum"] > 0:
        raise ValueError(f"sample_weight must be {data.n} finite non-negative numbers with a positive sum.")
    table_data = data
    data = data.normalised(scan["weight_sum"])
    est.treatment_range_ = (lo, hi)
    est.constant_treatment_ = not hi > lo
    est.feature_names_ = list(data.names)
    rng = check_random_state(est.random_state)
    stage = est.outcome_stage
    weighter = None
    if est.constant_treatment_:
        warnings.warn(
            "treatment is constant: the dose-response curve is flat and every effect is 0.",
            ConstantTreatmentWarning,
            stacklevel=3,
        )
        stage = "weighted"
    elif not data.names:
        stage = "weighted"
    K = min(int(est.cv), data.n)
    est.outcome_stage_ = stage
    # The in-memory order of draws from random_state: the folds (doubly robust), then the bootstrap.
    fold_seed = int(rng.randint(np.iinfo(np.int32).max)) if stage == "doubly_robust" else None
    knots: dict = {}
    if est.constant_treatment_:
        est.grid_ = check_dose_grid(est.dose_grid, np.array([lo, hi]))
    else:
        by_count = isinstance(est.dose_grid, (int, np.integer)) and not isinstance(est.dose_grid, bool)
        if by_count and est.dose_grid < 2:
            check_dose_grid(est.dose_grid, np.array([lo, hi]))
        knots, grid_q = plan_knots(est, data, fold_seed, K, by_count)
        est.grid_ = (
            np.linspace(grid_q[0], grid_q[1], int(est.dose_grid))
            if grid_q is not None
            else check_dose_grid(est.dose_grid, np.array([lo, hi]))
        )
        if data.names:
            weighter = est._make_weighter()
    from ..dose_response import N_GCOMP_DOSES, init_replicates

    est._pipeline = _Pipeline(
        data, table_data, stage, fold_seed, K, np.linspace(lo, hi, N_GCOMP_DOSES), knots
    )
    _fit_pipeline(est, est._pipeline, weighter)
    est._seed = int(rng.randint(np.iinfo(np.int32).max))
    est.balance_relaxed_ = False
    init_replicates(est)
    if est.n_bootstrap and not _point_fit_failed(est, _curve_ess(est._curve), data.n):
        est._bootstrap_relaxing(None, None, None, stacklevel=3)
    est.curve_ = est.dose_response_frame(est.grid_)
    return est


def refit_weights(est: Any, weighter: Any) -> bool:
    """:meth:`AverageDoseResponse._refit_relaxed` on Dask collections: the point fit's pipeline
    again with ``weighter`` (unfitted); whether the new fit can be bootstrapped."""
    _fit_pipeline(est, est._pipeline, weighter)
    return not _point_fit_failed(est, _curve_ess(est._curve), est._pipeline.data.n)


def _curve_ess(curve: ChunkedCurve) -> float:
    sums = curve.weight_sums
    return float(sums[1] ** 2 / sums[2]) if sums[2] > 0 else 0.0


@dataclass(frozen=True)
class _Pipeline:
    """What the point fit's pipeline needs besides the weighter: the data (normalised, and as given
    for the balance table), the stage, the folds' seed and count, the g-computation doses and the
    knots."""

    data: ChunkedData
    table_data: ChunkedData
    stage: str
    fold_seed: int | None
    K: int
    doses: np.ndarray
    knots: dict


def _fit_pipeline(est: Any, plan: _Pipeline, weighter: Any) -> None:
    """Fit the weights (``weighter``, unfitted, or none), the outcome models and the curve; set
    ``weighter_``, ``weights_``, ``outcome_fit_``, ``smoother_`` and ``balance_table_`` on
    ``est``."""
    data, stage, fold_seed = plan.data, plan.stage, plan.fold_seed
    if est.constant_treatment_:
        curve = _constant_curve(est, data)
    else:
        curve = fit_curve(
            est, data, stage, weighter, seed=fold_seed or 0, K=plan.K, doses=plan.doses, knots=plan.knots
        )
    est.weighter_ = curve.weighter
    est._chunked = (data, curve.weights)
    fn = (
        curve.weights
        if curve.weights is not None
        else WeightFunction("unit", {"norm": data.n / float(curve.weight_sums[0])})
    )
    est.weights_ = lazy_weights(data, fn)
    est._treatment = None
    est._sample_weight = None
    est.outcome_fit_ = None
    if stage == "doubly_robust":
        est.outcome_fit_ = OutcomeFit(
            at_observed=_lazy_rows(data, _observed_rows, fold_seed, curve.models),
            at_doses=_lazy_rows(data, _dose_rows, fold_seed, curve.models, plan.doses),
            doses=plan.doses,
            folds=_lazy_rows(data, _fold_rows, fold_seed, plan.K),
            models=tuple(curve.models),
        )
    est._fold_seed, est._knots, est._curve = fold_seed, plan.knots, curve
    est.smoother_ = curve.smoother
    est.balance_table_ = _table(plan.table_data, fn, int(getattr(est.weighter_, "moments", 1) or 1))


def _constant_curve(est: Any, data: ChunkedData) -> ChunkedCurve:
    def chunk_sums(chunk: tuple, start: int) -> np.ndarray:
        _, a, y, s = chunk[:4]
        s = np.ones(a.size) if s is None else s
        return np.array([s @ y, s.sum()])

    sums = data.run(_weight_sums_chunk, None)
    wy, ws = data.run(chunk_sums)
    smoother = est._make_smoother()
    smoother.n_features_in_, smoother.constant_columns_, smoother.bases_ = 1, np.array([True]), []
    smoother.knots_, smoother.coef_, smoother.penalty_, smoother.edf_ = None, np.array([wy / ws]), 0.0, 1.0
    return ChunkedCurve(None, None, [], smoother, CurveSpec("weighted", est.dr_form, None), sums)


def _point_fit_failed(est: Any, ess: float, n: int) -> bool:
    reason = point_fit_failure(est.weighter_) if est.weighter_ is not None else None
    if reason is None or ess >= MIN_ESS_FRACTION * n:
        return False
    warnings.warn(
        f"the bootstrap was skipped: {reason} Bands around a failed fit would describe the "
        "failure, not the curve. Try fewer moments, a ridge or max_imbalance (approximate "
        "balance), or fewer covariates.",
        BalanceWarning,
        stacklevel=4,
    )
    return True


def _observed_rows(chunk: tuple, start: int, seed: int, models: list) -> np.ndarray:
    X, a = chunk[0], chunk[1]
    return _predict(models, folds_at(seed, chunk_rows(chunk, start), len(models)), X, a)


def _dose_rows(chunk: tuple, start: int, seed: int, models: list, doses: np.ndarray) -> np.ndarray:
    folds = folds_at(seed, chunk_rows(chunk, start), len(models))
    return _predict_doses(models, folds, chunk[0], doses)


def _fold_rows(chunk: tuple, start: int, seed: int, K: int) -> np.ndarray:
    return folds_at(seed, chunk_rows(chunk, start), K)


def _lazy_rows(data: ChunkedData, fn: Any, *params: Any) -> Any:
    """A lazy Dask array of ``fn``'s per-row values (a vector, or a row of doses when the last
    parameter is the doses)."""
    import dask.array as da

    tail = (params[-1].size,) if params and isinstance(params[-1], np.ndarray) else ()
    blocks = [
        da.from_delayed(task, shape=(int(m), *tail), dtype=float)
        for task, m in zip(data.tasks(fn, *params), data.lengths, strict=True)
    ]
    return da.concatenate(blocks)


@dataclass(frozen=True)
class _DropFirstLevels:
    """Weights of a chunk encoded with every level, from a weight function of the usual encoding."""

    fn: WeightFunction | None
    keep: np.ndarray

    def __call__(self, X: np.ndarray, a: np.ndarray, s: np.ndarray | None) -> np.ndarray:
        if self.fn is None:
            return np.ones(a.size) if s is None else s
        return self.fn(X[:, self.keep], a, s)


def _table(data: ChunkedData, fn: WeightFunction, moments: int) -> Any:
    """The pipeline's balance table: every level of a categorical covariate gets its row."""
    if data.encoder.columns is None or all(spec.levels is None for spec in data.encoder.columns):
        return chunked_balance_table(data, fn, list(data.names), moments)
    full = data.with_encoder(replace(data.encoder, all_levels=True))
    keep, j = [], 0
    for spec in data.encoder.columns:
        if spec.levels is None:
            keep.append(j)
            j += 1
        else:
            keep.extend(range(j + 1, j + len(spec.levels)))
            j += len(spec.levels)
    return chunked_balance_table(
        full, _DropFirstLevels(fn, np.asarray(keep, dtype=int)), full.encoder.names, moments
    )


def _a_moments_chunk(chunk: tuple, start: int) -> Moments:
    return Moments.of(chunk[1][:, None])


def _near_chunk(
    chunk: tuple, start: int, fn: WeightFunction | None, doses: np.ndarray, h: float
) -> np.ndarray:
    X, a, _, s = chunk[:4]
    w = (np.ones(a.size) if s is None else s) if fn is None else fn(X, a, s)
    near = np.abs(a[None, :] - doses[:, None]) <= h + 1e-12 * max(1.0, abs(h))
    return np.stack([near @ w, near @ w**2])


def chunked_local_ess(est: Any, values: np.ndarray) -> np.ndarray:
    """:meth:`AverageDoseResponse.local_ess` on chunked data (two passes, the first one cached)."""
    data, fn = est._chunked
    if getattr(est, "_bandwidth", None) is None:
        est._bandwidth = 0.25 * float(np.sqrt(data.run(_a_moments_chunk).var[0]))
    s1, s2 = data.run(_near_chunk, fn, np.asarray(values, dtype=float), est._bandwidth)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s2 > 0, s1**2 / np.where(s2 > 0, s2, 1.0), 0.0)
