r"""Tensor-product basis for E2B's log base weights (pure functions on ndarrays).

The base-weight model is linear in :math:`\phi(x, a) = B(a) \otimes [1, x_j, x_j x_k]`: a cubic
B-spline basis of the treatment times the covariates and their pairwise products (standardised).
A zero coefficient vector gives constant base weights, i.e. plain entropy balancing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import SplineTransformer

__all__ = ["TensorBasis", "fit_tensor_basis"]


@dataclass(frozen=True)
class TensorBasis:
    """A fitted tensor-product basis; :meth:`transform` evaluates it on any sample.

    Attributes
    ----------
    spline : SplineTransformer
        Basis of the treatment (``include_bias=True``: its columns sum to one).
    x_mean, x_scale : ndarray
        Standardisation of the covariates.
    pairs : ndarray of shape (n_pairs, 2)
        Index pairs ``(j, k)``, ``j <= k``, of the covariate products included.
    """

    spline: SplineTransformer
    x_mean: np.ndarray
    x_scale: np.ndarray
    pairs: np.ndarray

    @property
    def n_covariate_terms(self) -> int:
        return 1 + self.x_mean.shape[0] + self.pairs.shape[0]

    @property
    def n_features(self) -> int:
        return int(self.spline.n_features_out_) * self.n_covariate_terms

    def covariate_terms(self, X: np.ndarray) -> np.ndarray:
        """``[1, x_j, x_j x_k]`` of the standardised covariates, shape (n, n_covariate_terms)."""
        Z = (np.asarray(X, dtype=float) - self.x_mean) / self.x_scale
        cols = [np.ones((Z.shape[0], 1)), Z]
        if self.pairs.size:
            cols.append(Z[:, self.pairs[:, 0]] * Z[:, self.pairs[:, 1]])
        return np.hstack(cols)

    def transform(self, X: np.ndarray, a: np.ndarray) -> np.ndarray:
        """The basis at ``(X, a)``, shape (n, n_features)."""
        Ba = self.spline.transform(np.asarray(a, dtype=float).reshape(-1, 1))
        T = self.covariate_terms(X)
        return (Ba[:, :, None] * T[:, None, :]).reshape(Ba.shape[0], -1)


def fit_tensor_basis(
    X: np.ndarray,
    a: np.ndarray,
    *,
    n_knots: int = 4,
    degree: int = 3,
    max_pairs: int = 120,
) -> TensorBasis:
    """Fit the tensor basis on a sample.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_covariates)
    a : ndarray of shape (n_samples,)
    n_knots : int, default=4
        Knots of the treatment spline (quantiles; extrapolation is constant beyond them).
    degree : int, default=3
    max_pairs : int, default=120
        Largest number of covariate products ``x_j x_k`` (``j <= k``); with more covariates than
        that allows, only squares are kept.

    Returns
    -------
    TensorBasis
    """
    X = np.asarray(X, dtype=float)
    d = X.shape[1]
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    scale = np.where(sd > 0, sd, 1.0)
    all_pairs = np.array([(j, k) for j in range(d) for k in range(j, d)], dtype=int).reshape(-1, 2)
    if all_pairs.shape[0] > max_pairs:
        all_pairs = np.column_stack([np.arange(d), np.arange(d)])
    # Products of a 0/1 (or constant) column with itself duplicate the column: drop them.
    binary = np.array([np.unique(X[:, j]).size <= 2 for j in range(d)], dtype=bool)
    keep = ~((all_pairs[:, 0] == all_pairs[:, 1]) & binary[all_pairs[:, 0]])
    a2 = np.asarray(a, dtype=float).reshape(-1, 1)
    quantiles = np.quantile(a2[:, 0], np.linspace(0, 1, n_knots))
    knots = "quantile" if np.all(np.diff(quantiles) > 0) else "uniform"  # ties: few distinct doses
    spline = SplineTransformer(
        n_knots=n_knots, degree=degree, knots=knots, extrapolation="constant", include_bias=True
    ).fit(a2)
    return TensorBasis(spline=spline, x_mean=mean, x_scale=scale, pairs=all_pairs[keep])
