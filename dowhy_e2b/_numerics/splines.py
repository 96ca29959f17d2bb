r"""Penalised regression splines with a data-chosen penalty (pure functions on ndarrays).

The dose-response curve is a cubic B-spline :math:`f(t) = B(t)^\top\beta` with knots at quantiles
of the observed treatment, fitted by penalised weighted least squares

.. math::

    \hat\beta_\lambda = \arg\min_\beta \sum_i w_i (v_i - B(a_i)^\top\beta)^2
        + \lambda \int f''(t)^2\,dt
    = (B^\top W B + \lambda \Omega)^{-1} B^\top W v,

with :math:`\Omega = \int B''(t) B''(t)^\top dt` (O'Sullivan's penalised splines, the smoothing
spline's low-rank form). The penalty's null space is the straight lines, so a large
:math:`\lambda` gives the weighted linear fit and a small one the unpenalised spline.
:math:`\lambda` minimises the weighted generalised cross-validation score

.. math::

    \mathrm{GCV}(\lambda) = \frac{S\,\mathrm{RSS}_w(\lambda)}{(S - \mathrm{edf}(\lambda))^2},
    \qquad \mathrm{edf}(\lambda) = \operatorname{tr}\big((B^\top W B + \lambda\Omega)^{-1}B^\top W B\big),

with :math:`S = \sum_i w_i` (the weights have mean 1, so :math:`S = n`).

Everything the fit needs is in the sufficient statistics :math:`B^\top W B`, :math:`B^\top W v`,
:math:`v^\top W v` and :math:`\sum_i w_i` (:class:`SmootherStats`): sums over units that can be
accumulated chunk by chunk. One generalised eigendecomposition of :math:`(B^\top W B, \Omega)` gives
the fit, the effective degrees of freedom and the score for every :math:`\lambda` in closed form.

Outside the boundary knots the curve continues as a straight line (its value and slope at the
boundary), so the tails never swing with a cubic piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.interpolate import BSpline

__all__ = [
    "CRITERIA",
    "PenalisedFit",
    "PenalisedProblem",
    "SmootherStats",
    "SplineBasis",
    "fit_penalised",
    "make_spline_basis",
    "select_penalty",
    "smoother_stats",
    "spline_basis_from",
]

#: Log10 of the penalty grid searched by GCV, relative to ``tr(B'WB) / tr(Omega)``.
LOG_PENALTY_GRID = np.linspace(-9.0, 5.0, 57)
#: Groups of units per block in :meth:`PenalisedProblem.loo_sums`.
LOO_BLOCK = 2048
#: Relative jitter added to ``B'WB`` when it is singular (basis functions without data in a resample).
GRAM_JITTER = 1e-9


@dataclass(frozen=True)
class SplineBasis:
    """A B-spline basis on ``[lower, upper]`` with linear continuation outside.

    Attributes
    ----------
    knots : ndarray
        The full knot vector (boundary knots repeated ``degree + 1`` times).
    degree : int
    """

    knots: np.ndarray
    degree: int

    @property
    def lower(self) -> float:
        return float(self.knots[self.degree])

    @property
    def upper(self) -> float:
        return float(self.knots[-self.degree - 1])

    @property
    def n_basis(self) -> int:
        return int(self.knots.size - self.degree - 1)

    @property
    def breakpoints(self) -> np.ndarray:
        """The distinct knots, boundary knots included (what ``make_spline_basis(knots=...)`` takes)."""
        return np.unique(self.knots)

    def _spline(self, deriv: int) -> BSpline:
        # A copy: knots unpickled on a Dask worker are read-only, which SciPy's evaluator refuses.
        spline = BSpline(
            np.array(self.knots, dtype=float), np.eye(self.n_basis), self.degree, extrapolate=False
        )
        return spline.derivative(deriv) if deriv else spline

    def design(self, x: np.ndarray, deriv: int = 0) -> np.ndarray:
        """Basis functions (or their ``deriv``-th derivatives) at ``x``, shape (len(x), n_basis).

        Outside ``[lower, upper]`` the basis continues linearly, so any curve in its span is
        continued by its tangent at the boundary: second and higher derivatives vanish there.
        """
        x = np.atleast_1d(np.asarray(x, dtype=float)).ravel()
        lo, hi = self.lower, self.upper
        inside = np.clip(x, lo, hi)
        out = np.nan_to_num(self._spline(deriv)(inside))
        below, above = x < lo, x > hi
        if below.any() or above.any():
            if deriv == 0:
                slope = self._spline(1)
                for mask, edge in ((below, lo), (above, hi)):
                    if mask.any():
                        out[mask] += (x[mask] - edge)[:, None] * np.nan_to_num(slope(np.array([edge])))
            elif deriv == 1:
                pass  # the slope at the boundary, already evaluated at the clipped point
            else:
                out[below | above] = 0.0
        return out

    def penalty(self, order: int = 2) -> np.ndarray:
        r""":math:`\int_{lower}^{upper} B^{(order)}(t) B^{(order)}(t)^\top dt`, by Gauss-Legendre
        quadrature on each knot interval (exact for polynomial pieces)."""
        breaks = np.unique(self.knots[self.degree : self.knots.size - self.degree])
        nodes, weights = np.polynomial.legendre.leggauss(self.degree + 1)
        half = np.diff(breaks) / 2
        mid = (breaks[:-1] + breaks[1:]) / 2
        t = (mid[:, None] + half[:, None] * nodes[None, :]).ravel()
        wq = (half[:, None] * weights[None, :]).ravel()
        D = np.nan_to_num(self._spline(order)(t))
        return (D * wq[:, None]).T @ D


def make_spline_basis(
    x: np.ndarray,
    n_knots: int = 20,
    degree: int = 3,
    knots: str | np.ndarray = "quantile",
) -> SplineBasis:
    """A spline basis for the values ``x``.

    Parameters
    ----------
    x : ndarray of shape (n,)
        The treatment values the basis must cover (boundary knots at their minimum and maximum).
    n_knots : int, default=20
        Knots including the two boundary knots; fewer when ``x`` has few distinct values (at most
        one knot per distinct value, so that no basis function lives between two data points).
    degree : int, default=3
    knots : {"quantile", "uniform"} or array-like
        Knots at quantiles of ``x``, evenly spaced over its range, or given: an array holds
        every knot, the two boundary knots included (``x`` may extend beyond them: the basis
        continues linearly there).

    Returns
    -------
    SplineBasis
    """
    x = np.asarray(x, dtype=float).ravel()
    if isinstance(knots, str):
        lo, hi = float(x.min()), float(x.max())
        if not hi > lo:
            raise ValueError("a spline basis needs at least two distinct values.")
        k = int(min(n_knots, np.unique(x).size))
        if knots == "quantile":
            inner = np.quantile(x, np.linspace(0, 1, k)[1:-1])
        elif knots == "uniform":
            inner = np.linspace(lo, hi, k)[1:-1]
        else:
            raise ValueError(f"knots must be 'quantile', 'uniform' or an array, got {knots!r}.")
    else:
        given = np.unique(np.asarray(knots, dtype=float).ravel())
        if given.size < 2 or not np.all(np.isfinite(given)):
            raise ValueError(f"knots must hold at least two distinct finite values, got {given.tolist()}.")
        inner, lo, hi = given[1:-1], float(given[0]), float(given[-1])
    return spline_basis_from(lo, hi, inner, degree)


def spline_basis_from(lo: float, hi: float, inner: np.ndarray, degree: int = 3) -> SplineBasis:
    """The basis with boundary knots ``lo``, ``hi`` and interior knots ``inner`` (those strictly
    inside, without repeats): :func:`make_spline_basis` once its knots are known."""
    inner = np.asarray(inner, dtype=float)
    inner = np.unique(inner[(inner > lo) & (inner < hi)])
    full = np.concatenate([np.full(degree + 1, lo), inner, np.full(degree + 1, hi)])
    return SplineBasis(knots=full, degree=int(degree))


@dataclass(frozen=True)
class SmootherStats:
    """Sufficient statistics of a weighted spline fit: sums over units, so chunks add up.

    Attributes
    ----------
    gram : ndarray of shape (q, q)
        :math:`B^\\top W B`.
    moment : ndarray of shape (q,) or (q, r)
        :math:`B^\\top W v` (one column per response).
    sum_sq : float or ndarray of shape (r,)
        :math:`v^\\top W v`.
    weight_sum : float
        :math:`\\sum_i w_i`.
    """

    gram: np.ndarray
    moment: np.ndarray
    sum_sq: np.ndarray
    weight_sum: float

    def __add__(self, other: SmootherStats) -> SmootherStats:
        return SmootherStats(
            self.gram + other.gram,
            self.moment + other.moment,
            self.sum_sq + other.sum_sq,
            self.weight_sum + other.weight_sum,
        )


def smoother_stats(B: np.ndarray, v: np.ndarray, w: np.ndarray | None = None) -> SmootherStats:
    """:class:`SmootherStats` of responses ``v`` (n,) or (n, r) on the design ``B`` with weights ``w``."""
    w = np.ones(B.shape[0]) if w is None else np.asarray(w, dtype=float)
    BW = B * w[:, None]
    v = np.asarray(v, dtype=float)
    sum_sq = np.einsum("i,i...->...", w, v**2)
    return SmootherStats(BW.T @ B, BW.T @ v, np.asarray(sum_sq, dtype=float), float(w.sum()))


@dataclass(frozen=True)
class PenalisedFit:
    """A penalised spline fit.

    Attributes
    ----------
    coef : ndarray of shape (q,)
    penalty : float
        The penalty :math:`\\lambda` used.
    edf : float
        Effective degrees of freedom,
        :math:`\\operatorname{tr}((B^\\top WB + \\lambda\\Omega)^{-1}B^\\top WB)`.
    score : float
        The selection criterion at ``penalty`` (NaN for a given penalty).
    """

    coef: np.ndarray
    penalty: float
    edf: float
    score: float


class PenalisedProblem:
    r"""One weighted penalised least-squares problem, solved for any penalty in closed form.

    With :math:`G = B^\top W B = LL^\top` and :math:`L^{-1}\Omega L^{-\top} = U\,\mathrm{diag}(s)\,U^\top`,
    :math:`(G + \lambda\Omega)^{-1} = L^{-\top} U \mathrm{diag}(1/(1 + \lambda s)) U^\top L^{-1}`: the fit,
    the effective degrees of freedom and the residual sum of squares follow for every
    :math:`\lambda` from one eigendecomposition.
    """

    def __init__(self, stats: SmootherStats, omega: np.ndarray):
        G = np.asarray(stats.gram, dtype=float)
        q = G.shape[0]
        self.stats = stats
        try:
            self.L = linalg.cholesky(G, lower=True)
        except linalg.LinAlgError:  # basis functions without data (e.g. in a bootstrap resample)
            jitter = GRAM_JITTER * max(float(np.trace(G)) / q, 1e-300)
            self.L = linalg.cholesky(G + jitter * np.eye(q), lower=True)
        # Omega in the metric of G.
        Linv_omega = linalg.solve_triangular(self.L, omega, lower=True)
        M = linalg.solve_triangular(self.L, Linv_omega.T, lower=True)
        s, self.U = linalg.eigh((M + M.T) / 2)
        self.s = np.clip(s, 0.0, None)
        self.z = self.U.T @ linalg.solve_triangular(self.L, np.asarray(stats.moment, dtype=float), lower=True)
        self.scale = float(np.trace(G)) / max(float(np.trace(omega)), 1e-300)

    def grid(self) -> np.ndarray:
        """Candidate penalties: :data:`LOG_PENALTY_GRID` relative to ``tr(B'WB) / tr(Omega)``."""
        return self.scale * 10.0**LOG_PENALTY_GRID

    def shrinkage(self, lams: np.ndarray) -> np.ndarray:
        r""":math:`1/(1 + \lambda s_k)`, shape (len(lams), q)."""
        return 1.0 / (1.0 + np.asarray(lams, dtype=float)[:, None] * self.s[None, :])

    def gcv(self, lams: np.ndarray, gamma: float = 1.0) -> np.ndarray:
        r"""Weighted GCV scores :math:`S\,\mathrm{RSS}_w / (S - \gamma\,\mathrm{edf})^2`."""
        shrink = self.shrinkage(lams)
        edf = shrink.sum(axis=1)
        rss = float(self.stats.sum_sq) - (self.z**2 * (2 * shrink - shrink**2)).sum(axis=1)
        S = float(self.stats.weight_sum)
        return S * np.maximum(rss, 0.0) / np.maximum(S - gamma * edf, 1e-12 * S) ** 2

    def loo(self, lams: np.ndarray, B: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        r"""Weighted leave-one-dose-out scores: every group of units sharing a row of the design (a
        dose) is left out in turn, and the score is
        :math:`\sum_g \sum_{i \in g} w_i (v_i - \hat v^{(-g)})^2 / \sum_i w_i`.

        With distinct doses this is exact weighted leave-one-out cross-validation. With tied doses
        (integer-valued doses, bootstrap duplicates) leaving one unit of a tie out would barely move
        the fit, and a curve through the tied groups' means would look perfect; leaving the whole
        dose out asks what smoothing is for: the curve at a dose it has not seen. In closed form: for
        a group at design row :math:`b` with weight :math:`W_g` and weighted residual sum
        :math:`S_g`, :math:`\hat v^{(-g)} = \hat v - h S_g / (1 - h W_g)` with
        :math:`h = b^\top (B^\top WB + \lambda\Omega)^{-1} b` (Sherman-Morrison).
        """
        total, weight = self.loo_sums(lams, B, v, w)
        return total / weight

    @staticmethod
    def dose_groups(B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(distinct design rows, each row's group)``: the units :meth:`loo` leaves out together.
        It depends on the design alone, so callers scoring several responses on one design (the
        bootstrap replicates of a chunk) compute it once and pass it to :meth:`loo_sums`."""
        rows, group = np.unique(np.round(B, 12), axis=0, return_inverse=True)
        return rows, group.ravel()

    def loo_sums(
        self,
        lams: np.ndarray,
        B: np.ndarray,
        v: np.ndarray,
        w: np.ndarray,
        groups: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, float]:
        """The sums behind :meth:`loo`, ``(sum_i w_i (v_i - v_hat_i^(-g))^2, sum_i w_i)``, so that chunks
        of rows add up. Ties are grouped among the rows given: on chunked data, a dose tied across two
        chunks is left out chunk by chunk (exact whenever the doses are distinct). ``groups`` is
        :meth:`dose_groups` of ``B``, when the caller has it."""
        rows, group = self.dose_groups(B) if groups is None else groups
        W = np.bincount(group, weights=w, minlength=rows.shape[0])
        Wv = np.bincount(group, weights=w * v, minlength=rows.shape[0])
        Wvv = np.bincount(group, weights=w * v * v, minlength=rows.shape[0])
        kept = W > 0  # a group without weight adds nothing (a bootstrap replicate's unsampled units)
        rows, W, Wv, Wvv = rows[kept], W[kept], Wv[kept], Wvv[kept]
        n_groups = rows.shape[0]
        C = linalg.solve_triangular(self.L, rows.T, lower=True).T @ self.U  # (groups, q)
        shrink = self.shrinkage(lams)  # (L, q)
        coef = (shrink * self.z).T
        total = np.zeros(shrink.shape[0])
        # In blocks of groups, so that the (groups, penalties) temporaries stay small.
        for i in range(0, n_groups, LOO_BLOCK):
            c, Wb, Wvb = C[i : i + LOO_BLOCK], W[i : i + LOO_BLOCK, None], Wv[i : i + LOO_BLOCK, None]
            fitted = c @ coef  # (block, L)
            h = (c**2) @ shrink.T
            S = Wvb - fitted * Wb  # weighted residual sums
            delta = h * S / np.maximum(1.0 - h * Wb, 1e-8)
            # sum_i w_i (r_i + delta)^2 with r_i = v_i - fitted
            rss = Wvv[i : i + LOO_BLOCK, None] - 2 * fitted * Wvb + fitted**2 * Wb
            total += (rss + 2 * delta * S + delta**2 * Wb).sum(axis=0)
        return total, float(w.sum())

    def fit(self, lam: float, score: float = float("nan")) -> PenalisedFit:
        shrink = 1.0 / (1.0 + lam * self.s)
        coef = linalg.solve_triangular(self.L.T, self.U @ (shrink * self.z), lower=False)
        return PenalisedFit(coef=coef, penalty=float(lam), edf=float(shrink.sum()), score=float(score))


#: Criteria that choose the penalty.
CRITERIA = ("gcv", "loo")


def fit_penalised(
    stats: SmootherStats,
    omega: np.ndarray,
    penalty: float | str = "gcv",
    units: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> PenalisedFit:
    """Penalised least squares from sufficient statistics, the penalty given or chosen from the data.

    Parameters
    ----------
    stats : SmootherStats
        For one response (``moment`` of shape (q,)).
    omega : ndarray of shape (q, q)
        Roughness penalty matrix (:meth:`SplineBasis.penalty`).
    penalty : float, "gcv" or "loo", default="gcv"
        :math:`\\lambda`, or the minimiser over :data:`LOG_PENALTY_GRID` of the weighted GCV score
        (from the statistics alone) or of the weighted leave-one-dose-out error (needs ``units``;
        see :meth:`PenalisedProblem.loo`).
    units : tuple (B, v, w), optional
        The design, response and weights of the units, for ``penalty="loo"``.

    Returns
    -------
    PenalisedFit
    """
    return select_penalty(PenalisedProblem(stats, omega), penalty, units)


def select_penalty(
    problem: PenalisedProblem,
    penalty: float | str = "gcv",
    units: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    loo_scores: np.ndarray | None = None,
) -> PenalisedFit:
    """:func:`fit_penalised` on a built problem; ``loo_scores`` (on :meth:`PenalisedProblem.grid`)
    stand in for ``units`` when they were summed elsewhere (chunk by chunk)."""
    if not isinstance(penalty, str):
        lam = float(penalty)
        if not lam >= 0:
            raise ValueError(f"penalty must be a float >= 0, 'gcv' or 'loo', got {penalty!r}.")
        return problem.fit(lam)
    if penalty not in CRITERIA:
        raise ValueError(f"penalty must be a float >= 0, 'gcv' or 'loo', got {penalty!r}.")
    lams = problem.grid()
    if penalty == "gcv":
        scores = problem.gcv(lams)
    elif loo_scores is not None:
        scores = np.asarray(loo_scores, dtype=float)
    else:
        if units is None:
            raise ValueError("penalty='loo' needs the units' design, response and weights.")
        B, v, w = units
        scores = problem.loo(
            lams, np.asarray(B, dtype=float), np.asarray(v, dtype=float), np.asarray(w, dtype=float)
        )
    best = int(np.argmin(scores))
    return problem.fit(float(lams[best]), float(scores[best]))
