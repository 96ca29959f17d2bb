"""A flexible ridge regression of the outcome on the treatment and the covariates.

Shared by E2B (noise calibration and outcome-anchored random functions) and the doubly robust
outcome stage: features ``spline(a), x, x_j^2, x_j x_k, spline(a) * x`` (standardised) and a ridge
penalty chosen by K-fold cross-validation.

The design grows linearly with the number of covariates: every covariate enters with its square
and its interaction with the treatment spline, and products of two covariates are kept only among
the ``PAIR_COVARIATES`` covariates most associated with the treatment (by the larger of their
absolute correlations of the treatment with :math:`x_j` and with :math:`x_j^2`). Confounding bias
comes from functions of the covariates that move with the treatment, so these are the products
that matter; the choice does not look at the outcome, and it does not depend on the order of the
columns.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import SplineTransformer

from ._numerics.basis import covariate_pairs, non_binary

__all__ = ["ALPHAS", "FlexibleDesign", "RidgeLOO", "ridge_cv"]

#: Ridge penalties tried by :func:`ridge_cv`.
ALPHAS = np.logspace(-3, 4, 15)
#: Knots of the treatment spline of the flexible design.
SPLINE_KNOTS = 5


def _center_scale(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = F.mean(axis=0)
    sd = F.std(axis=0)
    return mean, np.where(sd > 1e-12 * (1.0 + np.abs(mean)), sd, 1.0)


class RidgeLOO:
    """Ridge regression with an unpenalised intercept and its exact leave-one-out fits.

    One eigendecomposition (of the p-by-p Gram matrix, or the n-by-n one when p > n) gives the fit,
    the leave-one-out errors and the leave-one-out predictions at other design rows for every
    penalty. A penalised least-squares fit is self-stable: leaving unit i out gives the fit of the
    full data with :math:`y_i` replaced by its own leave-one-out prediction. Hence the
    leave-one-out residual :math:`r_i / (1 - h_{ii})` and, at another row :math:`g` of unit i (e.g.
    its covariates at another dose), the prediction :math:`\\hat f(g) - s_i(g)\\,e_i` with
    :math:`s_i(g)` the weight of :math:`y_i` in :math:`\\hat f(g)` and :math:`e_i` the leave-one-out
    residual. The same fits as scikit-learn's ``Ridge(alpha)``.
    """

    def __init__(self, design: np.ndarray, y: np.ndarray):
        F = np.asarray(design, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        self.n, p = F.shape
        self.x_mean = F.mean(axis=0)
        self.y_mean = float(y.mean())
        Xc = F - self.x_mean
        yc = y - self.y_mean
        self._Xc = Xc
        self.primal = p <= self.n
        if self.primal:  # Xc'Xc = V diag(e) V'; fitted = XV diag(1/(e+alpha)) XV'yc
            e, V = np.linalg.eigh(Xc.T @ Xc)
            self._V = V
            self._P = Xc @ V
        else:  # Xc Xc' = U diag(e) U'; fitted = U diag(e/(e+alpha)) U'yc
            e, U = np.linalg.eigh(Xc @ Xc.T)
            self._V = U
            self._P = U
        self._e = np.maximum(e, 0.0)
        self._c = self._P.T @ yc
        self._yc = yc

    def _shrink(self, alpha: float | np.ndarray) -> np.ndarray:
        alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
        if self.primal:
            return 1.0 / (self._e[:, None] + alpha[None, :])
        return self._e[:, None] / (self._e[:, None] + alpha[None, :])

    def hat_diagonal(self, alpha: float | np.ndarray) -> np.ndarray:
        """Leverages :math:`h_{ii}` (intercept included), shape (n, n_alphas)."""
        return 1.0 / self.n + (self._P**2) @ self._shrink(alpha)

    def fitted(self, alpha: float | np.ndarray) -> np.ndarray:
        """In-sample fitted values, shape (n, n_alphas)."""
        return self.y_mean + self._P @ (self._shrink(alpha) * self._c[:, None])

    def loo_residuals(self, alpha: float | np.ndarray) -> np.ndarray:
        """Leave-one-out residuals :math:`y_i - \\hat f_{-i}(x_i)`, shape (n, n_alphas)."""
        resid = (self._yc + self.y_mean)[:, None] - self.fitted(alpha)
        return resid / np.maximum(1.0 - self.hat_diagonal(alpha), 1e-12)

    def coef(self, alpha: float) -> np.ndarray:
        """Coefficients of the centred design (the intercept is ``y_mean - x_mean @ coef``)."""
        if self.primal:
            return self._V @ (self._c / (self._e + alpha))
        return self._Xc.T @ (self._V @ (self._c / (self._e + alpha)))

    def predict_path(self, design: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Predictions of the full-data fit at new rows for each penalty, shape (n_rows, n_alphas)."""
        G = np.asarray(design, dtype=float) - self.x_mean
        Q = G @ self._V if self.primal else (G @ self._Xc.T) @ self._V
        return self.y_mean + Q @ (self._c[:, None] / (self._e[:, None] + np.asarray(alphas)[None, :]))

    def predict(self, design: np.ndarray, alpha: float) -> np.ndarray:
        """Predictions of the full-data fit."""
        return self.y_mean + (np.asarray(design, dtype=float) - self.x_mean) @ self.coef(alpha)

    def loo_predict(self, design: np.ndarray, alpha: float) -> np.ndarray:
        """Row i: the prediction at ``design[i]`` of the fit that left unit i out.

        ``design`` has one row per unit (the same units, e.g. at another dose).
        """
        G = np.asarray(design, dtype=float) - self.x_mean
        if self.primal:
            # s_i(g_i) = 1/n + xc_i' (Xc'Xc + alpha I)^{-1} g_i
            own = np.sum(self._P * ((G @ self._V) / (self._e + alpha)), axis=1)
        else:
            # (Xc'Xc + aI)^{-1} = (I - Xc' (K + aI)^{-1} Xc) / a, K = Xc Xc'
            KG = self._Xc @ G.T  # (n, n): column i is Xc g_i
            inner = self._V @ ((self._V.T @ KG) / (self._e + alpha)[:, None])
            K = self._V @ (self._e[:, None] * self._V.T)
            own = (np.diagonal(KG) - np.sum(K * inner, axis=0)) / alpha
        weight = 1.0 / self.n + own
        return self.y_mean + G @ self.coef(alpha) - weight * self.loo_residuals(alpha)[:, 0]


