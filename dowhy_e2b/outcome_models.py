r"""Outcome models :math:`m(x, a) = E[Y \mid X = x, A = a]` for the doubly robust outcome stage.

:class:`FlexibleOutcomeRegressor` is the default: a ridge regression on a cubic spline of the
treatment, the covariates, their pairwise products and the spline-by-covariate interactions, with
the penalty chosen by generalised cross-validation from sufficient statistics
(:mod:`dowhy_e2b._numerics.ridge`), so that a chunked fit chooses the same one. Any scikit-learn regressor can
replace it; it is fitted on the matrix ``[X, a]`` (the treatment is the last column).

:func:`cross_fit` fits the model on K-1 folds and predicts on the held-out fold, at each unit's
observed dose and at a grid of doses, so that a unit's own outcome never enters its own
prediction (Chernozhukov et al. 2018; Kennedy et al. 2017).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from ._numerics.ridge import RidgeFit, RidgeStats, ridge_fit
from ._numerics.splines import make_spline_basis

__all__ = ["ALPHAS", "FlexibleOutcomeRegressor", "OutcomeFit", "cross_fit"]


#: Ridge penalties searched by :class:`FlexibleOutcomeRegressor` (relative to standardised features).
ALPHAS = np.logspace(-3, 4, 15)


class FlexibleOutcomeRegressor(RegressorMixin, BaseEstimator):
    r"""Ridge regression of the outcome on a flexible design of the covariates and the treatment.

    The input is ``[X, a]``: covariates, then the treatment in the last column. Features: a cubic
    B-spline of the treatment (quantile knots, continued linearly beyond the data), the
    covariates, their squares and pairwise products (all of them while there are at most
    ``max_pairs``, else the ``max_pairs`` most correlated with the residual of a main-effects fit),
    and every spline column times every covariate. The
    covariate terms are standardised; each spline block gets one common scale, so that a basis
    function active only on a few extreme doses stays damped by the penalty. Beyond the doses it
    was fitted on, the dose's main effect continues linearly and its interactions with the
    covariates stay at their boundary values: a held-out unit with an extreme dose does not get a
    wild prediction. The ridge penalty (the intercept unpenalised) is chosen among ``alphas`` by
    weighted generalised cross-validation, computed from the weighted cross-products of the
    design and the outcome (:func:`~dowhy_e2b._numerics.ridge.ridge_fit`).

    Parameters
    ----------
    n_knots : int, default=6
        Knots of the treatment's spline, boundary knots included.
    max_pairs : int, default=120
        Largest number of covariate products :math:`x_j x_k` (squares included).
    alphas : float or array-like, optional
        Candidate penalties (default 15 values from 1e-3 to 1e4), or one fixed penalty.

    Attributes
    ----------
    alpha_ : float
        The chosen penalty.
    coef_ : ndarray
        Coefficients on the standardised features.
    intercept_ : float

    Examples
    --------
    >>> import numpy as np
    >>> from dowhy_e2b import FlexibleOutcomeRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> a = X[:, 0] + rng.normal(size=300)
    >>> y = np.sin(a) + X[:, 0] * X[:, 1] + 0.1 * rng.normal(size=300)
    >>> model = FlexibleOutcomeRegressor().fit(np.column_stack([X, a]), y)
    >>> bool(model.score(np.column_stack([X, a]), y) > 0.9)
    True
    """

    def __init__(self, n_knots: int = 6, max_pairs: int = 120, alphas: Any = None):
        self.n_knots = n_knots
        self.max_pairs = max_pairs
        self.alphas = alphas

    def fit(self, Z: Any, y: Any, sample_weight: Any = None) -> FlexibleOutcomeRegressor:
        """Fit on ``Z = [X, a]`` (treatment last) and the outcome ``y``."""
        Z, y = validate_data(self, Z, y, y_numeric=True, dtype=np.float64, ensure_min_features=1)
        X, a = Z[:, :-1], Z[:, -1]
        distinct = np.unique(a).size
        self.basis_ = make_spline_basis(a, n_knots=int(min(self.n_knots, max(distinct, 2))))
        sd = X.std(axis=0)
        self.x_mean_, self.x_scale_ = X.mean(axis=0), np.where(sd > 0, sd, 1.0)
        self.pairs_ = self._screen_pairs(X, a, y, sample_weight)
        F = self._features(X, a)
        self.f_mean_, self.f_scale_ = F.mean(axis=0), self._block_scales(F)
        design = (F - self.f_mean_) / self.f_scale_
        return self._set_ridge(ridge_fit(RidgeStats.of(design, y, sample_weight), self._alphas()))

    def _alphas(self) -> np.ndarray:
        return ALPHAS if self.alphas is None else np.atleast_1d(np.asarray(self.alphas, dtype=float))

    def _set_ridge(self, fit: RidgeFit) -> FlexibleOutcomeRegressor:
        self.alpha_, self.coef_, self.intercept_ = fit.alpha, fit.coef, fit.intercept
        return self

    def _screen_pairs(self, X: np.ndarray, a: np.ndarray, y: np.ndarray, sample_weight: Any) -> np.ndarray:
        """All covariate products while there are at most ``max_pairs``; else the ``max_pairs``
        products most correlated with the residual of a ridge fit on the dose's spline and the
        covariates (a screen: with many covariates, most products carry nothing)."""
        d = X.shape[1]
        pairs = np.array([(j, k) for j in range(d) for k in range(j, d)], dtype=int).reshape(-1, 2)
        if pairs.shape[0] <= self.max_pairs:
            return pairs
        Zx = (X - self.x_mean_) / self.x_scale_
        main = np.hstack([self.basis_.design(a), Zx])
        main_fit = ridge_fit(RidgeStats.of(main, y, sample_weight), ALPHAS)
        resid = y - (main @ main_fit.coef + main_fit.intercept)
        prods = Zx[:, pairs[:, 0]] * Zx[:, pairs[:, 1]]
        prods -= prods.mean(axis=0)
        sd = prods.std(axis=0)
        score = np.abs(prods.T @ (resid - resid.mean())) / np.where(sd > 0, sd, np.inf)
        keep = np.sort(np.argsort(-score, kind="stable")[: int(self.max_pairs)])
        return pairs[keep]

    def _block_scales(self, F: np.ndarray) -> np.ndarray:
        """Column scales: each covariate term by its own standard deviation; the spline and
        spline-by-covariate blocks by one scale each (their root mean square), so that a basis
        function active on a few extreme doses is not blown up to unit variance and stays damped
        by the penalty."""
        q, d, k = self.basis_.n_basis, self.x_mean_.size, self.pairs_.shape[0]
        sd = F.std(axis=0)
        scale = np.where(sd > 0, sd, 1.0)
        centred = F - F.mean(axis=0)
        for block in (slice(0, q), slice(q + d + k, F.shape[1])):
            rms = float(np.sqrt(np.mean(centred[:, block] ** 2))) if F[:, block].size else 1.0
            scale[block] = rms if rms > 0 else 1.0
        return scale

    def _covariate_terms(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Zx = (X - self.x_mean_) / self.x_scale_
        prods = Zx[:, self.pairs_[:, 0]] * Zx[:, self.pairs_[:, 1]]
        return Zx, prods

    def _dose_terms(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The spline of the dose for the main effect (continued linearly beyond the training
        doses) and for the interactions (held at the boundary: a slope that varies with the
        covariates is not extrapolated)."""
        a = np.asarray(a, dtype=float)
        return self.basis_.design(a), self.basis_.design(np.clip(a, self.basis_.lower, self.basis_.upper))

    def _features(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        Ba, Bc = self._dose_terms(a)
        Zx, prods = self._covariate_terms(X)
        inter = (Bc[:, :, None] * Zx[:, None, :]).reshape(a.shape[0], -1)
        return np.hstack([Ba, Zx, prods, inter])

    def _design(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        """The standardised features at ``(X, a)`` (the ridge's design, intercept excluded)."""
        return (self._features(X, a) - self.f_mean_) / self.f_scale_

    def _mean_design(self, X: np.ndarray, doses: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The (weighted) mean over the units ``X`` of the standardised features at each dose, shape
        ``(len(doses), n_features)``: the g-computation curve of any coefficients is this times them."""
        Ba, Bc = self._dose_terms(doses)
        Zx, prods = self._covariate_terms(X)
        zbar, pbar = np.average(Zx, axis=0, weights=weights), np.average(prods, axis=0, weights=weights)
        inter = (Bc[:, :, None] * zbar[None, None, :]).reshape(Ba.shape[0], -1)
        fixed = np.broadcast_to(np.concatenate([zbar, pbar]), (Ba.shape[0], zbar.size + pbar.size))
        return (np.hstack([Ba, fixed, inter]) - self.f_mean_) / self.f_scale_

    def predict(self, Z: Any) -> np.ndarray:
        """Predicted outcome at ``Z = [X, a]``."""
        check_is_fitted(self, "coef_")
        Z = validate_data(self, Z, reset=False, dtype=np.float64)
        F = self._features(Z[:, :-1], Z[:, -1])
        return ((F - self.f_mean_) / self.f_scale_) @ self.coef_ + self.intercept_

    def predict_doses(self, X: np.ndarray, doses: np.ndarray) -> np.ndarray:
        """Predictions for every unit at every dose, shape ``(len(X), len(doses))``.

        The same numbers as :meth:`predict` on all (unit, dose) pairs, computed without building
        that design: the model is a sum of a function of the dose, a function of the covariates
        and spline-by-covariate products.
        """
        check_is_fitted(self, "coef_")
        X = np.asarray(X, dtype=float)
        Bt, Bc = self._dose_terms(doses)
        q, d = Bt.shape[1], X.shape[1]
        c = self.coef_ / self.f_scale_
        const = self.intercept_ - float(c @ self.f_mean_)
        c_a, c_x = c[:q], c[q : q + d + self.pairs_.shape[0]]
        c_int = c[q + d + self.pairs_.shape[0] :].reshape(q, d)
        Zx, prods = self._covariate_terms(X)
        x_part = np.hstack([Zx, prods]) @ c_x
        return const + x_part[:, None] + (Bt @ c_a)[None, :] + (Zx @ c_int.T) @ Bc.T


@dataclass(frozen=True)
class OutcomeFit:
    """Cross-fitted outcome predictions.

    Attributes
    ----------
    at_observed : ndarray of shape (n,)
        :math:`\\hat m^{(-k(i))}(x_i, a_i)`: each unit's prediction at its own dose by the model
        that did not see its fold.
    at_doses : ndarray of shape (n, G)
        :math:`\\hat m^{(-k(i))}(x_i, t_g)` at the doses ``doses``.
    doses : ndarray of shape (G,)
    folds : ndarray of int, shape (n,)
        The fold of each unit.
    models : tuple
        The fitted model of every fold.
    """

    at_observed: np.ndarray
    at_doses: np.ndarray
    doses: np.ndarray
    folds: np.ndarray
    models: tuple = ()

    def frozen_regressor(self, regressor: Any) -> Any:
        """A copy of ``regressor`` whose tuning is fixed at what the folds chose (the median
        penalty of :class:`FlexibleOutcomeRegressor`), for cheap refits on bootstrap resamples;
        other regressors are cloned as they are."""
        alphas = [m.alpha_ for m in self.models if isinstance(m, FlexibleOutcomeRegressor)]
        if isinstance(regressor, FlexibleOutcomeRegressor) and len(alphas) == len(self.models) and alphas:
            return clone(regressor).set_params(alphas=float(np.median(alphas)))
        return clone(regressor)

    def mean_curve(
        self, unit_weights: np.ndarray | None = None, rows: np.ndarray | None = None
    ) -> np.ndarray:
        r""":math:`\bar m(t_g) = \sum_j s_j \hat m(x_j, t_g) / \sum_j s_j` on ``doses`` (g-computation)."""
        M = self.at_doses if rows is None else self.at_doses[rows]
        if unit_weights is None:
            return M.mean(axis=0)
        s = np.asarray(unit_weights, dtype=float)
        return (s @ M) / s.sum()

    def mean_at(
        self, values: np.ndarray, unit_weights: np.ndarray | None = None, rows: Any = None
    ) -> np.ndarray:
        """:meth:`mean_curve` interpolated (linearly) at ``values``; constant beyond the doses."""
        return np.interp(values, self.doses, self.mean_curve(unit_weights, rows))


def cross_fit(
    regressor: Any,
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    doses: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> OutcomeFit:
    """Fit ``regressor`` on all folds but one, predict on that fold; for every fold.

    Parameters
    ----------
    regressor : scikit-learn regressor
        Cloned for every fold; fitted on ``[X, a]`` (``sample_weight`` passed when given). One
        with a ``predict_doses(X, doses)`` method (as :class:`FlexibleOutcomeRegressor`) predicts
        all doses at once.
    X : ndarray of shape (n, d)
    a, y : ndarray of shape (n,)
    folds : ndarray of int, shape (n,)
        Fold labels ``0..K-1``.
    doses : ndarray of shape (G,)
        Doses at which every unit's outcome is predicted (for the g-computation mean).
    sample_weight : ndarray of shape (n,), optional

    Returns
    -------
    OutcomeFit
    """
    n = a.shape[0]
    doses = np.asarray(doses, dtype=float)
    at_observed = np.empty(n)
    at_doses = np.empty((n, doses.size))
    Z = np.column_stack([X, a])
    models = []
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        model = clone(regressor)
        if sample_weight is None:
            model.fit(Z[train], y[train])
        else:
            model.fit(Z[train], y[train], sample_weight=sample_weight[train])
        at_observed[test] = model.predict(Z[test])
        Xt = X[test]
        if hasattr(model, "predict_doses"):
            at_doses[test] = model.predict_doses(Xt, doses)
        else:
            stacked = np.column_stack([np.repeat(Xt, doses.size, axis=0), np.tile(doses, Xt.shape[0])])
            at_doses[test] = model.predict(stacked).reshape(Xt.shape[0], doses.size)
        models.append(model)
    return OutcomeFit(at_observed, at_doses, doses, np.asarray(folds), tuple(models))
