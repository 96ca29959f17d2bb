"""Pure per-chunk statistics that add up over chunks (no Dask here).

Each class is a partial sum with an ``__add__`` that merges two chunks exactly (Chan et al.'s
update for centred moments; a running maximum for log-sum-exp), so that a tree of additions on the
cluster gives the statistic of all rows, up to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CoMoments", "LogSumExp", "Moments"]


@dataclass(frozen=True)
class Moments:
    """Weighted count, means and centred second moments of columns (Chan, Golub & LeVeque 1983)."""

    weight: float
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, V: np.ndarray, w: np.ndarray | None = None) -> Moments:
        V = np.asarray(V, dtype=float)
        w = np.ones(V.shape[0]) if w is None else np.asarray(w, dtype=float)
        W = float(w.sum())
        if W <= 0:
            return cls(0.0, np.zeros(V.shape[1]), np.zeros(V.shape[1]))
        mean = (w @ V) / W
        return cls(W, mean, w @ (V - mean) ** 2)

    def __add__(self, other: Moments) -> Moments:
        W = self.weight + other.weight
        if W <= 0:
            return self
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.weight / W)
        m2 = self.m2 + other.m2 + delta**2 * (self.weight * other.weight / W)
        return Moments(W, mean, m2)

    @property
    def var(self) -> np.ndarray:
        return self.m2 / self.weight if self.weight > 0 else np.zeros_like(self.m2)


@dataclass(frozen=True)
class CoMoments:
    """Weighted means, variances of ``u`` and of the columns of ``V``, and their co-moments."""

    weight: float
    mean_u: float
    mean_v: np.ndarray
    m2_u: float
    m2_v: np.ndarray
    cm: np.ndarray

    @classmethod
    def of(cls, u: np.ndarray, V: np.ndarray, w: np.ndarray | None = None) -> CoMoments:
        w = np.ones(u.shape[0]) if w is None else np.asarray(w, dtype=float)
        W = float(w.sum())
        if W <= 0:
            z = np.zeros(V.shape[1])
            return cls(0.0, 0.0, z, 0.0, z, z)
        mu, mv = float(w @ u) / W, (w @ V) / W
        du, dV = u - mu, V - mv
        return cls(W, mu, mv, float(w @ du**2), w @ dV**2, (w * du) @ dV)

    def __add__(self, other: CoMoments) -> CoMoments:
        W = self.weight + other.weight
        if W <= 0:
            return self
        f = self.weight * other.weight / W
        du, dv = other.mean_u - self.mean_u, other.mean_v - self.mean_v
        return CoMoments(
            W,
            self.mean_u + du * other.weight / W,
            self.mean_v + dv * other.weight / W,
            self.m2_u + other.m2_u + du**2 * f,
            self.m2_v + other.m2_v + dv**2 * f,
            self.cm + other.cm + du * dv * f,
        )

    def corr(self) -> np.ndarray:
        """Weighted Pearson correlations of ``u`` with each column (0 for a constant column), as
        :func:`~dowhy_e2b._numerics.stats.weighted_corr` computes them."""
        denom = np.sqrt(self.m2_u * self.m2_v)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where(denom > 0, self.cm / np.where(denom > 0, denom, 1.0), 0.0)
        return np.clip(corr, -1.0, 1.0)


@dataclass(frozen=True)
class LogSumExp:
    r"""Sums over rows of :math:`e^{z_i}`, :math:`e^{2z_i}`, :math:`e^{z_i} c_i` and
    :math:`e^{z_i} c_i c_i^\top`, all stored relative to :math:`e^{m}` with :math:`m = \max_i z_i`."""

    m: float
    s: float
    s2: float
    g: np.ndarray
    H: np.ndarray | None

    @classmethod
    def of(cls, z: np.ndarray, C: np.ndarray, hessian: bool = True) -> LogSumExp:
        k = C.shape[1]
        if z.size == 0 or not np.isfinite(z.max()):
            return cls(-np.inf, 0.0, 0.0, np.zeros(k), np.zeros((k, k)) if hessian else None)
        m = float(z.max())
        e = np.exp(z - m)
        return cls(m, float(e.sum()), float(e @ e), C.T @ e, (C * e[:, None]).T @ C if hessian else None)

    def __add__(self, other: LogSumExp) -> LogSumExp:
        if not np.isfinite(other.m):
            return self
        if not np.isfinite(self.m):
            return other
        m = max(self.m, other.m)
        u, v = np.exp(self.m - m), np.exp(other.m - m)
        H = None if self.H is None or other.H is None else u * self.H + v * other.H
        return LogSumExp(
            m, u * self.s + v * other.s, u * u * self.s2 + v * v * other.s2, u * self.g + v * other.g, H
        )

    @property
    def lse(self) -> float:
        return self.m + float(np.log(self.s))
