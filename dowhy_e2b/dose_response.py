r"""Average dose-response function: the weighted outcome stage and the whole pipeline.

:class:`WeightedDoseResponse` fits :math:`\hat\mu(a)` by weighted least squares of the outcome on a
cubic B-spline basis of the treatment (a marginal structural model). :class:`AverageDoseResponse`
chains a weighting estimator and this outcome stage, and computes bootstrap confidence bands by
resampling the whole pipeline (weights and outcome stage).
"""

from __future__ import annotations

import logging
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import SplineTransformer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_scalar, validate_data
from tqdm.auto import tqdm

from ._base import normalise_weights
from ._validation import (
    as_float_vector,
    check_dose_grid,
    check_treatment,
    encode_frame,
    is_constant,
    warn_outside_support,
)
from .diagnostics import balance_table
from .exceptions import ConstantTreatmentWarning, ConvergenceWarning, DiscreteTreatmentWarning

__all__ = ["AverageDoseResponse", "WeightedDoseResponse"]

logger = logging.getLogger(__name__)


class WeightedDoseResponse(RegressorMixin, BaseEstimator):
    r"""Weighted spline regression of the outcome on the treatment: :math:`\hat\mu(a)`.

    With one column (the treatment) this is the outcome stage of a weighted marginal structural
    model. With several columns it is an additive spline model :math:`\sum_j s_j(x_j)`, so it is a
    scikit-learn regressor like any other.

    Parameters
    ----------
    n_knots : int, default=5
        Number of knots of the B-spline basis (including the two boundary knots).
    degree : int, default=3
        Polynomial degree of the splines (3: cubic).
    knots : {"quantile", "uniform"} or array-like of shape (n_knots,) or (n_knots, n_columns)
        Knot positions: quantiles of the observed (unweighted) treatment, evenly spaced over its
        range, or given explicitly. The sample weights do not move the knots, so that every
        weighting method is compared on the same basis. A column whose quantile knots coincide
        (few distinct values) gets uniform knots.
    extrapolation : {"linear", "constant", "continue"}, default="linear"
        How the basis continues outside the boundary knots (see
        :class:`~sklearn.preprocessing.SplineTransformer`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_basis + 1,)
        Intercept followed by the spline coefficients.
    knots_ : ndarray of shape (n_knots, n_columns) or None
        The knots used (``None`` when every column is constant: the fit is the weighted mean).
    spline_ : SplineTransformer or None
        The fitted basis.
    constant_columns_ : ndarray of bool
        Columns that were constant in ``fit`` (they get no basis functions).

    Notes
    -----
    Solves :math:`\min_\beta \sum_i w_i (y_i - \beta_0 - B(a_i)^\top\beta)^2` by weighted least
    squares (minimum-norm solution where the basis is rank deficient); with balancing weights
    :math:`w` the fitted curve estimates :math:`E[Y(a)]`.

    Examples
    --------
    >>> import numpy as np
    >>> from dowhy_e2b import WeightedDoseResponse
    >>> a = np.linspace(-2, 2, 200)
    >>> model = WeightedDoseResponse().fit(a, np.sin(a))
    >>> bool(np.allclose(model.predict([0.0, 1.0]), np.sin([0.0, 1.0]), atol=0.01))
    True
    """

    def __init__(
        self,
        n_knots: int = 5,
        degree: int = 3,
        knots: str | Any = "quantile",
        extrapolation: str = "linear",
    ):
        self.n_knots = n_knots
        self.degree = degree
        self.knots = knots
        self.extrapolation = extrapolation

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
        A, y = validate_data(self, _as_2d(a), y, y_numeric=True, dtype=np.float64)
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=float).ravel()
            if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(f"sample_weight must be {y.shape[0]} finite non-negative numbers.")
            if w.sum() <= 0:
                raise ValueError("sample_weight must not be all zero: at least one weight must be positive.")
        self.constant_columns_ = np.all(A == A[0], axis=0)
        if self.constant_columns_.all():
            self.spline_ = None
            self.knots_ = None
            self.coef_ = np.array([np.average(y, weights=w)])
            return self
        self.knots_ = self._knots(A[:, ~self.constant_columns_])
        self.spline_ = SplineTransformer(
            knots=self.knots_,
            degree=int(self.degree),
            extrapolation=self.extrapolation,
            include_bias=False,
        ).fit(A[:, ~self.constant_columns_])
        B = self.spline_.transform(A[:, ~self.constant_columns_])
        lin = LinearRegression().fit(B, y, sample_weight=w)
        self.coef_ = np.concatenate([[lin.intercept_], lin.coef_])
        return self

    def _knots(self, A: np.ndarray) -> np.ndarray:
        if not isinstance(self.knots, str):
            knots = np.asarray(self.knots, dtype=float)
            return knots.reshape(knots.shape[0], -1) if knots.ndim == 1 else knots
        if self.knots not in ("quantile", "uniform"):
            raise ValueError(f"knots must be 'quantile', 'uniform' or an array, got {self.knots!r}.")
        grid = np.linspace(0, 1, int(self.n_knots))
        uniform = A.min(axis=0) + grid[:, None] * (A.max(axis=0) - A.min(axis=0))
        if self.knots == "uniform":
            return uniform
        # Quantiles of the observed treatment, not of the weighted sample: every weighting method
        # (and E2B's training) then uses the same basis.
        quantile = np.quantile(A, grid, axis=0)
        distinct = np.all(np.diff(quantile, axis=0) > 0, axis=0)
        return np.where(distinct, quantile, uniform)

    def design_matrix(self, values: Any) -> np.ndarray:
        """Intercept and spline basis at ``values``: ``predict(values) == design_matrix(values) @ coef_``."""
        check_is_fitted(self, "coef_")
        V = validate_data(self, _as_2d(values, self.n_features_in_), reset=False, dtype=np.float64)
        if self.spline_ is None:
            return np.ones((V.shape[0], 1))
        return np.column_stack([np.ones(V.shape[0]), self.spline_.transform(V[:, ~self.constant_columns_])])

    def predict(self, values: Any) -> np.ndarray:
        r"""Estimated mean outcome :math:`\hat\mu` at the treatment ``values``."""
        return self.design_matrix(values) @ self.coef_


