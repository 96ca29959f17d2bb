r"""Bases of E2B's training (pure functions on ndarrays).

* :class:`TensorBasis`: the features of the log base weights,
  :math:`\phi(x, a) = B(a) \otimes [1, x_j, x_j^2, x_j x_k]` — a cubic B-spline basis of the
  treatment times the standardised covariates, their squares and a bounded set of their products.
  A zero coefficient vector gives constant base weights, i.e. plain entropy balancing.
* :class:`SplineDesign`: intercept and cubic B-spline of the treatment with quantile knots — the
  outcome stage whose curve E2B's training makes accurate when no other stage is given.

Both grow linearly with the number of covariates: products :math:`x_j x_k` are formed only among
the covariates most associated with the treatment (:func:`covariate_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import SplineTransformer

__all__ = [
    "PAIR_COVARIATES",
    "TRAINING_KNOTS",
    "SplineDesign",
    "TensorBasis",
    "covariate_pairs",
    "fit_spline_design",
    "fit_tensor_basis",
    "non_binary",
    "treatment_screen",
]

#: Knots (quantiles of the treatment) of the cubic spline E2B trains for by default.
TRAINING_KNOTS = 5
#: Products x_j x_k (j < k) are formed among at most this many covariates (15: 105 products).
PAIR_COVARIATES = 15


def treatment_screen(X: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Association of each covariate with the treatment: max(|corr(a, x_j)|, |corr(a, x_j^2)|).

    ``x_j`` is centred first, so the square measures a dependence of the treatment on the size of
    the deviation (a U-shaped assignment) rather than repeating the linear one.
    """
    X = np.asarray(X, dtype=float)
    a = np.asarray(a, dtype=float).ravel()
    Z = X - X.mean(axis=0)
    ac = a - a.mean()

    def corr(F: np.ndarray) -> np.ndarray:
        F = F - F.mean(axis=0)
        den = np.sqrt((F**2).sum(axis=0) * (ac**2).sum())
        return np.abs(F.T @ ac) / np.where(den > 0, den, np.inf)

    return np.maximum(corr(Z), corr(Z**2))


def covariate_pairs(X: np.ndarray, a: np.ndarray, max_covariates: int = PAIR_COVARIATES) -> np.ndarray:
    """Index pairs ``(j, k)``, ``j < k``, of the products of a flexible design.

    All pairs when there are at most ``max_covariates`` covariates; otherwise the pairs among the
    ``max_covariates`` covariates with the largest :func:`treatment_screen` (ties broken by column
    index, so the result does not depend on the order of the columns otherwise).
    """
    d = X.shape[1]
    if d > max_covariates:
        score = treatment_screen(X, a)
        chosen = np.sort(np.argsort(-score, kind="stable")[:max_covariates])
    else:
        chosen = np.arange(d)
    j, k = np.triu_indices(chosen.size, k=1)
    return np.column_stack([chosen[j], chosen[k]]).astype(int)


def non_binary(X: np.ndarray) -> np.ndarray:
    """Indices of the columns with more than two distinct values (their squares are new columns)."""
    return np.array([j for j in range(X.shape[1]) if np.unique(X[:, j]).size > 2], dtype=int)


