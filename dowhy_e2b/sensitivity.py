r"""How strong would a hidden confounder have to be? Omitted-variable-bias bounds for the curve.

:func:`sensitivity` bounds the dose-response curve of a fitted :class:`~dowhy_e2b.AverageDoseResponse`
(or of a DoWhy estimate from a dowhy-e2b method), its derivative and a contrast
:math:`\mu(t_1) - \mu(t_0)` under a hidden confounder of stated strength, following Chernozhukov,
Cinelli, Newey, Sharma & Syrgkanis (2022), "Long story short: omitted variable bias in causal machine
learning".

**What is bounded.** The package's curve at a dose :math:`t` is a penalised-spline smooth of
pseudo-outcomes, linear in them: :math:`\hat\mu(t) = \sum_i \ell_i(t) v_i`. Holding the spline basis
and its penalty fixed, it estimates the *smoothed* curve

.. math::

    \theta(t) = E_X \int k_t(a)\, g(a, X)\, f(a)\, da, \qquad
    k_t(a) = d(t)^\top \Big(\int b\,b^\top f + \tfrac{\lambda}{n}\Omega\Big)^{-1} b(a),

a weighted average of potential outcomes (the penalised spline projection of :math:`\mu` under
the marginal density :math:`f` of the dose), with Riesz representer
:math:`\alpha_t(a, x) = k_t(a) f(a) / f(a \mid x)`. Its estimate is :math:`\hat\alpha_i(t) = n
\ell_i(t) / s_i` (the smoother weights times the balancing weights; :math:`s_i` the sample weights).
The derivative and a contrast are the same construction with another design row.

**The sensitivity model.** A hidden confounder :math:`U` turns the identified ("short") functional
into the causal ("long") one; with :math:`g` the outcome regression and :math:`\alpha` the representer
with and without :math:`U`,

.. math::

    |\theta_{\text{short}} - \theta_{\text{long}}| \le |\rho|\, \sqrt{\sigma^2 \nu^2}\,
        \sqrt{R^2_Y \frac{R^2_\alpha}{1 - R^2_\alpha}},

where :math:`\sigma^2 = E[(Y - g_{\text{short}})^2]`, :math:`\nu^2 = E[\alpha_{\text{short}}^2]`,

* ``r2_outcome`` :math:`= R^2_Y`: the share of the outcome's residual variance (after the outcome
  model) that :math:`U` explains, :math:`E[(g_{\text{long}} - g_{\text{short}})^2] / \sigma^2`;
* ``r2_treatment`` :math:`= R^2_\alpha = 1 - \nu^2_{\text{short}} / \nu^2_{\text{long}}`: the share of
  the long representer's second moment that :math:`U` explains — how much more the weights would
  have to vary if :math:`U` were balanced too (for a partially linear model it is the partial
  :math:`R^2` of the dose with :math:`U`);
* ``rho``: the correlation of the two gaps (1, the default, is the worst case).

The bounds are ``estimate ∓ bound``; ``ci_lower``/``ci_upper`` widen them by the sampling
uncertainty: the bootstrap standard error of the estimate plus the delta-method standard error of
the bound (a sum, valid whatever their correlation); ``band_lower``/``band_upper`` use the curve's
simultaneous (sup-t) critical value instead of the normal quantile.

**Benchmarks.** Leaving one observed confounder :math:`X_j` out and refitting the whole pipeline
measures how much it explains: the outcome's residual variance grows by :math:`\Delta\sigma^2_j` and
the representer's second moment shrinks by :math:`\Delta\nu^2_j`. A hidden confounder "as strong as
:math:`X_j`" adds as much again to the observed model: :math:`R^2_Y = \Delta\sigma^2_j / \sigma^2` and
:math:`R^2_\alpha = \Delta\nu^2_j / (\nu^2 + \Delta\nu^2_j)`, so that its bound is
:math:`|\rho|\sqrt{\Delta\sigma^2_j\,\Delta\nu^2_j}` (Cinelli & Hazlett 2020's benchmarking, in the
form of Chernozhukov et al. 2022, Appendix D).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._numerics.counters import row_folds
from ._numerics.inference import simultaneous_band
from ._numerics.sensitivity import (
    bias_factor,
    robustness_value,
    scale_standard_error,
    second_moment,
    smoother_matrix,
)
from ._validation import (
    as_dose,
    as_float_vector,
    check_contrast,
    default_contrast,
    encode_frame,
    source_column,
)
from .dose_response import AverageDoseResponse, _pseudo_outcomes
from .outcome_models import FlexibleOutcomeRegressor, cross_fit

__all__ = [
    "DEFAULT_STRENGTHS",
    "FunctionalBounds",
    "SensitivityResult",
    "sensitivity",
    "simulated_confounder_r2",
]

logger = logging.getLogger(__name__)

#: Default grid of both strengths, ``r2_outcome`` and ``r2_treatment``.
DEFAULT_STRENGTHS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
#: Relative tolerance with which the smoother weights must reproduce the fitted curve.
_REPRODUCE_RTOL = 1e-6

_CURVE_COLUMNS = [
    "r2_outcome",
    "r2_treatment",
    "treatment",
    "estimate",
    "lower",
    "upper",
    "ci_lower",
    "ci_upper",
    "band_lower",
    "band_upper",
]
_CONTRAST_COLUMNS = [
    "r2_outcome",
    "r2_treatment",
    "treatment",
    "control",
    "estimate",
    "lower",
    "upper",
    "ci_lower",
    "ci_upper",
]
_BENCHMARK_COLUMNS = [
    "covariate",
    "r2_outcome",
    "r2_treatment",
    "rho",
    "change",
    "lower",
    "upper",
    "ci_lower",
    "ci_upper",
]


@dataclass(frozen=True)
class FunctionalBounds:
    r"""What the bounds of a family of functionals (the curve, its derivative, a contrast) need.

    Attributes
    ----------
    values : ndarray of shape (m,)
        Doses (for a contrast: the treatment dose).
    estimate : ndarray of shape (m,)
        The point estimates.
    scale : ndarray of shape (m,)
        :math:`S = \sqrt{\sigma^2\nu^2}` of each functional.
    scale_se : ndarray of shape (m,)
        Delta-method standard error of :math:`S`.
    std_error : ndarray of shape (m,)
        Bootstrap standard error of the estimate (NaN without replicates).
    critical_value : float
        Simultaneous (sup-t) critical value over the ``m`` functionals (NaN without replicates).
    nu2 : ndarray of shape (m,)
        :math:`\nu^2`, the second moment of each functional's estimated Riesz representer.
    """

    values: np.ndarray
    estimate: np.ndarray
    scale: np.ndarray
    scale_se: np.ndarray
    std_error: np.ndarray
    critical_value: float
    nu2: np.ndarray

    def bounds(
        self, r2_outcome: Any, r2_treatment: Any, rho: float, level: float, aligned: bool = False
    ) -> dict[str, np.ndarray]:
        """Bounds at the strengths: every strength for every functional (arrays of shape (k, m) for
        k strengths), or with ``aligned=True`` strength ``j`` for functional ``j`` (shape (m,))."""
        ry, rd = np.asarray(r2_outcome, dtype=float), np.asarray(r2_treatment, dtype=float)
        if not aligned:
            ry, rd = ry[..., None], rd[..., None]
        factor = bias_factor(ry, rd, rho)
        bound = factor * self.scale
        margin = self.std_error + factor * self.scale_se
        z = float(stats.norm.ppf(0.5 + level / 2))
        return {
            "estimate": np.broadcast_to(self.estimate, bound.shape),
            "lower": self.estimate - bound,
            "upper": self.estimate + bound,
            "ci_lower": self.estimate - bound - z * margin,
            "ci_upper": self.estimate + bound + z * margin,
            "band_lower": self.estimate - bound - self.critical_value * margin,
            "band_upper": self.estimate + bound + self.critical_value * margin,
        }


@dataclass(frozen=True)
class SensitivityResult:
    r"""Bounds on the curve, its derivative and a contrast under hidden confounding (see :func:`sensitivity`).

    Attributes
    ----------
    table : pandas.DataFrame
        Bounds on the curve :math:`\mu(t)`: ``r2_outcome``, ``r2_treatment``, ``treatment``,
        ``estimate``, ``lower``, ``upper`` (estimate ∓ the bias bound), ``ci_lower``, ``ci_upper``
        (widened by the pointwise sampling margin), ``band_lower``, ``band_upper`` (widened by the
        simultaneous one), one row per strength pair and dose.
    contrast_table : pandas.DataFrame
        The same for the contrast :math:`\mu(t_1) - \mu(t_0)` (``treatment``, ``control``; no band).
    derivative_table : pandas.DataFrame
        The same for the derivative :math:`\mu'(t)`.
    robustness_value : float
        The smallest equal strength ``r2_outcome = r2_treatment`` at which the contrast's bounds
        include 0.
    robustness_value_ci : float
        The same for its confidence bounds (``ci_lower``/``ci_upper``); 0 when the contrast's
        confidence interval already includes 0, NaN without bootstrap replicates.
    benchmarks : pandas.DataFrame
        One row per benchmarked observed confounder, strongest first: ``covariate``, the strengths
        of a hidden confounder as strong as it (``r2_outcome``, ``r2_treatment`` for the
        contrast), ``rho`` (the correlation its omission implies), ``change`` (how the contrast
        moves when it is left out), and the contrast's bounds at that strength (``lower``,
        ``upper``, ``ci_lower``, ``ci_upper``). Empty when no covariate was benchmarked.
    benchmark_curves : pandas.DataFrame
        The curve's bounds at each benchmark's strength (``covariate``, ``treatment``,
        ``r2_outcome``, ``r2_treatment``, ``estimate``, ``lower``, ``upper``, ``ci_lower``,
        ``ci_upper``).
    treatment_value, control_value : float
        The doses of the contrast.
    rho : float
        The correlation bound used.
    confidence_level : float
    sigma2 : float
        :math:`\hat\sigma^2`, the outcome's residual variance after the cross-fitted outcome model.
    curve, derivative, contrast : FunctionalBounds
        The ingredients, for :meth:`bounds` at other strengths.
    notes : list of str
        What to know about how the result was computed (e.g. benchmark refits that warned).
    """

    table: pd.DataFrame
    contrast_table: pd.DataFrame
    derivative_table: pd.DataFrame
    robustness_value: float
    robustness_value_ci: float
    benchmarks: pd.DataFrame
    benchmark_curves: pd.DataFrame
    treatment_value: float
    control_value: float
    rho: float
    confidence_level: float
    sigma2: float
    curve: FunctionalBounds = field(repr=False)
    derivative: FunctionalBounds = field(repr=False)
    contrast: FunctionalBounds = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        est = float(self.contrast.estimate[0])
        text = (
            f"SensitivityResult(mu({self.treatment_value:.4g}) - mu({self.control_value:.4g}) = "
            f"{est:.4g}, robustness value {self.robustness_value:.3g} "
            f"({self.confidence_level:.0%} CI: {self.robustness_value_ci:.3g})"
        )
        if len(self.benchmarks):
            top = self.benchmarks.iloc[0]
            text += (
                f"; strongest benchmark {top.covariate}: r2_outcome {top.r2_outcome:.3g}, "
                f"r2_treatment {top.r2_treatment:.3g}"
            )
        return text + ")"

    def bounds(
        self,
        r2_outcome: float | Sequence[float],
        r2_treatment: float | Sequence[float] | None = None,
        quantity: str = "curve",
    ) -> pd.DataFrame:
        """Bounds at other strengths (every pair of the two grids), in the layout of :attr:`table`.

        Parameters
        ----------
        r2_outcome, r2_treatment : float or sequence of float
            Strengths in [0, 1); ``r2_treatment`` defaults to ``r2_outcome``.
        quantity : {"curve", "derivative", "contrast"}
        """
        parts = {"curve": self.curve, "derivative": self.derivative, "contrast": self.contrast}
        if quantity not in parts:
            raise ValueError(f"quantity must be one of {list(parts)}, got {quantity!r}.")
        ry = _check_strengths(r2_outcome, "r2_outcome")
        rd = ry if r2_treatment is None else _check_strengths(r2_treatment, "r2_treatment")
        return _grid_table(
            parts[quantity], ry, rd, self.rho, self.confidence_level, quantity, self.control_value
        )

    def plot(self, **kwargs: Any) -> Any:
        """Bands around the curve for a few strengths and the contrast's contour plot
        (:func:`dowhy_e2b.plotting.plot_sensitivity`; keyword arguments go there)."""
        from .plotting import plot_sensitivity

        return plot_sensitivity(self, **kwargs)


# -- inputs ---------------------------------------------------------------------------------------
def _check_strengths(values: Any, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr >= 1):
        raise ValueError(
            f"{name} must be numbers in [0, 1) (shares of explained variation), got {values!r}; "
            "e.g. r2_outcome=[0, 0.05, 0.1]."
        )
    return np.unique(arr)


@dataclass(frozen=True)
class _Inputs:
    adrf: AverageDoseResponse
    X: np.ndarray
    names: list[str]
    a: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    treatment_value: float
    control_value: float


def _resolve(estimate: Any, X: Any, a: Any, y: Any, treatment_value: Any, control_value: Any) -> _Inputs:
    """The fitted pipeline, its data and the contrast doses, from a DoWhy estimate or a pipeline."""
    estimator = getattr(estimate, "estimator", estimate)
    if isinstance(estimate, AverageDoseResponse):
        adrf = estimate
        if X is None or a is None or y is None:
            raise ValueError(
                "sensitivity(adrf, X, a, y) needs the data the AverageDoseResponse was fitted on (it "
                "keeps no copy of X and y): pass X, a and y as given to fit."
            )
        check_is_fitted(adrf, "smoother_")
        if isinstance(X, pd.DataFrame):
            Xm, names = encode_frame(X)
        else:
            Xm = np.asarray(X, dtype=float)
            Xm = Xm[:, None] if Xm.ndim == 1 else Xm
            names = [f"x{j}" for j in range(Xm.shape[1])]
        a_arr = as_float_vector(a, "treatment", role="treatment")
        y_arr = as_float_vector(y, "outcome", role="outcome")
        t_default = c_default = None
    elif getattr(estimator, "adrf_", None) is not None and hasattr(estimator, "_arrays"):
        if X is not None or a is not None or y is not None:
            raise ValueError(
                "X, a and y are taken from the DoWhy estimate; pass them only with an AverageDoseResponse."
            )
        adrf = estimator.adrf_
        Xm, a_arr, y_arr = estimator._arrays
        names = list(estimator._observed_common_causes.columns)
        t_default = getattr(estimate, "treatment_value", getattr(estimator, "_treatment_value", None))
        c_default = getattr(estimate, "control_value", getattr(estimator, "_control_value", None))
    else:
        raise TypeError(
            "sensitivity expects a DoWhy estimate from a dowhy-e2b method (what estimate_effect returns) "
            f"or a fitted AverageDoseResponse with its data; got {type(estimate).__name__}."
        )
    if adrf.constant_treatment_:
        raise ValueError("the treatment is constant: there is no dose-response curve to bound.")
    if a_arr.shape != adrf._treatment.shape or not np.array_equal(a_arr, adrf._treatment):
        raise ValueError("a is not the treatment the curve was fitted on: pass the X, a and y given to fit.")
    if Xm.shape[0] != a_arr.size or y_arr.size != a_arr.size:
        raise ValueError(
            f"X, a and y must have the same number of rows, got {Xm.shape[0]}, {a_arr.size}, {y_arr.size}."
        )
    if treatment_value is None:
        treatment_value = t_default
    if control_value is None:
        control_value = c_default
    if treatment_value is None or control_value is None:
        hi, lo = default_contrast(a_arr)
        treatment_value = hi if treatment_value is None else treatment_value
        control_value = lo if control_value is None else control_value
    t = as_dose(treatment_value, "treatment_value")
    c = as_dose(control_value, "control_value")
    check_contrast(t, c)
    return _Inputs(adrf, Xm, names, a_arr, y_arr, adrf._sample_weight, t, c)


def _groups(names: list[str], wanted: Any) -> dict[str, list[int]]:
    """Benchmark groups: each data column with its encoded columns (every level of a categorical)."""
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        groups.setdefault(source_column(name), []).append(j)
    if wanted is None:
        return {}
    if isinstance(wanted, str):
        if wanted == "all":
            return groups
        wanted = [wanted]
    wanted = [str(w) for w in wanted]
    unknown = [w for w in wanted if w not in groups]
    if unknown:
        raise ValueError(
            f"benchmark_covariates {unknown} are not confounders of the estimate; choose among "
            f"{list(groups)} (or 'all', or None to skip the benchmarks)."
        )
    return {w: groups[w] for w in wanted}


# -- the pieces of the bound ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Fit:
    """One fitted pipeline's ingredients for the functionals' rows ``D``."""

    estimate: np.ndarray  # (m,)
    residuals: np.ndarray  # (n,)
    representer: np.ndarray  # (m, n)


def _residuals(adrf: AverageDoseResponse, X: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-fitted outcome residuals: the pipeline's own, or (weighted stage) a cross-fit of its
    outcome model made for the bound."""
    s = adrf._sample_weight
    if adrf.outcome_fit_ is not None:
        return y - adrf.outcome_fit_.at_observed
    seed = check_random_state(adrf.random_state).randint(np.iinfo(np.int32).max)
    folds = row_folds(int(seed), 0, a.size, min(int(adrf.cv), a.size))
    regressor = (
        FlexibleOutcomeRegressor() if adrf.outcome_regressor is None else clone(adrf.outcome_regressor)
    )
    fit = cross_fit(regressor, X, a, y, folds, np.array([float(a.min())]), sample_weight=s)
    return y - fit.at_observed