def ridge_cv(design: np.ndarray, y: np.ndarray, folds: np.ndarray) -> tuple[float, float]:
    """Penalty with the lowest K-fold error of a ridge regression, and that mean squared error.

    One eigendecomposition per fold (:class:`RidgeLOO`) gives the fits at every penalty of
    :data:`ALPHAS`: the same fits as scikit-learn's ``Ridge``, intercept unpenalised, at a fraction
    of the cost of one fit per penalty.
    """
    errors = np.zeros(ALPHAS.size)
    for k in np.unique(folds):
        test = folds == k
        pred = RidgeLOO(design[~test], y[~test]).predict_path(design[test], ALPHAS)
        errors += np.sum((y[test, None] - pred) ** 2, axis=0)
    best = int(np.argmin(errors))
    return float(ALPHAS[best]), float(errors[best] / y.shape[0])


class FlexibleDesign:
    """Features of a flexible ridge fit of the outcome: spline(a), x, x_j^2, x_j x_k, spline(a) × x.

    Fitted on one sample (spline knots, standardisation, which products) so that it can be
    evaluated at other doses, e.g. with the treatment set to a fixed value. ``covariates=False``
    keeps the spline of the treatment alone. Squares are formed for covariates with more than two
    values; products among the ``PAIR_COVARIATES`` covariates most associated with the
    treatment (:func:`dowhy_e2b._numerics.basis.covariate_pairs`).
    """

    def __init__(self, covariates: bool = True):
        self.covariates = covariates

    def fit(self, X: np.ndarray, a: np.ndarray) -> FlexibleDesign:
        X = np.asarray(X, dtype=float)
        a = np.asarray(a, dtype=float).ravel()
        self.spline = SplineTransformer(n_knots=SPLINE_KNOTS, degree=3, include_bias=False).fit(
            a.reshape(-1, 1)
        )
        self.x_mean, self.x_scale = _center_scale(X)
        self.squares = non_binary(X)
        self.pairs = covariate_pairs(X, a)
        self.f_mean, self.f_scale = _center_scale(self._raw(X, a))
        return self

    def _raw(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        Ba = self.spline.transform(np.asarray(a, dtype=float).reshape(-1, 1))
        if not self.covariates:
            return Ba
        Z = (np.asarray(X, dtype=float) - self.x_mean) / self.x_scale
        cols = [Ba, Z, Z[:, self.squares] ** 2, Z[:, self.pairs[:, 0]] * Z[:, self.pairs[:, 1]]]
        cols.append((Ba[:, :, None] * Z[:, None, :]).reshape(Z.shape[0], -1))
        return np.hstack(cols)

    def transform(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        return (self._raw(X, a) - self.f_mean) / self.f_scale
