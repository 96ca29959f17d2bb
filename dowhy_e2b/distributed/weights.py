r"""The weighting estimators on chunked data.

Entropy balancing: the balancing features are the in-memory ones (:func:`~dowhy_e2b._numerics.
features.balance_features`), rebuilt on every chunk from a :class:`FeatureMap` whose centres and
scales take three passes; the dual's value, gradient and Hessian are sums over chunks
(:class:`~dowhy_e2b.distributed._chunks.LogSumExp`), and the in-memory solver
(:func:`~dowhy_e2b._numerics.dual.solve_dual`) runs on them unchanged, one pass per evaluation.
GPS weights solve the treatment model's normal equations from per-chunk cross-products.

The fitted weights are a lazy Dask array (``weights_``): a :class:`WeightFunction` of each chunk's
rows, recomputed where it is needed; nothing of size ``n`` comes to the client.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg
from scipy.stats import norm

from .._numerics import drop_collinear_gram, solve_dual
from .._numerics.dual import CachedDual
from .._validation import check_constraint_count, check_numeric_frame
from ..balance_check import balance_check_from_table, warn_if_unbalanced
from ..exceptions import BalanceError, ConvergenceWarning
from ._chunks import CoMoments, LogSumExp, Moments
from ._data import ChunkedData, check_treatment_counts, chunked
from .quantiles import chunked_quantiles

__all__ = ["FeatureMap", "WeightFunction", "fit_weights", "lazy_weights"]

logger = logging.getLogger(__name__)


# -- balancing features -------------------------------------------------------------------------
def _standardiser(m: Moments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, scale and zero-mask of ``_weighted_standardise`` from the columns' moments."""
    sd = np.sqrt(m.var)
    zero = sd <= 1e-12 * (1.0 + np.abs(m.mean))
    return m.mean, np.where(zero, 1.0, sd), zero


