"""Plots of dose-response curves and balancing diagnostics (matplotlib; every function returns its Axes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_dose_response"]


def _curve_frame(obj: Any) -> pd.DataFrame:
    """The curve DataFrame of a DoWhy estimate, a DoWhy estimator, a fitted pipeline or a frame."""
    if isinstance(obj, pd.DataFrame):
        return obj
    for attr in ("dose_response", "dose_response_", "curve_"):
        frame = getattr(obj, attr, None)
        if isinstance(frame, pd.DataFrame):
            return frame
    raise TypeError(
        "expected a dose-response DataFrame, a DoWhy estimate from dowhy-e2b, or a fitted "
        f"AverageDoseResponse; got {type(obj).__name__}."
    )


def plot_dose_response(
    result: Any,
    ax: Any = None,
    *,
    treatment: Any = None,
    truth: Any = None,
    label: str | None = None,
    color: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Any:
    """Plot an estimated dose-response curve with its confidence band.

    Parameters
    ----------
    result : DataFrame, CausalEstimate, DoseResponseEstimator or AverageDoseResponse
        Anything carrying the curve (columns ``treatment``, ``mean_outcome``, ``ci_lower``,
        ``ci_upper``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    treatment : array-like, optional
        Observed treatment values, drawn as a rug along the x axis (shows where the data are).
    truth : callable, optional
        The true curve :math:`\\mu(a)`, drawn dashed (for simulated data).
    label, color : str, optional
        Legend label and colour of the estimate.
    xlabel, ylabel : str, optional
        Axis labels (default: "treatment" and "mean outcome").

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    frame = _curve_frame(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    t = frame["treatment"].to_numpy(dtype=float)
    (line,) = ax.plot(t, frame["mean_outcome"], color=color, lw=2, label=label or "estimate")
    if frame[["ci_lower", "ci_upper"]].notna().all().all():
        ax.fill_between(t, frame["ci_lower"], frame["ci_upper"], color=line.get_color(), alpha=0.2, lw=0)
    if truth is not None:
        ax.plot(t, truth(t), color="black", ls="--", lw=1.5, label="truth")
    if treatment is not None:
        a = np.asarray(treatment, dtype=float)
        ax.plot(a, np.zeros_like(a), "|", color="0.3", alpha=0.25, ms=8, transform=ax.get_xaxis_transform())
        pad = 0.03 * (t.max() - t.min())
        ax.set_xlim(t.min() - pad, t.max() + pad)
    ax.set_xlabel(xlabel or "treatment")
    ax.set_ylabel(ylabel or "mean outcome")
    ax.legend(frameon=False)
    return ax
