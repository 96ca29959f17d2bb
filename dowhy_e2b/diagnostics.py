"""Diagnostics of balancing weights: balance table and effective sample size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._numerics import effective_sample_size, weighted_corr, weighted_mean_shift

__all__ = ["balance_table", "effective_sample_size"]


def balance_table(X: Any, a: Any, weights: Any, feature_names: Any = None, moments: int = 1) -> pd.DataFrame:
    """Correlation of the treatment with each covariate (and its powers), before and after weighting.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_covariates)
        Numeric covariates.
    a : array-like of shape (n_samples,)
        Treatment.
    weights : array-like of shape (n_samples,)
        Balancing weights.
    feature_names : sequence of str, optional
        Covariate names (default: the DataFrame's columns, or ``x0, x1, ...``).
    moments : int, default=1
        Report powers 1..``moments`` of every covariate (powers of 0/1 columns are skipped).

    Returns
    -------
    pandas.DataFrame
        One row per covariate and power: ``covariate``, ``power``, ``corr_unweighted``,
        ``corr_weighted`` (Pearson correlation with the treatment), ``abs_corr_reduction``
        (``|corr_unweighted| - |corr_weighted|``) and ``mean_shift`` (weighted minus unweighted mean
        of the covariate power, in standard deviations: balancing should leave it near 0).
    """
    if feature_names is None:
        feature_names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    a = np.asarray(a, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(X.shape[1])]
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    rows = []
    for k in range(1, int(moments) + 1):
        Zk = Z**k
        binary = np.array([np.unique(X[:, j]).size <= 2 for j in range(X.shape[1])])
        corr_u = weighted_corr(a, Zk)
        corr_w = weighted_corr(a, Zk, w)
        shift = weighted_mean_shift(Zk, w)
        for j, name in enumerate(feature_names):
            if k > 1 and binary[j]:
                continue
            rows.append(
                {
                    "covariate": str(name),
                    "power": k,
                    "corr_unweighted": corr_u[j],
                    "corr_weighted": corr_w[j],
                    "abs_corr_reduction": abs(corr_u[j]) - abs(corr_w[j]),
                    "mean_shift": shift[j],
                }
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "covariate",
            "power",
            "corr_unweighted",
            "corr_weighted",
            "abs_corr_reduction",
            "mean_shift",
        ],
    )
    table.attrs["effective_sample_size"] = effective_sample_size(w)
    return table
