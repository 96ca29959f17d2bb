r"""Dose-response curves within subgroups: :math:`\mu_g(a) = E[Y(a) \mid G = g]`.

:class:`SubgroupDoseResponse` fits one :class:`~dowhy_e2b.AverageDoseResponse` per level of a
categorical effect modifier (or per combination of levels of several): the weights balance the
confounders within the level, and the outcome stage and bands are those of the template. Numeric
modifiers with many values are cut into quantile bins first.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .dose_response import AverageDoseResponse

__all__ = ["MIN_GROUP_SIZE", "SubgroupDoseResponse", "discretise_modifiers"]

logger = logging.getLogger(__name__)

#: Levels with fewer rows than this get no curve (a warning names them).
MIN_GROUP_SIZE = 30
#: A numeric modifier with more distinct values than this is cut into quantile bins.
MAX_NUMERIC_LEVELS = 10


def discretise_modifiers(frame: pd.DataFrame, n_bins: int = 5) -> pd.DataFrame:
    """The modifiers as categories: numeric columns with more than 10 distinct values are cut into
    ``n_bins`` quantile bins (labelled by their intervals); other columns are kept as they are.

    The frame is not modified.
    """
    out = {}
    for col in frame.columns:
        s = frame[col]
        if (
            pd.api.types.is_numeric_dtype(s.dtype)
            and not pd.api.types.is_bool_dtype(s.dtype)
            and s.nunique() > MAX_NUMERIC_LEVELS
        ):
            logger.info("effect modifier %r is numeric: cut into %d quantile bins.", col, n_bins)
            out[col] = pd.qcut(s, q=n_bins, duplicates="drop")
        else:
            out[col] = s
    return pd.DataFrame(out, index=frame.index)


class SubgroupDoseResponse(BaseEstimator):
    r"""One average dose-response curve per level of one or more effect modifiers.

    Parameters
    ----------
    estimator : AverageDoseResponse, optional
        The template fitted within every level (cloned; default ``AverageDoseResponse()``). Its
        ``dose_grid``, if an int, gives each level its own grid between that level's 5th and 95th
        treatment percentiles; an array is shared by all levels.
    n_bins : int, default=5
        Quantile bins for a numeric modifier with more than 10 distinct values.
    min_group_size : int, default=30
        Levels with fewer rows are skipped with a warning.

    Attributes
    ----------
    estimators_ : dict
        The fitted :class:`AverageDoseResponse` of every level (keys: tuples of levels).
    modifier_names_ : list of str
    skipped_ : dict
        Levels that got no curve, with their number of rows.

    Examples
    --------
    >>> from dowhy_e2b import AverageDoseResponse, SubgroupDoseResponse
    >>> from dowhy_e2b.datasets import load_lemonade
    >>> ds = load_lemonade(n_samples=800, random_state=0)
    >>> X = ds.X.drop(columns="region")
    >>> sub = SubgroupDoseResponse(AverageDoseResponse(n_bootstrap=20, random_state=0))
    >>> sub = sub.fit(X, ds.a, ds.y, modifiers=ds.data[["region"]])
    >>> sorted(sub.dose_response_frame()["region"].unique())
    ['city', 'coast', 'mountain', 'valley']
    """

    def __init__(self, estimator: Any = None, n_bins: int = 5, min_group_size: int = MIN_GROUP_SIZE):
        self.estimator = estimator
        self.n_bins = n_bins
        self.min_group_size = min_group_size

    def fit(
        self, X: Any, a: Any, y: Any, modifiers: pd.DataFrame | pd.Series, sample_weight: Any = None
    ) -> SubgroupDoseResponse:
        """Fit a curve within every level of ``modifiers``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_covariates)
            Confounders (a modifier that is also a confounder is constant within a level, which
            is harmless: constant columns are not balanced).
        a, y : array-like of shape (n_samples,)
        modifiers : DataFrame or Series of length n_samples
            The effect modifiers; their column names name the levels in the output.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        mods = modifiers.to_frame() if isinstance(modifiers, pd.Series) else pd.DataFrame(modifiers)
        if mods.shape[1] == 0:
            raise ValueError("modifiers must hold at least one column.")
        if mods.isna().any().any():
            bad = [str(c) for c in mods.columns if mods[c].isna().any()]
            raise ValueError(f"effect modifier(s) {bad} have missing values; drop or impute those rows.")
        n = len(mods)
        a = np.asarray(a, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        if not (len(a) == len(y) == n == len(X)):
            raise ValueError(
                f"X, a, y and modifiers must have the same number of rows, got {len(X)}, {len(a)}, "
                f"{len(y)}, {n}."
            )
        mods = discretise_modifiers(mods.reset_index(drop=True), int(self.n_bins))
        self.modifier_names_ = [str(c) for c in mods.columns]
        template = AverageDoseResponse() if self.estimator is None else self.estimator
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
        self.estimators_: dict[tuple, AverageDoseResponse] = {}
        self.skipped_: dict[tuple, int] = {}
        codes = mods.astype(str).agg("\x1f".join, axis=1) if mods.shape[1] > 1 else mods.iloc[:, 0]
        for _, idx in pd.Series(np.arange(n)).groupby(codes.to_numpy(), sort=True):
            rows = idx.to_numpy()
            level = tuple(mods.iloc[rows[0]])
            if rows.size < int(self.min_group_size):
                self.skipped_[level] = int(rows.size)
                continue
            X_g = X.iloc[rows] if isinstance(X, pd.DataFrame) else np.asarray(X)[rows]
            self.estimators_[level] = clone(template).fit(
                X_g, a[rows], y[rows], sample_weight=None if sw is None else sw[rows]
            )
        if self.skipped_:
            skipped = ", ".join(f"{self._name(k)} ({v} rows)" for k, v in self.skipped_.items())
            warnings.warn(
                f"no curve for level(s) with fewer than {self.min_group_size} rows: {skipped}.",
                UserWarning,
                stacklevel=2,
            )
        if not self.estimators_:
            raise ValueError(
                f"every level of {self.modifier_names_} has fewer than {self.min_group_size} rows: "
                "there is no subgroup curve to estimate."
            )
        return self

    def _name(self, level: tuple) -> str:
        return ", ".join(f"{m}={v}" for m, v in zip(self.modifier_names_, level, strict=True))

    def _long(self, method: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        check_is_fitted(self, "estimators_")
        frames = []
        for level, est in self.estimators_.items():
            frame = getattr(est, method)(*args, **kwargs)
            for name, value in zip(self.modifier_names_, level, strict=True):
                frame.insert(0, name, value)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def dose_response_frame(self, values: Any = None, confidence_level: float | None = None) -> pd.DataFrame:
        """The curves in long form: the modifier column(s) then
        :meth:`AverageDoseResponse.dose_response_frame`'s columns (default: each level's grid)."""
        return self._long("dose_response_frame", values, confidence_level)

    def derivative_frame(self, values: Any = None, confidence_level: float | None = None) -> pd.DataFrame:
        """The derivative curves in long form (see :meth:`AverageDoseResponse.derivative_frame`)."""
        return self._long("derivative_frame", values, confidence_level)

    def effect_curve(
        self, reference: float, values: Any = None, confidence_level: float | None = None
    ) -> pd.DataFrame:
        """Effects relative to ``reference`` within every level, in long form."""
        return self._long("effect_curve", reference, values, confidence_level)

    def contrasts(self, treatment_value: float, control_value: float) -> pd.DataFrame:
        """:math:`\\hat\\mu_g(t) - \\hat\\mu_g(c)` per level with its interval and standard error."""
        check_is_fitted(self, "estimators_")
        rows = []
        for level, est in self.estimators_.items():
            lo, hi = est.contrast_interval(treatment_value, control_value)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                effect = est.contrast(treatment_value, control_value)
            for w in caught:  # say which level a warning is about
                warnings.warn(f"in {self._name(level)}: {w.message}", w.category, stacklevel=2)
            rows.append(
                {
                    **dict(zip(self.modifier_names_, level, strict=True)),
                    "effect": effect,
                    "ci_lower": lo,
                    "ci_upper": hi,
                    "std_error": est.contrast_std_error(treatment_value, control_value),
                    "n": int(est.weights_.size),
                }
            )
        return pd.DataFrame(rows)
