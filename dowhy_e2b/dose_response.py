r"""Average dose-response function: the smoother and the whole estimation pipeline.

:class:`WeightedDoseResponse` is the curve smoother: a penalised cubic spline fitted by weighted
least squares, its penalty chosen by generalised cross-validation (:mod:`dowhy_e2b._numerics.splines`).

:class:`AverageDoseResponse` chains a balancing-weight estimator, an outcome stage and the smoother:

* ``outcome_stage="weighted"``: the weighted smooth of the outcome on the dose (a marginal
  structural model); the weights must remove all confounding.
* ``outcome_stage="doubly_robust"``: a cross-fitted outcome model :math:`\hat m(x, a)` is combined
  with the weights, so the curve stays consistent when either is right. The augmented form smooths
  :math:`y_i - \hat m(x_i, a_i) + \bar m(a_i)` with the balancing weights, where
  :math:`\bar m(t) = \frac1n\sum_j \hat m(x_j, t)` is the g-computation curve; the pseudo-outcome
  form (Kennedy et al. 2017) smooths :math:`w_i (y_i - \hat m(x_i, a_i)) + \bar m(a_i)` without
  weights.

Bands come from a bootstrap of the whole pipeline (weights, outcome model, smoothing choice); beside
the pointwise band there is a simultaneous (sup-t) band, and the replicates give the derivative
curve, effect curves relative to a reference dose, and Wald tests that the curve is flat or linear.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_scalar, validate_data
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ._base import normalise_weights, relaxed_clone
from ._numerics import effective_sample_size
from ._numerics.counters import MULTIPLIERS, row_folds, row_multipliers
from ._numerics.inference import DoseResponseTest, dose_response_test, normal_band, simultaneous_band
from ._numerics.splines import CRITERIA, SplineBasis, fit_penalised, make_spline_basis, smoother_stats
from ._validation import (
    as_float_vector,
    check_contrast,
    check_dose_grid,
    check_treatment,
    encode_frame,
    is_constant,
    point_fit_failure,
    warn_outside_support,
)
from .balance_check import MIN_ESS_FRACTION
from .diagnostics import balance_table, dose_support
from .distributed import is_dask
from .exceptions import (
    BalanceError,
    BalanceWarning,
    ConstantTreatmentWarning,
    ConvergenceWarning,
    DiscreteTreatmentWarning,
    ThinSupportWarning,
)
from .outcome_models import FlexibleOutcomeRegressor, OutcomeFit, cross_fit

__all__ = ["OUTCOME_STAGES", "AverageDoseResponse", "WeightedDoseResponse"]

logger = logging.getLogger(__name__)

#: Outcome stages of :class:`AverageDoseResponse`.
OUTCOME_STAGES = ("weighted", "doubly_robust")
#: Forms of the doubly robust stage.
DR_FORMS = ("augmented", "pseudo_outcome")
#: Doses at which every unit's outcome is predicted for the g-computation curve (evenly spaced over
#: the observed range; the curve is interpolated linearly between them).
N_GCOMP_DOSES = 64
#: A contrast dose is "thin" when the effective number of units within a quarter of the treatment's
#: standard deviation of it is below this many units, or below this share of the whole sample's
#: effective size (the curve in the bulk of the data rests on several times more).
MIN_LOCAL_ESS = 20.0
MIN_LOCAL_ESS_SHARE = 0.05
#: Training steps of a warm-started weighter (E2B) on each bootstrap replicate. At 100 steps the
#: spread of E2B's bootstrap curves was 1.04 times that of full retraining (``python -m
#: benchmarks.warm_start``), at a fifth of its cost; 25 steps gave 1.23 times.
BOOTSTRAP_TRAINING_STEPS = 100
#: Exact balance that more than this share of the bootstrap replicates lose is fragile (see
#: ``AverageDoseResponse(fragile_balance=)``). In the outcome-stage benchmark no replicate lost it on
#: 14 processes with up to 100 covariates, and 999 of 1000 did on the 15th (100 mixed covariates).
FRAGILE_SHARE = 0.1
#: The bound of the approximate balance that replaces fragile exact balance (``max_imbalance``: the
#: largest imbalance, in standard deviations).
RELAXED_IMBALANCE = 0.01
FRAGILE_BALANCE = ("relax", "drop")


@contextlib.contextmanager
def quiet_replicates() -> Iterator[None]:
    """Silence the warnings a bootstrap replicate's refits raise (the point fit raised them already)."""
    with warnings.catch_warnings():
        for category in (ConvergenceWarning, DiscreteTreatmentWarning, BalanceWarning):
            warnings.simplefilter("ignore", category)
        yield


def record_replicates(est: Any, results: list, n_boot: int) -> None:
    """Store the replicates' curve coefficients on ``est`` (``bootstrap_coef_``); the failed ones
    (their error messages, as strings) are counted in ``n_bootstrap_failed_`` and
    ``bootstrap_errors_`` (:func:`warn_dropped` warns about them)."""
    coefs = [r for r in results if not isinstance(r, str)]
    errors = Counter(r for r in results if isinstance(r, str))
    est.n_bootstrap_failed_, est.bootstrap_errors_ = n_boot - len(coefs), dict(errors)
    est.bootstrap_coef_ = np.asarray(coefs, dtype=float).reshape(-1, est.smoother_.coef_.size)


def warn_dropped(est: Any, stacklevel: int = 2) -> None:
    """Warn (:class:`~sklearn.exceptions.ConvergenceWarning`) about the replicates that
    :func:`record_replicates` counted as failed, if any."""
    if not est.n_bootstrap_failed_:
        return
    n_ok = est.bootstrap_coef_.shape[0]
    message, count = Counter(est.bootstrap_errors_).most_common(1)[0]
    rest = "the bands rest on the others" if n_ok else "there are no bands"
    warnings.warn(
        f"{est.n_bootstrap_failed_} of {est.n_bootstrap_failed_ + n_ok} bootstrap replicates failed "
        f"and were dropped (most often, {count} times: {message}); {rest}.",
        ConvergenceWarning,
        stacklevel=stacklevel + 1,
    )


def init_replicates(est: Any) -> None:
    """No replicates yet: empty ``bootstrap_coef_``, nothing failed."""
    est.bootstrap_coef_ = np.empty((0, est.smoother_.coef_.size))
    est.n_bootstrap_failed_ = 0
    est.bootstrap_errors_ = {}


