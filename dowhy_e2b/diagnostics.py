"""Diagnostics of balancing weights: balance, effective sample size, weight concentration, dose support."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._numerics import effective_sample_size, weighted_corr, weighted_mean_shift
from ._validation import encode_frame, source_column

__all__ = ["balance_table", "dose_support", "effective_sample_size", "weight_summary"]


#: Name given to the level a one-hot encoding dropped, when only the encoded columns are known.
REFERENCE_LEVEL = "reference level"


def _one_hot_groups(X: np.ndarray, names: list[str]) -> dict[str, list[int]]:
    """Columns named ``"column[level]"`` that form a one-hot encoding with its first level dropped.

    A group qualifies when its columns are 0/1, at most one is 1 in each row, and some rows have
    none (those rows are at the dropped level).
    """
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        source = source_column(name)
        if source != name:
            groups.setdefault(source, []).append(j)
    dropped = {}
    for source, cols in groups.items():
        block = X[:, cols]
        if not np.all((block == 0) | (block == 1)):
            continue
        total = block.sum(axis=1)
        if total.max() <= 1 and total.min() == 0:
            dropped[source] = cols
    return dropped


def _with_reference_levels(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Add the dropped level of each one-hot group back, just before the group's first column."""
    groups = _one_hot_groups(X, names)
    if not groups:
        return X, names
    first = {cols[0]: source for source, cols in groups.items()}
    columns, out_names = [], []
    for j, name in enumerate(names):
        if j in first:
            source = first[j]
            columns.append(1.0 - X[:, groups[source]].sum(axis=1))
            out_names.append(f"{source}[{REFERENCE_LEVEL}]")
        columns.append(X[:, j])
        out_names.append(name)
    return np.column_stack(columns), out_names


