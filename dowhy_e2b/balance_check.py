r"""The balance guarantee: every weighting estimator checks its weights after ``fit``.

Two numbers are measured on the fitted weights and compared with documented thresholds:

* the largest weighted :math:`|\mathrm{corr}(a, f)|` between the treatment and a balanced feature
  :math:`f` — each covariate (every level of a categorical one) and, for estimators that balance
  higher moments, its powers up to ``moments``. The threshold, :data:`MAX_ABS_CORR` = 0.1, is
  cobalt's convention for a continuous treatment (Greifer's ``bal.tab``; Zhu, Coffman & Ghosh
  2015; Austin 2019);
* Kish's effective sample size :math:`(\sum w)^2 / \sum w^2` as a share of the rows. The threshold,
  :data:`MIN_ESS_FRACTION` = 0.1, is the audit's: below it the curve rests on a tenth of the data or
  less, which is where the weights start to be dominated by a few units.

Crossing either emits a :class:`~dowhy_e2b.exceptions.BalanceWarning` that names the worst
covariates, what was measured and what to try; the result is stored on the estimator as
``balance_check_`` (a :class:`BalanceCheck`). A weighting estimator calls :func:`check_balance` at
the end of ``fit`` — one line — and not when it recomputes weights for a bootstrap resample.

References
----------
Zhu, Y., Coffman, D. L., Ghosh, D. (2015). A boosting algorithm for estimating generalized
propensity scores with continuous treatments. *Journal of Causal Inference* 3(1).
Austin, P. C. (2019). Assessing covariate balance when using the generalized propensity score with
quantitative or continuous exposures. *Statistical Methods in Medical Research* 28(5).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .diagnostics import balance_table
from .exceptions import BalanceWarning

__all__ = [
    "MAX_ABS_CORR",
    "MIN_ESS_FRACTION",
    "BalanceCheck",
    "check_balance",
    "measure_balance",
    "warn_if_unbalanced",
]

#: Largest acceptable weighted :math:`|\mathrm{corr}(a, f)|` of the treatment with a balanced feature.
MAX_ABS_CORR = 0.1
#: Smallest acceptable effective sample size, as a share of the rows.
MIN_ESS_FRACTION = 0.1
#: How many of the worst features a message names.
N_NAMED = 4


@dataclass(frozen=True)
class BalanceCheck:
    """What :func:`measure_balance` found.

    Attributes
    ----------
    method : str
        The weighting method, for messages.
    max_abs_corr : float
        Largest weighted :math:`|\\mathrm{corr}(a, f)|` over the balanced features.
    worst : tuple of (str, float)
        The features above ``corr_threshold`` (at least the worst one), worst first, with their
        weighted correlation.
    n_above : int
        How many balanced features are above ``corr_threshold``.
    n_features : int
        How many balanced features were checked.
    effective_sample_size : float
    n : int
        Rows.
    corr_threshold, min_ess_fraction : float
        The thresholds applied.
    """

    method: str
    max_abs_corr: float
    worst: tuple[tuple[str, float], ...]
    n_above: int
    n_features: int
    effective_sample_size: float
    n: int
    corr_threshold: float = MAX_ABS_CORR
    min_ess_fraction: float = MIN_ESS_FRACTION

    @property
    def corr_ok(self) -> bool:
        """Whether every balanced feature's weighted correlation is within the threshold."""
        return not self.max_abs_corr > self.corr_threshold

    @property
    def ess_ok(self) -> bool:
        """Whether the effective sample size is at least ``min_ess_fraction`` of the rows."""
        return self.effective_sample_size >= self.min_ess_fraction * self.n

    @property
    def ok(self) -> bool:
        """Whether both thresholds are met."""
        return self.corr_ok and self.ess_ok

    def summary(self) -> str:
        """The measurements in one sentence, e.g. for a warning or a log line."""
        named = ", ".join(f"{name} {corr:+.2f}" for name, corr in self.worst[:N_NAMED])
        more = f" and {self.n_above - N_NAMED} more" if self.n_above > N_NAMED else ""
        corr = (
            f"max weighted |corr(treatment, covariate)| {self.max_abs_corr:.3g} "
            f"{'≤' if self.corr_ok else '>'} {self.corr_threshold:g}"
        )
        if not self.corr_ok:
            corr += f" for {self.n_above} of {self.n_features} balanced features ({named}{more})"
        share = self.effective_sample_size / max(self.n, 1)
        ess = (
            f"effective sample size {self.effective_sample_size:.1f} of {self.n} rows ({share:.0%} "
            f"{'≥' if self.ess_ok else '<'} {self.min_ess_fraction:.0%})"
        )
        return f"{self.method}: {corr}; {ess}."


