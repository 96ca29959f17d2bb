r"""Stabilised inverse generalised-propensity-score weights (Robins, Hernán & Brumback 2000).

The baseline of the continuous-treatment literature: a normal model of the treatment given the
covariates, :math:`a \mid x \sim N(m(x), \sigma^2)`, and weights
:math:`w_i = f(a_i) / f(a_i \mid x_i)`.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from scipy.stats import norm
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_scalar

from ._base import BaseWeights, normalise_weights
from ._numerics import effective_sample_size

__all__ = ["GPSWeights", "UnitWeights"]


class GPSWeights(BaseWeights):
    r"""Stabilised inverse generalised-propensity weights under a normal treatment model.

    Parameters
    ----------
    regressor : scikit-learn regressor, optional
        Model of :math:`E[a \mid x]`; defaults to ordinary least squares (the normal linear model
        of the literature). It is cloned, never fitted in place.
    stabilized : bool, default=True
        Multiply by the marginal density :math:`f(a)` (normal, sample mean and variance); without
        it the weights are :math:`1 / f(a \mid x)` (then rescaled to mean 1).
    clip_quantile : float, optional
        Cap the weights at this quantile (e.g. 0.99) before rescaling, trading bias for variance.

    Attributes
    ----------
    weights_ : ndarray of shape (n_samples,)
        Weights, mean 1.
    balance_check_ : BalanceCheck
        The post-fit balance check (see :mod:`dowhy_e2b.balance_check`).
    regressor_ : regressor
        The fitted treatment model.
    sigma_ : float
        Residual standard deviation of the treatment model.
    effective_sample_size_ : float
        :math:`(\sum w)^2 / \sum w^2`.

    Examples
    --------
    >>> import numpy as np
    >>> from dowhy_e2b import GPSWeights
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> a = X @ [0.8, 0.4] + rng.normal(size=500)
    >>> w = GPSWeights().fit(X, a).weights_
    >>> w.shape, round(float(w.mean()), 6)
    ((500,), 1.0)
    """

    method_label = "GPS weighting"
    balance_advice = (
        "GPS weights balance only as well as the treatment model fits: try entropy balancing "
        "(EntropyBalancingWeights, method 'entropy_balancing'), which balances by construction, or a "
        "better regressor."
    )

    def __init__(self, regressor: Any = None, stabilized: bool = True, clip_quantile: float | None = None):
        self.regressor = regressor
        self.stabilized = stabilized
        self.clip_quantile = clip_quantile

    def _fit_weights(self, X: np.ndarray, a: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
        if self.clip_quantile is not None:
            check_scalar(
                self.clip_quantile,
                "clip_quantile",
                Real,
                min_val=0.5,
                max_val=1.0,
                include_boundaries="right",
            )
        model = clone(self.regressor) if self.regressor is not None else LinearRegression()
        if sample_weight is None:
            model.fit(X, a)
            sw = np.ones_like(a)
        else:
            model.fit(X, a, sample_weight=sample_weight)
            sw = sample_weight
        resid = a - model.predict(X)
        dof = max(sw.sum() - X.shape[1] - 1, 1.0)
        sigma = float(np.sqrt(np.sum(sw * resid**2) / dof))
        log_w = -norm.logpdf(resid, scale=sigma)
        if self.stabilized:
            mean = np.average(a, weights=sw)
            sd = np.sqrt(np.average((a - mean) ** 2, weights=sw))
            log_w += norm.logpdf(a, loc=mean, scale=sd)
        w = np.exp(log_w - log_w.max())
        if self.clip_quantile is not None:
            w = np.minimum(w, np.quantile(w, self.clip_quantile))
        w = normalise_weights(w * sw)
        self.regressor_ = model
        self.sigma_ = sigma
        self.effective_sample_size_ = effective_sample_size(w)
        return w


class UnitWeights(BaseWeights):
    """Equal weights (the sample weights, if given): the "ignore confounding" reference.

    The balance check still runs: on confounded data it warns
    (:class:`~dowhy_e2b.exceptions.BalanceWarning`) that the unweighted sample is not balanced.

    Attributes
    ----------
    weights_ : ndarray of shape (n_samples,)
        Ones (or the normalised sample weights).
    balance_check_ : BalanceCheck
        The post-fit balance check (see :mod:`dowhy_e2b.balance_check`).
    effective_sample_size_ : float
    """

    method_label = "unweighted"
    balance_advice = (
        "The unweighted curve ignores confounding: it is a reference, not an estimate of the causal "
        "curve; use a weighting method."
    )

    def _fit_weights(self, X: np.ndarray, a: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
        w = np.ones_like(a) if sample_weight is None else normalise_weights(sample_weight)
        self.effective_sample_size_ = effective_sample_size(w)
        return w
