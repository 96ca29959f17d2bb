"""Dask inputs as aligned row chunks, and passes over them that reduce per-chunk statistics.

A :class:`ChunkedData` holds one lazy task per partition that loads ``(X, a, y, sample_weight)`` as
float ndarrays (a DataFrame's categorical columns one-hot encoded exactly as
:func:`~dowhy_e2b._validation.encode_frame` encodes them in memory). A *pass* applies a pure
per-chunk function to every chunk and adds the results up in a tree on the cluster; only the sum
comes back. Nothing is persisted: every pass reads the partitions again (out of core), unless the
caller persisted the collections.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._numerics.counters import row_multipliers
from .._validation import FEW_DISTINCT_VALUES, MAX_LEVELS, NEAR_BINARY_SHARE
from ..exceptions import (
    ColumnTypeError,
    DiscreteTreatmentWarning,
    EmptyDataError,
    MissingValueError,
    TooManyLevelsError,
)

__all__ = ["ChunkedData", "Gathered", "add", "chunked"]

#: Chunks added up per task of the tree reduction.
FAN_IN = 8
#: Distinct treatment values tracked per chunk for the binary / discrete checks.
MAX_TRACKED_VALUES = 64


def add(x: Any, y: Any) -> Any:
    """Add two partial results: ``None`` is the empty sum; tuples, lists and dicts add elementwise."""
    if x is None:
        return y
    if y is None:
        return x
    if isinstance(x, tuple):
        return tuple(add(u, v) for u, v in zip(x, y, strict=True))
    if isinstance(x, list):
        return [add(u, v) for u, v in zip(x, y, strict=True)]
    if isinstance(x, dict):
        return {k: add(x.get(k), y.get(k)) for k in x.keys() | y.keys()}
    return x + y


def _add_many(*parts: Any) -> Any:
    out = None
    for p in parts:
        out = add(out, p)
    return out


@dataclass(frozen=True)
class ColumnSpec:
    """How one DataFrame column becomes numeric columns: as is, or one-hot over ``levels``."""

    name: Any
    levels: tuple | None = None


@dataclass(frozen=True)
class Encoder:
    """Turns a partition of the covariates into the float matrix the in-memory path would build."""

    columns: tuple[ColumnSpec, ...] | None  # None: an array partition
    all_levels: bool = False

    @property
    def names(self) -> list[str]:
        out: list[str] = []
        for spec in self.columns or ():
            if spec.levels is None:
                out.append(str(spec.name))
            else:
                first = 0 if self.all_levels else 1
                out.extend(f"{spec.name}[{lv}]" for lv in spec.levels[first:])
        return out

    def __call__(self, part: Any) -> np.ndarray:
        if self.columns is None:
            X = np.asarray(part, dtype=float)
            X = X[:, None] if X.ndim == 1 else X
            bad = ~np.isfinite(X).all(axis=0)
            if bad.any():
                raise MissingValueError(
                    f"covariate column {int(np.flatnonzero(bad)[0])} has missing or infinite values; "
                    "drop or impute them before fitting."
                )
            return X
        blocks = []
        for spec in self.columns:
            s = part[spec.name]
            if s.isna().any():
                raise MissingValueError(
                    f"confounder '{spec.name}' has missing values; drop or impute them before fitting."
                )
            if spec.levels is None:
                arr = s.to_numpy(dtype=float)
                if not np.all(np.isfinite(arr)):
                    raise MissingValueError(
                        f"confounder '{spec.name}' has infinite values; drop or cap them before fitting."
                    )
                blocks.append(arr[:, None])
                continue
            codes = pd.Categorical(s, categories=list(spec.levels)).codes
            first = 0 if self.all_levels else 1
            for level in range(first, len(spec.levels)):
                blocks.append((codes == level).astype(float)[:, None])
        return np.hstack(blocks) if blocks else np.empty((len(part), 0))


def _vector(part: Any, name: str) -> np.ndarray:
    arr = np.asarray(part.to_numpy() if hasattr(part, "to_numpy") else part)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    try:
        arr = arr.astype(float).ravel()
    except (TypeError, ValueError):
        raise ColumnTypeError(f"{name} must be numeric, got values of type {arr.dtype}.") from None
    if not np.all(np.isfinite(arr)):
        raise MissingValueError(f"{name} has missing or infinite values; drop or impute them before fitting.")
    return arr


def _load(encoder: Encoder, xp: Any, ap: Any, yp: Any, sp: Any) -> tuple:
    X = encoder(xp)
    a = _vector(ap, "treatment")
    y = None if yp is None else _vector(yp, "outcome")
    s = None if sp is None else _vector(sp, "sample_weight")
    for name, v in (("treatment", a), ("outcome", y), ("sample_weight", s)):
        if v is not None and v.shape[0] != X.shape[0]:
            raise ValueError(
                f"a partition of the {name} has {v.shape[0]} rows where the covariates have {X.shape[0]}: "
                "pass columns of one Dask DataFrame, or arrays chunked alike."
            )
    if s is not None and np.any(s < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    return X, a, y, s, None


@dataclass
class ChunkedData:
    """Aligned row chunks of ``(X, a, y, sample_weight)`` and the passes over them.

    Attributes
    ----------
    parts : list of Delayed
        One task per partition, loading ``(X, a, y, s)`` (``y`` and ``s`` may be ``None``).
    names : list of str
        Covariate names after encoding.
    frame_names : list or None
        The DataFrame's own columns (``None`` for an array).
    lengths, starts : ndarray of int
        Rows of every chunk and the global index of its first row (after :meth:`scan`).
    """

    parts: list
    names: list[str]
    frame_names: list | None
    encoder: Encoder
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    has_y: bool = False
    has_weights: bool = False
    raw_parts: list = field(default_factory=list)
    loader: Any = None

    def with_encoder(self, encoder: Encoder) -> ChunkedData:
        """The same partitions loaded with another encoder (e.g. every level of a categorical)."""
        parts = [self.loader(encoder, *raw) for raw in self.raw_parts]
        return ChunkedData(
            parts,
            encoder.names,
            self.frame_names,
            encoder,
            self.lengths,
            self.has_y,
            self.has_weights,
            self.raw_parts,
            self.loader,
        )

    @property
    def n(self) -> int:
        return int(self.lengths.sum())

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(int)

    def resampled(self, seed: int, kind: str = "poisson", scale: float = 1.0) -> ChunkedData:
        """The rows with a positive multiplier in the bootstrap replicate ``seed`` (``kind``: see
        :func:`~dowhy_e2b._numerics.counters.row_multipliers`), their multipliers times ``scale``
        multiplying their sample weights (no copy of the data is built: each chunk keeps its own
        rows)."""
        import dask

        take = dask.delayed(_resampled_rows, pure=True)
        parts = [
            take(p, int(st), int(seed), kind, float(scale))
            for p, st in zip(self.parts, self.starts, strict=True)
        ]
        return ChunkedData(
            parts, self.names, self.frame_names, self.encoder, has_y=self.has_y, has_weights=True
        )

    def normalised(self, weight_sum: float) -> ChunkedData:
        """The sample weights rescaled to mean 1 (``weight_sum``: their sum, from :meth:`scan`)."""
        import dask

        if not self.has_weights:
            return self
        scale = dask.delayed(_scale_weights, pure=True)
        factor = self.n / float(weight_sum)
        parts = [scale(p, factor) for p in self.parts]
        return ChunkedData(
            parts, self.names, self.frame_names, self.encoder, self.lengths, self.has_y, True, []
        )

    def tasks(self, fn: Callable, *params: Any) -> list:
        """One lazy ``fn(chunk, start, *params)`` per chunk (``chunk = (X, a, y, s)``)."""
        import dask

        shared = [dask.delayed(p, traverse=False) for p in params]
        starts = self.starts if self.lengths.size else np.full(len(self.parts), -1)
        return [
            dask.delayed(fn, pure=True)(part, int(start), *shared)
            for part, start in zip(self.parts, starts, strict=True)
        ]

    def run(self, fn: Callable, *params: Any) -> Any:
        """One pass: ``fn(chunk, start, *params)`` on every chunk, added up on the cluster."""
        return reduce_tasks(self.tasks(fn, *params))

    def scan(self) -> dict:
        """The first pass: rows per chunk, sample-weight sum, treatment range and value counts."""
        import dask

        scan = dask.delayed(_scan_chunk, pure=True)
        out = reduce_tasks([scan(part, -1, i) for i, part in enumerate(self.parts)])
        index = np.array(sorted(out["lengths"]))
        self.lengths = np.array([out["lengths"][i] for i in index], dtype=int)
        if self.n == 0:
            raise EmptyDataError("X has no rows: there is nothing to balance.")
        return out


@dataclass(frozen=True)
class Gathered:
    """Rows brought to the client: partial results concatenate."""

    values: np.ndarray

    def __add__(self, other: Gathered) -> Gathered:
        return Gathered(np.concatenate([self.values, other.values]))


@dataclass(frozen=True)
class _ValueCounts:
    """Counts of the most frequent treatment values (at most ``MAX_TRACKED_VALUES`` per chunk)."""

    counts: dict
    overflow: bool

    def __add__(self, other: _ValueCounts) -> _ValueCounts:
        merged = dict(self.counts)
        for k, v in other.counts.items():
            merged[k] = merged.get(k, 0) + v
        overflow = self.overflow or other.overflow or len(merged) > 4 * MAX_TRACKED_VALUES
        if len(merged) > 4 * MAX_TRACKED_VALUES:
            keep = sorted(merged, key=lambda k: -merged[k])[: 4 * MAX_TRACKED_VALUES]
            merged = {k: merged[k] for k in keep}
        return _ValueCounts(merged, overflow)


@dataclass(frozen=True)
class _Extremes:
    lo: float
    hi: float

    def __add__(self, other: _Extremes) -> _Extremes:
        return _Extremes(min(self.lo, other.lo), max(self.hi, other.hi))


def _resampled_rows(chunk: tuple, start: int, seed: int, kind: str, scale: float) -> tuple:
    X, a, y, s, rows = chunk
    rows = np.arange(start, start + a.size) if rows is None else rows
    counts = row_multipliers(kind, seed, start, start + a.size)
    keep = counts > 0
    s_b = counts[keep] * scale * (1.0 if s is None else s[keep])
    return X[keep], a[keep], None if y is None else y[keep], s_b, rows[keep]


def _scale_weights(chunk: tuple, factor: float) -> tuple:
    X, a, y, s, rows = chunk
    return X, a, y, s * factor, rows


def chunk_rows(chunk: tuple, start: int) -> np.ndarray:
    """Global indices of a chunk's rows (of the data before any bootstrap draw)."""
    return np.arange(start, start + chunk[1].size) if chunk[4] is None else chunk[4]


