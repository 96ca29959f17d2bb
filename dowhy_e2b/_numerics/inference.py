r"""Bands and tests for a curve from its bootstrap replicates (pure functions on ndarrays).

* :func:`normal_band`: pointwise :math:`\hat\mu(t) \pm z_{1-\alpha/2}\,\widehat{\mathrm{se}}(t)`, the
  standard error from the replicates.
* :func:`simultaneous_band`: the sup-t band :math:`\hat\mu(t) \pm c\,\widehat{\mathrm{se}}(t)`, with
  :math:`c` the :math:`1-\alpha` quantile of :math:`\max_t |\mu^*_b(t) - \hat\mu(t)| /
  \widehat{\mathrm{se}}(t)` over the replicates (Montiel Olea & Plagborg-Møller 2019); it covers the
  whole curve with probability :math:`1-\alpha` and always encloses the pointwise band.
* :func:`dose_response_test`: Wald tests that the curve is flat or linear. The curve on the grid
  is projected on orthonormal polynomials of the dose up to ``degree``; the coefficients beyond the
  constant (flat) or the line (linear) are tested against zero with their bootstrap covariance,
  through Hotelling's :math:`T^2` (an :math:`F` reference that accounts for a covariance estimated
  from :math:`B` replicates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["DoseResponseTest", "dose_response_test", "normal_band", "simultaneous_band"]

#: Degree of the polynomial projection used by the flatness and linearity tests.
TEST_DEGREE = 5
#: Eigenvalues of the bootstrap covariance below this share of the largest are treated as zero.
RANK_TOL = 1e-9


def _standard_errors(replicates: np.ndarray) -> np.ndarray:
    return (
        replicates.std(axis=0, ddof=1) if replicates.shape[0] > 1 else np.full(replicates.shape[1:], np.nan)
    )


def normal_band(
    estimate: np.ndarray, replicates: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise band ``estimate ± z * se`` and the standard errors ``se`` (NaN without replicates)."""
    se = _standard_errors(replicates)
    z = float(stats.norm.ppf(0.5 + level / 2))
    return estimate - z * se, estimate + z * se, se


def simultaneous_band(
    estimate: np.ndarray, replicates: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Sup-t band ``estimate ± c * se`` and its critical value ``c`` (at least the pointwise ``z``).

    Points with zero standard error (e.g. a reference dose of an effect curve) are left out of the
    maximum and get a band of zero width.
    """
    se = _standard_errors(replicates)
    z = float(stats.norm.ppf(0.5 + level / 2))
    if replicates.shape[0] < 2:
        return estimate + np.nan, estimate + np.nan, float("nan")
    positive = se > 0
    if positive.any():
        t = np.abs(replicates[:, positive] - estimate[positive]) / se[positive]
        crit = max(float(np.quantile(t.max(axis=1), level)), z)
    else:
        crit = z
    return estimate - crit * se, estimate + crit * se, crit


@dataclass(frozen=True)
class DoseResponseTest:
    """Result of :func:`dose_response_test`.

    Attributes
    ----------
    hypothesis : str
        ``"flat"`` or ``"linear"``.
    statistic : float
        Hotelling's :math:`T^2` (the Wald statistic with the bootstrap covariance).
    df : int
        Number of coefficients tested (after dropping directions without bootstrap variance).
    p_value : float
        From :math:`F(\\mathrm{df}, B - \\mathrm{df})` applied to :math:`T^2 (B - \\mathrm{df}) /
        (\\mathrm{df}(B - 1))`.
    n_replicates : int
    degree : int
        Degree of the polynomial projection.
    """

    hypothesis: str
    statistic: float
    df: int
    p_value: float
    n_replicates: int
    degree: int

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "hypothesis": self.hypothesis,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "n_replicates": self.n_replicates,
            "degree": self.degree,
        }

    def __getitem__(self, key: str) -> float | int | str:
        return self.to_dict()[key]


def _orthonormal_polynomials(grid: np.ndarray, degree: int) -> np.ndarray:
    """Columns 0..degree: polynomials of the grid, orthonormal over its points (QR of a Vandermonde)."""
    t = (grid - grid.mean()) / (np.ptp(grid) / 2 if np.ptp(grid) > 0 else 1.0)
    V = np.polynomial.legendre.legvander(t, degree)
    Q, _ = np.linalg.qr(V)
    signs = np.sign(np.diag(Q.T @ V))
    return Q * np.where(signs == 0, 1.0, signs)


def dose_response_test(
    grid: np.ndarray,
    estimate: np.ndarray,
    replicates: np.ndarray,
    hypothesis: str,
    degree: int = TEST_DEGREE,
) -> DoseResponseTest:
    """Wald test that the curve is flat (``"flat"``) or a straight line (``"linear"``) on ``grid``.

    Parameters
    ----------
    grid : ndarray of shape (G,)
        Doses where the curve is evaluated (spread over the range of interest).
    estimate : ndarray of shape (G,)
        The estimated curve on ``grid``.
    replicates : ndarray of shape (B, G)
        Its bootstrap replicates.
    hypothesis : {"flat", "linear"}
    degree : int, default=5
        Degree of the polynomial projection (at most ``G - 1``).

    Returns
    -------
    DoseResponseTest
    """
    if hypothesis not in ("flat", "linear"):
        raise ValueError(f"hypothesis must be 'flat' or 'linear', got {hypothesis!r}.")
    grid = np.asarray(grid, dtype=float)
    B = replicates.shape[0]
    degree = int(min(degree, grid.size - 1))
    first = 1 if hypothesis == "flat" else 2
    if degree < first or B < 3:
        return DoseResponseTest(hypothesis, float("nan"), 0, float("nan"), B, degree)
    Q = _orthonormal_polynomials(grid, degree)[:, first:]
    d = Q.T @ estimate
    D = replicates @ Q
    cov = np.cov(D, rowvar=False).reshape(Q.shape[1], Q.shape[1])
    vals, vecs = np.linalg.eigh(cov)
    keep = vals > RANK_TOL * max(float(vals.max()), 1e-300)
    r = int(min(keep.sum(), B - 2))
    if r == 0:
        return DoseResponseTest(hypothesis, float("nan"), 0, float("nan"), B, degree)
    order = np.argsort(vals)[::-1][:r]
    proj = vecs[:, order].T @ d
    t2 = float(np.sum(proj**2 / vals[order]))
    f = t2 * (B - r) / (r * (B - 1))
    p = float(stats.f.sf(f, r, B - r))
    return DoseResponseTest(hypothesis, t2, r, p, B, degree)
