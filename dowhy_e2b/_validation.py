"""Input checks shared by the estimators, the DoWhy adapter and the command line.

Messages name the parameter or column, what was expected, what was received, and the fix. Every
failure is a typed ``ValueError`` from :mod:`dowhy_e2b.exceptions` (or a ``KeyError`` for a
column that is not there). Nothing here modifies its input.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import (
    ColumnTypeError,
    ContrastError,
    DiscreteTreatmentWarning,
    DuplicateColumnError,
    EmptyDataError,
    ExtrapolationWarning,
    InvalidDataError,
    MissingValueError,
    TooManyConstraintsError,
    TooManyLevelsError,
)

__all__ = [
    "MAX_LEVELS",
    "as_float_vector",
    "check_columns",
    "check_constraint_count",
    "check_contrast",
    "check_dose_grid",
    "check_numeric_frame",
    "check_treatment",
    "default_contrast",
    "encode_frame",
    "is_constant",
    "point_fit_failure",
    "require_varying_treatment",
]

#: A treatment with fewer distinct values than this is accepted with a warning.
FEW_DISTINCT_VALUES = 10
#: Share of rows at the two most frequent values from which a treatment counts as near-binary.
NEAR_BINARY_SHARE = 0.95
#: Most distinct values a text or categorical confounder may have. Each level but the first becomes
#: a one-hot column, balanced by its mean and by its correlation with the treatment (two
#: constraints per level); a column with more levels than this is usually a date, an identifier or
#: a number stored as text, and would use up the data's rows in constraints.
MAX_LEVELS = 50
#: Distinct text values inspected to tell dates and numbers written as text from categories.
_SNIFF_VALUES = 1000
#: Currency signs, thousands separators, percent signs and spaces: formatting around a number.
_NUMBER_FORMATTING = re.compile(r"[\s$€£¥,%]")
_FORMATTED = re.compile(r"[$€£¥,%]")
#: Dates and times written as text: ISO 8601 (2021-03-04, 2021-03-04 10:30:00) or 04/03/2021.
_DATE_TEXT = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?)$"
)


# -- columns and frames ---------------------------------------------------------------------------
def check_columns(frame: Any, columns: Sequence[Any]) -> None:
    """Check that ``frame`` is a non-empty DataFrame holding each of ``columns`` exactly once.

    Raises
    ------
    TypeError
        ``frame`` is not a DataFrame.
    KeyError
        A column is missing (the message lists the available ones).
    EmptyDataError
        The frame has no rows.
    DuplicateColumnError
        A requested column name appears more than once.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"the data must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the data; available columns: {list(frame.columns)}.")
    if len(frame) == 0:
        raise EmptyDataError(
            f"the data have no rows (columns {list(frame.columns)[:10]}): there is nothing to estimate "
            "from. Check how the table was read or filtered."
        )
    duplicated = [c for c in dict.fromkeys(columns) if int((frame.columns == c).sum()) > 1]
    if duplicated:
        counts = {str(c): int((frame.columns == c).sum()) for c in duplicated}
        raise DuplicateColumnError(
            f"the data have several columns with the same name: {counts} (name: count). Each "
            "column must have its own name: rename or drop the copies, e.g. "
            "df = df.loc[:, ~df.columns.duplicated()] if they are identical."
        )


def _date_advice(name: str, kind: str) -> str:
    if kind == "timedelta":
        return f"e.g. in days: df['{name}'].dt.total_seconds() / 86400"
    return (
        f"e.g. days since the first date: (df['{name}'] - df['{name}'].min()).dt.days, or a "
        f"categorical with few levels: df['{name}'].dt.year.astype('category')"
    )


