r"""Random response functions for training E2B, evaluated on the real ``(x, a)``.

A synthetic outcome is

.. math::

    \tilde y = f(a) + g(x) + \sum_m h_m(x)\,B_m(a) + \varepsilon,

with :math:`B_m` the outcome stage's spline basis, :math:`f` a random spline of the treatment,
:math:`g` and :math:`h_m` random functions of the covariates, and Gaussian noise. :math:`g` and
:math:`h_m` are Gaussian combinations of a dictionary of features: the standardised covariates
(linear), their squares and the products of the covariates most associated with the treatment
(quadratic), cubes of random projections (cubic), random tanh units (a random one-hidden-layer
MLP), and a spline of the estimated propensity index
:math:`\hat E[a \mid x]` — the functions of :math:`x` most entangled with the treatment. Each kind
gets a share of the variance; every column is centred and scaled, so a draw has expected sample
variance 1 (plus the noise).

The true curve of a draw is known exactly:
:math:`\tilde\mu(t) = f(t) + \overline{g} + \sum_m \overline{h_m} B_m(t)` (sample means over the
real :math:`x_i`). Because every column enters with an independent Gaussian coefficient, the
expected squared error of a weighted curve over the family has a closed form (see
:mod:`dowhy_e2b._torch.loss`); :func:`sample_functions` draws explicit functions for the sampled
loss, tests and plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.preprocessing import SplineTransformer

from .._numerics.basis import covariate_pairs, non_binary

__all__ = ["DEFAULT_SHARES", "ResponseFamily", "build_family", "sample_functions"]

#: Default variance shares of the kinds of g(x).
DEFAULT_SHARES: dict[str, float] = {
    "linear": 0.2,
    "quadratic": 0.25,
    "cubic": 0.1,
    "mlp": 0.2,
    "propensity": 0.25,
}
#: Scale of the random tanh units' input weights (times 1/sqrt(d)) and range of their offsets.
TANH_SCALE = 1.5
TANH_OFFSET = 1.0
#: Knots of the spline of the propensity index.
PROPENSITY_KNOTS = 5
#: Random tanh units that also serve as h_m(x) in the interactions (with the linear and
#: propensity features).
N_INTERACTION_TANH = 16


@dataclass(frozen=True)
class ResponseFamily:
    """A Gaussian family of random response functions on one sample.

    Attributes
    ----------
    g : ndarray of shape (n, r_g)
        Centred, scaled columns: :math:`g - \\bar g = g\\_cols\\,\\beta`, :math:`\\beta \\sim N(0, I)`.
    g_offset : ndarray of shape (r_g,)
        Sample means of the uncentred columns (the constant :math:`\\bar g` of a draw is
        ``g_offset @ beta``).
    hk : ndarray of shape (n, r_hk)
        Centred covariate features times outcome-basis columns :math:`(h_r - \\bar h_r) B_m(a)`,
        scaled.
    hk_offset : ndarray of shape (r_hk,)
        Scaled :math:`\\bar h_r` of each column (its truth is ``hk_offset * B_m(grid)``).
    hk_basis : ndarray of int, shape (r_hk,)
        The outcome-basis column :math:`m` of each ``hk`` column.
    kinds : tuple of str
        Kind of each ``g`` column.
    """

    g: np.ndarray
    g_offset: np.ndarray
    hk: np.ndarray
    hk_offset: np.ndarray
    hk_basis: np.ndarray
    kinds: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> np.ndarray:
        """All centred columns ``[g, hk]``: their Gaussian combinations are the confounding parts."""
        return np.hstack([self.g, self.hk])

    @property
    def from_outcome(self) -> np.ndarray:
        """Boolean mask over :attr:`columns`: the anchors (kind ``"outcome"``), fitted to the real
        outcome and so carrying its noise."""
        return np.r_[np.asarray(self.kinds) == "outcome", np.zeros(self.hk.shape[1], dtype=bool)]


def _standardise(F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns centred and scaled to unit variance; constant columns dropped. Also returns means/sds."""
    mean = F.mean(axis=0)
    sd = F.std(axis=0)
    keep = sd > 1e-10 * (1.0 + np.abs(mean))
    return (F[:, keep] - mean[keep]) / sd[keep], mean[keep], sd[keep]