def relaxed_weighter(est: Any, stacklevel: int = 2) -> Any | None:
    """The weighter that replaces ``est.weighter_`` when its exact balance proved fragile, or ``None``.

    Exact balance is fragile when more than :data:`FRAGILE_SHARE` of the bootstrap replicates lost
    the balance that the data reached (:data:`REPLICATE_UNBALANCED`): it is then barely feasible,
    and bands from the few replicates that kept it would describe them, not the curve. With
    ``fragile_balance="relax"`` (the default) this returns an unfitted clone with approximate
    balance (``max_imbalance=``:data:`RELAXED_IMBALANCE`) and warns
    (:class:`~dowhy_e2b.exceptions.BalanceWarning`); the caller refits and bootstraps with it.
    """
    weighter = getattr(est, "weighter_", None)
    if est.fragile_balance != "relax" or weighter is None:
        return None
    n_boot = est.n_bootstrap_failed_ + est.bootstrap_coef_.shape[0]
    lost = sum(c for m, c in est.bootstrap_errors_.items() if REPLICATE_UNBALANCED in m)
    relaxed = relaxed_clone(weighter, RELAXED_IMBALANCE)
    if relaxed is None or not lost > FRAGILE_SHARE * n_boot:
        return None
    warnings.warn(
        f"exact balance, reached on the data, was lost on {lost} of {n_boot} bootstrap replicates: "
        "it is barely feasible here, and bands from the replicates that kept it would describe "
        f"them, not the curve. The weights were refitted with approximate balance (max_imbalance="
        f"{RELAXED_IMBALANCE}) and bootstrapped again; fragile_balance='drop' keeps exact balance "
        "and drops those replicates.",
        BalanceWarning,
        stacklevel=stacklevel + 1,
    )
    return relaxed


class WeightedDoseResponse(RegressorMixin, BaseEstimator):
    r"""Penalised spline regression of an outcome on the treatment: :math:`\hat\mu(a)`.

    With one column (the treatment) this is the outcome stage of a weighted marginal structural
    model. With several columns it is an additive spline model :math:`\sum_j s_j(x_j)` with one
    penalty, so it is a scikit-learn regressor like any other.

    Parameters
    ----------
    n_knots : int, default=20
        Knots of each cubic B-spline basis, the two boundary knots included (fewer when a column
        has fewer distinct values). With a penalty, more knots cost nothing in smoothness: the
        penalty, not the knots, decides how much the curve bends.
    degree : int, default=3
        Polynomial degree of the splines (3: cubic).
    knots : {"quantile", "uniform"} or array-like
        Knots at quantiles of the observed (unweighted) values, evenly spaced over their range,
        or given: an array of every knot, boundary knots included (shape ``(k,)`` for one column,
        ``(k, n_columns)`` for several). Quantile knots put the basis where the data are, so a
        sparse tail gets few basis functions and cannot hang on a handful of units.
    penalty : {"loo", "gcv"} or float, default="loo"
        The roughness penalty :math:`\lambda`: chosen by weighted leave-one-dose-out
        cross-validation (exact, from the leverages; units that share a dose are left out
        together), by weighted generalised cross-validation (from the sufficient statistics alone),
        or fixed (0 gives the unpenalised regression spline). With unequal weights GCV treats every
        unit as equally informative and undersmoothed badly in our tests (many more effective
        degrees of freedom than the truth needs); leave-one-out sees that a heavy unit has a
        leverage near one, and leaving tied doses out together keeps integer-valued doses from
        looking like replicates the curve may pass through.

    Attributes
    ----------
    coef_ : ndarray of shape (n_coef,)
        Intercept followed by the spline coefficients.
    bases_ : list of SplineBasis
        The basis of each non-constant column.
    knots_ : ndarray or None
        The knots used (``(k,)`` for one column, a list for several; ``None`` when every column is
        constant: the fit is the weighted mean).
    penalty_ : float
        The penalty used.
    edf_ : float
        Effective degrees of freedom of the fit (intercept included).
    constant_columns_ : ndarray of bool
        Columns that were constant in ``fit`` (they get no basis functions).

    Notes
    -----
    Solves

    .. math::

        \min_\beta \sum_i w_i (y_i - B(a_i)^\top\beta)^2 + \lambda \int \hat\mu''(t)^2\,dt,

    with :math:`B` a cubic B-spline basis with quantile knots, continued linearly beyond the
    boundary knots. :math:`\lambda` minimises the weighted leave-one-dose-out error
    :math:`\sum_i w_i (y_i - \hat\mu^{(-a_i)}(a_i))^2 / \sum_i w_i` (:math:`\hat\mu^{(-a)}` the fit
    without the units at dose :math:`a`, in closed form from the leverages), or the weighted GCV
    score :math:`S\,\mathrm{RSS}_w / (S - \mathrm{edf})^2` (:math:`S = \sum_i w_i`).
    With balancing weights :math:`w` the fitted curve estimates :math:`E[Y(a)]`.

    References
    ----------
    .. [1] Wood, S. N. (2017). Generalized Additive Models: An Introduction with R, 2nd ed. CRC.
    .. [2] Wand, M. P., Ormerod, J. T. (2008). On semiparametric regression with O'Sullivan
           penalized splines. Australian & New Zealand Journal of Statistics 50(2), 179-198.

    Examples
    --------
    >>> import numpy as np
    >>> from dowhy_e2b import WeightedDoseResponse
    >>> rng = np.random.default_rng(0)
    >>> a = rng.uniform(-2, 2, 500)
    >>> model = WeightedDoseResponse().fit(a, np.sin(a) + 0.1 * rng.normal(size=500))
    >>> bool(np.allclose(model.predict([0.0, 1.0]), np.sin([0.0, 1.0]), atol=0.05))
    True
    """

    def __init__(
        self,
        n_knots: int = 20,
        degree: int = 3,
        knots: str | Any = "quantile",
        penalty: str | float = "loo",
    ):
        self.n_knots = n_knots
        self.degree = degree
        self.knots = knots
        self.penalty = penalty

    def fit(self, a: Any, y: Any, sample_weight: Any = None) -> WeightedDoseResponse:
        """Fit the curve.

        Parameters
        ----------
        a : array-like of shape (n_samples,) or (n_samples, n_columns)
            Treatment (or, for an additive model, several columns).
        y : array-like of shape (n_samples,)
            Outcome.
        sample_weight : array-like of shape (n_samples,), optional
            Balancing weights (non-negative).

        Returns
        -------
        self
        """
        check_scalar(self.n_knots, "n_knots", Integral, min_val=2)
        check_scalar(self.degree, "degree", Integral, min_val=1)
        _check_penalty(self.penalty)
        A, y = validate_data(self, _as_2d(a), y, y_numeric=True, dtype=np.float64)
        w = np.ones_like(y)
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=float).ravel()
            if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(f"sample_weight must be {y.shape[0]} finite non-negative numbers.")
            if w.sum() <= 0:
                raise ValueError("sample_weight must not be all zero: at least one weight must be positive.")
        w = w * (w.size / w.sum())
        self.constant_columns_ = np.all(A == A[0], axis=0)
        self.bases_: list[SplineBasis] = []
        if self.constant_columns_.all():
            self.knots_ = None
            self.coef_ = np.array([np.average(y, weights=w)])
            self.penalty_, self.edf_ = 0.0, 1.0
            return self
        for j, col in enumerate(np.flatnonzero(~self.constant_columns_)):
            self.bases_.append(
                make_spline_basis(A[:, col], int(self.n_knots), int(self.degree), self._column_knots(j))
            )
        self.knots_ = (
            self.bases_[0].breakpoints if len(self.bases_) == 1 else [b.breakpoints for b in self.bases_]
        )
        design = self.design_matrix(A)
        fit = fit_penalised(
            smoother_stats(design, y, w), self._penalty_matrix(), self.penalty, units=(design, y, w)
        )
        self.coef_, self.penalty_, self.edf_ = fit.coef, fit.penalty, fit.edf
        return self

    def _column_knots(self, j: int) -> Any:
        if isinstance(self.knots, str):
            return self.knots
        knots = np.asarray(self.knots, dtype=float)
        return knots if knots.ndim == 1 else knots[:, j]

    def _penalty_matrix(self) -> np.ndarray:
        """Block-diagonal roughness penalty in the intercept-first parameterisation."""
        blocks = [np.zeros((1, 1))] + [b.penalty()[1:, 1:] for b in self.bases_]
        size = sum(blk.shape[0] for blk in blocks)
        out = np.zeros((size, size))
        start = 0
        for blk in blocks:
            k = blk.shape[0]
            out[start : start + k, start : start + k] = blk
            start += k
        return out

    def design_matrix(self, values: Any, deriv: int = 0) -> np.ndarray:
        """Intercept and spline basis at ``values``: ``predict(values) == design_matrix(values) @ coef_``.

        Each column's B-splines sum to one, so the first one is dropped in favour of the common
        intercept. ``deriv=1`` gives the derivative of every column (a zero intercept column).
        """
        check_is_fitted(self, "bases_")
        V = validate_data(self, _as_2d(values, self.n_features_in_), reset=False, dtype=np.float64)
        lead = np.ones((V.shape[0], 1)) if deriv == 0 else np.zeros((V.shape[0], 1))
        cols = np.flatnonzero(~self.constant_columns_)
        blocks = [b.design(V[:, c], deriv)[:, 1:] for b, c in zip(self.bases_, cols, strict=True)]
        return np.hstack([lead, *blocks])

    def predict(self, values: Any) -> np.ndarray:
        r"""Estimated mean outcome :math:`\hat\mu` at the treatment ``values``."""
        return self.design_matrix(values) @ self.coef_

    def predict_derivative(self, values: Any) -> np.ndarray:
        r"""Derivative :math:`\hat\mu'` at the treatment ``values`` (one-column models)."""
        if getattr(self, "n_features_in_", 1) != 1:
            raise ValueError("predict_derivative needs a one-column model (the treatment).")
        return self.design_matrix(values, deriv=1) @ self.coef_


