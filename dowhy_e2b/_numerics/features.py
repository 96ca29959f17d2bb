"""Balancing features for a continuous treatment.

Pure functions on ndarrays. The columns of the returned matrix ``C`` are centred at their
targets, so that balance means ``sum_i w_i C[i] = 0``:

* powers ``a**p`` of the standardised treatment, centred at their sample mean (the weighted
  treatment keeps its marginal moments);
* powers ``x_j**k`` of the standardised covariates, centred at their sample mean (the weighted
  sample keeps the covariates' moments);
* products ``a * (x_j**k - mean)``, target zero (the weighted treatment is uncorrelated with the
  covariates and their powers).

Every column is scaled to unit (target-weighted) standard deviation, so an imbalance of 0.01 means
"one hundredth of a standard deviation" (a correlation of 0.01 for the products). Scaling makes
the balancing weights invariant to affine rescaling of ``x`` and ``a``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

__all__ = ["BalanceFeatures", "balance_features", "drop_collinear", "drop_collinear_gram"]


@dataclass(frozen=True)
class BalanceFeatures:
    """Centred, scaled balancing features and their description.

    Attributes
    ----------
    matrix : ndarray of shape (n_samples, n_features)
        Feature matrix, centred at the balance targets and scaled to unit standard deviation.
    names : tuple of str
        A readable name per column, e.g. ``"a*x2^3"``.
    kinds : tuple of str
        ``"treatment"``, ``"covariate"`` or ``"interaction"`` per column.
    covariate : ndarray of int
        Index of the covariate a column refers to (``-1`` for treatment powers).
    power : ndarray of int
        Power of the covariate (or of the treatment for treatment columns).
    """

    matrix: np.ndarray
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    covariate: np.ndarray
    power: np.ndarray

    def subset(self, keep: np.ndarray) -> BalanceFeatures:
        """The features restricted to the columns ``keep``."""
        keep = np.asarray(keep, dtype=int)
        return BalanceFeatures(
            matrix=self.matrix[:, keep],
            names=tuple(self.names[i] for i in keep),
            kinds=tuple(self.kinds[i] for i in keep),
            covariate=self.covariate[keep],
            power=self.power[keep],
        )


def _weighted_standardise(
    v: np.ndarray, p: np.ndarray, centre: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns of ``v`` centred at their ``p``-weighted mean and scaled to unit ``p``-weighted sd.

    Constant columns are returned centred (all zero) with scale 1; the caller drops them later.
    """
    mean = p @ v if centre else np.zeros(v.shape[1])
    centred = v - mean
    sd = np.sqrt(p @ centred**2)
    scale = np.where(sd > 1e-12 * (1.0 + np.abs(mean)), sd, 1.0)
    out = centred / scale
    out[:, sd <= 1e-12 * (1.0 + np.abs(mean))] = 0.0
    return out, mean, scale


