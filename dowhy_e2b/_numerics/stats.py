"""Weighted statistics used by the estimators and diagnostics (pure functions on ndarrays)."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.weightstats import DescrStatsW

from .dual import effective_sample_size

__all__ = ["effective_sample_size", "weighted_corr", "weighted_mean_shift"]


def weighted_corr(a: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted Pearson correlation of ``a`` with every column of ``X``.

    Constant columns (under the weights) get correlation 0.

    Parameters
    ----------
    a : ndarray of shape (n_samples,)
    X : ndarray of shape (n_samples, n_columns)
    weights : ndarray of shape (n_samples,), optional
        Non-negative weights; equal weights if omitted.

    Returns
    -------
    ndarray of shape (n_columns,)
    """
    a = np.asarray(a, dtype=float).ravel()
    X = np.asarray(X, dtype=float).reshape(a.shape[0], -1)
    w = np.ones_like(a) if weights is None else np.asarray(weights, dtype=float)
    stats = DescrStatsW(np.column_stack([a, X]), weights=w)
    std = stats.std
    cov = stats.cov[0, 1:]
    denom = std[0] * std[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, cov / np.where(denom > 0, denom, 1.0), 0.0)
    return np.clip(corr, -1.0, 1.0)


def weighted_mean_shift(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Standardised difference between weighted and unweighted column means of ``X``.

    ``(mean_w(X) - mean(X)) / sd(X)``; 0 for constant columns.
    """
    X = np.asarray(X, dtype=float)
    w = np.asarray(weights, dtype=float)
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    shift = (w @ X) / w.sum() - mean
    return np.where(sd > 0, shift / np.where(sd > 0, sd, 1.0), 0.0)
