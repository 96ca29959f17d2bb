"""Error metrics of an estimated curve and diagnostics of balancing weights (pure functions).

All curves live on the benchmark grid (:data:`benchmarks.dgps.GRID_POINTS` treatment values between
the 5th and 95th percentiles of the observed treatment).
"""

from __future__ import annotations

import numpy as np

from dowhy_e2b.diagnostics import effective_sample_size

__all__ = [
    "TAIL_SHARE",
    "band_coverage",
    "centred",
    "effective_sample_size",
    "max_abs_weighted_corr",
    "rmse",
    "tail_mask",
]

#: Share of the grid at *each* end that counts as a tail (0.1: the lowest and highest 10%).
TAIL_SHARE = 0.1

#: Columns of a result row that hold a measurement (NaN when a run fails); averaged by the report.
METRIC_COLUMNS = (
    "rmse",
    "rmse_centred",
    "rmse_tails",
    "ess",
    "max_abs_corr",
    "coverage",
    "coverage_all",
    "band_width",
    "fit_time_s",
    "boot_time_s",
    "peak_mem_mb",
    "dowhy_core_max_diff",
)


def centred(curve: np.ndarray) -> np.ndarray:
    """The curve minus its mean over the grid (what contrast-only estimators identify)."""
    curve = np.asarray(curve, dtype=float)
    return curve - curve.mean()


def rmse(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root mean squared error over the grid (or over the points where ``mask`` is true)."""
    err = np.asarray(estimate, dtype=float) - np.asarray(truth, dtype=float)
    if mask is not None:
        err = err[mask]
    return float(np.sqrt(np.mean(err**2)))


def tail_mask(n_points: int, share: float = TAIL_SHARE) -> np.ndarray:
    """Grid points in the outer ``share`` at each end of a grid of ``n_points`` (at least one each)."""
    k = max(1, round(share * n_points))
    mask = np.zeros(n_points, dtype=bool)
    mask[:k] = True
    mask[-k:] = True
    return mask


def max_abs_weighted_corr(a: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Largest absolute weighted Pearson correlation of the treatment with a confounder column.

    Computed independently of the package's own balance diagnostics (NumPy's weighted covariance,
    ``np.cov(..., aweights=w)``); columns that are constant under the weights are skipped, and a
    treatment constant under the weights gives NaN.
    """
    a = np.asarray(a, dtype=float).ravel()
    X = np.asarray(X, dtype=float).reshape(a.shape[0], -1)
    w = np.ones_like(a) if weights is None else np.asarray(weights, dtype=float)
    cov = np.atleast_2d(np.cov(np.column_stack([a, X]), rowvar=False, aweights=w))
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if sd[0] <= 0:
        return float("nan")
    ok = sd[1:] > 0
    if not ok.any():
        return 0.0
    corr = cov[0, 1:][ok] / (sd[0] * sd[1:][ok])
    return float(np.max(np.abs(corr)))


def band_coverage(lower: np.ndarray, upper: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Coverage of a confidence band.

    Returns
    -------
    pointwise : float
        Share of grid points whose true value lies inside the band.
    simultaneous : float
        1.0 if the whole true curve lies inside the band, else 0.0.
    width : float
        Mean width of the band.
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    truth = np.asarray(truth, dtype=float)
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        return float("nan"), float("nan"), float("nan")
    inside = (lower <= truth) & (truth <= upper)
    return float(inside.mean()), float(inside.all()), float(np.mean(upper - lower))
