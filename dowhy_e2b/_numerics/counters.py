"""Counter-based random numbers: a value per row from ``(seed, row index)`` alone.

Fold labels and bootstrap multipliers drawn this way do not depend on how the rows are split into
chunks, so an in-memory fit and a chunked (Dask) fit of the same data agree exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MULTIPLIERS",
    "folds_at",
    "row_exponential",
    "row_folds",
    "row_multipliers",
    "row_poisson",
    "row_uniforms",
    "uniforms_at",
]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def row_uniforms(seed: int, start: int, stop: int, stream: int = 0) -> np.ndarray:
    """Uniform numbers in [0, 1) for the rows ``start..stop-1`` (global row indices).

    ``stream`` separates independent sequences drawn from the same seed (e.g. one per bootstrap
    replicate).
    """
    return uniforms_at(seed, np.arange(start, stop, dtype=np.uint64), stream)


def uniforms_at(seed: int, rows: np.ndarray, stream: int = 0) -> np.ndarray:
    """:func:`row_uniforms` at the global row indices ``rows`` (any order, any subset)."""
    rows = np.asarray(rows).astype(np.uint64)
    mixed = np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) ^ _splitmix64(
        np.array([stream], dtype=np.uint64)
    )
    key = _splitmix64(mixed)
    bits = _splitmix64(rows ^ key[0])
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def row_folds(seed: int, start: int, stop: int, n_folds: int) -> np.ndarray:
    """Fold labels ``0..n_folds-1`` for the rows ``start..stop-1``, uniform and independent."""
    return folds_at(seed, np.arange(start, stop, dtype=np.uint64), n_folds)


def folds_at(seed: int, rows: np.ndarray, n_folds: int) -> np.ndarray:
    """:func:`row_folds` at the global row indices ``rows``."""
    return np.minimum((uniforms_at(seed, rows) * n_folds).astype(np.int64), n_folds - 1)


#: P(N <= k) for N ~ Poisson(1), k = 0..19 (beyond 19 the remaining mass is below 1e-18).
_POISSON1_CDF = np.cumsum(np.exp(-1.0) / np.cumprod(np.r_[1.0, np.arange(1.0, 20.0)]))


def row_poisson(seed: int, start: int, stop: int, stream: int = 0) -> np.ndarray:
    """Poisson(1) counts for the rows ``start..stop-1``: the multipliers of a Poisson bootstrap
    (each replicate a ``stream``), the same whatever the chunking."""
    u = row_uniforms(seed, start, stop, stream)
    return np.searchsorted(_POISSON1_CDF, u, side="right").astype(np.int64)


def row_exponential(seed: int, start: int, stop: int, stream: int = 0) -> np.ndarray:
    """Exponential(1) multipliers for the rows ``start..stop-1``: once normalised to mean 1 they are
    Rubin's (1981) Bayesian bootstrap weights (Dirichlet(1, ..., 1) times n)."""
    return -np.log1p(-row_uniforms(seed, start, stop, stream))


#: The bootstrap's multipliers (see :func:`row_multipliers`).
MULTIPLIERS = ("poisson", "exponential")


def row_multipliers(kind: str, seed: int, start: int, stop: int, stream: int = 0) -> np.ndarray:
    """A bootstrap replicate's multipliers of the rows ``start..stop-1``, as floats.

    ``"poisson"``: Poisson(1) counts, the classical bootstrap (a resample drawn with replacement,
    about 37% of the units left out). ``"exponential"``: Exponential(1) weights, the Bayesian
    bootstrap; every unit keeps a positive weight (the weights' support does not change). Both have
    mean 1 and variance 1.
    """
    if kind == "exponential":
        return row_exponential(seed, start, stop, stream)
    if kind == "poisson":
        return row_poisson(seed, start, stop, stream).astype(float)
    raise ValueError(f"multipliers must be one of {list(MULTIPLIERS)}, got {kind!r}.")