def balance_features(
    X: np.ndarray,
    a: np.ndarray,
    *,
    moments: int = 1,
    treatment_moments: int = 1,
    interactions: bool = True,
    target_weights: np.ndarray | None = None,
    feature_names: list[str] | tuple[str, ...] | None = None,
) -> BalanceFeatures:
    """Build the balancing features of a continuous treatment.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_covariates)
        Numeric covariates (categorical ones already one-hot encoded).
    a : ndarray of shape (n_samples,)
        Continuous treatment.
    moments : int, default=1
        Highest power of each covariate whose mean is kept and with which the treatment is
        decorrelated.
    treatment_moments : int, default=1
        Highest power of the treatment whose mean is kept (2 also keeps its variance).
    interactions : bool, default=True
        Whether to include the products treatment × covariate powers (the decorrelation
        constraints). Without them, only marginal moments are kept.
    target_weights : ndarray of shape (n_samples,), optional
        Weights defining the target population (frequency or survey weights). Defaults to equal
        weights.
    feature_names : sequence of str, optional
        Covariate names for the readable column names. Defaults to ``x0, x1, ...``.

    Returns
    -------
    BalanceFeatures
        Feature matrix centred at the targets (balance means ``w @ matrix == 0``), with names.
    """
    X = np.asarray(X, dtype=float)
    a = np.asarray(a, dtype=float).ravel()
    n, d = X.shape
    if target_weights is None:
        p = np.full(n, 1.0 / n)
    else:
        p = np.asarray(target_weights, dtype=float)
        p = p / p.sum()
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(d)]

    n_marginal = treatment_moments + moments * d
    n_cols = n_marginal + (moments * d if interactions else 0)
    # One preallocated matrix, filled in place: at n = 10^5 this halves the time of building it.
    out = np.empty((n, n_cols))
    names: list[str] = []
    kinds: list[str] = []
    cov_idx: list[int] = []
    powers: list[int] = []

    a_std, _, _ = _weighted_standardise(a[:, None], p)
    out[:, 0] = a_std[:, 0]
    for k in range(1, treatment_moments + 1):
        if k > 1:
            out[:, k - 1] = out[:, k - 2] * a_std[:, 0]
        names.append("a" if k == 1 else f"a^{k}")
        kinds.append("treatment")
        cov_idx.append(-1)
        powers.append(k)

    x_std, _, _ = _weighted_standardise(X, p)
    start = treatment_moments
    for k in range(1, moments + 1):
        block = out[:, start : start + d]
        if k == 1:
            block[:] = x_std
        else:
            np.multiply(out[:, start - d : start], x_std, out=block)
        start += d
        for j in range(d):
            names.append(f"{feature_names[j]}" if k == 1 else f"{feature_names[j]}^{k}")
            kinds.append("covariate")
            cov_idx.append(j)
            powers.append(k)

    # Powers keep their target-weighted means: centre them there, then scale to unit sd.
    out[:, :n_marginal], _, _ = _weighted_standardise(out[:, :n_marginal], p)

    if interactions and d > 0:
        # Products of the standardised treatment with each standardised covariate power: their
        # target is zero (no correlation), so they are scaled but not centred.
        products = out[:, n_marginal:]
        np.multiply(out[:, :1], out[:, treatment_moments:n_marginal], out=products)
        rms = np.sqrt(p @ products**2)
        products /= np.where(rms > 1e-12, rms, 1.0)
        for k in range(1, moments + 1):
            for j in range(d):
                names.append(f"a*{feature_names[j]}" if k == 1 else f"a*{feature_names[j]}^{k}")
                kinds.append("interaction")
                cov_idx.append(j)
                powers.append(k)

    return BalanceFeatures(
        matrix=out,
        names=tuple(names),
        kinds=tuple(kinds),
        covariate=np.asarray(cov_idx, dtype=int),
        power=np.asarray(powers, dtype=int),
    )


def drop_collinear(C: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of a maximal linearly independent subset of the non-zero columns of ``C``.

    Columns are taken in order: a column is kept when the share of its second moment that the
    columns already kept do not explain is at least ``tol`` (an incremental Cholesky
    factorisation of the second-moment matrix :math:`C^\\top C / n`). Taking columns in order keeps
    lower powers and main terms ahead of the higher powers and products that duplicate them (for
    a 0/1 covariate, ``x`` is kept and ``x^2`` dropped). Columns are expected to be scaled to unit
    second moment, as :func:`balance_features` returns them; an all-zero column (a constant
    covariate after centring) is always dropped.

    Parameters
    ----------
    C : ndarray of shape (n_samples, n_features)
    tol : float, default=1e-9

    Returns
    -------
    ndarray of int
    """
    C = np.asarray(C, dtype=float)
    return drop_collinear_gram(C.T @ C / max(C.shape[0], 1), tol)


def drop_collinear_gram(G: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """:func:`drop_collinear` from the second-moment matrix :math:`C^\\top C / n` (sums over rows,
    so chunks add up)."""
    k = G.shape[0]
    keep: list[int] = []
    L = np.zeros((k, k))
    for j in range(k):
        if G[j, j] <= tol:
            continue
        m = len(keep)
        row = linalg.solve_triangular(L[:m, :m], G[keep, j], lower=True) if m else np.zeros(0)
        resid = G[j, j] - row @ row
        if resid <= tol * G[j, j]:
            continue
        L[m, :m] = row
        L[m, m] = np.sqrt(resid)
        keep.append(j)
    return np.asarray(keep, dtype=int)