def reduce_tasks(level: list) -> Any:
    """Add up lazy partial results in a tree on the cluster and bring the sum to the client."""
    import dask

    while len(level) > 1:
        level = [dask.delayed(_add_many)(*level[i : i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
    return dask.compute(level[0])[0]


def _scan_chunk(chunk: tuple, start: int, index: int | None = None) -> dict:
    a, s = chunk[1], chunk[3]
    values, counts = np.unique(a, return_counts=True)
    overflow = values.size > MAX_TRACKED_VALUES
    if overflow:
        top = np.argsort(-counts, kind="stable")[:MAX_TRACKED_VALUES]
        values, counts = values[top], counts[top]
    return {
        "lengths": {} if index is None else {index: a.size},
        "weight_sum": float(a.size if s is None else s.sum()),
        "range": _Extremes(float(a.min()), float(a.max())) if a.size else _Extremes(np.inf, -np.inf),
        "values": _ValueCounts(dict(zip(values.tolist(), counts.tolist(), strict=True)), overflow),
    }


def check_treatment_counts(scan: dict, n: int, name: str = "treatment") -> None:
    """The in-memory treatment checks (binary, near-binary, few distinct values) on the scan."""
    vc: _ValueCounts = scan["values"]
    counts = np.sort(np.fromiter(vc.counts.values(), dtype=float))
    distinct = len(vc.counts)
    if distinct <= 1 and not vc.overflow:
        return
    top2 = counts[-2:].sum() / n
    if (distinct == 2 and not vc.overflow) or top2 >= NEAR_BINARY_SHARE:
        detail = (
            f"has {distinct} distinct values"
            if distinct == 2 and not vc.overflow
            else f"is near-binary: {100 * top2:.1f}% of rows take one of two values"
        )
        raise ValueError(
            f"treatment '{name}' {detail}; these estimators need a continuous treatment — use "
            "DoWhy's propensity-score estimators (e.g. 'backdoor.propensity_score_weighting') "
            "for binary treatments."
        )
    if not vc.overflow and distinct < FEW_DISTINCT_VALUES:
        warnings.warn(
            f"treatment '{name}' has only {distinct} distinct values; the dose-response curve "
            "is interpolated between them.",
            DiscreteTreatmentWarning,
            stacklevel=4,
        )


def _frame_encoder(X: Any, all_levels: bool = False) -> Encoder:
    """The encoding of a Dask DataFrame's columns, with the levels the in-memory path would find."""
    import dask

    if len(set(map(str, X.columns))) != len(X.columns):
        from ..exceptions import DuplicateColumnError

        raise DuplicateColumnError("the covariates have duplicated column names; rename them.")
    specs: list[ColumnSpec | None] = []
    pending: dict[Any, None] = {}
    for col, dtype in X.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            raise ColumnTypeError(
                f"confounder '{col}' holds dates or durations; convert it to a number (e.g. days since "
                "a reference date) before fitting."
            )
        if isinstance(dtype, pd.CategoricalDtype):
            if not X[col].cat.known:
                raise ColumnTypeError(
                    f"confounder '{col}' is categorical with unknown categories; make them known "
                    f"(X = X.categorize(columns=[{col!r}])) so that every partition is encoded alike."
                )
            levels = tuple(dtype.categories)
            if len(levels) > MAX_LEVELS:
                raise TooManyLevelsError(
                    f"confounder '{col}' has {len(levels)} levels (at most {MAX_LEVELS}); group rare ones."
                )
            specs.append(ColumnSpec(col, levels))
        elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            specs.append(ColumnSpec(col))
        else:
            pending[col] = None
            specs.append(None)
    if pending:
        # The observed values of text and bool columns, a capped set per partition (no shuffle).
        level = dask.delayed(_observed_values, pure=True)
        found = reduce_tasks([level(part, list(pending)) for part in X[list(pending)].to_delayed()])
        for i, col in enumerate(X.columns):
            if specs[i] is None:
                levels = tuple(pd.Categorical(pd.Series(list(found[col].values))).categories)
                if len(levels) > MAX_LEVELS:
                    raise TooManyLevelsError(
                        f"confounder '{col}' has {len(levels)} distinct values (at most {MAX_LEVELS}); "
                        "group rare levels, or pass it as a number if it is one."
                    )
                specs[i] = ColumnSpec(col, levels)
    return Encoder(tuple(s for s in specs if s is not None), all_levels=all_levels)


@dataclass(frozen=True)
class _Levels:
    values: frozenset

    def __add__(self, other: _Levels) -> _Levels:
        return _Levels(frozenset(list(self.values | other.values)[: MAX_LEVELS + 1]))


def _observed_values(part: pd.DataFrame, columns: list) -> dict:
    return {
        col: _Levels(frozenset(part[col].dropna().unique().tolist()[: MAX_LEVELS + 1])) for col in columns
    }


def _row_parts(v: Any, X: Any, name: str) -> list:
    """The partitions of a row-aligned input as lazy objects, aligned with ``X``'s partitions."""
    import dask.array as da

    if v is None:
        return [None] * _n_parts(X)
    if isinstance(v, da.Array):
        if isinstance(X, da.Array):
            v = v.rechunk({0: X.chunks[0]})
        parts = list(v.to_delayed().ravel())
    elif hasattr(v, "to_delayed"):
        if getattr(v, "ndim", 1) == 2:
            if len(v.columns) != 1:
                raise ValueError(f"{name} must be one column, got {len(v.columns)}.")
            v = v[v.columns[0]]
        parts = list(v.to_delayed())
    else:
        raise TypeError(
            f"{name} must be a Dask Series or array when the covariates are a Dask collection, got "
            f"{type(v).__name__}: take it from the same Dask DataFrame."
        )
    if len(parts) != _n_parts(X):
        raise ValueError(
            f"{name} has {len(parts)} partitions where the covariates have {_n_parts(X)}: pass columns of "
            "one Dask DataFrame, or arrays chunked alike."
        )
    return parts


def _n_parts(X: Any) -> int:
    import dask.array as da

    return len(X.chunks[0]) if isinstance(X, da.Array) else int(X.npartitions)


def chunked(
    X: Any, a: Any, y: Any = None, sample_weight: Any = None, *, all_levels: bool = False
) -> ChunkedData:
    """Aligned chunks of Dask inputs (``X`` a Dask DataFrame or 2-d array; the others Dask series or
    arrays with the same partitions)."""
    import dask
    import dask.array as da

    if isinstance(X, da.Array):
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got {X.ndim} dimensions.")
        X = X.rechunk({1: -1})
        x_parts = list(X.to_delayed()[:, 0])
        encoder = Encoder(None)
        names = [f"x{j}" for j in range(X.shape[1])]
        frame_names = None
    elif getattr(X, "ndim", 0) == 2 and hasattr(X, "columns") and hasattr(X, "to_delayed"):
        encoder = _frame_encoder(X, all_levels=all_levels)
        x_parts = list(X.to_delayed(optimize_graph=False))
        names = encoder.names
        frame_names = list(X.columns)
    else:
        raise TypeError(f"X must be a Dask DataFrame or array, got {type(X).__name__}.")
    rows = {"a": a, "y": y, "s": sample_weight}
    if frame_names is not None and all(_is_frame_column(v) for v in rows.values() if v is not None):
        # Columns of a DataFrame travel in one frame: Dask aligns them (a projection of a Parquet
        # file may otherwise be partitioned differently from the covariates).
        extra = {
            f"{_PREFIX}{k}": (v if getattr(v, "ndim", 1) == 1 else v[v.columns[0]])
            for k, v in rows.items()
            if v is not None
        }
        combined = X.assign(**extra)
        # optimize_graph=False: Dask 2026.8's expression optimiser fails on a categorised frame with
        # columns assigned to it ("'index' is not in list"); the partitions are the same either way.
        raw: list[tuple[Any, ...]] = [
            (p, list(X.columns), {k: f"{_PREFIX}{k}" for k in rows if rows[k] is not None})
            for p in combined.to_delayed(optimize_graph=False)
        ]
        load = dask.delayed(_load_frame, pure=True)
    else:
        a_parts = _row_parts(a, X, "treatment")
        y_parts = _row_parts(y, X, "outcome")
        s_parts = _row_parts(sample_weight, X, "sample_weight")
        load = dask.delayed(_load, pure=True)
        raw = list(zip(x_parts, a_parts, y_parts, s_parts, strict=True))
    parts = [load(encoder, *row) for row in raw]
    return ChunkedData(
        parts,
        names,
        frame_names,
        encoder,
        has_y=y is not None,
        has_weights=sample_weight is not None,
        raw_parts=raw,
        loader=load,
    )


_PREFIX = "__dowhy_e2b_"


def _is_frame_column(v: Any) -> bool:
    import dask.array as da

    return hasattr(v, "to_delayed") and not isinstance(v, da.Array)


def _load_frame(encoder: Encoder, part: pd.DataFrame, x_columns: list, extra: dict) -> tuple:
    """:func:`_load` of one partition of the covariates with the other columns assigned to it."""
    get = lambda k: part[extra[k]] if k in extra else None  # noqa: E731
    if "a" not in extra:
        raise TypeError("the treatment is required.")
    return _load(encoder, part[x_columns], get("a"), get("y"), get("s"))
