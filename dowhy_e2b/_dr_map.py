r"""The doubly robust outcome stage as a linear map of the outcome, for training E2B under it.

The doubly robust (augmented) stage estimates the curve as the g-computation mean of a
cross-fitted outcome model plus the weighted spline of the residuals,
:math:`\hat\mu(t) = \bar m(t) + [P_w (y - m)](t)`. With the default outcome model
(:class:`~dowhy_e2b.outcome_models.FlexibleOutcomeRegressor`: a ridge regression) and its
features, folds and penalty held at what the real outcome chose, both :math:`m` and
:math:`\bar m` are linear in the outcome. So for any synthetic column :math:`z` of E2B's random
functions (whose true curve is 0) the stage's error is

.. math::

    \underbrace{\bar m_z(t)}_{\text{g-computation's error}} + [P_w\,(z - m_z)](t),

and only the second term depends on the weights: they correct what the outcome model misses
(its residual), not the whole confounding. :class:`DoublyRobustMap` computes, for many columns at
once, the residuals :math:`z - m_z` and the curves :math:`\bar m_z` (one ridge solve per fold).
With another outcome regressor the default model stands in for it (a linear surrogate).

Torch-free; deterministic given the data and the folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ._numerics.ridge import RidgeStats, ridge_fit
from .outcome_models import ALPHAS, FlexibleOutcomeRegressor, cross_fit

__all__ = ["DoublyRobustMap", "fit_dr_map"]

#: Folds of the outcome model's cross-fitting (as :class:`~dowhy_e2b.AverageDoseResponse`'s ``cv``).
DR_FOLDS = 5


@dataclass(frozen=True)
class DoublyRobustMap:
    r"""The cross-fitted outcome model of one sample, fitted on the real outcome.

    Attributes
    ----------
    models : tuple of FlexibleOutcomeRegressor
        The model of each fold, fitted on the other folds (their features and penalty are reused).
    folds : ndarray of int, shape (n,)
    weights : ndarray of shape (n,) or None
        Sample weights of the fit.
    residual : ndarray of shape (n,)
        The real outcome's cross-fitted residual :math:`y - \hat m(x, a)`.
    signal_variance : float
        The outcome variance that one unit of the random functions' variance stands for.
    """

    models: tuple[FlexibleOutcomeRegressor, ...]
    folds: np.ndarray
    weights: np.ndarray | None
    residual: np.ndarray
    signal_variance: float

    def apply(
        self, X: np.ndarray, a: np.ndarray, columns: np.ndarray, doses: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cross-fitted residuals ``(n, r)`` and g-computation curves ``(len(doses), r)`` of ``columns``.

        Each column is regressed, fold by fold, on the fold model's features with its penalty;
        the residual of a unit comes from the model that did not see it, and the g-computation
        curve is the (weighted) mean over all units of their held-out model's prediction.
        """
        w = np.ones(a.shape[0]) if self.weights is None else self.weights
        resid = np.empty_like(columns, dtype=float)
        gcomp = np.zeros((np.size(doses), columns.shape[1]))
        for k, model in enumerate(self.models):
            train, test = self.folds != k, self.folds == k
            coef, intercept = _ridge_columns(
                model._design(X[train], a[train]), columns[train], float(model.alpha_), w[train]
            )
            resid[test] = columns[test] - (model._design(X[test], a[test]) @ coef + intercept)
            mean = model._mean_design(X[test], doses, weights=w[test])
            gcomp += w[test].sum() * (mean @ coef + intercept)
        return resid, gcomp / w.sum()

    def misfit_scale(self, residuals: np.ndarray, explaining: np.ndarray | None = None) -> float:
        """Factor (at most 1) on the random functions' residuals ``(n, r)`` (and on their
        g-computation errors) that makes their expected variance the variance those same columns
        explain, out of sample, in the real outcome's residual (in units of ``signal_variance``).

        The random functions are a prior over what the outcome model misses; on the real data
        the outcome model may miss much less. A ridge regression of the real residual on the
        functions' residuals, its penalty and out-of-sample error by generalised
        cross-validation, measures how much is left: ``var(residual) - GCV error``. When nothing
        is left the weights are trained for variance alone, and balance (the constraints) is
        all they keep from the confounding.

        ``explaining`` (a boolean mask over the columns) restricts the regression to columns
        that did not see the real outcome: columns fitted to it (E2B's anchors) explain its noise
        too, in sample, and would overstate what is left.
        """
        w = np.ones(self.residual.size) if self.weights is None else self.weights
        Z = residuals if explaining is None else residuals[:, explaining]
        fit = ridge_fit(RidgeStats.of(Z, self.residual, w), ALPHAS)
        s = w / w.sum()
        var_r = float(s @ (self.residual - s @ self.residual) ** 2)
        explained = max(var_r - fit.score, 0.0) / max(self.signal_variance, 1e-300)
        family = float((s @ (residuals - s @ residuals) ** 2).sum())
        return float(np.sqrt(min(explained / family, 1.0))) if family > 0 else 0.0


def _ridge_columns(
    D: np.ndarray, Y: np.ndarray, alpha: float, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ridge (unpenalised intercept) of every column of ``Y`` on ``D``, one penalty: the
    fit of :func:`~dowhy_e2b._numerics.ridge.ridge_fit` for many outcomes at once."""
    s = w / w.sum()
    d_mean, y_mean = s @ D, s @ Y
    Dc = D - d_mean
    gram = (Dc * w[:, None]).T @ Dc
    coef = linalg.solve(gram + alpha * np.eye(D.shape[1]), (Dc * w[:, None]).T @ (Y - y_mean), assume_a="pos")
    return coef, y_mean - d_mean @ coef


def fit_dr_map(
    X: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    signal_variance: float,
    sample_weight: np.ndarray | None = None,
    n_folds: int = DR_FOLDS,
) -> DoublyRobustMap:
    """Cross-fit the default outcome model on the real outcome (penalty by GCV in each fold)."""
    folds = rng.permutation(a.shape[0]) % min(int(n_folds), a.shape[0])
    fit = cross_fit(FlexibleOutcomeRegressor(), X, a, y, folds, np.empty(0), sample_weight=sample_weight)
    return DoublyRobustMap(fit.models, folds, sample_weight, y - fit.at_observed, float(signal_variance))