def _dictionary(
    Z: np.ndarray, a: np.ndarray, rng: np.random.Generator, n_random: int
) -> dict[str, np.ndarray]:
    """Raw (uncentred) feature columns of each kind, on standardised covariates ``Z``."""
    n, d = Z.shape
    out: dict[str, np.ndarray] = {"linear": Z}
    # Squares, and products among the covariates most associated with the treatment.
    pairs = covariate_pairs(Z, a)
    out["quadratic"] = np.hstack([Z[:, non_binary(Z)] ** 2, Z[:, pairs[:, 0]] * Z[:, pairs[:, 1]]])
    directions = rng.standard_normal((d, max(n_random // 2, 1)))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    out["cubic"] = (Z @ directions) ** 3
    W = rng.standard_normal((d, n_random)) * (TANH_SCALE / np.sqrt(max(d, 1)))
    b = rng.uniform(-TANH_OFFSET, TANH_OFFSET, n_random)
    out["mlp"] = np.tanh(Z @ W + b)
    # The propensity index: least-squares prediction of the treatment from the covariates.
    design = np.column_stack([np.ones(n), Z])
    coef, *_ = np.linalg.lstsq(design, a, rcond=None)
    index = design @ coef
    if np.ptp(index) > 0:
        spline = SplineTransformer(n_knots=PROPENSITY_KNOTS, degree=3, knots="quantile", include_bias=False)
        out["propensity"] = spline.fit_transform(index[:, None])
    else:
        out["propensity"] = np.empty((n, 0))
    return out


def build_family(
    X: np.ndarray,
    a: np.ndarray,
    outcome_basis: np.ndarray,
    rng: np.random.Generator,
    *,
    shares: dict[str, float] | None = None,
    interaction_share: float = 0.3,
    n_random: int = 64,
    anchors: np.ndarray | None = None,
    anchor_share: float = 0.0,
) -> ResponseFamily:
    """Build the random-function family on a sample.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Covariates.
    a : ndarray of shape (n,)
        Treatment.
    outcome_basis : ndarray of shape (n, q)
        The outcome stage's design at the sample, intercept first.
    rng : numpy Generator
        Draws the random projections and hidden units.
    shares : dict, optional
        Variance share of each kind of :math:`g` (keys from :data:`DEFAULT_SHARES`; missing kinds
        get 0). They are rescaled to sum to ``1 - interaction_share``.
    interaction_share : float, default=0.3
        Variance share of the interaction part :math:`\\sum_m h_m(x) B_m(a)`.
    n_random : int, default=64
        Random tanh units (and half as many random cubic projections).
    anchors : ndarray of shape (n, r_a), optional
        Functions of the covariates fitted to the real outcome (kind ``"outcome"``), e.g.
        cross-fitted predictions at fixed doses.
    anchor_share : float, default=0.0
        Variance share of the ``anchors`` within :math:`g` (the other kinds share the rest).

    Returns
    -------
    ResponseFamily
    """
    shares = dict(DEFAULT_SHARES if shares is None else shares)
    unknown = set(shares) - set(DEFAULT_SHARES)
    if unknown:
        raise ValueError(f"unknown function kinds {sorted(unknown)}; valid kinds: {sorted(DEFAULT_SHARES)}.")
    X = np.asarray(X, dtype=float)
    Z, _, _ = _standardise(X) if X.shape[1] else (np.empty((X.shape[0], 0)), None, None)
    raw = _dictionary(Z, np.asarray(a, dtype=float), rng, n_random)

    g_share = 1.0 - interaction_share
    if anchors is not None and anchor_share > 0 and np.asarray(anchors).shape[1]:
        raw["outcome"] = np.asarray(anchors, dtype=float)
        total_other = sum(v for k, v in shares.items() if raw[k].shape[1] > 0)
        shares = {k: v * (1 - anchor_share) / total_other for k, v in shares.items()}
        shares["outcome"] = anchor_share
    total = sum(v for k, v in shares.items() if raw[k].shape[1] > 0)
    g_cols, g_off, kinds = [], [], []
    for kind, cols in raw.items():
        share = shares.get(kind, 0.0)
        if share <= 0 or cols.shape[1] == 0:
            continue
        Fc, mean, sd = _standardise(cols)
        if Fc.shape[1] == 0:
            continue
        scale = np.sqrt(g_share * share / total / Fc.shape[1])
        g_cols.append(Fc * scale)
        g_off.append(mean / sd * scale)
        kinds += [kind] * Fc.shape[1]

    # Interactions: h_r(x) from the linear, propensity and first tanh features, times B_m(a).
    h_raw = np.hstack([raw["linear"], raw["propensity"], raw["mlp"][:, :N_INTERACTION_TANH]])
    Hc, h_mean, h_sd = _standardise(h_raw) if h_raw.shape[1] else (h_raw, np.zeros(0), np.ones(0))
    Bm = np.asarray(outcome_basis, dtype=float)[:, 1:]
    q1 = Bm.shape[1]
    if interaction_share > 0 and Hc.shape[1] and q1:
        prod = (Hc[:, :, None] * Bm[:, None, :]).reshape(Hc.shape[0], -1)
        rms = np.sqrt(np.mean(prod**2, axis=0))
        rms = np.where(rms > 0, rms, 1.0)
        scale = np.sqrt(interaction_share / prod.shape[1]) / rms
        hk = prod * scale
        hk_offset = (np.repeat(h_mean / h_sd, q1)) * scale
        hk_basis = np.tile(np.arange(1, q1 + 1), Hc.shape[1])
    else:
        hk = np.empty((X.shape[0], 0))
        hk_offset = np.zeros(0)
        hk_basis = np.zeros(0, dtype=int)
    n = X.shape[0]
    return ResponseFamily(
        g=np.hstack(g_cols) if g_cols else np.empty((n, 0)),
        g_offset=np.concatenate(g_off) if g_off else np.zeros(0),
        hk=hk,
        hk_offset=hk_offset,
        hk_basis=hk_basis,
        kinds=tuple(kinds),
    )


def sample_functions(
    family: ResponseFamily,
    outcome_basis: np.ndarray,
    grid_basis: np.ndarray,
    n_functions: int,
    rng: np.random.Generator,
    *,
    noise_sd: float = 0.0,
    f_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw explicit response functions: synthetic outcomes and their exact true curves.

    Parameters
    ----------
    family : ResponseFamily
    outcome_basis : ndarray of shape (n, q)
        Outcome-stage design at the sample (intercept first).
    grid_basis : ndarray of shape (G, q)
        The same design at the grid where the truth is wanted.
    n_functions : int
    rng : numpy Generator
    noise_sd : float, default=0.0
        Standard deviation of the Gaussian noise added to the outcomes.
    f_scale : float, default=1.0
        Scale of the random spline :math:`f(a)` (it is estimated without error by the outcome
        stage, so it does not change the loss; it makes the draws look like outcomes).

    Returns
    -------
    y : ndarray of shape (n, n_functions)
        Synthetic outcomes :math:`\\tilde y` on the sample.
    truth : ndarray of shape (G, n_functions)
        Their true average dose-response :math:`\\tilde\\mu` on the grid.
    """
    B = np.asarray(outcome_basis, dtype=float)
    D = np.asarray(grid_basis, dtype=float)
    n, q = B.shape
    beta_g = rng.standard_normal((family.g.shape[1], n_functions))
    beta_h = rng.standard_normal((family.hk.shape[1], n_functions))
    gamma = rng.standard_normal((q - 1, n_functions)) * f_scale / np.sqrt(max(q - 1, 1))
    g_const = family.g_offset @ beta_g
    y = family.g @ beta_g + g_const + B[:, 1:] @ gamma
    truth = np.tile(g_const, (D.shape[0], 1)) + D[:, 1:] @ gamma
    if family.hk.shape[1]:
        y += family.hk @ beta_h
        # Uncentred h_r: the term hbar_r * B_m(a) is a function of a alone; its truth is on the grid.
        coef = family.hk_offset[:, None] * beta_h
        for m in np.unique(family.hk_basis):
            rows = family.hk_basis == m
            c = coef[rows].sum(axis=0)
            y += B[:, [m]] * c
            truth += D[:, [m]] * c
    if noise_sd > 0:
        y += noise_sd * rng.standard_normal((n, n_functions))
    return y, truth