def _as_2d(values: Any, n_features: int | None = None) -> Any:
    """A 1-d vector becomes one column (for a one-column model); the rest goes to ``validate_data``."""
    if issparse(values) or (n_features is not None and n_features != 1):
        return values
    if hasattr(values, "iloc"):
        return values.to_frame() if values.ndim == 1 else values
    arr = np.asarray(values)
    return arr.reshape(-1, 1) if arr.ndim <= 1 else values


class AverageDoseResponse(BaseEstimator):
    r"""Average dose-response function :math:`\mu(a) = E[Y(a)]` with bootstrap confidence bands.

    Chains a balancing-weight estimator and a weighted outcome stage. The bootstrap resamples rows
    and re-runs the pipeline on each resample through the weighter's ``weights_for`` (entropy
    balancing and GPS: refitted from scratch; E2B: the trained network is reused, the balancing
    problem re-solved).

    Parameters
    ----------
    weighter : estimator, optional
        A weighting estimator (:class:`~dowhy_e2b.EntropyBalancingWeights` by default,
        :class:`~dowhy_e2b.E2BWeights`, :class:`~dowhy_e2b.GPSWeights`,
        :class:`~dowhy_e2b.UnitWeights`). Cloned, never fitted in place.
    outcome_model : WeightedDoseResponse, optional
        The outcome stage; defaults to a cubic spline with 5 quantile knots.
    dose_grid : int or array-like, default=50
        Where the curve is reported: an int gives that many points between the 5th and 95th
        percentiles of the treatment; an array is used as given (values outside the observed
        range are allowed, with an :class:`~dowhy_e2b.exceptions.ExtrapolationWarning`).
    n_bootstrap : int, default=200
        Bootstrap replicates for the bands (0 disables them).
    confidence_level : float, default=0.95
        Level of the percentile bootstrap bands.
    n_jobs : int, optional
        Parallel bootstrap workers (joblib; ``None`` means 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap (and a stochastic weighter, when it has no seed of its own).
    verbose : bool, default=False
        Show a progress bar for the bootstrap.

    Attributes
    ----------
    weighter_ : estimator
        The fitted weighting estimator.
    weights_ : ndarray of shape (n_samples,)
        Balancing weights (mean 1).
    outcome_model_ : WeightedDoseResponse
        The fitted outcome stage.
    grid_ : ndarray
        Treatment values of the reported curve.
    curve_ : pandas.DataFrame
        Columns ``treatment``, ``mean_outcome``, ``ci_lower``, ``ci_upper``.
    bootstrap_coef_ : ndarray of shape (n_ok, n_coef)
        Outcome-stage coefficients of the successful bootstrap replicates.
    n_bootstrap_failed_ : int
        Replicates that raised (their count is also logged).
    constant_treatment_ : bool
        Whether the treatment was constant (flat curve, zero effects).
    treatment_range_ : tuple of float
        Observed minimum and maximum of the treatment.
    feature_names_ : list of str
        Covariate names (after one-hot encoding of a DataFrame's categorical columns).
    balance_table_ : pandas.DataFrame
        Balance before and after weighting (see :func:`dowhy_e2b.diagnostics.balance_table`).

    Examples
    --------
    >>> from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights
    >>> from dowhy_e2b.datasets import make_nonlinear
    >>> ds = make_nonlinear(n_samples=500, random_state=0)
    >>> adrf = AverageDoseResponse(EntropyBalancingWeights(moments=2), n_bootstrap=20, random_state=0)
    >>> adrf = adrf.fit(ds.X, ds.a, ds.y)
    >>> list(adrf.curve_.columns)
    ['treatment', 'mean_outcome', 'ci_lower', 'ci_upper']
    """

    def __init__(
        self,
        weighter: Any = None,
        outcome_model: Any = None,
        dose_grid: int | Any = 50,
        n_bootstrap: int = 200,
        confidence_level: float = 0.95,
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: bool = False,
    ):
        self.weighter = weighter
        self.outcome_model = outcome_model
        self.dose_grid = dose_grid
        self.n_bootstrap = n_bootstrap
        self.confidence_level = confidence_level
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _make_weighter(self, outcome_model: Any) -> Any:
        if self.weighter is None:
            from .entropy import EntropyBalancingWeights

            return EntropyBalancingWeights()
        weighter = clone(self.weighter)
        # A weighter that learns for a given outcome stage and grid (E2B) gets the pipeline's own,
        # unless it was given its own.
        params = weighter.get_params(deep=False)
        if "outcome_model" in params and params["outcome_model"] is None:
            weighter.set_params(outcome_model=clone(outcome_model))
        if "dose_grid" in params and params["dose_grid"] is None:
            weighter.set_params(dose_grid=self.grid_)
        return weighter

    def fit(self, X: Any, a: Any, y: Any, sample_weight: Any = None) -> AverageDoseResponse:
        """Estimate weights, the curve, and its bootstrap bands.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_covariates)
            Confounders. A DataFrame's categorical (object, category, bool) columns are one-hot
            encoded.
        a : array-like of shape (n_samples,)
            Continuous treatment.
        y : array-like of shape (n_samples,)
            Outcome.
        sample_weight : array-like of shape (n_samples,), optional
            Frequency or survey weights, passed to the weighter.

        Returns
        -------
        self
        """
        check_scalar(self.n_bootstrap, "n_bootstrap", Integral, min_val=0)
        check_scalar(
            self.confidence_level,
            "confidence_level",
            Real,
            min_val=0,
            max_val=1,
            include_boundaries="neither",
        )
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
        base_outcome = self.outcome_model if self.outcome_model is not None else WeightedDoseResponse()
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, a.shape[0])
        self.weighter_ = None
        if self.constant_treatment_:
            warnings.warn(
                "treatment is constant: the dose-response curve is flat and every effect is 0.",
                ConstantTreatmentWarning,
                stacklevel=2,
            )
        elif X.shape[1] == 0:
            logger.info("no confounders: nothing to balance, the weights are uniform.")
        else:
            self.weighter_ = self._make_weighter(base_outcome)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DiscreteTreatmentWarning)  # already warned above
                # The outcome goes along: E2B builds its training functions with it; others ignore it.
                self.weighter_.fit(pd.DataFrame(X, columns=feature_names), a, y=y, sample_weight=sw)
        if self.weighter_ is None:
            self.weights_ = np.ones_like(a) if sw is None else normalise_weights(sw)
        else:
            self.weights_ = np.asarray(self.weighter_.weights_, dtype=float)
        self._sample_weight = sw
        self.outcome_model_ = clone(base_outcome).fit(a, y, sample_weight=self.weights_)
        self.bootstrap(X, a, y)
        self.curve_ = self.dose_response_frame(self.grid_)
        self.feature_names_ = feature_names
        moments = int(getattr(self.weighter_, "moments", 1) or 1)
        self.balance_table_ = balance_table(X, a, self.weights_, feature_names=feature_names, moments=moments)
        return self

    def bootstrap(self, X: Any, a: Any, y: Any, n_bootstrap: int | None = None) -> AverageDoseResponse:
        """(Re)compute the bootstrap replicates on the data ``fit`` saw.

        ``fit`` calls this with ``n_bootstrap``; call it yourself to add or enlarge the bands of a
        curve fitted with ``n_bootstrap=0``.

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
        check_is_fitted(self, "outcome_model_")
        X, _ = _design(X)
        a = np.asarray(a, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        n_boot = int(self.n_bootstrap if n_bootstrap is None else n_bootstrap)
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, np.iinfo(np.int32).max, size=n_boot)
        fixed_outcome = clone(self.outcome_model_)
        if self.outcome_model_.knots_ is not None:
            fixed_outcome.set_params(knots=self.outcome_model_.knots_[:, 0])
        weighter = self.weighter_
        sw = self._sample_weight
        jobs = (delayed(_bootstrap_replicate)(weighter, fixed_outcome, X, a, y, sw, int(s)) for s in seeds)
        if self.verbose:
            jobs = tqdm(jobs, total=n_boot, desc="bootstrap")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DiscreteTreatmentWarning)
            results = Parallel(n_jobs=self.n_jobs)(jobs) if n_boot else []
        coefs = [r for r in results if r is not None]
        self.n_bootstrap_failed_ = n_boot - len(coefs)
        if self.n_bootstrap_failed_:
            logger.warning(
                "%d of %d bootstrap replicates failed and were dropped.", self.n_bootstrap_failed_, n_boot
            )
        n_coef = self.outcome_model_.coef_.shape[0]
        self.bootstrap_coef_ = np.asarray(coefs, dtype=float).reshape(-1, n_coef)
        if hasattr(self, "curve_"):
            self.curve_ = self.dose_response_frame(self.grid_)
        return self

    def predict(self, values: Any) -> np.ndarray:
        """Estimated average dose-response :math:`\\hat\\mu` at the treatment ``values``."""
        check_is_fitted(self, "outcome_model_")
        return self.outcome_model_.predict(np.atleast_1d(np.asarray(values, dtype=float)))

    def bootstrap_predictions(self, values: Any) -> np.ndarray:
        """Bootstrap replicates of :math:`\\hat\\mu` at ``values``, shape (n_replicates, n_values)."""
        check_is_fitted(self, "outcome_model_")
        D = self.outcome_model_.design_matrix(np.atleast_1d(np.asarray(values, dtype=float)))
        return self.bootstrap_coef_ @ D.T

    def _interval(
        self, replicates: np.ndarray, confidence_level: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        level = self.confidence_level if confidence_level is None else confidence_level
        if replicates.shape[0] < 2:
            nan = np.full(replicates.shape[1:], np.nan)
            return nan, nan
        alpha = 1.0 - level
        lo, hi = np.quantile(replicates, [alpha / 2, 1 - alpha / 2], axis=0)
        return lo, hi

    def dose_response_frame(self, values: Any = None, confidence_level: float | None = None) -> pd.DataFrame:
        """The curve at ``values`` (default: the fitted grid) with percentile bootstrap bands.

        Returns
        -------
        pandas.DataFrame
            Columns ``treatment``, ``mean_outcome``, ``ci_lower``, ``ci_upper`` (NaN without
            bootstrap replicates).
        """
        check_is_fitted(self, "outcome_model_")
        v = self.grid_ if values is None else np.atleast_1d(np.asarray(values, dtype=float))
        lo, hi = self._interval(self.bootstrap_predictions(v), confidence_level)
        return pd.DataFrame({"treatment": v, "mean_outcome": self.predict(v), "ci_lower": lo, "ci_upper": hi})

    def _contrast_replicates(self, treatment_value: float, control_value: float) -> np.ndarray:
        reps = self.bootstrap_predictions([treatment_value, control_value])
        return reps[:, 0] - reps[:, 1]

    def contrast(self, treatment_value: float, control_value: float) -> float:
        """The contrast :math:`\\hat\\mu(t) - \\hat\\mu(c)` of two doses (0 for a constant treatment).

        Warns (:class:`~dowhy_e2b.exceptions.ExtrapolationWarning`) for doses outside the observed
        range.
        """
        check_is_fitted(self, "outcome_model_")
        if self.constant_treatment_:
            return 0.0
        warn_outside_support(
            np.array([treatment_value, control_value]), np.array(self.treatment_range_), "treatment value"
        )
        mu = self.predict([treatment_value, control_value])
        return float(mu[0] - mu[1])

    def contrast_interval(
        self, treatment_value: float, control_value: float, confidence_level: float | None = None
    ) -> tuple[float, float]:
        """Percentile bootstrap interval of :meth:`contrast`."""
        lo, hi = self._interval(
            self._contrast_replicates(treatment_value, control_value)[:, None], confidence_level
        )
        return float(lo[0]), float(hi[0])

    def contrast_std_error(self, treatment_value: float, control_value: float) -> float:
        """Bootstrap standard error of :meth:`contrast`."""
        reps = self._contrast_replicates(treatment_value, control_value)
        return float(np.std(reps, ddof=1)) if reps.size > 1 else float("nan")

    def contrast_p_value(self, treatment_value: float, control_value: float) -> float:
        """Two-sided bootstrap p-value of "no difference": twice the smaller share of replicates on
        either side of zero (the smallest level at which the percentile interval excludes 0)."""
        reps = self._contrast_replicates(treatment_value, control_value)
        if reps.size == 0:
            return float("nan")
        share = min(float(np.mean(reps <= 0)), float(np.mean(reps >= 0)))
        return float(min(1.0, 2 * share))


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


def _bootstrap_replicate(
    weighter: Any,
    outcome: WeightedDoseResponse,
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    seed: int,
) -> np.ndarray | None:
    """Coefficients of the outcome stage on one bootstrap resample (``None`` if it failed)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.shape[0], size=a.shape[0])
    a_b = a[idx]
    sw = None if sample_weight is None else sample_weight[idx]
    try:
        if weighter is None or is_constant(a_b):
            w = np.ones_like(a_b) if sw is None else sw
        else:
            w = weighter.weights_for(X[idx], a_b, sample_weight=sw)
        return clone(outcome).fit(a_b, y[idx], sample_weight=w).coef_
    except (ValueError, np.linalg.LinAlgError) as err:
        logger.debug("bootstrap replicate failed: %s", err)
        return None