def balance_table(X: Any, a: Any, weights: Any, feature_names: Any = None, moments: int = 1) -> pd.DataFrame:
    """Correlation of the treatment with each covariate (and its powers), before and after weighting.

    Every level of a categorical covariate gets a row, as cobalt shows them: a DataFrame's text,
    categorical and bool columns are one-hot encoded with all their levels; for an already encoded
    matrix whose columns are named ``"column[level]"`` with the first level dropped (as
    :func:`~dowhy_e2b.AverageDoseResponse` encodes them), the dropped level is added back as
    ``"column[reference level]"``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_covariates)
        Covariates: numeric, or a DataFrame with categorical columns.
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
        One row per covariate (or level) and power, in the order of the data's columns with each
        covariate's powers together (the order of every balance table and love plot of the
        package): ``covariate``, ``power``, ``corr_unweighted``, ``corr_weighted`` (Pearson
        correlation with the treatment), ``abs_corr_reduction`` (``|corr_unweighted| -
        |corr_weighted|``) and ``mean_shift`` (weighted minus unweighted mean of the covariate
        power, in standard deviations: balancing should leave it near 0).
        ``table.attrs["effective_sample_size"]`` holds Kish's effective sample size.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dowhy_e2b import balance_table
    >>> X = pd.DataFrame({"age": [30.0, 40, 50, 60], "region": ["north", "south", "east", "north"]})
    >>> balance_table(X, [1.0, 2, 3, 5], np.ones(4)).covariate.tolist()
    ['age', 'region[east]', 'region[north]', 'region[south]']
    """
    if isinstance(X, pd.DataFrame):
        numeric = all(
            pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in X.dtypes
        )
        if numeric:
            if feature_names is None:
                feature_names = [str(c) for c in X.columns]
            X = X.to_numpy(dtype=float)
        else:
            X, feature_names = encode_frame(X, all_levels=True)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    a = np.asarray(a, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    names = [f"x{j}" for j in range(X.shape[1])] if feature_names is None else [str(c) for c in feature_names]
    X, names = _with_reference_levels(X, names)
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    binary = np.array([np.unique(X[:, j]).size <= 2 for j in range(X.shape[1])])
    stats = []
    for k in range(1, int(moments) + 1):
        Zk = Z**k
        stats.append((weighted_corr(a, Zk), weighted_corr(a, Zk, w), weighted_mean_shift(Zk, w)))
    rows = []
    for j, name in enumerate(names):
        for k, (corr_u, corr_w, shift) in enumerate(stats, start=1):
            if k > 1 and binary[j]:
                continue
            rows.append(
                {
                    "covariate": name,
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


def weight_summary(weights: Any, top_fraction: float = 0.01) -> dict[str, float]:
    """Summary statistics of balancing weights: effective sample size and concentration.

    Parameters
    ----------
    weights : array-like of shape (n_samples,)
        Non-negative weights (any scale; they are rescaled to mean 1).
    top_fraction : float, default=0.01
        Share of units, the heaviest first, whose share of the total weight is reported
        (at least one unit).

    Returns
    -------
    dict
        ``n``; ``effective_sample_size`` :math:`(\\sum w)^2 / \\sum w^2`; ``ess_fraction`` (that
        divided by ``n``); ``max_weight`` (on the mean-1 scale); ``top_share`` (share of the total
        weight carried by the heaviest ``top_fraction`` of units: ``top_fraction`` itself for
        uniform weights).

    Examples
    --------
    >>> from dowhy_e2b.diagnostics import weight_summary
    >>> s = weight_summary([1.0, 1.0, 1.0, 5.0])
    >>> round(s["effective_sample_size"], 2), s["max_weight"], s["top_share"]
    (2.29, 2.5, 0.625)
    """
    w = np.asarray(weights, dtype=float).ravel()
    if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            "weights must be a non-empty array of finite non-negative numbers with a positive sum."
        )
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}.")
    n = w.size
    w = w * (n / w.sum())
    k = max(1, int(np.ceil(top_fraction * n)))
    ess = effective_sample_size(w)
    return {
        "n": float(n),
        "effective_sample_size": ess,
        "ess_fraction": ess / n,
        "max_weight": float(w.max()),
        "top_share": float(np.sort(w)[-k:].sum() / n),
    }


def dose_support(a: Any, weights: Any, doses: Any, bandwidth: float | None = None) -> pd.DataFrame:
    """How much (weighted) data lies near each dose: overlap along the treatment axis.

    A curve is only as good as the data near the dose where it is read. For every dose this
    counts the units whose treatment lies within ``bandwidth`` of it and the effective sample size
    of their weights.

    Parameters
    ----------
    a : array-like of shape (n_samples,)
        Observed treatment.
    weights : array-like of shape (n_samples,)
        Balancing weights.
    doses : array-like
        Treatment values where the curve is read (its grid, the contrast's two doses).
    bandwidth : float, optional
        Half-width of the window; default a quarter of the treatment's standard deviation.

    Returns
    -------
    pandas.DataFrame
        One row per dose: ``dose``, ``inside_range`` (within the observed minimum and maximum),
        ``n_near`` (units within the window) and ``local_ess`` (effective sample size of their
        weights; 0 when there are none).

    Examples
    --------
    >>> import numpy as np
    >>> from dowhy_e2b.diagnostics import dose_support
    >>> a = np.linspace(0.0, 1.0, 101)
    >>> dose_support(a, np.ones(101), [0.5, 2.0], bandwidth=0.1)
       dose  inside_range  n_near  local_ess
    0   0.5          True      21       21.0
    1   2.0         False       0        0.0
    """
    a = np.asarray(a, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != a.shape:
        raise ValueError(f"weights must have the shape of a, {a.shape}, got {w.shape}.")
    d = np.atleast_1d(np.asarray(doses, dtype=float)).ravel()
    h = 0.25 * float(a.std()) if bandwidth is None else float(bandwidth)
    near = np.abs(a[None, :] - d[:, None]) <= h + 1e-12 * max(1.0, abs(h))
    local_ess = [effective_sample_size(w[row]) if row.any() else 0.0 for row in near]
    return pd.DataFrame(
        {
            "dose": d,
            "inside_range": (d >= a.min()) & (d <= a.max()),
            "n_near": near.sum(axis=1),
            "local_ess": np.asarray(local_ess, dtype=float),
        }
    )