def _ingredients(
    adrf: AverageDoseResponse,
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    D: np.ndarray,
    smoother: Any,
    penalty: float | None = None,
) -> _Fit:
    """Estimates, residuals and representers of the functionals ``D`` for a fitted pipeline, with the
    spline basis and penalty of ``smoother`` (the functional stays fixed across refits); ``penalty``
    overrides the penalty (a sum over units: scale it with the number of units)."""
    s = np.ones_like(a) if adrf._sample_weight is None else adrf._sample_weight
    stage, form = adrf.outcome_stage_, adrf.dr_form
    v, sw = _pseudo_outcomes(stage, form, a, y, adrf.weights_, s, adrf.outcome_fit_)
    v_shift, _ = _pseudo_outcomes(stage, form, a, y + 1.0, adrf.weights_, s, adrf.outcome_fit_)
    loading = v_shift - v  # how each unit's residual enters its pseudo-outcome
    B = smoother.design_matrix(a)
    lam = smoother.penalty_ if penalty is None else penalty
    ell = smoother_matrix(D, B, sw, smoother._penalty_matrix(), lam)
    representer = a.size * ell * (loading / np.where(s > 0, s, 1.0))[None, :]
    return _Fit(estimate=ell @ v, residuals=_residuals(adrf, X, a, y), representer=representer)