def _check_not_temporal(s: pd.Series, name: str, role: str) -> None:
    """Dates and durations (as dtypes, Python objects or text) cannot be used as they stand."""
    dtype = s.dtype
    kind = None
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        kind = "datetime"
    elif pd.api.types.is_timedelta64_dtype(dtype):
        kind = "timedelta"
    elif pd.api.types.is_object_dtype(dtype):
        sample = s.dropna().iloc[:_SNIFF_VALUES]
        if len(sample) and all(isinstance(v, (_dt.date, _dt.time, np.datetime64)) for v in sample):
            kind = "datetime"
        elif len(sample) and all(isinstance(v, (_dt.timedelta, np.timedelta64)) for v in sample):
            kind = "timedelta"
    if kind is not None:
        what = "dates" if kind == "datetime" else "durations"
        raise ColumnTypeError(
            f"{role} '{name}' holds {what} (dtype {dtype}), which cannot be balanced as they stand. "
            f"Convert it to a number ({_date_advice(name, kind)}) and pass the converted column."
        )


def _text_values(s: pd.Series) -> list[str] | None:
    """The distinct values of a text column (at most ``_SNIFF_VALUES``), or ``None`` if not text."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return None
    if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
        return None
    uniques = pd.unique(s.dropna())[:_SNIFF_VALUES]
    if not len(uniques) or not all(isinstance(v, str) for v in uniques):
        return None
    return [str(v) for v in uniques]


def _parses_as_number(text: str) -> bool:
    stripped = _NUMBER_FORMATTING.sub("", text)
    if stripped.startswith("(") and stripped.endswith(")"):  # accounting negatives: (1,234)
        stripped = stripped[1:-1]
    try:
        float(stripped)
    except ValueError:
        return False
    return bool(stripped)


def _check_text(s: pd.Series, name: str, role: str, n_levels: int, max_levels: int) -> None:
    """Text that is really dates or numbers gets an error that says how to convert it."""
    values = _text_values(s)
    if values is None:
        return
    example = values[0]
    if all(_DATE_TEXT.match(v.strip()) for v in values):
        raise ColumnTypeError(
            f"{role} '{name}' holds dates written as text (e.g. {example!r}), which cannot be "
            f"balanced as they stand. Parse them, df['{name}'] = pd.to_datetime(df['{name}']), then "
            f"convert them to a number ({_date_advice(name, 'datetime')})."
        )
    if all(_parses_as_number(v) for v in values):
        formatted = [v for v in values if _FORMATTED.search(v)]
        if formatted or n_levels > max_levels:
            example = formatted[0] if formatted else example
            advice = (
                f" If it is a code for categories, make it a categorical instead: "
                f"df['{name}'] = df['{name}'].astype('category')."
                if role == "confounder"
                else ""
            )
            raise ColumnTypeError(
                f"{role} '{name}' holds numbers written as text (e.g. {example!r}; {n_levels} "
                f"distinct values). Convert it to numbers: df['{name}'] = "
                f"pd.to_numeric(df['{name}'].str.replace(r'[$€£¥,%\\s]', '', regex=True)).{advice}"
            )


def _check_levels(s: pd.Series, name: str, role: str, n_levels: int, max_levels: int) -> None:
    if n_levels > max_levels:
        raise TooManyLevelsError(
            f"{role} '{name}' is text or categorical with {n_levels} distinct values; one-hot "
            f"encoding would turn it into {n_levels - 1} columns, each balanced by its mean and by "
            f"its correlation with the treatment. At most {max_levels} levels are accepted "
            f"(MAX_LEVELS). If it is an identifier, leave it out; otherwise group its rare levels "
            f"(e.g. into 'other') or use a coarser version of it."
        )


def _check_missing(s: pd.Series, name: str, role: str) -> None:
    n_missing = int(s.isna().sum())
    if n_missing == len(s):
        raise EmptyDataError(
            f"{role} '{name}' has no values: all {len(s)} rows are missing. Leave it out of the "
            "analysis (and the graph), or fill it in."
        )
    if n_missing:
        first = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise MissingValueError(
            f"{role} '{name}' has {n_missing} missing value(s) (first at row position {first}). "
            "Drop or impute those rows before estimating."
        )


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def encode_frame(
    frame: pd.DataFrame,
    columns: Sequence[Any] | None = None,
    *,
    max_levels: int = MAX_LEVELS,
    all_levels: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Numeric design matrix of the ``columns`` of ``frame``, one-hot encoding categorical ones.

    Numeric columns are used as they are; bool, object, string and category columns are one-hot
    encoded (named ``"column[level]"``), with their first level dropped unless ``all_levels``. The
    frame is not modified.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : sequence, optional
        The columns to encode, in this order (default: all).
    max_levels : int, default=MAX_LEVELS
        Most distinct values of a text or categorical column.
    all_levels : bool, default=False
        One column per level (for balance tables and plots, as cobalt shows them); by default the
        first level is dropped, which is what the estimators need.

    Raises
    ------
    KeyError
        A column is missing from the frame.
    EmptyDataError
        No rows, or a column with no values.
    DuplicateColumnError
        A column name appears more than once.
    MissingValueError
        A column has missing or infinite values (the message names it).
    ColumnTypeError
        Dates or durations, or numbers written as text (``"$1,234"``, ``"12%"``).
    TooManyLevelsError
        A text or categorical column with more than ``max_levels`` distinct values.
    """
    columns = list(frame.columns if columns is None else columns)
    check_columns(frame, columns)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for col in columns:
        s = frame[col]
        _check_missing(s, str(col), "confounder")
        _check_not_temporal(s, str(col), "confounder")
        if _is_numeric(s):
            arr = s.to_numpy(dtype=float)
            _check_finite(arr, str(col), "confounder")
            blocks.append(arr[:, None])
            names.append(str(col))
            continue
        cat = pd.Categorical(s)
        levels = list(cat.categories)
        _check_text(s, str(col), "confounder", len(levels), max_levels)
        _check_levels(s, str(col), "confounder", len(levels), max_levels)
        codes = cat.codes
        first = 0 if all_levels else 1
        for level_idx in range(first, len(levels)):
            blocks.append((codes == level_idx).astype(float)[:, None])
            names.append(f"{col}[{levels[level_idx]}]")
    X = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
    return X, names