def measure_balance(
    X: Any,
    a: Any,
    weights: Any,
    *,
    moments: int = 1,
    feature_names: Any = None,
    method: str = "weights",
    corr_threshold: float = MAX_ABS_CORR,
    min_ess_fraction: float = MIN_ESS_FRACTION,
) -> BalanceCheck:
    """Measure the balance and effective sample size of ``weights`` (no warning).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_covariates)
        The covariates the weights balance (a categorical DataFrame column, or one-hot columns
        named ``"column[level]"``, counts with every level).
    a : array-like of shape (n_samples,)
        Treatment.
    weights : array-like of shape (n_samples,)
        The weights (including any sample weights).
    moments : int, default=1
        Powers of the covariates that count as balanced features.
    feature_names : sequence of str, optional
    method : str
        Name of the weighting method, for messages.
    corr_threshold, min_ess_fraction : float
        The thresholds (defaults :data:`MAX_ABS_CORR`, :data:`MIN_ESS_FRACTION`).

    Returns
    -------
    BalanceCheck

    Examples
    --------
    >>> import numpy as np
    >>> from dowhy_e2b.balance_check import measure_balance
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2))
    >>> a = X[:, 0] + rng.normal(size=400)
    >>> check = measure_balance(X, a, np.ones(400), method="unweighted")
    >>> check.ok, check.worst[0][0]
    (False, 'x0')
    """
    table = balance_table(X, a, weights, feature_names=feature_names, moments=int(moments))
    w = np.asarray(weights, dtype=float).ravel()
    after = table["corr_weighted"].to_numpy(dtype=float)
    labels = [
        name if p == 1 else f"{name}^{p}" for name, p in zip(table["covariate"], table["power"], strict=True)
    ]
    order = np.argsort(-np.abs(after), kind="stable")
    above = [i for i in order if abs(after[i]) > corr_threshold]
    worst = tuple((labels[i], float(after[i])) for i in (above or list(order[:1])))
    return BalanceCheck(
        method=method,
        max_abs_corr=float(np.abs(after).max()) if after.size else 0.0,
        worst=worst,
        n_above=len(above),
        n_features=int(after.size),
        effective_sample_size=float(table.attrs["effective_sample_size"]),
        n=int(w.size),
        corr_threshold=float(corr_threshold),
        min_ess_fraction=float(min_ess_fraction),
    )


_ESS_ADVICE = (
    "A low effective sample size means poor overlap: the curve rests on a few heavily weighted "
    "units, so expect wide bands; consider trimming extreme doses or covariate values."
)


def check_balance(
    estimator: Any,
    X: Any,
    a: Any,
    weights: Any = None,
    *,
    moments: int | None = None,
    method: str | None = None,
    advice: str = "",
    warn: bool = True,
    stacklevel: int = 3,
) -> BalanceCheck:
    """The post-fit balance check of a weighting estimator: measure, store, warn.

    Sets ``estimator.balance_check_`` and emits a :class:`~dowhy_e2b.exceptions.BalanceWarning`
    when a threshold is missed. Call it at the end of ``fit`` (not for bootstrap resamples):
    ``check_balance(self, X, a)``.

    Parameters
    ----------
    estimator : fitted weighting estimator
        Supplies ``weights_`` (unless ``weights`` is given), ``moments`` (default 1) and
        ``feature_names_in_`` (covariate names) when it has them.
    X : array-like of shape (n_samples, n_covariates)
        The covariates passed to ``fit`` (validated).
    a : array-like of shape (n_samples,)
        The treatment passed to ``fit``.
    weights : array-like, optional
        The weights to check; default ``estimator.weights_``.
    moments : int, optional
        Powers that count as balanced; default ``estimator.moments`` or 1.
    method : str, optional
        Name for the message; default the estimator's class name.
    advice : str
        What to try, appended to the message.
    warn : bool, default=True
        Whether to warn; ``False`` for an estimator that raises instead (``on_failure="raise"``).
    stacklevel : int, default=3
        Passed to :func:`warnings.warn` (3 points at the caller of ``fit``).

    Returns
    -------
    BalanceCheck
    """
    names = getattr(estimator, "feature_names_in_", None)
    check = measure_balance(
        X,
        a,
        estimator.weights_ if weights is None else weights,
        moments=int(moments if moments is not None else getattr(estimator, "moments", 1) or 1),
        feature_names=None if names is None else [str(c) for c in names],
        method=method or type(estimator).__name__,
    )
    estimator.balance_check_ = check
    if warn:
        warn_if_unbalanced(check, advice, stacklevel=stacklevel + 1)
    return check


def warn_if_unbalanced(check: BalanceCheck, advice: str = "", stacklevel: int = 2) -> None:
    """Emit the :class:`~dowhy_e2b.exceptions.BalanceWarning` of ``check`` if it missed a threshold."""
    if check.ok:
        return
    tips = [advice] if advice and not check.corr_ok else []
    if not check.ess_ok:
        tips.append(_ESS_ADVICE)
    warnings.warn(" ".join([check.summary(), *tips]), BalanceWarning, stacklevel=stacklevel + 1)