@dataclass(frozen=True)
class TensorBasis:
    """A fitted tensor-product basis; :meth:`transform` evaluates it on any sample.

    Attributes
    ----------
    spline : SplineTransformer
        Basis of the treatment (``include_bias=True``: its columns sum to one).
    x_mean, x_scale : ndarray
        Standardisation of the covariates.
    squares : ndarray of int
        Covariates whose square is included (those with more than two values).
    pairs : ndarray of shape (n_pairs, 2)
        Index pairs ``(j, k)``, ``j < k``, of the covariate products included.
    """

    spline: SplineTransformer
    x_mean: np.ndarray
    x_scale: np.ndarray
    squares: np.ndarray
    pairs: np.ndarray

    @property
    def n_covariate_terms(self) -> int:
        return 1 + self.x_mean.shape[0] + self.squares.shape[0] + self.pairs.shape[0]

    @property
    def n_features(self) -> int:
        return int(self.spline.n_features_out_) * self.n_covariate_terms

    def covariate_terms(self, X: np.ndarray) -> np.ndarray:
        """``[1, x_j, x_j^2, x_j x_k]`` of the standardised covariates, shape (n, n_covariate_terms)."""
        Z = (np.asarray(X, dtype=float) - self.x_mean) / self.x_scale
        cols = [np.ones((Z.shape[0], 1)), Z, Z[:, self.squares] ** 2]
        cols.append(Z[:, self.pairs[:, 0]] * Z[:, self.pairs[:, 1]])
        return np.hstack(cols)

    @property
    def n_spline(self) -> int:
        return int(self.spline.n_features_out_)

    def factors(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``[B(a), T(x)]`` side by side, shape (n, n_spline + n_covariate_terms): the basis is
        their row-wise Kronecker product (:meth:`transform`)."""
        Ba = self.spline.transform(np.asarray(a, dtype=float).reshape(-1, 1))
        return np.hstack([Ba, self.covariate_terms(X)])

    def transform(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        """The basis at ``(X, a)``, shape (n, n_features)."""
        Ba = self.spline.transform(np.asarray(a, dtype=float).reshape(-1, 1))
        T = self.covariate_terms(X)
        return (Ba[:, :, None] * T[:, None, :]).reshape(Ba.shape[0], -1)


def _knots(a: np.ndarray, n_knots: int) -> np.ndarray:
    """Quantile knots of the treatment, or uniform ones when quantiles tie (few distinct doses)."""
    quantiles = np.quantile(a, np.linspace(0, 1, n_knots))
    if np.all(np.diff(quantiles) > 0):
        return quantiles
    return np.linspace(a.min(), a.max(), n_knots)


def fit_tensor_basis(
    X: np.ndarray,
    a: np.ndarray,
    *,
    n_knots: int = 4,
    degree: int = 3,
    pair_covariates: int = PAIR_COVARIATES,
    like: TensorBasis | None = None,
) -> TensorBasis:
    """Fit the tensor basis on a sample.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_covariates)
    a : ndarray of shape (n_samples,)
    n_knots : int, default=4
        Knots of the treatment spline (quantiles; extrapolation is constant beyond them).
    degree : int, default=3
    pair_covariates : int, default=PAIR_COVARIATES
        Products ``x_j x_k`` are formed among at most this many covariates: all of them when there
        are that few, otherwise those most associated with the treatment.
    like : TensorBasis, optional
        Keep this basis's squares and products (a warm start's parameters then keep their
        meaning); the spline knots and the standardisation are still fitted to ``(X, a)``.

    Returns
    -------
    TensorBasis
    """
    X = np.asarray(X, dtype=float)
    a = np.asarray(a, dtype=float).ravel()
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    scale = np.where(sd > 0, sd, 1.0)
    spline = SplineTransformer(
        knots=_knots(a, n_knots)[:, None], degree=degree, extrapolation="constant", include_bias=True
    ).fit(a[:, None])
    if like is not None and like.x_mean.shape[0] == X.shape[1]:
        squares, pairs = like.squares, like.pairs
    else:
        squares, pairs = non_binary(X), covariate_pairs(X, a, pair_covariates)
    return TensorBasis(spline=spline, x_mean=mean, x_scale=scale, squares=squares, pairs=pairs)


@dataclass(frozen=True)
class SplineDesign:
    """Intercept and cubic B-spline of the treatment: ``design(values)`` has shape (n, 1 + n_knots + 1).

    The same design as a :class:`~dowhy_e2b.WeightedDoseResponse` with ``n_knots=5``,
    ``knots="quantile"``, ``degree=3`` and ``extrapolation="linear"``, built here so that E2B's
    training target does not move when that class's defaults do.
    """

    spline: SplineTransformer

    def __call__(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float).reshape(-1, 1)
        return np.column_stack([np.ones(v.shape[0]), self.spline.transform(v)])


def fit_spline_design(a: np.ndarray, n_knots: int = TRAINING_KNOTS) -> SplineDesign:
    """The :class:`SplineDesign` with knots at ``n_knots`` quantiles of ``a`` (uniform on ties)."""
    a = np.asarray(a, dtype=float).ravel()
    spline = SplineTransformer(
        knots=_knots(a, n_knots)[:, None], degree=3, extrapolation="linear", include_bias=False
    ).fit(a[:, None])
    return SplineDesign(spline)
