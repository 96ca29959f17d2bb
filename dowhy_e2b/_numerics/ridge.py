r"""Ridge regression from sufficient statistics, its penalty chosen by generalised cross-validation.

With an unpenalised intercept, weights :math:`w` and design :math:`D`, everything the fit and the
choice of penalty need is the weighted cross-product matrix of :math:`[1, D, y]`
(:class:`RidgeStats`): a sum over rows, so chunks of rows add up. One eigendecomposition of the
centred Gram matrix :math:`G = V\,\mathrm{diag}(d)\,V^\top` gives, for every penalty :math:`\alpha`,

.. math::

    \hat\beta_\alpha = V \frac{z}{d + \alpha}, \qquad
    \mathrm{RSS}_w(\alpha) = y_c^\top W y_c - \sum_k z_k^2 \Big(\frac{2}{d_k + \alpha}
        - \frac{d_k}{(d_k + \alpha)^2}\Big), \qquad
    \mathrm{edf}(\alpha) = 1 + \sum_k \frac{d_k}{d_k + \alpha},

with :math:`z = V^\top D_c^\top W y_c`, and the weighted GCV score
:math:`S\,\mathrm{RSS}_w / (S - \mathrm{edf})^2` (:math:`S = \sum_i w_i`; Golub, Heath & Wahba
1979).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

__all__ = ["RidgeFit", "RidgeStats", "ridge_fit"]


@dataclass(frozen=True)
class RidgeStats:
    """The weighted cross-products of ``[1, D, y]``, shape (p + 2, p + 2): chunks add up."""

    cross: np.ndarray

    @classmethod
    def of(cls, D: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> RidgeStats:
        M = np.column_stack([np.ones(D.shape[0]), D, y])
        return cls((M if w is None else M * np.asarray(w, dtype=float)[:, None]).T @ M)

    def __add__(self, other: RidgeStats) -> RidgeStats:
        return RidgeStats(self.cross + other.cross)


@dataclass(frozen=True)
class RidgeFit:
    """Coefficients, intercept, the penalty used and its GCV score (NaN when one was given)."""

    coef: np.ndarray
    intercept: float
    alpha: float
    score: float


def ridge_fit(stats: RidgeStats, alphas: np.ndarray) -> RidgeFit:
    """Weighted ridge regression with an unpenalised intercept: the penalty among ``alphas`` with the
    lowest GCV score (one penalty: no search)."""
    c = stats.cross
    S = float(c[0, 0])
    mean = c[0, 1:] / S
    centred = c[1:, 1:] - S * np.outer(mean, mean)
    G, b, yy = centred[:-1, :-1], centred[:-1, -1], float(centred[-1, -1])
    d, V = linalg.eigh((G + G.T) / 2)
    d = np.clip(d, 0.0, None)
    z = V.T @ b
    alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
    score = np.full(alphas.size, np.nan)
    if alphas.size > 1:
        denom = d[None, :] + alphas[:, None]
        rss = yy - (z**2 * (2.0 / denom - d / denom**2)).sum(axis=1)
        edf = 1.0 + (d / denom).sum(axis=1)
        score = S * np.maximum(rss, 0.0) / np.maximum(S - edf, 1e-12 * S) ** 2
    best = int(np.argmin(score)) if alphas.size > 1 else 0
    alpha = float(alphas[best])
    coef = V @ (z / (d + alpha))
    return RidgeFit(coef, float(mean[-1] - mean[:-1] @ coef), alpha, float(score[best]))
