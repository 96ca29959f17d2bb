"""Exact quantiles of chunked values: the numbers ``numpy.quantile`` gives in memory.

Spline knots and the reported dose grid sit at quantiles of the treatment; approximate quantiles
would move them, and the curve with them. The selection brackets every order statistic it needs:
a first pass counts the rows of each subset and their range, then each pass histograms the values
inside every open bracket (``dowhy-e2b.quantile-bins`` bins) and narrows it to the bin that holds
the wanted rank, until a bracket holds few enough values to bring them to the client and pick the
rank exactly. Continuous data need two or three passes; only counts and at most a few thousand
values per order statistic travel.

Subsets are named by specs evaluated per chunk: ``("all",)`` or ``("fold_not", seed, n_folds, k)``
(the rows outside fold ``k`` of :func:`~dowhy_e2b._numerics.counters.row_folds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._numerics.counters import folds_at
from . import option
from ._data import ChunkedData, Gathered, chunk_rows

__all__ = ["chunked_quantiles"]

#: A bracket holding at most this many values is brought to the client.
GATHER_LIMIT = 20000


@dataclass(frozen=True)
class _Summary:
    """Count, range and (up to ``cap``) distinct values of a subset."""

    count: int
    lo: float
    hi: float
    distinct: np.ndarray
    cap: int

    def __add__(self, other: _Summary) -> _Summary:
        distinct = np.union1d(self.distinct, other.distinct)[: self.cap + 1]
        return _Summary(
            self.count + other.count, min(self.lo, other.lo), max(self.hi, other.hi), distinct, self.cap
        )


def subset_masks(specs: list[tuple], rows: np.ndarray) -> list[np.ndarray]:
    """Boolean masks of the subsets ``specs`` over the rows with global indices ``rows``."""
    out: list[np.ndarray] = []
    folds: dict = {}
    m = rows.size
    for spec in specs:
        if spec[0] == "all":
            out.append(np.ones(m, dtype=bool))
        elif spec[0] == "fold_not":
            _, seed, n_folds, k = spec
            if (seed, n_folds) not in folds:
                folds[seed, n_folds] = folds_at(seed, rows, n_folds)
            out.append(folds[seed, n_folds] != k)
        else:
            raise ValueError(f"unknown subset {spec!r}")
    return out


def _summary_chunk(chunk: tuple, start: int, value_fn: Callable, specs: list, cap: int) -> list:
    v = value_fn(chunk, start)
    out = []
    for mask in subset_masks(specs, chunk_rows(chunk, start)):
        sel = v[mask]
        if sel.size:
            out.append(_Summary(sel.size, float(sel.min()), float(sel.max()), np.unique(sel)[: cap + 1], cap))
        else:
            out.append(_Summary(0, np.inf, -np.inf, np.zeros(0), cap))
    return out


def _bracket_chunk(chunk: tuple, start: int, value_fn: Callable, specs: list, requests: list) -> list:
    v = value_fn(chunk, start)
    masks = subset_masks(specs, chunk_rows(chunk, start))
    out: list[Any] = []
    for subset, lo, hi, bins in requests:
        sel = v[masks[subset]]
        sel = sel[(sel >= lo) & (sel <= hi)]
        if bins == 0:
            out.append(Gathered(sel))
        else:
            edges = np.linspace(lo, hi, bins + 1)
            idx = np.clip(np.searchsorted(edges, sel, side="right") - 1, 0, bins - 1)
            out.append(np.bincount(idx, minlength=bins))
    return out


def _lerp(a: float, b: float, t: float) -> float:
    """NumPy's interpolation between two order statistics (``numpy.quantile``, method "linear")."""
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


