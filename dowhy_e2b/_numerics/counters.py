"""Counter-based random numbers: a value per row from ``(seed, row index)`` alone.

Fold labels and bootstrap multipliers drawn this way do not depend on how the rows are split into
chunks, so an in-memory fit and a chunked (Dask) fit of the same data agree exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["row_folds", "row_poisson", "row_uniforms"]

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
    rows = np.arange(start, stop, dtype=np.uint64)
    mixed = np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) ^ _splitmix64(
        np.array([stream], dtype=np.uint64)
    )
    key = _splitmix64(mixed)
    bits = _splitmix64(rows ^ key[0])
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def row_folds(seed: int, start: int, stop: int, n_folds: int) -> np.ndarray:
    """Fold labels ``0..n_folds-1`` for the rows ``start..stop-1``, uniform and independent."""
    return np.minimum((row_uniforms(seed, start, stop) * n_folds).astype(np.int64), n_folds - 1)


#: P(N <= k) for N ~ Poisson(1), k = 0..19 (beyond 19 the remaining mass is below 1e-18).
_POISSON1_CDF = np.cumsum(np.exp(-1.0) / np.cumprod(np.r_[1.0, np.arange(1.0, 20.0)]))


def row_poisson(seed: int, start: int, stop: int, stream: int = 0) -> np.ndarray:
    """Poisson(1) counts for the rows ``start..stop-1``: the multipliers of a Poisson bootstrap
    (each replicate a ``stream``), the same whatever the chunking."""
    u = row_uniforms(seed, start, stop, stream)
    return np.searchsorted(_POISSON1_CDF, u, side="right").astype(np.int64)