def check_numeric_frame(X: pd.DataFrame, role: str = "covariate") -> None:
    """Checks of a DataFrame passed to a weighting estimator, which needs numeric columns.

    Raises the errors of :func:`encode_frame`, and :class:`~dowhy_e2b.exceptions.ColumnTypeError`
    for a text or categorical column (the weighting estimators take numbers; the dose-response
    pipeline and the DoWhy estimators one-hot encode such columns themselves).
    """
    check_columns(X, list(dict.fromkeys(X.columns)))
    for col in dict.fromkeys(X.columns):
        s = X[col]
        _check_missing(s, str(col), role)
        _check_not_temporal(s, str(col), role)
        if not (_is_numeric(s) or pd.api.types.is_bool_dtype(s.dtype)):
            n_levels = int(s.nunique())
            _check_text(s, str(col), role, n_levels, MAX_LEVELS)
            raise ColumnTypeError(
                f"{role} '{col}' is {s.dtype}, but the weighting estimators take numeric columns. "
                "One-hot encode it first (dowhy_e2b.AverageDoseResponse and the DoWhy estimators do "
                "this for you)."
            )


# -- treatment, outcome, doses --------------------------------------------------------------------
def as_float_vector(values: Any, name: str, role: str = "column") -> np.ndarray:
    """A finite 1-d float array, or a typed error that names ``name``.

    Raises
    ------
    ColumnTypeError
        Text, dates or durations (a ``TypeError`` and a ``ValueError``).
    DuplicateColumnError
        ``values`` is several columns of the same name.
    EmptyDataError
        No values, or all of them missing.
    MissingValueError
        Some values missing or infinite.
    """
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            if len(set(map(str, values.columns))) == 1:
                raise DuplicateColumnError(
                    f"the data have {values.shape[1]} columns named '{name}' ({role}); each column "
                    "must have its own name: rename or drop the copies."
                )
            raise ValueError(f"{role} '{name}' must be one column, got {values.shape[1]} columns.")
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        if values.empty:
            raise EmptyDataError(f"{role} '{name}' has no values: the data have no rows.")
        _check_not_temporal(values, name, role)
        if not _is_numeric(values):
            _check_text(values, name, role, int(values.nunique()), 0)
            raise ColumnTypeError(
                f"{role} '{name}' must be numeric, got dtype {values.dtype}. Encode it as numbers "
                "(a continuous dose or outcome) before estimating."
            )
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ColumnTypeError(
            f"{role} '{name}' must be numeric; could not convert it to float ({err})."
        ) from None
    arr = arr.reshape(-1) if arr.ndim > 1 and arr.size == arr.shape[0] else arr
    if arr.ndim != 1:
        raise ValueError(f"{role} '{name}' must be one-dimensional, got shape {arr.shape}.")
    if arr.size == 0:
        raise EmptyDataError(f"{role} '{name}' has no values: the data have no rows.")
    _check_finite(arr, name, role)
    return arr


