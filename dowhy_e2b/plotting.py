"""Plots of dose-response curves and balancing diagnostics (matplotlib; every function returns its Axes).

Every function accepts the package's core objects (a fitted :class:`~dowhy_e2b.AverageDoseResponse`,
a fitted weighting estimator, plain arrays and DataFrames) as well as what DoWhy returns for a
dowhy-e2b method (the ``CausalEstimate`` and its ``estimator``). Objects are recognised by the
attributes they carry, so this module never imports DoWhy.

* :func:`plot_dose_response`: the curve with its confidence band, a rug of the observed
  treatments and optionally the true curve.
* :func:`plot_balance`: the "love plot" of :math:`|\\mathrm{corr}(a, x_j^k)|` before and after
  weighting, one row per covariate and power.
* :func:`plot_weights`: the distribution of the weights with the effective sample size.
* :func:`plot_training`: E2B's training and held-out loss per step.
* :func:`plot_derivative`, :func:`plot_effect_curve`: the derivative curve and the effects
  relative to a reference dose, with pointwise and simultaneous bands.
* :func:`plot_subgroups`: one curve per level of an effect modifier.
* :func:`plot_sensitivity`: bounds on the curve under hidden confounding of a few strengths, and
  the contour plot of the contrast's bound over both strengths (a :func:`dowhy_e2b.sensitivity`
  result).

Figures a function creates itself use matplotlib's constrained layout, so a plain ``savefig``
clips nothing. Balance tables and love plots list covariates in one order everywhere: the data's
columns, each covariate's powers together, every level of a categorical covariate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .diagnostics import balance_table, weight_summary

__all__ = [
    "plot_balance",
    "plot_derivative",
    "plot_dose_response",
    "plot_effect_curve",
    "plot_sensitivity",
    "plot_subgroups",
    "plot_training",
    "plot_weights",
]

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_BALANCE_COLUMNS = {"covariate", "power", "corr_unweighted", "corr_weighted"}


def _estimator_of(obj: Any) -> Any:
    """The estimator behind a DoWhy ``CausalEstimate`` (``obj.estimator``), else ``obj`` itself."""
    inner = getattr(obj, "estimator", None)
    return obj if inner is None or isinstance(obj, pd.DataFrame) else inner


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


def _names(obj: Any) -> tuple[str | None, str | None]:
    """Treatment and outcome column names carried by a DoWhy estimate or estimator, if any."""
    for source in (obj, _estimator_of(obj)):
        treatment = getattr(source, "_treatment_name", None)
        outcome = getattr(source, "_outcome_name", None)
        if treatment is not None:
            first = lambda v: None if v is None else str(v[0] if isinstance(v, (list, tuple)) else v)  # noqa: E731
            return first(treatment), first(outcome)
    return None, None


def _confidence_level(obj: Any, frame: pd.DataFrame) -> float | None:
    """The level of a curve's band: from the frame's ``attrs`` or the object that made it."""
    level = frame.attrs.get("confidence_level")
    for source in (obj, _estimator_of(obj), getattr(_estimator_of(obj), "adrf_", None)):
        if level is None:
            level = getattr(source, "confidence_level", None)
    return None if level is None else float(level)


def _observed_treatment(obj: Any) -> np.ndarray | None:
    """Observed treatment values carried by a DoWhy estimate or estimator from dowhy-e2b, if any."""
    values = getattr(_estimator_of(obj), "treatment_values_", None)
    return None if values is None else np.asarray(values, dtype=float)


def _weights_of(obj: Any) -> np.ndarray:
    """Weights from an array, a fitted weighting estimator or pipeline, or a DoWhy estimate/estimator."""
    if isinstance(obj, (np.ndarray, list, tuple, pd.Series)):
        return np.asarray(obj, dtype=float).ravel()
    weights = getattr(_estimator_of(obj), "weights_", None)
    if weights is None:
        raise TypeError(
            "expected weights (an array), a fitted weighting estimator or AverageDoseResponse, or a DoWhy "
            f"estimate from dowhy-e2b; got {type(obj).__name__}."
        )
    return np.asarray(weights, dtype=float).ravel()


def _balance_frame(obj: Any, X: Any, a: Any, moments: int | None) -> pd.DataFrame:
    """A balance table (see :func:`dowhy_e2b.balance_table`) from whatever ``obj`` is."""
    if isinstance(obj, pd.DataFrame):
        missing = _BALANCE_COLUMNS - set(obj.columns)
        if missing:
            raise ValueError(
                f"a balance table needs the columns {sorted(_BALANCE_COLUMNS)}; missing {sorted(missing)}."
            )
        table = obj
    elif X is not None or a is not None:
        if X is None or a is None:
            raise ValueError("pass both X and a (or neither) to compute the balance of the weights.")
        table = balance_table(X, a, _weights_of(obj), moments=moments or 1)
    else:
        est = _estimator_of(obj)
        if callable(getattr(est, "balance_table", None)):
            table = est.balance_table() if moments is None else est.balance_table(moments=moments)
        elif isinstance(getattr(est, "balance_table_", None), pd.DataFrame):
            table = est.balance_table_
        else:
            raise TypeError(
                "expected a balance table, a fitted AverageDoseResponse, a DoWhy estimate from dowhy-e2b, "
                f"or weights together with X and a; got {type(obj).__name__}."
            )
    if moments is not None:
        table = table[table["power"] <= moments]
    return table


def _covariate_label(name: str, power: int) -> str:
    return name if power == 1 else f"{name}{str(power).translate(_SUPERSCRIPTS)}"


def plot_dose_response(
    result: Any,
    ax: Any = None,
    *,
    treatment: Any = None,
    rug: bool = True,
    truth: Any = None,
    label: str | None = None,
    color: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    band: str = "both",
) -> Any:
    """Plot an estimated dose-response curve with its confidence bands.

    Parameters
    ----------
    result : DataFrame, CausalEstimate, DoseResponseEstimator or AverageDoseResponse
        Anything carrying the curve (columns ``treatment``, ``mean_outcome``, ``ci_lower``,
        ``ci_upper``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    treatment : array-like, optional
        Observed treatment values, drawn as a rug along the x axis (shows where the data are).
        A DoWhy estimate from dowhy-e2b carries them already.
    rug : bool, default=True
        Draw the rug when observed treatments are known (pass ``False`` when overlaying a second
        curve of the same data).
    truth : callable, optional
        The true curve :math:`\\mu(a)`, drawn dashed (for simulated data).
    label, color : str, optional
        Legend label and colour of the estimate.
    band : {"both", "pointwise", "simultaneous", "none"}, default="both"
        Which bands to draw: the pointwise band (``ci_lower``/``ci_upper``, darker) covers the
        curve at each dose, the simultaneous band (``band_lower``/``band_upper``, lighter) the
        whole curve at once.
    xlabel, ylabel : str, optional
        Axis labels; by default the treatment's column name and "mean <outcome column>" for a
        DoWhy estimate, else "treatment" and "mean outcome".

    The band is labelled with its level (e.g. "95% band"), read from the estimate, estimator or
    pipeline (or the curve frame's ``attrs["confidence_level"]``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights
    >>> from dowhy_e2b.datasets import make_linear
    >>> from dowhy_e2b.plotting import plot_dose_response
    >>> ds = make_linear(n_samples=300, random_state=0)
    >>> adrf = AverageDoseResponse(EntropyBalancingWeights(), n_bootstrap=20, random_state=0)
    >>> ax = plot_dose_response(adrf.fit(ds.X, ds.a, ds.y), treatment=ds.a, truth=ds.true_adrf)
    >>> ax.get_xlabel()
    'treatment'
    """
    import matplotlib.pyplot as plt

    frame = _curve_frame(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    t = frame["treatment"].to_numpy(dtype=float)
    _draw_bands(ax, frame, "mean_outcome", color, label, _confidence_level(result, frame), band)
    if truth is not None:
        ax.plot(t, truth(t), color="black", ls="--", lw=1.5, label="truth")
    observed = np.asarray(treatment, dtype=float) if treatment is not None else _observed_treatment(result)
    if rug and observed is not None:
        ax.plot(
            observed,
            np.zeros_like(observed),
            "|",
            color="0.3",
            alpha=0.25,
            ms=8,
            transform=ax.get_xaxis_transform(),
        )
        pad = 0.03 * (t.max() - t.min())
        ax.set_xlim(t.min() - pad, t.max() + pad)
    treatment_name, outcome_name = _names(result)
    ax.set_xlabel(xlabel or treatment_name or "treatment")
    ax.set_ylabel(ylabel or f"mean {outcome_name or 'outcome'}")
    ax.legend(frameon=False)
    return ax


def plot_balance(
    result: Any,
    ax: Any = None,
    *,
    X: Any = None,
    a: Any = None,
    moments: int | None = None,
    threshold: float | None = 0.1,
    title: str | None = "Balance before and after weighting",
) -> Any:
    """Love plot: :math:`|\\mathrm{corr}(a, x_j^k)|` before and after weighting.

    One row per covariate (every level of a categorical one) and power :math:`k` (powers of 0/1
    columns are skipped), top to bottom in the balance table's order (the data's columns, each
    covariate's powers together); open grey circles before weighting, filled circles after,
    joined by a line. Weights that balance well bring every filled circle left of the
    ``threshold`` line.

    Parameters
    ----------
    result : DataFrame, CausalEstimate, DoseResponseEstimator, AverageDoseResponse, weights
        A balance table (:func:`dowhy_e2b.balance_table`), something carrying one, or weights
        (an array or a fitted weighting estimator) together with ``X`` and ``a``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure (its height grows with the number of rows) if omitted.
    X, a : array-like, optional
        Covariates and treatment, needed when ``result`` gives only weights.
    moments : int, optional
        Show powers up to ``moments``. For a DoWhy estimator (or weights with ``X`` and ``a``) the
        table is recomputed with that many powers; default: the powers the method balanced.
    threshold : float or None, default=0.1
        Draws a dashed reference line (a common rule of thumb for "balanced"); ``None`` omits it.
    title : str or None

    Returns
    -------
    matplotlib.axes.Axes
        The Axes; its first two collections are the unweighted and weighted points, one per row.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from dowhy_e2b import EntropyBalancingWeights
    >>> from dowhy_e2b.datasets import make_linear
    >>> from dowhy_e2b.plotting import plot_balance
    >>> ds = make_linear(n_samples=300, random_state=0)
    >>> eb = EntropyBalancingWeights().fit(ds.X, ds.a)
    >>> ax = plot_balance(eb, X=ds.X, a=ds.a, moments=2)
    >>> len(ax.collections[1].get_offsets())  # 5 covariates x 2 powers
    10
    """
    import matplotlib.pyplot as plt

    table = _balance_frame(result, X, a, moments)
    if table.empty:
        raise ValueError("the balance table is empty: there are no covariates to plot.")
    table = table.assign(before=table["corr_unweighted"].abs(), after=table["corr_weighted"].abs())
    labels = [
        _covariate_label(str(c), int(p)) for c, p in zip(table["covariate"], table["power"], strict=True)
    ]
    pos = np.arange(len(table))[::-1]  # the table's first row at the top
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, max(2.6, 0.32 * len(table) + 1.4)), layout="constrained")
    ax.hlines(pos, table["after"], table["before"], color="0.75", lw=1, zorder=1)
    ax.scatter(table["before"], pos, s=36, facecolors="white", edgecolors="0.4", zorder=2, label="unweighted")
    ax.scatter(table["after"], pos, s=36, color="tab:blue", zorder=3, label="weighted")
    if threshold is not None:
        ax.axvline(threshold, color="tab:red", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_yticks(pos, labels)
    ax.set_ylim(-0.7, len(table) - 0.3)
    right = ax.get_xlim()[1]
    ax.set_xlim(-0.02 * right, right)  # points at 0 stay whole
    ax.set_xlabel("|corr(treatment, covariate)|")
    ax.grid(axis="x", alpha=0.3)
    # Below the axis, so that it never hides a point.
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
    if title:
        ax.set_title(title)
    return ax


def plot_weights(
    result: Any,
    ax: Any = None,
    *,
    bins: int = 40,
    color: str | None = None,
    label: str | None = None,
    title: str | None = "Distribution of the weights",
) -> Any:
    """Histogram of the balancing weights (mean 1, log scale) with the effective sample size.

    A box gives the effective sample size (Kish), the largest weight and the share of the total
    weight carried by the heaviest 1% of units (see :func:`dowhy_e2b.diagnostics.weight_summary`);
    a dotted line marks the uniform weight 1.

    Parameters
    ----------
    result : array-like, CausalEstimate, DoseResponseEstimator, AverageDoseResponse or weighting estimator
        The weights, or a fitted object carrying them (``weights_``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    bins : int, default=40
        Number of (logarithmically spaced) bins.
    color, label : str, optional
        Colour of the bars; a legend label (e.g. the method) for overlays.
    title : str or None

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from dowhy_e2b.plotting import plot_weights
    >>> ax = plot_weights(np.random.default_rng(0).lognormal(size=500))
    >>> ax.get_xscale()
    'log'
    """
    import matplotlib.pyplot as plt

    w = _weights_of(result)
    summary = weight_summary(w)
    w = w * (w.size / w.sum())
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    positive = w[w > 0]
    lo, hi = float(positive.min()), float(positive.max())
    if hi / lo < 1.05:  # (nearly) uniform weights: a log axis around 1 still reads well
        lo, hi = min(lo, 0.5), max(hi, 2.0)
    edges = np.geomspace(lo, hi, bins + 1)
    ax.hist(positive, bins=edges, color=color or "tab:blue", alpha=0.75, label=label)
    ax.set_xscale("log")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.4)  # headroom for the summary box
    ax.axvline(1.0, color="0.3", ls=":", lw=1)
    n = int(summary["n"])
    text = (
        f"ESS = {summary['effective_sample_size']:.0f} of n = {n} ({summary['ess_fraction']:.0%})\n"
        f"max weight = {summary['max_weight']:.3g}\n"
        f"top 1% of units carry {summary['top_share']:.1%}"
    )
    if w.size > positive.size:
        text += f"\n{w.size - positive.size} zero weights"
    ax.text(
        0.98,
        0.97,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=9,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
    )
    ax.set_xlabel("weight (mean 1, log scale)")
    ax.set_ylabel("units")
    if label:
        ax.legend(frameon=False, loc="upper left")
    if title:
        ax.set_title(title)
    return ax


def _training_history(obj: Any) -> Any:
    """The fitted E2B weighter behind an E2BWeights, an AverageDoseResponse or a DoWhy estimate."""
    candidates = [obj, _estimator_of(obj)]
    for c in list(candidates):
        candidates.append(getattr(c, "weighter_", None))
        candidates.append(getattr(getattr(c, "adrf_", None), "weighter_", None))
    for c in candidates:
        if c is not None and getattr(c, "loss_curve_", None) is not None:
            return c
    raise TypeError(
        "expected a fitted E2BWeights, an AverageDoseResponse with an E2B weighter, or a DoWhy estimate "
        f"with method 'e2b'; got {type(obj).__name__} (it has no training history)."
    )


def plot_training(result: Any, ax: Any = None, *, title: str | None = "E2B training") -> Any:
    """E2B's training and held-out loss per optimiser step, with the step that was kept.

    Step 0 is plain entropy balancing (the base-weight model starts at zero), so the height of
    the kept step against step 0 shows what training gained on the random response functions.

    Parameters
    ----------
    result : E2BWeights, AverageDoseResponse or CausalEstimate
        A fitted :class:`~dowhy_e2b.E2BWeights` or something holding one.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    title : str or None

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from dowhy_e2b import E2BWeights
    >>> from dowhy_e2b.datasets import make_linear
    >>> from dowhy_e2b.plotting import plot_training
    >>> ds = make_linear(n_samples=300, random_state=0)
    >>> e2b = E2BWeights(max_steps=5, random_state=0).fit(ds.X, ds.a, ds.y)
    >>> plot_training(e2b).get_ylabel()
    'loss'
    """
    import matplotlib.pyplot as plt

    fitted = _training_history(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    train = np.asarray(fitted.loss_curve_, dtype=float)
    ax.plot(np.arange(train.size), train, marker="o", ms=3, lw=1.5, label="training loss")
    valid = getattr(fitted, "validation_curve_", None)
    if valid is not None and len(valid):
        valid = np.asarray(valid, dtype=float)
        ax.plot(np.arange(valid.size), valid, marker="o", ms=3, lw=1.5, label="held-out loss")
        best = int(getattr(fitted, "best_step_", int(np.argmin(valid))))
        if 0 <= best < valid.size:
            ax.plot(
                [best],
                [valid[best]],
                marker="*",
                ms=14,
                color="tab:red",
                ls="none",
                label=f"kept (step {best})",
            )
    ax.set_xlabel("step (0 = entropy balancing)")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    return ax


def _analyses_of(obj: Any) -> Any:
    """The object that computes derivative and effect curves: a fitted AverageDoseResponse or
    SubgroupDoseResponse, or the estimator behind a DoWhy estimate from dowhy-e2b."""
    est = _estimator_of(obj)
    if not callable(getattr(est, "derivative_frame", None)):
        raise TypeError(
            "expected a fitted AverageDoseResponse or SubgroupDoseResponse, or a DoWhy estimate "
            f"from dowhy-e2b; got {type(obj).__name__}."
        )
    return est


#: Which bands the curve plots draw.
BANDS = ("both", "pointwise", "simultaneous", "none")


def _draw_bands(
    ax: Any,
    frame: pd.DataFrame,
    value: str,
    color: Any,
    label: str | None,
    level: float | None,
    band: str = "both",
) -> Any:
    """The curve ``frame[value]`` with its pointwise band (darker) and simultaneous band (lighter)."""
    if band not in BANDS:
        raise ValueError(f"band must be one of {list(BANDS)}, got {band!r}.")
    t = frame["treatment"].to_numpy(dtype=float)
    (line,) = ax.plot(t, frame[value], color=color, lw=2, label=label or "estimate")
    pct = "" if level is None else f"{level:.0%} "
    kinds = {"pointwise": ("ci_lower", "ci_upper", 0.25), "simultaneous": ("band_lower", "band_upper", 0.1)}
    for kind, (lo, hi, alpha) in kinds.items():
        if band not in (kind, "both") or not {lo, hi} <= set(frame.columns):
            continue
        if frame[[lo, hi]].notna().all().all():
            text = f"{pct}{kind} band"
            ax.fill_between(
                t,
                frame[lo],
                frame[hi],
                color=line.get_color(),
                alpha=alpha,
                lw=0,
                label=f"{label}: {text}" if label else text,
            )
    return line


def plot_derivative(
    result: Any,
    ax: Any = None,
    *,
    values: Any = None,
    label: str | None = None,
    color: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Any:
    r"""Plot the derivative curve :math:`\hat\mu'(a)` (average marginal effect) with its bands.

    A horizontal line marks zero: where the simultaneous band excludes it, a small increase of the
    dose changes the mean outcome.

    Parameters
    ----------
    result : AverageDoseResponse or CausalEstimate from dowhy-e2b
    ax : matplotlib Axes, optional
    values : array-like, optional
        Doses (default: the fitted grid).
    label, color, xlabel, ylabel : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from dowhy_e2b import AverageDoseResponse
    >>> from dowhy_e2b.datasets import make_nonlinear
    >>> from dowhy_e2b.plotting import plot_derivative
    >>> ds = make_nonlinear(n_samples=400, random_state=0)
    >>> ax = plot_derivative(AverageDoseResponse(n_bootstrap=20, random_state=0).fit(ds.X, ds.a, ds.y))
    >>> ax.get_ylabel()
    'derivative of the mean outcome'
    """
    import matplotlib.pyplot as plt

    frame = _analyses_of(result).derivative_frame(values)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.axhline(0.0, color="0.5", lw=1)
    _draw_bands(ax, frame, "derivative", color, label or "derivative", _confidence_level(result, frame))
    ax.set_xlabel(xlabel or "treatment")
    ax.set_ylabel(ylabel or "derivative of the mean outcome")
    ax.legend(frameon=False)
    return ax


def plot_effect_curve(
    result: Any,
    reference: float,
    ax: Any = None,
    *,
    values: Any = None,
    label: str | None = None,
    color: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Any:
    r"""Plot the effects relative to a reference dose, :math:`\hat\mu(a) - \hat\mu(\text{reference})`.

    Parameters
    ----------
    result : AverageDoseResponse, SubgroupDoseResponse or CausalEstimate from dowhy-e2b
    reference : float
        The reference dose (marked by a dotted vertical line).
    ax : matplotlib Axes, optional
    values : array-like, optional
        Doses (default: the fitted grid).
    label, color, xlabel, ylabel : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    frame = _analyses_of(result).effect_curve(reference, values)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.axhline(0.0, color="0.5", lw=1)
    ax.axvline(float(reference), color="0.5", lw=1, ls=":")
    level = _confidence_level(result, frame)
    _draw_bands(ax, frame, "effect", color, label or f"effect relative to {reference:g}", level)
    ax.set_xlabel(xlabel or "treatment")
    ax.set_ylabel(ylabel or f"mean outcome minus that at {reference:g}")
    ax.legend(frameon=False)
    return ax


def plot_subgroups(
    result: Any,
    ax: Any = None,
    *,
    band: str = "pointwise",
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Any:
    """Plot one dose-response curve per level of the effect modifier(s), each with its band.

    Parameters
    ----------
    result : SubgroupDoseResponse, a long-form DataFrame, or a DoWhy estimate with effect modifiers
        The long form has one column per modifier before ``treatment``.
    ax : matplotlib Axes, optional
    band : {"pointwise", "simultaneous", "none"}, default="pointwise"
    xlabel, ylabel : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if band not in ("pointwise", "simultaneous", "none"):
        raise ValueError(f"band must be 'pointwise', 'simultaneous' or 'none', got {band!r}.")
    if isinstance(result, pd.DataFrame):
        frame = result
    elif callable(getattr(result, "dose_response_frame", None)) and hasattr(result, "modifier_names_"):
        frame = result.dose_response_frame()
    else:
        frame = getattr(result, "dose_response", None)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"expected subgroup curves; got {type(result).__name__}.")
    modifiers = list(frame.columns[: list(frame.columns).index("treatment")])
    if not modifiers:
        raise ValueError("these are not subgroup curves: no modifier column before 'treatment'.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    lower, upper = ("ci_lower", "ci_upper") if band == "pointwise" else ("band_lower", "band_upper")
    for level, part in frame.groupby(modifiers, observed=True, sort=True):
        name = ", ".join(str(v) for v in (level if isinstance(level, tuple) else (level,)))
        t = part["treatment"].to_numpy(dtype=float)
        (line,) = ax.plot(t, part["mean_outcome"], lw=2, label=name)
        if band != "none" and part[[lower, upper]].notna().all().all():
            ax.fill_between(t, part[lower], part[upper], color=line.get_color(), alpha=0.15, lw=0)
    ax.set_xlabel(xlabel or "treatment")
    ax.set_ylabel(ylabel or "mean outcome")
    ax.legend(frameon=False, title=", ".join(map(str, modifiers)))
    return ax


#: Which sensitivity bounds :func:`plot_sensitivity` draws: ``lower``/``upper`` or their confidence version.
SENSITIVITY_BOUNDS = ("bounds", "ci")


def plot_sensitivity(
    result: Any,
    ax: Any = None,
    *,
    kind: str = "both",
    strengths: Any = (0.0, 0.02, 0.05, 0.1),
    bounds: str = "ci",
    benchmarks: bool = True,
    max_strength: float | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Any:
    r"""Plot a :func:`dowhy_e2b.sensitivity` result: bands around the curve, and the contrast's contours.

    * ``kind="curve"``: the estimated curve with the region its bounds allow under a hidden
      confounder of each strength in ``strengths`` (equal strengths ``r2_outcome = r2_treatment``,
      lighter for stronger), and the bounds under a confounder as strong as the strongest benchmarked
      covariate (dashed).
    * ``kind="contour"``: over ``r2_treatment`` (x) and ``r2_outcome`` (y), the contrast's bound
      nearest zero (the lower bound of a positive contrast, the upper of a negative one); the red
      contour is where it reaches 0, the cross the robustness value, the dots the benchmarked
      covariates ("as strong as ...").
    * ``kind="both"``: the two side by side.

    Parameters
    ----------
    result : SensitivityResult
    ax : matplotlib Axes (or a pair of them for ``kind="both"``), optional
    kind : {"both", "curve", "contour"}, default="both"
    strengths : sequence of float, default=(0.0, 0.02, 0.05, 0.1)
        Equal strengths of the curve's bands, in [0, 1) (with ``bounds="ci"``, strength 0 is the
        curve's pointwise confidence band).
    bounds : {"ci", "bounds"}, default="ci"
        Draw the confidence bounds (``ci_lower``/``ci_upper``: the bias bound plus the sampling
        margin), or the bounds on the estimand alone (``lower``/``upper``).
    benchmarks : bool, default=True
        Show the benchmarked covariates.
    max_strength : float, optional
        Largest strength on the contour plot's axes (default: enough to show the robustness value
        and the benchmarks, at least 0.2).
    xlabel, ylabel : str, optional
        Labels of the curve panel's axes.

    Returns
    -------
    matplotlib.axes.Axes, or an array of two for ``kind="both"``

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from dowhy_e2b import AverageDoseResponse, sensitivity
    >>> from dowhy_e2b.datasets import make_linear
    >>> from dowhy_e2b.plotting import plot_sensitivity
    >>> ds = make_linear(n_samples=300, random_state=0)
    >>> adrf = AverageDoseResponse(n_bootstrap=20, random_state=0).fit(ds.X, ds.a, ds.y)
    >>> result = sensitivity(adrf, ds.X, ds.a, ds.y, benchmark_covariates=["x1"])
    >>> axes = plot_sensitivity(result)
    >>> axes[1].get_xlabel()
    "r2_treatment (share of the weights' variation)"
    """
    import matplotlib.pyplot as plt

    if kind not in ("both", "curve", "contour"):
        raise ValueError(f"kind must be 'both', 'curve' or 'contour', got {kind!r}.")
    if bounds not in SENSITIVITY_BOUNDS:
        raise ValueError(f"bounds must be one of {list(SENSITIVITY_BOUNDS)}, got {bounds!r}.")
    if not hasattr(result, "contrast_table") or not hasattr(result, "curve"):
        raise TypeError(f"expected the result of dowhy_e2b.sensitivity; got {type(result).__name__}.")
    if kind == "both":
        if ax is None:
            _, axes = plt.subplots(1, 2, figsize=(12.0, 4.4), layout="constrained")
        else:
            axes = np.asarray(ax).ravel()
            if axes.size != 2:
                raise ValueError("kind='both' draws on two Axes: pass a pair (or none).")
        _sensitivity_curve(result, axes[0], strengths, bounds, benchmarks, xlabel, ylabel)
        _sensitivity_contour(result, axes[1], bounds, benchmarks, max_strength)
        return axes
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    if kind == "curve":
        _sensitivity_curve(result, ax, strengths, bounds, benchmarks, xlabel, ylabel)
    else:
        _sensitivity_contour(result, ax, bounds, benchmarks, max_strength)
    return ax


def _bound_columns(bounds: str) -> tuple[str, str]:
    return ("ci_lower", "ci_upper") if bounds == "ci" else ("lower", "upper")


def _sensitivity_curve(
    result: Any,
    ax: Any,
    strengths: Any,
    bounds: str,
    benchmarks: bool,
    xlabel: str | None,
    ylabel: str | None,
) -> None:
    lo, hi = _bound_columns(bounds)
    values = np.unique(np.asarray(strengths, dtype=float).ravel())
    if values.size == 0 or np.any(values < 0) or np.any(values >= 1):
        raise ValueError(f"strengths must be numbers in [0, 1), got {strengths!r}.")
    table = result.bounds(values, values)
    table = table[table["r2_outcome"] == table["r2_treatment"]]
    t = result.curve.values
    (line,) = ax.plot(t, result.curve.estimate, lw=2, color="tab:blue", label="estimate")
    alphas = np.linspace(0.35, 0.12, values.size)
    for r, alpha in zip(values, alphas, strict=True):
        part = table[table["r2_outcome"] == r]
        if part[[lo, hi]].isna().any().any() or (r == 0 and bounds == "bounds"):
            continue  # (without the sampling margin, strength 0 has no width)
        label = "strength 0: the confidence band" if r == 0 else f"R² = {r:g} (both)"
        ax.fill_between(t, part[lo], part[hi], color=line.get_color(), alpha=alpha, lw=0, label=label)
    curves = getattr(result, "benchmark_curves", None)
    if benchmarks and curves is not None and len(curves):
        name = str(result.benchmarks["covariate"].iloc[0])
        part = curves[curves["covariate"] == name]
        if not part[[lo, hi]].isna().any().any():
            ax.plot(t, part[lo], color="tab:red", ls="--", lw=1.2, label=f"as strong as {name}")
            ax.plot(t, part[hi], color="tab:red", ls="--", lw=1.2)
    what = "confidence bounds" if bounds == "ci" else "bounds"
    ax.set_title(f"Curve: {what} under a hidden confounder", fontsize=10)
    ax.set_xlabel(xlabel or "treatment")
    ax.set_ylabel(ylabel or "mean outcome")
    ax.legend(frameon=False, fontsize=8)


def _sensitivity_contour(
    result: Any, ax: Any, bounds: str, benchmarks: bool, max_strength: float | None
) -> None:
    lo, hi = _bound_columns(bounds)
    est = float(result.contrast.estimate[0])
    side = lo if est >= 0 else hi
    bench = result.benchmarks if benchmarks else result.benchmarks.iloc[:0]
    rv = result.robustness_value_ci if bounds == "ci" else result.robustness_value
    if max_strength is None:
        reach = [0.2, 1.5 * rv if np.isfinite(rv) else 0.0]
        if len(bench):  # the benchmarks, up to 0.6 (stronger ones sit on the edge)
            strongest = max(float(bench["r2_outcome"].max()), float(bench["r2_treatment"].max()))
            reach.append(min(1.15 * strongest, 0.6))
        max_strength = min(max(reach), 0.95)
    if not 0 < max_strength < 1:
        raise ValueError(f"max_strength must be in (0, 1), got {max_strength!r}.")
    grid = np.linspace(0.0, float(max_strength), 81)
    b = result.contrast.bounds(grid[:, None], grid[None, :], result.rho, result.confidence_level)
    Z = np.asarray(b[side])[..., 0]  # rows: r2_outcome, columns: r2_treatment
    if np.isnan(Z).all():
        raise ValueError("these bounds are undefined (no bootstrap replicates): use bounds='bounds'.")
    # Lines every quarter of the unconfounded bound, on both sides of zero (the zero line in red).
    step = abs(float(Z[0, 0])) / 4 or float(np.nanmax(np.abs(Z))) / 4 or 1.0
    levels = step * np.arange(-8, 9)
    levels = levels[(levels > np.nanmin(Z)) & (levels < np.nanmax(Z)) & (levels != 0)]
    if levels.size:
        cs = ax.contour(grid, grid, Z, levels=levels, colors="0.45", linewidths=0.8)
        ax.clabel(cs, fontsize=7, fmt="%.3g")
    if np.nanmin(Z) < 0 < np.nanmax(Z):
        ax.contour(grid, grid, Z, levels=[0.0], colors="tab:red", linewidths=2)
    if np.isfinite(rv) and rv <= max_strength:
        ax.plot([rv], [rv], "x", color="tab:red", ms=8, label=f"robustness value {rv:.3g}")
    for row in bench.itertuples(index=False):
        # A benchmark beyond the axes sits on their edge, its label giving its strengths.
        x, y = min(row.r2_treatment, max_strength), min(row.r2_outcome, max_strength)
        text = str(row.covariate)
        if (x, y) != (row.r2_treatment, row.r2_outcome):
            text += f" ({row.r2_treatment:.2g}, {row.r2_outcome:.2g})"
        ax.plot([x], [y], "o", color="black", ms=4, clip_on=False)
        offset = (3, -9) if y >= 0.9 * max_strength else (3, 3)
        ax.annotate(text, (x, y), fontsize=8, xytext=offset, textcoords="offset points")
    which = "lower" if side == lo else "upper"
    what = "confidence bound" if bounds == "ci" else "bound"
    ax.set_title(
        f"Contrast μ({result.treatment_value:.3g}) − μ({result.control_value:.3g}) = {est:.3g}: "
        f"its {which} {what}",
        fontsize=10,
    )
    ax.set_xlabel("r2_treatment (share of the weights' variation)")
    ax.set_ylabel("r2_outcome (share of the outcome's residual variance)")
    ax.set_xlim(0, max_strength)
    ax.set_ylim(0, max_strength)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8, loc="upper right")
