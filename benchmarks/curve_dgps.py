"""Processes that stress the outcome stage: heavy tails, strong confounding, noise that varies.

They were written for the "curves you can trust" work (coverage of the bands, size of the tests)
and played no part in choosing E2B's defaults:

* ``heavy_tailed``: a dose with Student-t (3 d.f.) noise, a bounded S-shaped curve;
* ``confounded_null``: strong nonlinear confounding and no effect at all (flat truth);
* ``heteroscedastic``: outcome noise whose spread grows with the dose and a confounder;
* ``modified``: the dose's effect differs between three groups (a categorical confounder and
  effect modifier, ``group``), with a quadratic average curve;
* ``wide``: 40 correlated covariates, 10 of them confounders, nonlinear assignment and outcome.

Every truth is exact (no Monte Carlo): the confounders enter additively or through terms whose
mean over the population is known.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .dgps import BenchData, _grid

__all__ = ["CURVE_DGPS"]


def _bench(
    name: str, X: np.ndarray, a: np.ndarray, y: np.ndarray, mu: Any, seed: int, **extra: Any
) -> BenchData:
    cols = {f"x{j + 1}": X[:, j] for j in range(X.shape[1])}
    frame = pd.DataFrame({**cols, **extra, "a": a, "y": y})
    grid = _grid(a)
    return BenchData(
        dgp=name,
        seed=seed,
        data=frame,
        treatment="a",
        outcome="y",
        confounders=[*cols, *extra],
        grid=grid,
        truth=np.asarray(mu(grid), dtype=float),
        description=name,
    )


def _heavy_tailed(n: int, seed: int) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 5))
    a = X @ np.array([0.7, 0.5, 0.3, 0.0, 0.2]) + r.standard_t(3, n)

    def mu(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.tanh(t) + 0.2 * t

    y = mu(a) + X @ np.array([1.0, 0.5, 0.0, 0.5, -0.5]) + 0.5 * X[:, 0] ** 2 + r.standard_normal(n)
    return _bench("heavy_tailed", X, a, y, lambda t: mu(t) + 0.5, seed)


def _confounded_null(n: int, seed: int) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 5))
    a = 1.2 * X[:, 0] + 0.8 * X[:, 1] + 0.5 * (X[:, 2] ** 2 - 1) + 0.6 * r.standard_normal(n)
    y = 2.0 * X[:, 0] + X[:, 1] ** 2 + X[:, 0] * X[:, 2] + 0.8 * np.sin(2 * X[:, 1]) + r.standard_normal(n)
    return _bench("confounded_null", X, a, y, lambda t: np.full(np.shape(t), 1.0), seed)


def _heteroscedastic(n: int, seed: int) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 4))
    a = X @ np.array([0.6, 0.6, 0.3, 0.0]) + r.standard_normal(n)

    def mu(t: Any) -> np.ndarray:
        return 2.0 / (1.0 + np.exp(-1.5 * np.asarray(t, dtype=float)))

    sd = 0.3 + 0.5 * np.abs(a) + 0.4 * np.abs(X[:, 0])
    y = mu(a) + X @ np.array([1.0, -0.7, 0.5, 0.5]) + sd * r.standard_normal(n)
    return _bench("heteroscedastic", X, a, y, mu, seed)


_GROUP_SLOPES = np.array([-0.5, 0.0, 1.0])
_GROUP_P = np.array([0.3, 0.4, 0.3])


def _modified(n: int, seed: int) -> BenchData:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, 3))
    g = r.choice(3, size=n, p=_GROUP_P)
    a = X @ np.array([0.6, 0.4, 0.0]) + 0.5 * (g - 1) + r.standard_normal(n)
    slope = float(_GROUP_P @ _GROUP_SLOPES)

    def mu(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return slope * t - 0.3 * t**2

    y = -0.3 * a**2 + _GROUP_SLOPES[g] * a + X @ np.array([1.0, 0.5, 0.5]) + 0.3 * g + r.standard_normal(n)
    groups = pd.Categorical(np.array(["a", "b", "c"])[g], categories=["a", "b", "c"])
    return _bench(
        "modified", X, a, y, lambda t: mu(t) + 0.3 * float(_GROUP_P @ np.arange(3)), seed, group=groups
    )


def _wide(n: int, seed: int) -> BenchData:
    r = np.random.default_rng(seed)
    d = 40
    L = np.linalg.cholesky(0.2 + 0.8 * np.eye(d))
    X = r.standard_normal((n, d)) @ L.T
    b = np.zeros(d)
    b[:10] = np.linspace(0.5, 0.1, 10)
    a = X @ b + 0.3 * np.tanh(X[:, 0] * X[:, 1]) + 0.8 * r.standard_normal(n)

    def mu(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.sin(t) + 0.5 * t

    c = np.zeros(d)
    c[:10] = np.linspace(0.2, 0.6, 10)
    # E[x1 x2] = 0.2 (the covariates' correlation), so the constant is known.
    y = mu(a) + X @ c + 0.5 * X[:, 0] * X[:, 1] + 0.5 * np.abs(X[:, 2]) + r.standard_normal(n)
    return _bench("wide", X, a, y, lambda t: mu(t) + 0.5 * 0.2 + 0.5 * np.sqrt(2 / np.pi), seed)


#: Processes by name: ``make(n, seed) -> BenchData``.
CURVE_DGPS = {
    "heavy_tailed": _heavy_tailed,
    "confounded_null": _confounded_null,
    "heteroscedastic": _heteroscedastic,
    "modified": _modified,
    "wide": _wide,
}