def _check_finite(arr: np.ndarray, name: str, role: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.all():
        raise EmptyDataError(
            f"{role} '{name}' has no values: all {arr.size} rows are missing or infinite. Check the "
            "column, or leave it out."
        )
    if bad.any():
        kind = "missing (NaN)" if np.isnan(arr).any() else "infinite"
        first = int(np.flatnonzero(bad)[0])
        raise MissingValueError(
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
    ColumnTypeError
        Non-numeric treatment (also a ``TypeError``).
    EmptyDataError, MissingValueError
        No values, or missing or infinite ones.
    ValueError
        Binary or near-binary treatment (two values hold at least 95% of the rows).

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


def require_varying_treatment(a: np.ndarray, name: str = "treatment") -> None:
    """Raise :class:`~dowhy_e2b.exceptions.InvalidDataError` for a constant treatment.

    The estimators accept one (DoWhy's default placebo is a constant column) and return a flat
    curve; a user-facing entry point such as the command line refuses it instead.
    """
    if is_constant(a):
        value = f" (every row is {a[0]:g})" if a.size else ""
        raise InvalidDataError(
            f"treatment '{name}' is constant{value}: there is no dose-response to estimate. Check "
            "that the right column was named as the treatment."
        )


def as_dose(value: Any, name: str) -> float:
    """One dose as a float: a number, or a one-element sequence (DoWhy passes lists)."""
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        arr = np.asarray(value, dtype=float).ravel()
        if arr.size != 1:
            raise ValueError(f"{name} must be a single number for one continuous treatment, got {value!r}.")
        return float(arr[0])
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}.") from None


def check_contrast(treatment_value: float, control_value: float) -> None:
    """Raise :class:`~dowhy_e2b.exceptions.ContrastError` when the two doses coincide."""
    if float(treatment_value) == float(control_value):
        raise ContrastError(
            f"treatment_value and control_value are both {float(treatment_value):g}: the contrast "
            "mu(treatment_value) - mu(control_value) would be 0 by construction. Pass two different "
            "doses, e.g. the 75th and 25th percentiles of the treatment."
        )


def default_contrast(a: np.ndarray, name: str = "treatment") -> tuple[float, float]:
    """The default doses of a contrast: the 75th and 25th percentiles of the treatment.

    Raises
    ------
    ContrastError
        They coincide (a constant treatment, or one whose middle half of rows share one value).
    """
    a = np.asarray(a, dtype=float)
    hi, lo = (float(q) for q in np.quantile(a, [0.75, 0.25]))
    if hi == lo:
        share = float(np.mean(a == lo))
        n_values = int(np.unique(a).size)
        raise ContrastError(
            f"the default doses of the contrast, the 25th and 75th percentiles of treatment "
            f"'{name}', are both {lo:g} ({share:.0%} of the rows have that value; {n_values} "
            "distinct value(s) in all), so the contrast would be 0 by construction. Choose the two "
            "doses yourself (treatment_value and control_value; on the command line "
            "--treatment-value and --control-value)."
        )
    return hi, lo


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


# -- balance constraints and fitted weighters -----------------------------------------------------
def source_column(feature_name: str) -> str:
    """The data column a feature comes from: ``"region[coast]"`` → ``"region"``."""
    match = re.fullmatch(r"(.+)\[[^\[\]]*\]", feature_name)
    return match.group(1) if match else feature_name


def check_constraint_count(
    constraint_covariates: Sequence[int] | np.ndarray,
    covariate_names: Sequence[str],
    n_rows: int,
    method: str,
    settings: str,
    n_independent: int | None = None,
) -> None:
    """Raise :class:`~dowhy_e2b.exceptions.TooManyConstraintsError` unless there are fewer
    balance constraints than rows, naming the columns that create the constraints.

    Parameters
    ----------
    constraint_covariates : sequence of int
        For each balance constraint asked for, the index of the covariate it comes from (``-1`` for
        the treatment's own moments), e.g. ``BalanceFeatures.covariate``.
    covariate_names : sequence of str
        Names of the covariates (``"region[coast]"`` counts for the column ``region``).
    n_rows : int
        Rows with positive weight.
    method, settings : str
        For the message, e.g. ``"entropy balancing"`` and ``"moments=1, treatment_moments=1"``.
    n_independent : int, optional
        How many of the constraints are linearly independent in the data (constant and collinear
        ones dropped); this is what must stay below ``n_rows``. Default: all of them.
    """
    n_constraints = len(constraint_covariates)
    n_independent = n_constraints if n_independent is None else int(n_independent)
    if n_independent < n_rows:
        return
    counts: Counter[str] = Counter()
    dummies: dict[str, set[str]] = {}
    for j in constraint_covariates:
        if j < 0:
            counts["the treatment's moments"] += 1
            continue
        feature = str(covariate_names[j])
        source = source_column(feature)
        counts[f"'{source}'"] += 1
        if source != feature:
            dummies.setdefault(f"'{source}'", set()).add(feature)
    parts = []
    for source, k in counts.most_common(6):
        extra = f" from {len(dummies[source])} one-hot columns" if source in dummies else ""
        parts.append(f"{source}: {k}{extra}")
    if len(counts) > 6:
        parts.append(f"{len(counts) - 6} more sources: {sum(k for _, k in counts.most_common()[6:])}")
    independent = (
        f", {n_independent} of them linearly independent in these rows"
        if n_independent < n_constraints
        else ""
    )
    raise TooManyConstraintsError(
        f"{method} needs fewer balance constraints than rows with positive weight: {n_rows} rows, "
        f"{n_constraints} constraints ({settings}{independent}). They come from {'; '.join(parts)}. Drop or "
        "recode the columns that create most of them (group rare levels of a categorical), balance "
        "fewer moments, or use more data."
    )


def point_fit_failure(weighter: Any) -> str | None:
    """Why a fitted weighter's weights should not be used (and not bootstrapped), or ``None``.

    A weighter fails its point fit when its balance check (``balance_check_``, see
    :func:`dowhy_e2b.balance_check.check_balance`) missed a threshold or when it reports
    ``converged_ = False``. The dose-response pipeline calls this before its bootstrap.
    """
    check = getattr(weighter, "balance_check_", None)
    if check is not None and not check.ok:
        return check.summary()
    if getattr(weighter, "converged_", True) is False:
        return f"{type(weighter).__name__} did not converge (converged_ is False)."
    return None