def _standard_errors(adrf: AverageDoseResponse, values: np.ndarray, deriv: int) -> tuple[np.ndarray, float]:
    reps = adrf.bootstrap_predictions(values, deriv=deriv)
    if reps.shape[0] < 2:
        return np.full(values.size, np.nan), float("nan")
    est = adrf.predict(values) if deriv == 0 else adrf.predict_derivative(values)
    _, _, crit = simultaneous_band(est, reps, adrf.confidence_level)
    return reps.std(axis=0, ddof=1), float(crit)


def _functional(
    fit: _Fit,
    rows: slice,
    values: np.ndarray,
    std_error: np.ndarray,
    critical_value: float,
    unit_weights: np.ndarray | None,
) -> FunctionalBounds:
    alpha = fit.representer[rows]
    sigma2 = float(second_moment(fit.residuals, unit_weights))
    nu2 = second_moment(alpha, unit_weights)
    return FunctionalBounds(
        values=values,
        estimate=fit.estimate[rows],
        scale=np.sqrt(sigma2 * nu2),
        scale_se=scale_standard_error(fit.residuals, alpha, unit_weights),
        std_error=std_error,
        critical_value=critical_value,
        nu2=nu2,
    )


def _grid_table(
    part: FunctionalBounds,
    ry: np.ndarray,
    rd: np.ndarray,
    rho: float,
    level: float,
    quantity: str,
    control_value: float,
) -> pd.DataFrame:
    RY, RD = np.meshgrid(ry, rd, indexing="ij")
    RY, RD = RY.ravel(), RD.ravel()
    b = part.bounds(RY, RD, rho, level)
    m = part.values.size
    frame = pd.DataFrame(
        {
            "r2_outcome": np.repeat(RY, m),
            "r2_treatment": np.repeat(RD, m),
            "treatment": np.tile(part.values, RY.size),
            **{k: v.ravel() for k, v in b.items()},
        }
    )
    if quantity == "contrast":
        frame.insert(3, "control", control_value)
        return frame[_CONTRAST_COLUMNS]
    return frame[_CURVE_COLUMNS]