def chunked_quantiles(
    data: ChunkedData,
    value_fn: Callable,
    specs: list[tuple],
    probs: list[np.ndarray],
    distinct_cap: int = 64,
    summaries: list | None = None,
) -> tuple[list[np.ndarray], list[_Summary]]:
    """``numpy.quantile(values[subset], probs[i])`` for every subset ``specs[i]``, exactly.

    Parameters
    ----------
    data : ChunkedData
    value_fn : callable
        ``value_fn(chunk, start)``: the values of a chunk's rows (e.g. its treatment).
    specs : list of tuple
        The subsets (see the module docstring).
    probs : list of ndarray
        The probabilities wanted in each subset.
    distinct_cap : int
        Distinct values are counted up to this many.
    summaries : list, optional
        The subsets' summaries if a pass already computed them (``_summary_chunk``).

    Returns
    -------
    quantiles : list of ndarray
    summaries : list
        Per subset: ``count``, ``lo``, ``hi`` and ``distinct`` (the first ``distinct_cap + 1``
        distinct values, sorted).
    """
    if summaries is None:
        summaries = data.run(_summary_chunk, value_fn, specs, int(distinct_cap))
    bins = int(option("quantile-bins"))
    # Every order statistic wanted: (subset, rank) -> value.
    wanted: dict[tuple[int, int], float] = {}
    plans = []
    for s, (summary, q) in enumerate(zip(summaries, probs, strict=True)):
        q = np.atleast_1d(np.asarray(q, dtype=float))
        n = summary.count
        virtual = (n - 1) * q
        prev = np.clip(np.floor(virtual).astype(int), 0, max(n - 1, 0))
        nxt = np.clip(prev + 1, 0, max(n - 1, 0))
        plans.append((virtual - np.floor(virtual), prev, nxt))
        for r in np.concatenate([prev, nxt]):
            wanted[s, int(r)] = np.nan
    # Brackets: (subset, lo, hi) -> (values below lo, values inside, ranks inside).
    brackets: dict[tuple[int, float, float], list] = {}
    for s, r in wanted:
        key = (s, summaries[s].lo, summaries[s].hi)
        brackets.setdefault(key, [0, summaries[s].count, []])[2].append(r)
    while brackets:
        keys = list(brackets)
        requests: list[tuple[int, float, float, int] | None] = []
        for s, lo, hi in keys:
            below, inside, _ = brackets[s, lo, hi]
            if lo == hi:
                requests.append(None)
            else:
                requests.append((s, lo, hi, 0 if inside <= GATHER_LIMIT else bins))
        active = [r for r in requests if r is not None]
        results = iter(data.run(_bracket_chunk, value_fn, specs, active) if active else [])
        new: dict[tuple[int, float, float], list] = {}
        for key, req in zip(keys, requests, strict=True):
            s, lo, hi = key
            below, inside, ranks = brackets[key]
            if req is None:
                for r in ranks:
                    wanted[s, r] = lo
                continue
            res = next(results)
            if req[3] == 0:
                vals = np.sort(res.values)
                for r in ranks:
                    wanted[s, r] = float(vals[r - below])
                continue
            edges = np.linspace(lo, hi, req[3] + 1)
            cum = np.concatenate([[0], np.cumsum(res)])
            for r in ranks:
                b = int(np.searchsorted(cum, r - below, side="right") - 1)
                b_lo = float(edges[b])
                b_hi = float(hi if b == req[3] - 1 else np.nextafter(edges[b + 1], -np.inf))
                b_hi = max(b_hi, b_lo)
                entry = new.setdefault((s, b_lo, b_hi), [below + int(cum[b]), int(res[b]), []])
                entry[2].append(r)
        brackets = new
    out = []
    for s, (gamma, prev, nxt) in enumerate(plans):
        out.append(
            np.array(
                [
                    _lerp(wanted[s, int(p)], wanted[s, int(x)], float(g))
                    for g, p, x in zip(gamma, prev, nxt, strict=True)
                ]
            )
        )
    return out, summaries


def treatment_values(chunk: tuple, start: int) -> np.ndarray:
    """The treatment of a chunk (the usual ``value_fn``)."""
    return chunk[1]
