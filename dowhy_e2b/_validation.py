"""Input checks shared by the estimators, the DoWhy adapter and the command line.

Messages name the parameter or column, what was expected, what was received, and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import DiscreteTreatmentWarning, ExtrapolationWarning

__all__ = [
    "as_float_vector",
    "check_dose_grid",
    "check_treatment",
    "encode_frame",
    "is_constant",
]

#: A treatment with fewer distinct values than this is accepted with a warning.
FEW_DISTINCT_VALUES = 10
#: Share of rows at the two most frequent values from which a treatment counts as near-binary.
NEAR_BINARY_SHARE = 0.95


def as_float_vector(values: Any, name: str, role: str = "column") -> np.ndarray:
    """A finite 1-d float array, or a ``TypeError``/``ValueError`` that names ``name``."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ValueError(f"{role} '{name}' must be one column, got {values.shape[1]} columns.")
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series) and not (
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    ):
        raise TypeError(
            f"{role} '{name}' must be numeric, got dtype {values.dtype}. Encode it as numbers "
            "(a continuous dose or outcome) before estimating."
        )
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{role} '{name}' must be numeric; could not convert it to float ({err}).") from None
    arr = arr.reshape(-1) if arr.ndim > 1 and arr.size == arr.shape[0] else arr
    if arr.ndim != 1:
        raise ValueError(f"{role} '{name}' must be one-dimensional, got shape {arr.shape}.")
    _check_finite(arr, name, role)
    return arr


def _check_finite(arr: np.ndarray, name: str, role: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        kind = "missing (NaN)" if np.isnan(arr).any() else "infinite"
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{role} '{name}' has {int(bad.sum())} {kind} value(s) (first at row position {first}). "
            "Drop or impute those rows before estimating."
        )


def is_constant(a: np.ndarray) -> bool:
    """Whether ``a`` takes a single value."""
    return a.size == 0 or bool(np.all(a == a[0]))


def check_treatment(a: Any, name: str = "treatment") -> np.ndarray:
    """Validate a continuous treatment; returns it as a float array.

    Raises
    ------
    TypeError
        Non-numeric treatment.
    ValueError
        Missing or infinite values; binary or near-binary treatment (two values hold at least
        95% of the rows).

    Warns
    -----
    DiscreteTreatmentWarning
        Fewer than 10 distinct values (a discrete dose: the curve interpolates between levels).
    """
    arr = as_float_vector(a, name, role="treatment")
    values, counts = np.unique(arr, return_counts=True)
    if values.size == 1:
        return arr
    top2 = np.sort(counts)[-2:].sum() / arr.size
    if values.size == 2 or top2 >= NEAR_BINARY_SHARE:
        detail = (
            f"has {values.size} distinct values"
            if values.size == 2
            else f"is near-binary: {100 * top2:.1f}% of rows take one of two values"
        )
        raise ValueError(
            f"treatment '{name}' {detail}; these estimators need a continuous treatment — use "
            "DoWhy's propensity-score estimators (e.g. 'backdoor.propensity_score_weighting') "
            "for binary treatments."
        )
    if values.size < FEW_DISTINCT_VALUES:
        warnings.warn(
            f"treatment '{name}' has only {values.size} distinct values; the dose-response curve "
            "is interpolated between them.",
            DiscreteTreatmentWarning,
            stacklevel=3,
        )
    return arr


def encode_frame(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Numeric design matrix of the ``columns`` of ``frame``, one-hot encoding categorical ones.

    Numeric columns are used as they are; bool, object, string and category columns are one-hot
    encoded with their first level dropped (named ``"column[level]"``). The frame is not modified.

    Raises
    ------
    KeyError
        A column is missing from the frame.
    ValueError
        A column has missing or infinite values (the message names it).
    """
    columns = list(frame.columns if columns is None else columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the data; available columns: {list(frame.columns)}.")
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for col in columns:
        s = frame[col]
        if s.isna().any():
            raise ValueError(
                f"confounder '{col}' has {int(s.isna().sum())} missing value(s). Drop or impute those "
                "rows before estimating."
            )
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            arr = s.to_numpy(dtype=float)
            _check_finite(arr, str(col), "confounder")
            blocks.append(arr[:, None])
            names.append(str(col))
        else:
            cat = pd.Categorical(s)
            levels = list(cat.categories)
            codes = cat.codes
            for level_idx, level in enumerate(levels[1:], start=1):
                blocks.append((codes == level_idx).astype(float)[:, None])
                names.append(f"{col}[{level}]")
    X = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
    return X, names


def check_dose_grid(dose_grid: Any, a: np.ndarray, name: str = "dose_grid") -> np.ndarray:
    """Treatment values at which to report the curve.

    An int ``k`` gives ``k`` points evenly spaced between the 5th and 95th percentiles of ``a``;
    an array is used as given (sorted), with an :class:`ExtrapolationWarning` for values outside
    the observed range.
    """
    if isinstance(dose_grid, (int, np.integer)) and not isinstance(dose_grid, bool):
        if dose_grid < 2:
            raise ValueError(f"{name} must be an int >= 2 or an array of treatment values, got {dose_grid}.")
        lo, hi = np.percentile(a, [5, 95])
        return np.linspace(lo, hi, int(dose_grid))
    try:
        grid = np.asarray(dose_grid, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be an int >= 2 or an array of treatment values, got {type(dose_grid).__name__}."
        ) from None
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} must hold at least one finite treatment value.")
    warn_outside_support(grid, a, name)
    return np.sort(grid)


def warn_outside_support(values: np.ndarray, a: np.ndarray, name: str) -> None:
    """Warn (:class:`ExtrapolationWarning`) for values outside ``[min(a), max(a)]``."""
    values = np.atleast_1d(np.asarray(values, dtype=float))
    lo, hi = float(np.min(a)), float(np.max(a))
    outside = values[(values < lo) | (values > hi)]
    if outside.size:
        warnings.warn(
            f"{name} {outside.tolist()[:5]} lies outside the observed treatment range "
            f"[{lo:.4g}, {hi:.4g}]; the curve there is an extrapolation.",
            ExtrapolationWarning,
            stacklevel=3,
        )
