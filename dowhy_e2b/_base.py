"""Shared plumbing of the weighting estimators (scikit-learn conventions).

Every ``fit`` ends with the balance check of :mod:`dowhy_e2b.balance_check` (a
:class:`~dowhy_e2b.exceptions.BalanceWarning` when the weights miss its thresholds); weights
recomputed for a bootstrap resample (:meth:`BaseWeights.weights_for`) are not checked again.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_numeric_frame, check_treatment, is_constant
from .balance_check import check_balance
from .distributed import is_dask
from .exceptions import BalanceWarning, EmptyDataError

__all__ = ["BaseWeights", "strict_clone"]


class BaseWeights(BaseEstimator):
    """Base class of the balancing-weight estimators.

    Subclasses implement ``_fit_weights(X, a, sample_weight)`` returning weights with mean 1 and
    may set further fitted attributes. ``fit(X, a)`` follows scikit-learn's contract: the
    treatment plays the role of ``y``. After fitting, the weights' balance is checked
    (``balance_check_``; a :class:`~dowhy_e2b.exceptions.BalanceWarning` names what missed the
    thresholds, followed by the subclass's :attr:`balance_advice`).
    """

    #: Name of the method in messages.
    method_label: ClassVar[str] = "weights"
    #: What to try when the weights miss the balance threshold (appended to the BalanceWarning).
    balance_advice: ClassVar[str] = ""

    def _validate_inputs(
        self, X: Any, a: Any, sample_weight: Any = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if isinstance(X, pd.DataFrame):
            check_numeric_frame(X)
        elif hasattr(X, "shape") and len(X.shape) >= 1 and X.shape[0] == 0:
            raise EmptyDataError("X has no rows: there is nothing to balance.")
        X, a = validate_data(self, X, a, y_numeric=True, ensure_min_samples=2, dtype=np.float64)
        a = check_treatment(a, name="treatment")
        if is_constant(a):
            raise ValueError(
                "treatment is constant: there is no dose-response to balance for. "
                "AverageDoseResponse and the DoWhy estimators return a zero effect in that case."
            )
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float).ravel()
            if sample_weight.shape != a.shape:
                raise ValueError(f"sample_weight must have shape ({a.shape[0]},), got {sample_weight.shape}.")
            if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
                raise ValueError("sample_weight must be finite and non-negative.")
            if sample_weight.sum() <= 0:
                raise ValueError("sample_weight must have a positive sum.")
        return X, a, sample_weight

    def fit(self, X: Any, a: Any, y: Any = None, sample_weight: Any = None) -> BaseWeights:
        """Estimate balancing weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_covariates)
            Confounders (numeric; one-hot encode categorical ones first).
        a : array-like of shape (n_samples,)
            Continuous treatment.
        y : array-like of shape (n_samples,), optional
            The outcome; not used by this estimator (accepted so that every weighting estimator
            has the same signature: :class:`~dowhy_e2b.E2BWeights` uses it).
        sample_weight : array-like of shape (n_samples,), optional
            Frequency or survey weights of the units. Integer weights are equivalent to
            duplicating rows.

        Returns
        -------
        self

        Raises
        ------
        InvalidDataError
            Empty data, missing values, duplicated or non-numeric columns (a subclass from
            :mod:`dowhy_e2b.exceptions` that names the column).

        Warns
        -----
        BalanceWarning
            The weights miss a balance threshold (see :mod:`dowhy_e2b.balance_check`).
        """
        if is_dask(X):  # chunk by chunk on a Dask cluster: dowhy_e2b.distributed
            from .distributed.weights import fit_weights

            return fit_weights(self, X, a, sample_weight)
        X, a, sample_weight = self._validate_inputs(X, a, sample_weight)
        weights = self._fit_weights(X, a, sample_weight)
        self.weights_ = weights
        check_balance(self, X, a, method=self.method_label, advice=self.balance_advice)
        return self

    def _fit_weights(self, X: np.ndarray, a: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def weights_for(self, X: Any, a: Any, sample_weight: Any = None, strict: bool = False) -> np.ndarray:
        """Balancing weights for another sample, e.g. a bootstrap resample.

        Reuses what ``fit`` learned that is expensive to learn; for this estimator that is
        nothing, so the weights are re-estimated from scratch on ``(X, a)``. The fitted estimator
        is not changed. The balance of a resample is not checked (no
        :class:`~dowhy_e2b.exceptions.BalanceWarning`): ``fit`` checked the weights that are used.

        Parameters
        ----------
        X, a, sample_weight
            The other sample.
        strict : bool, default=False
            Refuse weights that miss the balance ``fit`` reached: where this estimator can refuse
            unbalanced weights (``on_failure``) and converged on its data, a sample where it does
            not converge raises :class:`~dowhy_e2b.exceptions.BalanceError` (see
            :func:`strict_clone`).

        Returns
        -------
        ndarray of shape (n_samples,)
            Weights with mean 1.
        """
        check_is_fitted(self, "weights_")
        refit = (strict_clone(self) if strict else None) or clone(self)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BalanceWarning)
            return refit.fit(X, a, sample_weight=sample_weight).weights_

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def strict_clone(weighter: Any) -> Any | None:
    """An unfitted clone of ``weighter`` that raises :class:`~dowhy_e2b.exceptions.BalanceError`
    where balance fails, if ``weighter`` can refuse unbalanced weights (``on_failure``) and reached
    balance on its data; ``None`` otherwise."""
    if weighter.get_params(deep=False).get("on_failure") == "warn" and getattr(weighter, "converged_", False):
        return clone(weighter).set_params(on_failure="raise")
    return None


def relaxed_clone(weighter: Any, max_imbalance: float) -> Any | None:
    """An unfitted clone of ``weighter`` with approximate balance (``max_imbalance``), if it balances
    exactly (it has a ``max_imbalance`` and neither it nor a ``ridge`` is set); ``None`` otherwise."""
    params = weighter.get_params(deep=False)
    if "max_imbalance" not in params or params["max_imbalance"] or params.get("ridge"):
        return None
    return clone(weighter).set_params(max_imbalance=max_imbalance)


def normalise_weights(w: np.ndarray) -> np.ndarray:
    """Weights rescaled to mean 1."""
    return w * (w.shape[0] / w.sum())