def _check_penalty(penalty: Any) -> None:
    if not (
        penalty in CRITERIA
        or (isinstance(penalty, Real) and not isinstance(penalty, bool) and float(penalty) >= 0)
    ):
        raise ValueError(f"penalty must be one of {list(CRITERIA)} or a float >= 0, got {penalty!r}.")


def _as_2d(values: Any, n_features: int | None = None) -> Any:
    """A 1-d vector becomes one column (for a one-column model); the rest goes to ``validate_data``."""
    if issparse(values) or (n_features is not None and n_features != 1):
        return values
    if hasattr(values, "iloc"):
        return values.to_frame() if values.ndim == 1 else values
    arr = np.asarray(values)
    return arr.reshape(-1, 1) if arr.ndim <= 1 else values


class AverageDoseResponse(BaseEstimator):
    r"""Average dose-response function :math:`\mu(a) = E[Y(a)]` with bootstrap bands.

    Chains a balancing-weight estimator, an outcome stage and a penalised-spline smoother whose
    penalty is chosen from the data. The bootstrap resamples units and re-runs the pipeline on each
    resample: the weights are re-estimated (E2B: see its ``weights_for``), the outcome model is
    refitted on the resample's folds, and the smoothing penalty is chosen again.

    Parameters
    ----------
    weighter : estimator, optional
        A weighting estimator (:class:`~dowhy_e2b.EntropyBalancingWeights` by default,
        :class:`~dowhy_e2b.E2BWeights`, :class:`~dowhy_e2b.GPSWeights`,
        :class:`~dowhy_e2b.UnitWeights`). Cloned, never fitted in place.
    outcome_stage : {"doubly_robust", "weighted"}, default="doubly_robust"
        ``"weighted"``: smooth the outcome on the dose with the balancing weights (a marginal
        structural model: the weights must remove all confounding). ``"doubly_robust"``: combine
        the weights with a cross-fitted outcome model, so the curve is consistent when either the
        weights or the outcome model is right (see Notes).
    outcome_regressor : scikit-learn regressor, optional
        The outcome model :math:`m(x, a)` of the doubly robust stage, fitted on ``[X, a]`` (the
        treatment is the last column). Default:
        :class:`~dowhy_e2b.outcome_models.FlexibleOutcomeRegressor`.
    dr_form : {"augmented", "pseudo_outcome"}, default="augmented"
        Form of the doubly robust stage (see Notes).
    cv : int, default=5
        Folds of the outcome model's cross-fitting.
    n_knots : int, default=20
        Knots of the curve's spline (quantiles of the treatment, boundary knots included).
    penalty : {"loo", "gcv"} or float, default="loo"
        Roughness penalty of the curve: chosen by weighted leave-one-dose-out (or generalised)
        cross-validation in every fit and every bootstrap replicate, or fixed (see
        :class:`WeightedDoseResponse`).
    dose_grid : int or array-like, default=50
        Where the curve is reported: an int gives that many points between the 5th and 95th
        percentiles of the treatment; an array is used as given (values outside the observed
        range are allowed, with an :class:`~dowhy_e2b.exceptions.ExtrapolationWarning`).
    n_bootstrap : int, default=200
        Bootstrap replicates for the bands and tests (0 disables them).
    bootstrap_multipliers : {"poisson", "exponential"}, default="poisson"
        How a replicate weights the units. ``"poisson"``: Poisson(1) counts, the classical
        bootstrap (a resample that leaves out about 37% of the units). ``"exponential"``:
        Exponential(1) weights, Rubin's Bayesian bootstrap: every unit stays in every replicate,
        so exact balance with many covariates, barely feasible on the data, is lost on fewer
        replicates. Both have mean 1 and variance 1, but in the outcome-stage benchmark the
        exponential bands were narrower and never covered more of the grid: pointwise 0.84-0.98
        against 0.89-0.99 (default stage, 11 processes with up to 40 covariates), and 0.77 against
        0.93 with 100 sparse covariates; hence the default.
    fragile_balance : {"relax", "drop"}, default="relax"
        What to do when a weighter with exact balance (:class:`~dowhy_e2b.EntropyBalancingWeights`
        without ``max_imbalance`` or ``ridge``) reaches it on the data but more than a tenth of the
        bootstrap replicates cannot: such balance is barely feasible, and bands from the replicates
        that kept it would describe them, not the curve. ``"relax"``: refit the weights with
        approximate balance (``max_imbalance=0.01``) and bootstrap again (same folds and replicate
        seeds), with a :class:`~dowhy_e2b.exceptions.BalanceWarning`; ``balance_relaxed_`` says
        so. ``"drop"``: keep exact balance and drop those replicates (no band if all fail). With
        100 covariates and n = 1000 in the outcome-stage benchmark, exact balance was lost on 999
        of 1000 replicates; approximate balance gave an RMSE of 0.190 against 0.275, and bands that
        covered 0.95 of the grid and the whole curve on 10 of 10 seeds.
    confidence_level : float, default=0.95
        Level of the bands.
    n_jobs : int, optional
        Parallel bootstrap workers (joblib; ``None`` means 1, -1 all cores).
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the bootstrap.
    verbose : bool, default=False
        Show a progress bar for the bootstrap.

    Attributes
    ----------
    weighter_ : estimator or None
        The fitted weighting estimator (``None`` when there was nothing to balance).
    weights_ : ndarray of shape (n_samples,)
        Balancing weights (mean 1).
    outcome_stage_ : str
        The stage used (``"weighted"`` when there are no confounders or the treatment is constant).
    outcome_fit_ : OutcomeFit or None
        Cross-fitted outcome predictions of the doubly robust stage.
    smoother_ : WeightedDoseResponse
        The fitted curve.
    grid_ : ndarray
        Treatment values of the reported curve.
    curve_ : pandas.DataFrame
        :meth:`dose_response_frame` on ``grid_``: ``treatment``, ``mean_outcome``, ``ci_lower``,
        ``ci_upper`` (pointwise), ``band_lower``, ``band_upper`` (simultaneous), ``local_ess``.
    bootstrap_coef_ : ndarray of shape (n_ok, n_coef)
        Curve coefficients of the successful bootstrap replicates.
    n_bootstrap_failed_ : int
        Replicates that raised.
    bootstrap_errors_ : dict
        The error messages of the failed replicates and how often each occurred.
    balance_relaxed_ : bool
        Whether fragile exact balance was relaxed (``fragile_balance``); ``weighter_`` is then the
        approximately balancing clone.
    constant_treatment_ : bool
        Whether the treatment was constant (flat curve, zero effects).
    treatment_range_ : tuple of float
        Observed minimum and maximum of the treatment.
    feature_names_ : list of str
        Covariate names (after one-hot encoding of a DataFrame's categorical columns).
    balance_table_ : pandas.DataFrame
        Balance before and after weighting (see :func:`dowhy_e2b.diagnostics.balance_table`).

    Notes
    -----
    With weights :math:`w_i` (the balancing weights, an estimate of
    :math:`f(a_i)/f(a_i \mid x_i)`), cross-fitted predictions :math:`\hat m_i = \hat m(x_i, a_i)`
    and the g-computation curve :math:`\bar m(t) = \frac1n \sum_j \hat m(x_j, t)`, the curve is the
    penalised spline smooth of a pseudo-outcome :math:`v_i` on :math:`a_i` with smoothing weights
    :math:`s_i`:

    ============================= ============================================ =============
    stage                         :math:`v_i`                                  :math:`s_i`
    ============================= ============================================ =============
    weighted                      :math:`y_i`                                  :math:`w_i`
    doubly robust, augmented      :math:`y_i - \hat m_i + \bar m(a_i)`         :math:`w_i`
    doubly robust, pseudo-outcome :math:`w_i(y_i - \hat m_i) + \bar m(a_i)`    1
    ============================= ============================================ =============

    Both doubly robust forms are consistent when the weights balance the confounders or the outcome
    model is right; the augmented form (weighted residual smoothing, as in weighted g-computation)
    normalises the weights locally, the pseudo-outcome form is Kennedy et al.'s (2017).

    References
    ----------
    .. [1] Kennedy, E. H., Ma, Z., McHugh, M. D., Small, D. S. (2017). Non-parametric methods for
           doubly robust estimation of continuous treatment effects. JRSS B 79(4), 1229-1245.
    .. [2] Montiel Olea, J. L., Plagborg-Møller, M. (2019). Simultaneous confidence bands: theory,
           implementation, and an application to SVARs. J. Applied Econometrics 34(1), 1-17.

    Examples
    --------
    >>> from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights
    >>> from dowhy_e2b.datasets import make_nonlinear
    >>> ds = make_nonlinear(n_samples=500, random_state=0)
    >>> adrf = AverageDoseResponse(EntropyBalancingWeights(moments=2), n_bootstrap=20, random_state=0)
    >>> adrf = adrf.fit(ds.X, ds.a, ds.y)
    >>> list(adrf.curve_.columns)
    ['treatment', 'mean_outcome', 'ci_lower', 'ci_upper', 'band_lower', 'band_upper', 'local_ess']
    """

    def __init__(
        self,
        weighter: Any = None,
        outcome_stage: str = "doubly_robust",
        outcome_regressor: Any = None,
        dr_form: str = "augmented",
        cv: int = 5,
        n_knots: int = 20,
        penalty: str | float = "loo",
        dose_grid: int | Any = 50,
        n_bootstrap: int = 200,
        bootstrap_multipliers: str = "poisson",
        fragile_balance: str = "relax",
        confidence_level: float = 0.95,
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.weighter = weighter
        self.outcome_stage = outcome_stage
        self.outcome_regressor = outcome_regressor
        self.dr_form = dr_form
        self.cv = cv
        self.n_knots = n_knots
        self.penalty = penalty
        self.dose_grid = dose_grid
        self.n_bootstrap = n_bootstrap
        self.bootstrap_multipliers = bootstrap_multipliers
        self.fragile_balance = fragile_balance
        self.confidence_level = confidence_level
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting -----------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.outcome_stage not in OUTCOME_STAGES:
            raise ValueError(
                f"outcome_stage must be one of {list(OUTCOME_STAGES)}, got {self.outcome_stage!r}."
            )
        if self.dr_form not in DR_FORMS:
            raise ValueError(f"dr_form must be one of {list(DR_FORMS)}, got {self.dr_form!r}.")
        check_scalar(self.cv, "cv", Integral, min_val=2)
        check_scalar(self.n_knots, "n_knots", Integral, min_val=2)
        _check_penalty(self.penalty)
        check_scalar(self.n_bootstrap, "n_bootstrap", Integral, min_val=0)
        if self.bootstrap_multipliers not in MULTIPLIERS:
            raise ValueError(
                f"bootstrap_multipliers must be one of {list(MULTIPLIERS)}, "
                f"got {self.bootstrap_multipliers!r}."
            )
        if self.fragile_balance not in FRAGILE_BALANCE:
            raise ValueError(
                f"fragile_balance must be one of {list(FRAGILE_BALANCE)}, got {self.fragile_balance!r}."
            )
        check_scalar(
            self.confidence_level,
            "confidence_level",
            Real,
            min_val=0,
            max_val=1,
            include_boundaries="neither",
        )

    def _make_weighter(self) -> Any:
        if self.weighter is None:
            from .entropy import EntropyBalancingWeights

            return EntropyBalancingWeights()
        weighter = clone(self.weighter)
        # A weighter that learns for a grid of doses (E2B) gets the pipeline's, unless it has its own.
        params = weighter.get_params(deep=False)
        if "dose_grid" in params and params["dose_grid"] is None:
            weighter.set_params(dose_grid=self.grid_)
        # ... and is trained for the pipeline's outcome stage, unless it names its own.
        if "outcome_stage" in params and params["outcome_stage"] is None:
            weighter.set_params(outcome_stage=self.outcome_stage)
        return weighter

    def _make_smoother(self, knots: Any = "quantile") -> WeightedDoseResponse:
        return WeightedDoseResponse(n_knots=int(self.n_knots), knots=knots, penalty=self.penalty)

    def fit(self, X: Any, a: Any, y: Any, sample_weight: Any = None) -> AverageDoseResponse:
        """Estimate weights, the curve, and its bootstrap bands.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_covariates)
            Confounders. A DataFrame's categorical (object, category, bool) columns are one-hot
            encoded. A Dask DataFrame or array (with ``a``, ``y`` and ``sample_weight`` its
            columns, or Dask arrays chunked alike) is fitted chunk by chunk on the Dask cluster
            (:mod:`dowhy_e2b.distributed`, docs: "Running on a cluster").
        a : array-like of shape (n_samples,)
            Continuous treatment.
        y : array-like of shape (n_samples,)
            Outcome.
        sample_weight : array-like of shape (n_samples,), optional
            Frequency or survey weights: they define the target population.

        Returns
        -------
        self
        """
        self._check_params()
        if is_dask(X):  # chunk by chunk on a Dask cluster: dowhy_e2b.distributed
            from .distributed.dose_response import fit_dose_response

            return fit_dose_response(self, X, a, y, sample_weight)
        X_in = X
        X, feature_names = _design(X)
        a = check_treatment(a, name="treatment")
        y = as_float_vector(y, "outcome", role="outcome")
        if not (len(a) == len(y) == len(X)):
            raise ValueError(
                f"X, a and y must have the same number of rows, got {len(X)}, {len(a)}, {len(y)}."
            )
        self.grid_ = check_dose_grid(self.dose_grid, a)
        self.treatment_range_ = (float(a.min()), float(a.max()))
        self.constant_treatment_ = is_constant(a)
        self.feature_names_ = feature_names
        self._treatment = a
        self._chunked: Any = None  # a previous fit on Dask collections is forgotten
        s = (
            np.ones_like(a)
            if sample_weight is None
            else normalise_weights(_check_sample_weight(sample_weight, a.size))
        )
        self._sample_weight = None if sample_weight is None else s
        rng = check_random_state(self.random_state)
        self._fit_weights(X, a, y, feature_names, s)
        self._fold_seed = int(rng.randint(np.iinfo(np.int32).max))
        self._fit_curve(X, a, y, s, self._fold_seed)
        self._seed = int(rng.randint(np.iinfo(np.int32).max))
        self._set_balance_table(X_in, X, a)
        self.balance_relaxed_ = False
        init_replicates(self)
        if self.n_bootstrap and not self._point_fit_failed():
            self._bootstrap_relaxing(X_in, a, y, stacklevel=2)
        self.curve_ = self.dose_response_frame(self.grid_)
        return self

    def _set_balance_table(self, X_in: Any, X: np.ndarray, a: np.ndarray) -> None:
        """``balance_table_`` of ``weights_``, from the caller's frame ``X_in`` when it is one (every
        level of a categorical gets its name), else from the design ``X``."""
        moments = int(getattr(self.weighter_, "moments", 1) or 1)
        table_X = X_in if isinstance(X_in, pd.DataFrame) else X
        self.balance_table_ = balance_table(
            table_X,
            a,
            self.weights_,
            feature_names=None if table_X is X_in else self.feature_names_,
            moments=moments,
        )

    def _fit_weights(
        self,
        X: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        names: list[str],
        s: np.ndarray,
        weighter: Any = None,
    ) -> None:
        """``weighter_``, ``weights_`` and ``outcome_stage_`` (weighted when there is nothing to
        balance); ``weighter``, unfitted, replaces :meth:`_make_weighter`'s."""
        self.weighter_ = None
        self.outcome_stage_ = self.outcome_stage
        if self.constant_treatment_:
            warnings.warn(
                "treatment is constant: the dose-response curve is flat and every effect is 0.",
                ConstantTreatmentWarning,
                stacklevel=3,
            )
            self.outcome_stage_ = "weighted"
        elif X.shape[1] == 0:
            logger.info("no confounders: nothing to balance, the weights are uniform.")
            self.outcome_stage_ = "weighted"
        else:
            self.weighter_ = self._make_weighter() if weighter is None else weighter
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DiscreteTreatmentWarning)  # already warned
                # The outcome goes along: E2B builds its training functions with it; others ignore it.
                self.weighter_.fit(pd.DataFrame(X, columns=names), a, y=y, sample_weight=self._sample_weight)
        self.weights_ = (
            s.copy() if self.weighter_ is None else np.asarray(self.weighter_.weights_, dtype=float)
        )

    def _fit_curve(
        self,
        X: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        s: np.ndarray,
        fold_seed: int,
        outcome_fit: OutcomeFit | None = None,
    ) -> None:
        """``outcome_fit_`` (the doubly robust stage's cross-fitted predictions; ``outcome_fit``, a
        previous fit's, is reused: it does not depend on the weights) and ``smoother_``."""
        self.outcome_fit_ = outcome_fit
        if self.outcome_stage_ == "doubly_robust" and outcome_fit is None:
            folds = row_folds(fold_seed, 0, a.size, min(int(self.cv), a.size))
            self.outcome_fit_ = cross_fit(
                self._regressor(), X, a, y, folds, self._gcomp_doses(a), sample_weight=self._sample_weight
            )
        v, smooth_w = _pseudo_outcomes(
            self.outcome_stage_, self.dr_form, a, y, self.weights_, s, self.outcome_fit_
        )
        self.smoother_ = self._make_smoother().fit(a, v, sample_weight=smooth_w)

    def _regressor(self) -> Any:
        return FlexibleOutcomeRegressor() if self.outcome_regressor is None else clone(self.outcome_regressor)

    @staticmethod
    def _gcomp_doses(a: np.ndarray) -> np.ndarray:
        return np.linspace(float(a.min()), float(a.max()), N_GCOMP_DOSES)

    def _point_fit_failed(self) -> bool:
        """Whether the weights failed so badly that bootstrapping them would describe the failure,
        not the curve: they missed their balance target (see :func:`~dowhy_e2b._validation.
        point_fit_failure`) and rest on less than a tenth of the data. Then the bootstrap is
        skipped with a :class:`~dowhy_e2b.BalanceWarning`; a milder miss is bootstrapped (its
        own warning was already given)."""
        reason = point_fit_failure(self.weighter_) if self.weighter_ is not None else None
        if reason is None or effective_sample_size(self.weights_) >= MIN_ESS_FRACTION * self.weights_.size:
            return False
        warnings.warn(
            f"the bootstrap was skipped: {reason} Bands around a failed fit would describe the "
            "failure, not the curve. Try fewer moments, a ridge or max_imbalance (approximate "
            "balance), or fewer covariates.",
            BalanceWarning,
            stacklevel=3,
        )
        return True

    def bootstrap(self, X: Any, a: Any, y: Any, n_bootstrap: int | None = None) -> AverageDoseResponse:
        """(Re)compute the bootstrap replicates on the data ``fit`` saw.

        ``fit`` calls this with ``n_bootstrap``; call it yourself to add or enlarge the bands of a
        curve fitted with ``n_bootstrap=0``. Each replicate resamples the units and re-runs the
        pipeline: weights, outcome model (cross-fitted on the resample's units, in their folds),
        smoothing penalty. Where the replicates find exact balance fragile, the weights are relaxed
        as in ``fit`` (``fragile_balance``), so the curve is the one ``fit`` would have given.

        Parameters
        ----------
        X, a, y : array-like
            The data passed to ``fit``.
        n_bootstrap : int, optional
            Replicates; defaults to the ``n_bootstrap`` parameter.

        Returns
        -------
        self
        """
        check_is_fitted(self, "smoother_")
        self._bootstrap_relaxing(X, a, y, n_bootstrap)
        self.curve_ = self.dose_response_frame(self.grid_)
        return self

    def _bootstrap_relaxing(
        self, X: Any, a: Any, y: Any, n_bootstrap: int | None = None, stacklevel: int = 2
    ) -> None:
        """The bootstrap; where it finds exact balance fragile (``fragile_balance="relax"``), the
        weights relaxed, the curve refitted and bootstrapped again, with the same folds and replicate
        seeds; then the warning about dropped replicates. ``stacklevel`` is that of the caller."""
        self._bootstrap(X, a, y, n_bootstrap)
        relaxed = relaxed_weighter(self, stacklevel=stacklevel + 1)
        if relaxed is not None:
            self.balance_relaxed_ = True
            init_replicates(self)
            if self._refit_relaxed(X, a, y, relaxed):
                self._bootstrap(X, a, y, n_bootstrap)
        warn_dropped(self, stacklevel=stacklevel + 1)

    def _refit_relaxed(self, X_in: Any, a: Any, y: Any, weighter: Any) -> bool:
        """Refit the weights with ``weighter`` (unfitted), the curve and the balance table; the
        outcome model is kept (it does not depend on the weights; on Dask it is refitted, with the
        same result). Returns whether the new fit can be bootstrapped."""
        if self._fitted_on_dask:
            from .distributed.dose_response import refit_weights

            return refit_weights(self, weighter)
        X, a, y, s = self._fitted_data(X_in, a, y)
        self._fit_weights(X, a, y, self.feature_names_, s, weighter=weighter)
        self._fit_curve(X, a, y, s, self._fold_seed, outcome_fit=self.outcome_fit_)
        self._set_balance_table(X_in, X, a)
        return not self._point_fit_failed()

    @property
    def _fitted_on_dask(self) -> bool:
        """Whether ``fit`` saw Dask collections (:mod:`dowhy_e2b.distributed`)."""
        return getattr(self, "_chunked", None) is not None

    def _fitted_data(self, X: Any, a: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The data ``fit`` saw (passed again) as arrays, with its normalised sample weights."""
        X, _ = _design(X)
        a = np.asarray(a, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        s = np.ones_like(a) if self._sample_weight is None else self._sample_weight
        return X, a, y, s

    def _bootstrap(self, X: Any, a: Any, y: Any, n_bootstrap: int | None = None) -> None:
        """:meth:`bootstrap` without the warning about dropped replicates and without ``curve_``."""
        if self._fitted_on_dask:
            from .distributed.bootstrap import chunked_bootstrap

            chunked_bootstrap(self, self._chunked[0], self._curve, n_bootstrap)
            return
        X, a, y, s = self._fitted_data(X, a, y)
        n_boot = int(self.n_bootstrap if n_bootstrap is None else n_bootstrap)
        seeds = np.random.default_rng(self._seed).integers(0, np.iinfo(np.int32).max, size=n_boot)
        spec = _ReplicateSpec(
            weighter=self.weighter_,
            regressor=(
                None if self.outcome_fit_ is None else self.outcome_fit_.frozen_regressor(self._regressor())
            ),
            stage=self.outcome_stage_,
            dr_form=self.dr_form,
            smoother=self._make_smoother(knots=self.smoother_.knots_),
            folds=None if self.outcome_fit_ is None else self.outcome_fit_.folds,
            doses=None if self.outcome_fit_ is None else self.outcome_fit_.doses,
            multipliers=self.bootstrap_multipliers,
        )
        jobs = (delayed(_bootstrap_replicate)(spec, X, a, y, s, int(seed)) for seed in seeds)
        with quiet_replicates():
            results = Parallel(n_jobs=self.n_jobs, return_as="generator")(jobs) if n_boot else []
            results = list(tqdm(results, total=n_boot, desc="bootstrap", disable=not self.verbose))
        record_replicates(self, results, n_boot)

    # -- the curve and its replicates --------------------------------------------------------------
    def _values(self, values: Any) -> np.ndarray:
        check_is_fitted(self, "smoother_")
        return self.grid_ if values is None else np.atleast_1d(np.asarray(values, dtype=float)).ravel()

    def predict(self, values: Any) -> np.ndarray:
        r"""Estimated average dose-response :math:`\hat\mu` at the treatment ``values``."""
        return self.smoother_.predict(self._values(values))

    def predict_derivative(self, values: Any) -> np.ndarray:
        r"""Derivative :math:`\hat\mu'` (the average marginal effect function) at ``values``."""
        return self.smoother_.predict_derivative(self._values(values))

    def bootstrap_predictions(self, values: Any, deriv: int = 0) -> np.ndarray:
        r"""Bootstrap replicates of :math:`\hat\mu` (or :math:`\hat\mu'` with ``deriv=1``) at
        ``values``, shape (n_replicates, n_values)."""
        D = self.smoother_.design_matrix(self._values(values), deriv=deriv)
        return self.bootstrap_coef_ @ D.T

    def _level(self, confidence_level: float | None) -> float:
        return float(self.confidence_level if confidence_level is None else confidence_level)

    def _frame(
        self, v: np.ndarray, name: str, est: np.ndarray, reps: np.ndarray, level: float
    ) -> pd.DataFrame:
        lo, hi, _ = normal_band(est, reps, level)
        blo, bhi, _ = simultaneous_band(est, reps, level)
        return pd.DataFrame(
            {"treatment": v, name: est, "ci_lower": lo, "ci_upper": hi, "band_lower": blo, "band_upper": bhi}
        )

    def dose_response_frame(self, values: Any = None, confidence_level: float | None = None) -> pd.DataFrame:
        """The curve at ``values`` (default: the fitted grid) with its bands.

        Returns
        -------
        pandas.DataFrame
            ``treatment``, ``mean_outcome``; ``ci_lower``/``ci_upper``, the pointwise band
            (estimate ± z × bootstrap standard error); ``band_lower``/``band_upper``, the
            simultaneous band over ``values`` (sup-t; it encloses the pointwise one); and
            ``local_ess``, the effective number of units within a quarter of the treatment's
            standard deviation of each value. Bands are NaN without bootstrap replicates.
        """
        v = self._values(values)
        frame = self._frame(
            v, "mean_outcome", self.predict(v), self.bootstrap_predictions(v), self._level(confidence_level)
        )
        frame["local_ess"] = self.local_ess(v)
        return frame

    def derivative_frame(self, values: Any = None, confidence_level: float | None = None) -> pd.DataFrame:
        r"""The derivative :math:`\hat\mu'` (average marginal effect of a small dose increase) with bands.

        Returns
        -------
        pandas.DataFrame
            ``treatment``, ``derivative``, ``ci_lower``, ``ci_upper``, ``band_lower``, ``band_upper``.
        """
        v = self._values(values)
        reps = self.bootstrap_predictions(v, deriv=1)
        return self._frame(v, "derivative", self.predict_derivative(v), reps, self._level(confidence_level))

    def effect_curve(
        self, reference: float, values: Any = None, confidence_level: float | None = None
    ) -> pd.DataFrame:
        r"""Effects relative to a reference dose, :math:`\hat\mu(t) - \hat\mu(\text{reference})`, with bands.

        Returns
        -------
        pandas.DataFrame
            ``treatment``, ``effect``, ``ci_lower``, ``ci_upper``, ``band_lower``, ``band_upper``
            (the band is simultaneous over ``values``; at the reference dose it has zero width).
        """
        v = self._values(values)
        ref = float(reference)
        warn_outside_support(np.array([ref]), np.array(self.treatment_range_), "reference dose")
        est = self.predict(v) - self.predict([ref])[0]
        reps = self.bootstrap_predictions(v) - self.bootstrap_predictions([ref])
        return self._frame(v, "effect", est, reps, self._level(confidence_level))

    def test_dose_response(self, hypothesis: str = "flat", values: Any = None) -> DoseResponseTest:
        """Wald test that the curve is flat (no effect of the dose) or linear, over ``values``.

        The curve on ``values`` (default: the fitted grid) is projected on orthonormal polynomials
        of the dose (degree 5); the coefficients beyond the constant (``"flat"``) or the straight
        line (``"linear"``) are tested against zero with their bootstrap covariance (Hotelling's
        :math:`T^2`, F reference).

        Returns
        -------
        DoseResponseTest
            ``.statistic``, ``.df``, ``.p_value`` (also readable as ``result["p_value"]``).
        """
        v = self._values(values)
        if self.bootstrap_coef_.shape[0] < 3:
            raise ValueError(
                "test_dose_response needs bootstrap replicates: fit with n_bootstrap > 0 (200 is the "
                "default) or call bootstrap(X, a, y)."
            )
        return dose_response_test(v, self.predict(v), self.bootstrap_predictions(v), hypothesis)

    def local_ess(self, values: Any) -> np.ndarray:
        """Effective number of (weighted) units within a quarter of the treatment's standard
        deviation of each value: how much data the curve rests on there."""
        check_is_fitted(self, "smoother_")
        if self._fitted_on_dask:
            from .distributed.dose_response import chunked_local_ess

            return chunked_local_ess(self, self._values(values))
        a = self._treatment
        return dose_support(a, self.weights_, self._values(values))["local_ess"].to_numpy()

    # -- contrasts (DoWhy's single number) ---------------------------------------------------------
    def _contrast_replicates(self, treatment_value: float, control_value: float) -> np.ndarray:
        reps = self.bootstrap_predictions([treatment_value, control_value])
        return reps[:, 0] - reps[:, 1]

    def contrast(self, treatment_value: float, control_value: float) -> float:
        """The contrast :math:`\\hat\\mu(t) - \\hat\\mu(c)` of two doses (0 for a constant treatment).

        Warns (:class:`~dowhy_e2b.exceptions.ExtrapolationWarning`) for doses outside the observed
        range, and (:class:`~dowhy_e2b.exceptions.ThinSupportWarning`) for doses where the weighted
        data are thin, naming their local effective sample size.
        """
        check_is_fitted(self, "smoother_")
        check_contrast(treatment_value, control_value)
        if self.constant_treatment_:
            return 0.0
        doses = np.array([treatment_value, control_value], dtype=float)
        warn_outside_support(doses, np.array(self.treatment_range_), "treatment value")
        self._warn_thin(doses)
        mu = self.predict(doses)
        return float(mu[0] - mu[1])

    def _warn_thin(self, doses: np.ndarray) -> None:
        lo, hi = self.treatment_range_
        inside = doses[(doses >= lo) & (doses <= hi)]
        if not inside.size:
            return
        ess = self.local_ess(inside)
        floor = max(MIN_LOCAL_ESS, MIN_LOCAL_ESS_SHARE * effective_sample_size(self.weights_))
        thin = ess < floor
        if thin.any():
            where = ", ".join(f"{d:.4g} ({e:.1f})" for d, e in zip(inside[thin], ess[thin], strict=True))
            warnings.warn(
                f"the weighted data are thin near dose(s) {where} — in brackets the effective number "
                f"of units within a quarter standard deviation, below {floor:.3g} (the larger of "
                f"{MIN_LOCAL_ESS:g} and {MIN_LOCAL_ESS_SHARE:.0%} of the sample's effective size): the "
                "curve there leans on the smoother; read it with its band, or contrast doses with "
                "more data.",
                ThinSupportWarning,
                stacklevel=3,
            )

    def contrast_interval(
        self, treatment_value: float, control_value: float, confidence_level: float | None = None
    ) -> tuple[float, float]:
        """Confidence interval of :meth:`contrast`: estimate ± z × bootstrap standard error."""
        mu = self.predict([treatment_value, control_value])
        est = np.array([0.0 if self.constant_treatment_ else mu[0] - mu[1]])
        reps = self._contrast_replicates(treatment_value, control_value)[:, None]
        lo, hi, _ = normal_band(est, reps, self._level(confidence_level))
        return float(lo[0]), float(hi[0])

    def contrast_std_error(self, treatment_value: float, control_value: float) -> float:
        """Bootstrap standard error of :meth:`contrast`."""
        reps = self._contrast_replicates(treatment_value, control_value)
        return float(np.std(reps, ddof=1)) if reps.size > 1 else float("nan")

    def contrast_p_value(self, treatment_value: float, control_value: float) -> float:
        """Two-sided p-value of "no difference between the two doses" (normal, bootstrap standard error)."""
        from scipy.stats import norm

        se = self.contrast_std_error(treatment_value, control_value)
        if not se > 0:
            return float("nan")
        mu = self.predict([treatment_value, control_value])
        return float(2 * norm.sf(abs(mu[0] - mu[1]) / se))


def _design(X: Any) -> tuple[np.ndarray, list[str]]:
    """Numeric matrix and column names; a DataFrame's categorical columns are one-hot encoded."""
    if isinstance(X, pd.DataFrame):
        return encode_frame(X)
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    return arr, [f"x{j}" for j in range(arr.shape[1])]


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray:
    sw = np.asarray(sample_weight, dtype=float).ravel()
    if sw.shape != (n,) or not np.all(np.isfinite(sw)) or np.any(sw < 0) or sw.sum() <= 0:
        raise ValueError(f"sample_weight must be {n} finite non-negative numbers with a positive sum.")
    return sw


def _pseudo_outcomes(
    stage: str,
    dr_form: str,
    a: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    s: np.ndarray,
    outcome: OutcomeFit | None,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The response ``v`` smoothed on ``a`` and its smoothing weights (see AverageDoseResponse's Notes).

    ``s`` are the units' sample weights (mean 1); ``rows`` selects the units of ``outcome`` that
    ``a``, ``y``, ``w`` and ``s`` refer to (a bootstrap resample).
    """
    if stage == "weighted" or outcome is None:
        return y, w
    m = outcome.at_observed if rows is None else outcome.at_observed[rows]
    mbar = outcome.mean_at(a, unit_weights=s, rows=rows)
    return dr_response(dr_form, y, m, mbar, w, s, s.sum() / w.sum())


def dr_response(
    dr_form: str, y: np.ndarray, m: np.ndarray, mbar: np.ndarray, w: np.ndarray, s: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """The doubly robust response and its smoothing weights from the outcome predictions ``m``, the
    g-computation curve at the units' doses ``mbar`` and ``scale = sum(s) / sum(w)`` (over all units,
    so that a chunk of them gives its part of the same sums)."""
    resid = y - m
    if dr_form == "augmented":
        return resid + mbar, w
    ratio = np.divide(w, s, out=np.zeros_like(w), where=s > 0) * scale
    return ratio * resid + mbar, s


@dataclass(frozen=True)
class _ReplicateSpec:
    """What a bootstrap replicate needs besides the data.

    ``regressor`` is refitted on each resample's folds for the doubly robust stage (its tuning fixed
    at the point fit's); ``smoother`` has the point fit's knots, so that replicate coefficients
    compare.
    """

    weighter: Any
    stage: str
    dr_form: str
    smoother: Any
    regressor: Any = None
    folds: np.ndarray | None = None
    doses: np.ndarray | None = None
    multipliers: str = "poisson"


#: Why a replicate is dropped when its balancing misses the balance that the data reached (one
#: message for all such replicates, so that the warning counts them together).
REPLICATE_UNBALANCED = (
    "balance, reached on the data, was not reached on the replicate (balance that is barely "
    "feasible: try approximate balance, a larger max_imbalance or a ridge, or fewer covariates or "
    "moments)"
)


@contextlib.contextmanager
def replicate_balance() -> Iterator[None]:
    """Re-raise a replicate's :class:`~dowhy_e2b.exceptions.BalanceError` as
    :data:`REPLICATE_UNBALANCED`."""
    try:
        yield
    except BalanceError as err:
        raise BalanceError(REPLICATE_UNBALANCED) from err


def _replicate_weights(
    weighter: Any, X: np.ndarray, a: np.ndarray, y: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """The weights of a bootstrap replicate.

    A weighter that trains a model and can continue training (scikit-learn's ``warm_start``, as
    :class:`~dowhy_e2b.E2BWeights`) is retrained on the replicate from its fitted state, for at most
    :data:`BOOTSTRAP_TRAINING_STEPS` steps: the bands then include the variability of training.
    Others re-estimate their weights on the replicate (``weights_for``). A weighter that can refuse
    unbalanced weights (``on_failure``) and reached balance on the data must reach it on the
    replicate too: a replicate where balance is infeasible raises
    :class:`~dowhy_e2b.exceptions.BalanceError` and is dropped and counted, instead of entering the
    bands with weights on a handful of units.
    """
    params = weighter.get_params(deep=False)
    if "warm_start" not in params:
        with replicate_balance():
            return np.asarray(weighter.weights_for(X, a, sample_weight=s, strict=True), dtype=float)
    refit = copy.deepcopy(weighter)
    steps = min(int(params.get("max_steps", BOOTSTRAP_TRAINING_STEPS)), BOOTSTRAP_TRAINING_STEPS)
    extra = {"verbose": False} if "verbose" in params else {}
    refit.set_params(warm_start=True, max_steps=steps, **extra)
    return np.asarray(refit.fit(X, a, y=y, sample_weight=s).weights_, dtype=float)


def _bootstrap_replicate(
    spec: _ReplicateSpec, X: np.ndarray, a: np.ndarray, y: np.ndarray, s: np.ndarray, seed: int
) -> np.ndarray | str:
    """Curve coefficients on one bootstrap resample, or the error message if it failed.

    Every unit gets a multiplier (Exponential(1) or Poisson(1), ``spec.multipliers``) drawn from
    ``(seed, its row index)`` (the same whatever the chunking of the data), used as sample weights
    on the units with a positive one (Poisson counts are equivalent to duplicated rows for every
    estimator here); each unit keeps its fold.
    """
    with threadpool_limits(limits=1):  # small matrices: BLAS threads only contend
        return _replicate_coef(spec, X, a, y, s, seed)


def _replicate_coef(
    spec: _ReplicateSpec, X: np.ndarray, a: np.ndarray, y: np.ndarray, s: np.ndarray, seed: int
) -> np.ndarray | str:
    counts = row_multipliers(spec.multipliers, seed, 0, a.size)
    rows = np.flatnonzero(counts)
    s_b = s[rows] * counts[rows]
    s_b = s_b * (s_b.size / s_b.sum())
    a_b, y_b = a[rows], y[rows]
    try:
        if spec.weighter is None or is_constant(a_b):
            w = s_b
        else:
            w = _replicate_weights(spec.weighter, X[rows], a_b, y_b, s_b)
        outcome = None
        if spec.regressor is not None and spec.folds is not None and spec.doses is not None:
            outcome = cross_fit(
                spec.regressor, X[rows], a_b, y_b, spec.folds[rows], spec.doses, sample_weight=s_b
            )
        v, smooth_w = _pseudo_outcomes(spec.stage, spec.dr_form, a_b, y_b, w, s_b, outcome)
        return clone(spec.smoother).fit(a_b, v, sample_weight=smooth_w).coef_
    except (ValueError, np.linalg.LinAlgError) as err:
        logger.debug("bootstrap replicate failed: %s", err)
        return f"{type(err).__name__}: {err}"