def _standardise(v: np.ndarray, centre: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    out = (v - centre) / scale
    out[:, zero] = 0.0
    return out


@dataclass(frozen=True)
class FeatureMap:
    """The balancing features of :func:`~dowhy_e2b._numerics.features.balance_features` as a map of
    a chunk's rows, with the centres and scales of all rows."""

    moments: int
    treatment_moments: int
    first: tuple  # centre, scale, zero of [a, X]
    second: tuple | None = None  # of the marginal columns
    rms: np.ndarray | None = None  # of the products

    def marginals(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        d, tm = X.shape[1], self.treatment_moments
        V = _standardise(np.column_stack([a, X]), *self.first)
        out = np.empty((a.size, tm + self.moments * d))
        out[:, 0] = V[:, 0]
        for k in range(1, tm):
            out[:, k] = out[:, k - 1] * V[:, 0]
        start = tm
        for k in range(1, self.moments + 1):
            out[:, start : start + d] = V[:, 1:] if k == 1 else out[:, start - d : start] * V[:, 1:]
            start += d
        return out if self.second is None else _standardise(out, *self.second)

    def products(self, marginals: np.ndarray) -> np.ndarray:
        prods = marginals[:, :1] * marginals[:, self.treatment_moments :]
        return prods if self.rms is None else prods / np.where(self.rms > 1e-12, self.rms, 1.0)

    def __call__(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        marg = self.marginals(X, a)
        return np.hstack([marg, self.products(marg)]) if X.shape[1] else marg


def _first_chunk(chunk: tuple, start: int) -> tuple:
    X, a, _, s = chunk[:4]
    return Moments.of(np.column_stack([a, X]), s), int(a.size if s is None else np.count_nonzero(s))


def _second_chunk(chunk: tuple, start: int, fmap: FeatureMap) -> Moments:
    X, a, _, s = chunk[:4]
    return Moments.of(fmap.marginals(X, a), s)


def _third_chunk(chunk: tuple, start: int, fmap: FeatureMap) -> tuple:
    X, a, _, s = chunk[:4]
    marg = fmap.marginals(X, a)
    prods = fmap.products(marg)
    C = np.hstack([marg, prods])
    w = np.ones(a.size) if s is None else s
    return C.T @ C, w @ prods**2


def feature_map(
    data: ChunkedData, moments: int, treatment_moments: int
) -> tuple[FeatureMap, np.ndarray, int]:
    """The feature map (three passes), the kept columns (:func:`drop_collinear`) and the rows with
    positive weight."""
    first, n_rows = data.run(_first_chunk)
    fmap = FeatureMap(moments, treatment_moments, _standardiser(first))
    fmap = FeatureMap(moments, treatment_moments, fmap.first, _standardiser(data.run(_second_chunk, fmap)))
    gram, prod_sq = data.run(_third_chunk, fmap)
    d = len(data.names)
    if d:
        rms = np.sqrt(prod_sq / first.weight)
        fmap = FeatureMap(moments, treatment_moments, fmap.first, fmap.second, rms)
        n_marg = treatment_moments + moments * d
        scale = np.concatenate([np.ones(n_marg), 1.0 / np.where(rms > 1e-12, rms, 1.0)])
        gram = gram * np.outer(scale, scale)
    keep = drop_collinear_gram(gram / max(data.n, 1))
    return fmap, keep, n_rows


def feature_names(names: list[str], moments: int, treatment_moments: int) -> tuple[list[str], np.ndarray]:
    """Readable names of the feature map's columns and the covariate each refers to."""
    out = ["a" if k == 1 else f"a^{k}" for k in range(1, treatment_moments + 1)]
    cov = [-1] * treatment_moments
    for k in range(1, moments + 1):
        out += [nm if k == 1 else f"{nm}^{k}" for nm in names]
        cov += list(range(len(names)))
    if names:
        for k in range(1, moments + 1):
            out += [f"a*{nm}" if k == 1 else f"a*{nm}^{k}" for nm in names]
            cov += list(range(len(names)))
    return out, np.asarray(cov, dtype=int)


# -- the entropy dual, chunk by chunk ---------------------------------------------------------------
@dataclass(frozen=True)
class LogBase:
    """Log base weights of a chunk's rows: the sample weights' log, plus E2B's learned log base."""

    model: Any = None

    def __call__(self, X: np.ndarray, a: np.ndarray, s: np.ndarray | None) -> np.ndarray:
        out = np.zeros(a.size) if self.model is None else np.asarray(self.model(X, a), dtype=float)
        if s is not None:
            with np.errstate(divide="ignore"):
                out = out + np.log(s)
        return out


def _dual_chunk(
    chunk: tuple,
    start: int,
    fmap: FeatureMap,
    keep: np.ndarray,
    lam: np.ndarray,
    log_base: LogBase,
    hess: bool,
) -> LogSumExp:
    X, a, _, s = chunk[:4]
    C = fmap(X, a)[:, keep]
    return LogSumExp.of(log_base(X, a, s) + C @ lam, C, hessian=hess)


class ChunkedDualState(CachedDual):
    """``fun``, ``jac`` and ``hess`` of the smooth dual (as :class:`~dowhy_e2b._numerics.dual.
    _DualState`), each evaluation one pass over the chunks."""

    def __init__(
        self,
        data: ChunkedData,
        fmap: FeatureMap,
        keep: np.ndarray,
        log_base: LogBase,
        ridge: float,
        hess: bool,
    ):
        self.data, self.fmap, self.keep, self.log_base = data, fmap, keep, log_base
        self.ridge, self.with_hessian = ridge, hess
        self.lse0 = data.run(_dual_chunk, fmap, keep, np.zeros(keep.size), log_base, False).lse

    def _evaluate(self, lam: np.ndarray) -> None:
        self.stats = self.data.run(_dual_chunk, self.fmap, self.keep, lam, self.log_base, self.with_hessian)
        st = self.stats
        self.imbalance = st.g / st.s
        self.f = float(st.lse - self.lse0 + 0.5 * self.ridge * lam @ lam)
        self.g = self.imbalance + self.ridge * lam
        if st.H is not None:
            self._H = st.H / st.s - np.outer(self.imbalance, self.imbalance)
            if self.ridge:
                self._H[np.diag_indices_from(self._H)] += self.ridge

    def _hessian(self) -> np.ndarray:
        raise RuntimeError("this dual state was built without Hessians")


@dataclass(frozen=True)
class WeightFunction:
    """The weights of a chunk's rows (mean 1 over all rows)."""

    kind: str
    params: dict

    def __call__(self, X: np.ndarray, a: np.ndarray, s: np.ndarray | None) -> np.ndarray:
        p = self.params
        if self.kind == "entropy":
            C = p["fmap"](X, a)[:, p["keep"]]
            return np.exp(p["log_base"](X, a, s) + C @ p["lam"] - p["lse"]) * p["n"]
        if self.kind == "gps":
            w = np.exp(_gps_log_weights(X, a, p) - p["max"])
            if p["clip"] is not None:
                w = np.minimum(w, p["clip"])
            return w * (1.0 if s is None else s) * p["norm"]
        if self.kind == "unit":
            return np.ones(a.size) if s is None else s * p["norm"]
        raise ValueError(f"unknown weights {self.kind!r}")


def _weights_of(chunk: tuple, fn: WeightFunction) -> np.ndarray:
    X, a, _, s = chunk[:4]
    return fn(X, a, s)


def lazy_weights(data: ChunkedData, fn: WeightFunction) -> Any:
    """The weights of every row as a lazy Dask array, chunked like the data."""
    import dask
    import dask.array as da

    shared = dask.delayed(fn, traverse=False)
    blocks = [
        da.from_delayed(dask.delayed(_weights_of, pure=True)(part, shared), shape=(int(m),), dtype=float)
        for part, m in zip(data.parts, data.lengths, strict=True)
    ]
    return da.concatenate(blocks)


# -- the balance check ---------------------------------------------------------------------------
def _groups_chunk(chunk: tuple, start: int, groups: dict) -> dict:
    X = chunk[0]
    out = {}
    for source, cols in groups.items():
        block = X[:, cols]
        total = block.sum(axis=1)
        out[source] = np.array(
            [
                float(np.all((block == 0) | (block == 1))),
                float(total.max(initial=0)),
                float(total.min(initial=1)),
            ]
        )
    return {k: _GroupFlags(*v) for k, v in out.items()}


@dataclass(frozen=True)
class _GroupFlags:
    binary: float
    max_total: float
    min_total: float

    def __add__(self, other: _GroupFlags) -> _GroupFlags:
        return _GroupFlags(
            min(self.binary, other.binary),
            max(self.max_total, other.max_total),
            min(self.min_total, other.min_total),
        )


def _table_x(X: np.ndarray, names: list[str], groups: dict) -> np.ndarray:
    from ..diagnostics import _with_reference_levels

    return _with_reference_levels(X, names, groups)[0]


def _table_moments_chunk(chunk: tuple, start: int, names: list, groups: dict, fn: WeightFunction) -> tuple:
    X, a, _, s = chunk[:4]
    Xt = _table_x(X, names, groups)
    w = fn(X, a, s)
    distinct = [_Few(np.unique(Xt[:, j])[:3]) for j in range(Xt.shape[1])]
    return Moments.of(Xt), distinct, np.array([w.sum(), w @ w])


@dataclass(frozen=True)
class _Few:
    values: np.ndarray

    def __add__(self, other: _Few) -> _Few:
        return _Few(np.union1d(self.values, other.values)[:3])


def _table_corr_chunk(
    chunk: tuple,
    start: int,
    names: list,
    groups: dict,
    fn: WeightFunction,
    centre: np.ndarray,
    scale: np.ndarray,
    moments: int,
) -> list:
    X, a, _, s = chunk[:4]
    Z = (_table_x(X, names, groups) - centre) / scale
    w = fn(X, a, s)
    return [(CoMoments.of(a, Z**k), CoMoments.of(a, Z**k, w)) for k in range(1, moments + 1)]


def chunked_balance_table(data: ChunkedData, fn: Callable, names: list[str], moments: int) -> Any:
    """:func:`~dowhy_e2b.diagnostics.balance_table` of chunked data (three passes)."""
    from .._validation import source_column
    from ..diagnostics import REFERENCE_LEVEL, balance_rows

    candidates: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        if source_column(name) != name:
            candidates.setdefault(source_column(name), []).append(j)
    groups = {}
    if candidates:
        flags = data.run(_groups_chunk, candidates)
        groups = {
            k: candidates[k]
            for k, f in flags.items()
            if f.binary == 1.0 and f.max_total <= 1 and f.min_total == 0
        }
    table_names = list(names)
    if groups:
        first = {cols[0]: src for src, cols in groups.items()}
        table_names = []
        for j, name in enumerate(names):
            if j in first:
                table_names.append(f"{first[j]}[{REFERENCE_LEVEL}]")
            table_names.append(name)
    mom, distinct, ess = data.run(_table_moments_chunk, names, groups, fn)
    sd = np.sqrt(mom.var)
    scale = np.where(sd > 0, sd, 1.0)
    stats = []
    for unweighted, weighted in data.run(_table_corr_chunk, names, groups, fn, mom.mean, scale, int(moments)):
        sd_k = np.sqrt(unweighted.m2_v / unweighted.weight)
        shift = weighted.mean_v - unweighted.mean_v
        stats.append(
            (
                unweighted.corr(),
                weighted.corr(),
                np.where(sd_k > 0, shift / np.where(sd_k > 0, sd_k, 1.0), 0.0),
            )
        )
    binary = np.array([d.values.size <= 2 for d in distinct], dtype=bool)
    return balance_rows(table_names, binary, stats, float(ess[0] ** 2 / ess[1]) if ess[1] > 0 else 0.0)


def _check(
    est: Any, data: ChunkedData, fn: WeightFunction, method: str, moments: int, warn: bool, advice: str = ""
) -> Any:
    table = chunked_balance_table(data, fn, list(data.names), moments)
    check = balance_check_from_table(table, data.n, method=method)
    est.balance_check_ = check
    if warn:
        warn_if_unbalanced(check, advice, stacklevel=4)
    return check


# -- estimators ----------------------------------------------------------------------------------
def _prepare(est: Any, X: Any, a: Any, sample_weight: Any, y: Any = None) -> tuple[ChunkedData, dict]:
    if getattr(X, "ndim", 0) == 2 and hasattr(X, "columns"):
        check_numeric_frame(X._meta_nonempty)
    data = chunked(X, a, y, sample_weight)
    scan = data.scan()
    if data.n < 2:
        raise ValueError(f"Found array with {data.n} sample(s) while a minimum of 2 is required.")
    check_treatment_counts(scan, data.n)
    lo, hi = scan["range"].lo, scan["range"].hi
    if not hi > lo:
        raise ValueError(
            "treatment is constant: there is no dose-response to balance for. "
            "AverageDoseResponse and the DoWhy estimators return a zero effect in that case."
        )
    if sample_weight is not None and not scan["weight_sum"] > 0:
        raise ValueError("sample_weight must have a positive sum.")
    est.n_features_in_ = len(data.names)
    if data.frame_names is not None and all(isinstance(c, str) for c in data.frame_names):
        est.feature_names_in_ = np.asarray(data.frame_names, dtype=object)
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    return data, scan


def fit_weights(est: Any, X: Any, a: Any, sample_weight: Any = None, y: Any = None) -> Any:
    """Fit the weighting estimator ``est`` on Dask inputs; sets the attributes the in-memory ``fit``
    sets, with ``weights_`` a lazy Dask array. Returns ``est``."""
    data, _ = _prepare(est, X, a, sample_weight, y)
    return fit_weights_data(est, data)


def fit_weights_data(
    est: Any, data: ChunkedData, log_base_model: Any = None, named: bool = False, check: bool = True
) -> Any:
    """:func:`fit_weights` on scanned chunks (``named``: the covariates carry ``data.names``, as the
    dose-response pipeline passes them; ``check=False`` skips the balance check where it cannot
    change the weights, e.g. in a bootstrap replicate)."""
    from ..e2b import E2BWeights
    from ..entropy import EntropyBalancingWeights
    from ..gps import GPSWeights, UnitWeights

    if named:
        est.n_features_in_ = len(data.names)
        est.feature_names_in_ = np.asarray(data.names, dtype=object)
    if isinstance(est, E2BWeights):
        from .e2b import fit_e2b_data

        return fit_e2b_data(est, data, check=check)
    if isinstance(est, EntropyBalancingWeights):
        return _fit_entropy(est, data, LogBase(log_base_model), check or est.on_failure == "raise")
    if isinstance(est, GPSWeights):
        fn = _fit_gps(est, data)
    elif type(est) is UnitWeights:
        fn = WeightFunction("unit", {"norm": data.n / data.run(_weight_sum_chunk)})
        est.effective_sample_size_ = _ess(data, fn)
    else:
        raise TypeError(
            f"{type(est).__name__} cannot fit Dask collections; use EntropyBalancingWeights, "
            "E2BWeights, GPSWeights or UnitWeights, or compute the data into memory first."
        )
    est.weight_function_ = fn
    est.weights_ = lazy_weights(data, fn)
    if check:
        _check(est, data, fn, est.method_label, 1, warn=True, advice=est.balance_advice)
    return est


def _weight_sum_chunk(chunk: tuple, start: int) -> float:
    return float(chunk[1].size if chunk[3] is None else chunk[3].sum())


def _ess_chunk(chunk: tuple, start: int, fn: WeightFunction) -> np.ndarray:
    w = _weights_of(chunk, fn)
    return np.array([w.sum(), w @ w])


def _ess(data: ChunkedData, fn: WeightFunction) -> float:
    s1, s2 = data.run(_ess_chunk, fn)
    return float(s1**2 / s2) if s2 > 0 else 0.0


def _fit_entropy(
    est: Any, data: ChunkedData, log_base: LogBase, check_balance: bool = True, method: str | None = None
) -> Any:
    from ..entropy import balance_failure_message

    est._check_params()
    moments, t_moments = int(est.moments), int(est.treatment_moments)
    fmap, keep, n_rows = feature_map(data, moments, t_moments)
    names, covariate = feature_names(
        [str(c) for c in getattr(est, "feature_names_in_", data.names)], moments, t_moments
    )
    check_constraint_count(
        covariate,
        [str(c) for c in getattr(est, "feature_names_in_", [f"x{j}" for j in range(len(data.names))])],
        n_rows,
        "entropy balancing",
        f"moments={moments}, treatment_moments={t_moments}",
        n_independent=len(keep),
    )
    ridge, bound = float(est.ridge), float(est.max_imbalance or 0.0)
    state = ChunkedDualState(data, fmap, keep, log_base, ridge, hess=bound == 0)
    lam, n_iter, message = solve_dual(
        state, keep.size, max_imbalance=bound, tol=float(est.tol), max_iter=int(est.max_iter)
    )
    state.jac(lam)
    imbalance, st = state.imbalance, state.stats
    max_abs = float(np.max(np.abs(imbalance))) if imbalance.size else 0.0
    kkt = bool(np.max(np.abs(imbalance + ridge * lam), initial=0.0) <= bound + float(est.tol))
    ess = float(st.s**2 / st.s2)
    fn = WeightFunction(
        "entropy", {"fmap": fmap, "keep": keep, "lam": lam, "lse": st.lse, "n": data.n, "log_base": log_base}
    )
    solved = bool(kkt and np.isfinite(st.lse))
    est.max_imbalance_, est.effective_sample_size_, est.dual_coef_, est.n_iter_ = max_abs, ess, lam, n_iter
    est.balance_features_ = tuple(names[i] for i in keep)
    est.dropped_features_ = tuple(nm for i, nm in enumerate(names) if i not in set(keep))
    est.weight_function_ = fn
    est.weights_ = lazy_weights(data, fn)
    logger.debug(
        "chunked entropy balancing: %d constraints, %d iterations, %d passes (%s)",
        keep.size,
        n_iter,
        state.n_evals,
        message,
    )
    if not solved:
        target = bound + float(est.tol)
        msg = balance_failure_message(method or "entropy balancing", max_abs, target, ess, data.n)
        if est.on_failure == "raise":
            raise BalanceError(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)
    if not check_balance:
        est.converged_ = solved
        return est
    check = _check(est, data, fn, method or est.method_label, moments, warn=False)
    est.converged_ = bool(solved and check.corr_ok)
    if not est.converged_ and est.on_failure == "raise":
        raise BalanceError(check.summary() + " " + est._advice())
    warn_if_unbalanced(check, est._advice(), stacklevel=4)
    return est


# -- GPS -------------------------------------------------------------------------------------------
def _gps_log_weights(X: np.ndarray, a: np.ndarray, p: dict) -> np.ndarray:
    resid = a - (X @ p["coef"] + p["intercept"])
    log_w = -norm.logpdf(resid, scale=p["sigma"])
    if p["stabilized"]:
        log_w += norm.logpdf(a, loc=p["mean"], scale=p["sd"])
    return log_w


def _cross_chunk(chunk: tuple, start: int, centre: np.ndarray) -> np.ndarray:
    X, a, _, s = chunk[:4]
    V = np.column_stack([X, a]) - centre
    return (V if s is None else V * s[:, None]).T @ V


def _resid_chunk(chunk: tuple, start: int, coef: np.ndarray, intercept: float) -> float:
    X, a, _, s = chunk[:4]
    r = a - (X @ coef + intercept)
    return float(r @ r) if s is None else float(s @ r**2)


def _max_chunk(chunk: tuple, start: int, params: dict) -> _Max:
    X, a, _, _ = chunk[:4]
    return _Max(float(_gps_log_weights(X, a, params).max(initial=-np.inf)))


@dataclass(frozen=True)
class _Max:
    value: float

    def __add__(self, other: _Max) -> _Max:
        return _Max(max(self.value, other.value))


def _gps_values(chunk: tuple, start: int, params: dict) -> np.ndarray:
    X, a, _, _ = chunk[:4]
    return np.exp(_gps_log_weights(X, a, params) - params["max"])


def _fit_gps(est: Any, data: ChunkedData) -> WeightFunction:
    from numbers import Real

    from sklearn.linear_model import LinearRegression
    from sklearn.utils.validation import check_scalar

    if est.clip_quantile is not None:
        check_scalar(
            est.clip_quantile, "clip_quantile", Real, min_val=0.5, max_val=1.0, include_boundaries="right"
        )
    if est.regressor is not None and not (
        type(est.regressor) is LinearRegression and est.regressor.get_params()["fit_intercept"]
    ):
        raise TypeError(
            "GPSWeights on Dask collections fits its default treatment model (least squares with an "
            f"intercept) from per-chunk normal equations; got regressor={est.regressor!r}."
        )
    first, _ = data.run(_first_chunk)
    d = len(data.names)
    centre = np.concatenate([first.mean[1:], first.mean[:1]])
    cross = data.run(_cross_chunk, centre)
    Sxx, Sxa = cross[:d, :d], cross[:d, d]
    coef = linalg.lstsq(Sxx, Sxa)[0] if d else np.zeros(0)
    intercept = float(first.mean[0] - first.mean[1:] @ coef)
    sigma = float(np.sqrt(data.run(_resid_chunk, coef, intercept) / max(first.weight - d - 1, 1.0)))
    params = {
        "coef": coef,
        "intercept": intercept,
        "sigma": sigma,
        "stabilized": bool(est.stabilized),
        "mean": float(first.mean[0]),
        "sd": float(np.sqrt(first.var[0])),
    }
    params["max"] = data.run(_max_chunk, params).value
    clip = None
    if est.clip_quantile is not None:
        (clip_q,), _ = chunked_quantiles(
            data, _GPSValues(params), [("all",)], [np.array([float(est.clip_quantile)])]
        )
        clip = float(clip_q[0])
    params["clip"] = clip
    params["norm"] = 1.0
    total = data.run(_ess_chunk, WeightFunction("gps", params))[0]
    params["norm"] = data.n / total
    fn = WeightFunction("gps", params)
    model = LinearRegression()
    model.coef_, model.intercept_, model.n_features_in_ = coef, intercept, d
    est.regressor_, est.sigma_ = model, sigma
    est.effective_sample_size_ = _ess(data, fn)
    return fn


@dataclass(frozen=True)
class _GPSValues:
    params: dict

    def __call__(self, chunk: tuple, start: int) -> np.ndarray:
        return _gps_values(chunk, start, self.params)