# -- benchmarks -----------------------------------------------------------------------------------
def _short_fit(
    adrf: AverageDoseResponse,
    X: np.ndarray,
    names: list[str],
    drop: list[int],
    a: np.ndarray,
    y: np.ndarray,
    D: np.ndarray,
) -> tuple[_Fit, list[str]]:
    keep = [j for j in range(X.shape[1]) if j not in set(drop)]
    frame = pd.DataFrame(X[:, keep], columns=[names[j] for j in keep])
    short = clone(adrf).set_params(n_bootstrap=0, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        short.fit(frame, a, y, sample_weight=adrf._sample_weight)
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return _ingredients(short, X[:, keep], a, y, D, adrf.smoother_), messages


def _benchmark_rows(
    long: _Fit,
    shorts: dict[str, _Fit],
    unit_weights: np.ndarray | None,
    rows: slice,
) -> dict[str, dict[str, np.ndarray | float]]:
    """Strengths of a hidden confounder as strong as each left-out covariate, per functional."""
    sigma2 = float(second_moment(long.residuals, unit_weights))
    nu2 = second_moment(long.representer[rows], unit_weights)
    out: dict[str, dict[str, np.ndarray | float]] = {}
    for name, short in shorts.items():
        d_sigma2 = max(float(second_moment(short.residuals, unit_weights)) - sigma2, 0.0)
        d_nu2 = np.maximum(nu2 - second_moment(short.representer[rows], unit_weights), 0.0)
        change = short.estimate[rows] - long.estimate[rows]
        denom = np.sqrt(d_sigma2 * d_nu2)
        rho = np.where(denom > 0, np.clip(change / np.where(denom > 0, denom, 1.0), -1.0, 1.0), 0.0)
        out[name] = {
            "r2_outcome": min(d_sigma2 / sigma2, 1.0 - 1e-12) if sigma2 > 0 else 0.0,
            "r2_treatment": d_nu2 / (nu2 + d_nu2),
            "rho": rho,
            "change": change,
        }
    return out


# -- the entry point ------------------------------------------------------------------------------
def sensitivity(
    estimate: Any,
    X: Any = None,
    a: Any = None,
    y: Any = None,
    *,
    r2_outcome: Sequence[float] | float | None = None,
    r2_treatment: Sequence[float] | float | None = None,
    rho: float = 1.0,
    values: Any = None,
    treatment_value: float | None = None,
    control_value: float | None = None,
    benchmark_covariates: str | Sequence[str] | None = "all",
    n_jobs: int | None = None,
) -> SensitivityResult:
    r"""Bounds on the dose-response curve, its derivative and a contrast under hidden confounding.

    Omitted-variable-bias bounds with partial-:math:`R^2` parameters (Chernozhukov et al. 2022),
    the smoother-weighted balancing weights playing the role of the Riesz representer; see the
    module's documentation and the user guide's sensitivity page for the model and its reading.

    Parameters
    ----------
    estimate : CausalEstimate, DoseResponseEstimator or AverageDoseResponse
        A DoWhy estimate from a dowhy-e2b method (or its ``estimator``), or a fitted
        :class:`~dowhy_e2b.AverageDoseResponse` (then pass ``X``, ``a`` and ``y``). With effect
        modifiers, the population curve is bounded.
    X, a, y : array-like, optional
        The data an :class:`~dowhy_e2b.AverageDoseResponse` was fitted on (it keeps no copy).
        Not used with a DoWhy estimate, which carries its data.
    r2_outcome : float or sequence of float, optional
        Strengths :math:`R^2_Y \in [0, 1)`: the share of the outcome's residual variance (after the
        outcome model) that the hidden confounder explains. Default :data:`DEFAULT_STRENGTHS`.
    r2_treatment : float or sequence of float, optional
        Strengths :math:`R^2_\alpha \in [0, 1)`: the share of the variation of the weights (the Riesz
        representer of each functional) that the hidden confounder would add. Default: the
        ``r2_outcome`` grid. The tables hold every pair.
    rho : float, default=1.0
        Bound on the correlation of the confounder's effects on the outcome regression and on the
        representer, in (0, 1]; 1 is the worst case.
    values : array-like, optional
        Doses of the curve and derivative tables (default: the fitted grid).
    treatment_value, control_value : float, optional
        Doses of the contrast: the DoWhy estimate's, else the pipeline's 75th and 25th percentiles
        of the treatment.
    benchmark_covariates : "all", sequence of str or None, default="all"
        Observed confounders to benchmark against (each is left out and the whole pipeline refitted,
        without bootstrap; a categorical confounder is left out with all its levels). ``None``
        skips them.
    n_jobs : int, optional
        Parallel refits of the benchmarks (joblib).

    Returns
    -------
    SensitivityResult
        ``.table`` (bounds on the curve), ``.contrast_table``, ``.derivative_table``,
        ``.robustness_value``, ``.robustness_value_ci``, ``.benchmarks``, ``.plot()``.

    Raises
    ------
    ValueError
        Strengths outside [0, 1), a ``rho`` outside (0, 1], unknown benchmark covariates, a constant
        treatment, or data that are not those the curve was fitted on (the smoother weights must
        reproduce the fitted curve).
    TypeError
        An object that is neither a dowhy-e2b DoWhy estimate nor an AverageDoseResponse.

    Notes
    -----
    For each functional :math:`\theta` (the curve at a dose, the derivative, the contrast) with
    estimate :math:`\hat\theta`, :math:`\hat S = \sqrt{\hat\sigma^2\hat\nu^2}` and bootstrap standard
    error :math:`\widehat{\mathrm{se}}`,

    .. math::

        B = |\rho|\,\hat S\,\sqrt{R^2_Y\,R^2_\alpha/(1-R^2_\alpha)},\qquad
        [\text{lower}, \text{upper}] = \hat\theta \mp B,\qquad
        [\text{ci\_lower}, \text{ci\_upper}] = \hat\theta \mp \big(B + z\,(\widehat{\mathrm{se}}
            + \widehat{\mathrm{se}}(B))\big),

    with :math:`\widehat{\mathrm{se}}(B) = (B/\hat S)\,\widehat{\mathrm{se}}(\hat S)` from the delta
    method. The robustness value solves :math:`B = |\hat\theta|` at
    :math:`R^2_Y = R^2_\alpha = r`: :math:`r = (\sqrt{q^2+4q}-q)/2`,
    :math:`q = \hat\theta^2/(\rho\hat S)^2`; its confidence version replaces :math:`|\hat\theta|` by
    :math:`|\hat\theta| - z\,\widehat{\mathrm{se}}` and :math:`\hat S` by
    :math:`\hat S + z\,\widehat{\mathrm{se}}(\hat S)`.

    References
    ----------
    .. [1] Chernozhukov, V., Cinelli, C., Newey, W., Sharma, A., Syrgkanis, V. (2022). Long story
           short: omitted variable bias in causal machine learning. NBER Working Paper 30302.
    .. [2] Cinelli, C., Hazlett, C. (2020). Making sense of sensitivity: extending omitted variable
           bias. JRSS B 82(1), 39-67.

    Examples
    --------
    >>> from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights, sensitivity
    >>> from dowhy_e2b.datasets import make_linear
    >>> ds = make_linear(n_samples=400, random_state=0)
    >>> adrf = AverageDoseResponse(EntropyBalancingWeights(), n_bootstrap=30, random_state=0)
    >>> adrf = adrf.fit(ds.X, ds.a, ds.y)
    >>> result = sensitivity(adrf, ds.X, ds.a, ds.y, treatment_value=1.0, control_value=0.0)
    >>> list(result.table.columns[:6])
    ['r2_outcome', 'r2_treatment', 'treatment', 'estimate', 'lower', 'upper']
    >>> 0 < result.robustness_value < 1
    True
    """
    if not (isinstance(rho, Real) and not isinstance(rho, bool) and 0 < rho <= 1):
        raise ValueError(f"rho must be a number in (0, 1] (1 is the worst case), got {rho!r}.")
    ry = _check_strengths(DEFAULT_STRENGTHS if r2_outcome is None else r2_outcome, "r2_outcome")
    rd = ry if r2_treatment is None else _check_strengths(r2_treatment, "r2_treatment")
    inputs = _resolve(estimate, X, a, y, treatment_value, control_value)
    adrf, Xm, a_arr, y_arr = inputs.adrf, inputs.X, inputs.a, inputs.y
    t1, t0 = inputs.treatment_value, inputs.control_value
    groups = _groups(inputs.names, benchmark_covariates)
    grid = adrf.grid_ if values is None else np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError(f"values must be finite doses, got {values!r}.")
    smoother = adrf.smoother_
    m = grid.size
    D_curve = smoother.design_matrix(grid)
    D_deriv = smoother.design_matrix(grid, deriv=1)
    D_pair = smoother.design_matrix(np.array([t1, t0]))
    D = np.vstack([D_curve, D_deriv, D_pair[:1] - D_pair[1:]])
    rows = {"curve": slice(0, m), "derivative": slice(m, 2 * m), "contrast": slice(2 * m, 2 * m + 1)}

    long = _ingredients(adrf, Xm, a_arr, y_arr, D, smoother)
    fitted = np.concatenate(
        [adrf.predict(grid), adrf.predict_derivative(grid), [float(np.diff(adrf.predict([t0, t1]))[0])]]
    )
    scale = max(float(np.max(np.abs(fitted))), 1.0)
    if not np.allclose(long.estimate, fitted, rtol=_REPRODUCE_RTOL, atol=_REPRODUCE_RTOL * scale):
        raise ValueError(
            "the data do not reproduce the fitted curve: pass the X, a and y the AverageDoseResponse "
            "was fitted on (same rows, same order)."
        )
    s = inputs.sample_weight
    se_curve, crit_curve = _standard_errors(adrf, grid, 0)
    se_deriv, crit_deriv = _standard_errors(adrf, grid, 1)
    reps = adrf.bootstrap_predictions([t1, t0])
    se_contrast = np.array([np.std(reps[:, 0] - reps[:, 1], ddof=1) if reps.shape[0] > 1 else np.nan])
    curve = _functional(long, rows["curve"], grid, se_curve, crit_curve, s)
    derivative = _functional(long, rows["derivative"], grid, se_deriv, crit_deriv, s)
    contrast = _functional(long, rows["contrast"], np.array([t1]), se_contrast, float("nan"), s)

    level = float(adrf.confidence_level)
    z = float(stats.norm.ppf(0.5 + level / 2))
    est_c, S_c = abs(float(contrast.estimate[0])), float(contrast.scale[0])
    rv = robustness_value(est_c, S_c, rho)
    if np.isfinite(se_contrast[0]):
        rv_ci = robustness_value(
            est_c - z * float(se_contrast[0]), S_c + z * float(contrast.scale_se[0]), rho
        )
    else:
        rv_ci = float("nan")

    notes: list[str] = []
    shorts: dict[str, _Fit] = {}
    if groups:
        jobs = (
            delayed(_short_fit)(adrf, Xm, inputs.names, cols, a_arr, y_arr, D) for cols in groups.values()
        )
        results = Parallel(n_jobs=n_jobs)(jobs)
        for name, (fit, messages) in zip(groups, results, strict=True):
            shorts[name] = fit
            if messages:
                notes.append(f"the refit without {name} warned: {messages[0]}")
    benchmarks, benchmark_curves = _benchmark_frames(long, shorts, s, rows, contrast, curve, rho, level)
    result = SensitivityResult(
        table=_grid_table(curve, ry, rd, rho, level, "curve", t0),
        contrast_table=_grid_table(contrast, ry, rd, rho, level, "contrast", t0),
        derivative_table=_grid_table(derivative, ry, rd, rho, level, "derivative", t0),
        robustness_value=rv,
        robustness_value_ci=rv_ci,
        benchmarks=benchmarks,
        benchmark_curves=benchmark_curves,
        treatment_value=t1,
        control_value=t0,
        rho=float(rho),
        confidence_level=level,
        sigma2=float(second_moment(long.residuals, s)),
        curve=curve,
        derivative=derivative,
        contrast=contrast,
        notes=notes,
    )
    logger.info("%r", result)
    return result


def _benchmark_frames(
    long: _Fit,
    shorts: dict[str, _Fit],
    s: np.ndarray | None,
    rows: dict[str, slice],
    contrast: FunctionalBounds,
    curve: FunctionalBounds,
    rho: float,
    level: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not shorts:
        return pd.DataFrame(columns=_BENCHMARK_COLUMNS), pd.DataFrame(
            columns=[
                "covariate",
                "treatment",
                "r2_outcome",
                "r2_treatment",
                "estimate",
                "lower",
                "upper",
                "ci_lower",
                "ci_upper",
            ]
        )
    on_contrast = _benchmark_rows(long, shorts, s, rows["contrast"])
    on_curve = _benchmark_rows(long, shorts, s, rows["curve"])
    table_rows, curve_frames = [], []
    for name, bench in on_contrast.items():
        r2y, r2d = float(bench["r2_outcome"]), float(np.ravel(bench["r2_treatment"])[0])
        b = contrast.bounds(np.array(r2y), np.array(r2d), rho, level)
        table_rows.append(
            {
                "covariate": name,
                "r2_outcome": r2y,
                "r2_treatment": r2d,
                "rho": float(np.ravel(bench["rho"])[0]),
                "change": float(np.ravel(bench["change"])[0]),
                **{k: float(np.ravel(b[k])[0]) for k in ("lower", "upper", "ci_lower", "ci_upper")},
            }
        )
        per_t = on_curve[name]
        bc = curve.bounds(float(per_t["r2_outcome"]), per_t["r2_treatment"], rho, level, aligned=True)
        curve_frames.append(
            pd.DataFrame(
                {
                    "covariate": name,
                    "treatment": curve.values,
                    "r2_outcome": float(per_t["r2_outcome"]),
                    "r2_treatment": np.asarray(per_t["r2_treatment"]),
                    **{k: bc[k] for k in ("estimate", "lower", "upper", "ci_lower", "ci_upper")},
                }
            )
        )
    table = pd.DataFrame(table_rows, columns=_BENCHMARK_COLUMNS)
    order = np.argsort(-(table["upper"] - table["lower"]).to_numpy(), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    curves = pd.concat(curve_frames, ignore_index=True)
    curves["covariate"] = pd.Categorical(
        curves["covariate"], categories=list(table["covariate"]), ordered=True
    )
    curves = curves.sort_values(["covariate", "treatment"], kind="stable").reset_index(drop=True)
    curves["covariate"] = curves["covariate"].astype(str)
    return table, curves


def simulated_confounder_r2(
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    strengths: Sequence[float],
    outcome_residual_variance: float | None = None,
) -> list[tuple[float, float]]:
    r"""Partial :math:`R^2` of DoWhy's simulated linear confounder, to read its strengths on this scale.

    DoWhy's ``add_unobserved_common_cause`` (direct simulation, linear effects) draws
    :math:`W \sim N(0, 1)` and refits on :math:`a + s\,\mathrm{sd}(a)\,W` and
    :math:`y - s\,\mathrm{sd}(y)\,W`. Such a :math:`W` explains about
    :math:`\kappa_a^2 / (\kappa_a^2 + \sigma^2_{a \mid x})` of the treatment's residual variance and
    :math:`\kappa_y^2 / (\kappa_y^2 + \sigma^2_{y \mid a, x})` of the outcome's
    (:math:`\kappa_a = s\,\mathrm{sd}(a)`, :math:`\kappa_y = s\,\mathrm{sd}(y)`), approximately: it
    also adds noise to the treatment. :math:`\sigma^2_{a \mid x}` is the residual variance of a linear
    regression of the treatment on ``X``; :math:`\sigma^2_{y \mid a, x}` is
    ``outcome_residual_variance`` (e.g. :attr:`SensitivityResult.sigma2`) or, without it, that of a
    linear regression of the outcome on the treatment and ``X``.

    Returns
    -------
    list of (float, float)
        ``(r2_treatment, r2_outcome)`` for each strength.
    """
    X = np.asarray(X, dtype=float).reshape(len(a), -1)
    a = np.asarray(a, dtype=float)
    y = np.asarray(y, dtype=float)

    def residual_variance(design: np.ndarray, target: np.ndarray) -> float:
        Z = np.column_stack([np.ones(len(target)), design])
        coef = np.linalg.lstsq(Z, target, rcond=None)[0]
        return float(np.var(target - Z @ coef))

    var_a = residual_variance(X, a)
    var_y = (
        residual_variance(np.column_stack([a, X]), y)
        if outcome_residual_variance is None
        else float(outcome_residual_variance)
    )
    out = []
    for s in np.atleast_1d(np.asarray(strengths, dtype=float)):
        ka, ky = (s * np.std(a, ddof=1)) ** 2, (s * np.std(y, ddof=1)) ** 2
        out.append((float(ka / (ka + var_a)), float(ky / (ky + var_y))))
    return out
