r"""E2B's training loss: squared error of the weighted curve against known random curves.

For weights :math:`w`, the outcome stage (weighted least squares on the spline design
:math:`B`, evaluated on the grid design :math:`D`) maps an outcome vector :math:`v` to the curve
:math:`P v` with :math:`P = D (B^\top W B)^{-1} B^\top W`. For a draw
:math:`\tilde y = f(a) + g + \sum_m h_m B_m + \varepsilon` of :mod:`~dowhy_e2b._torch.functions`,
the error on the grid is :math:`P Z\beta + P\varepsilon` (:math:`f` lies in the spline span and the
constants cancel because :math:`P\mathbf 1 = \mathbf 1`), with :math:`Z` the family's centred columns.
Averaged over the grid (:math:`K = D^\top D / G`), its expectation over the Gaussian family is

.. math::

    L(w) = \operatorname{tr}\!\big(K A^{-1} B^\top W Z Z^\top W B A^{-1}\big)
         + \rho\, \operatorname{tr}\!\big(K A^{-1} B^\top W^2 B A^{-1}\big),
    \qquad A = B^\top W B,

the squared bias of confounding plus :math:`\rho` (noise-to-signal ratio) times the variance the
weights add.

Under the doubly robust stage (:mod:`dowhy_e2b._dr_map`) the weights smooth the outcome model's
residuals: :math:`Z` holds the columns' cross-fitted residuals and each column also carries the
g-computation's error, a fixed curve with spline coefficients :math:`\Gamma` (``offsets``), so the
bias term becomes :math:`\operatorname{tr}(K E E^\top)` with
:math:`E = A^{-1} B^\top W Z + \Gamma`.

:meth:`CurveLoss.expected` computes the loss exactly (an infinite batch of random functions);
:meth:`CurveLoss.sampled` averages explicit draws (the paper's batch loss).
"""

from __future__ import annotations

import torch

__all__ = ["CurveLoss"]


class CurveLoss:
    """Loss of weights on one sample, for a fixed outcome stage and random-function family.

    Parameters
    ----------
    outcome_basis : Tensor of shape (n, q)
        Outcome-stage design at the sample (intercept first).
    grid_basis : Tensor of shape (G, q)
        Outcome-stage design at the loss grid.
    columns : Tensor of shape (n, r)
        The family's centred, scaled columns (confounding parts).
    noise_ratio : float
        Noise variance relative to the family's unit signal variance.
    offsets : Tensor of shape (q, r), optional
        Spline coefficients of each column's error that the weights do not touch (the doubly
        robust stage's g-computation error); none under the weighted stage.
    """

    def __init__(
        self,
        outcome_basis: torch.Tensor,
        grid_basis: torch.Tensor,
        columns: torch.Tensor,
        noise_ratio: float,
        offsets: torch.Tensor | None = None,
    ):
        self.B = outcome_basis
        self.Z = columns
        self.rho = float(noise_ratio)
        G = grid_basis.shape[0]
        self.K = grid_basis.T @ grid_basis / G
        q = self.K.shape[0]
        eye = torch.eye(q, dtype=self.K.dtype, device=self.K.device)
        self._R = torch.linalg.cholesky(self.K + 1e-12 * eye).T  # K = R^T R
        self._offset = None if offsets is None else self._R @ offsets

    def _projector(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B W, R A^{-1})``: :math:`R A^{-1} B^\\top W v` is the grid error of outcome ``v``.

        :math:`A` is solved by Cholesky with a small relative jitter; both loss terms are then
        squared Frobenius norms, non-negative however ill-conditioned the weights make
        :math:`A` (an explicit inverse inside a trace went negative when weights concentrated).
        """
        BW = self.B * w[:, None]
        A = BW.T @ self.B
        q = A.shape[0]
        eye = torch.eye(q, dtype=A.dtype, device=A.device)
        L, _ = torch.linalg.cholesky_ex(A + (1e-10 * torch.trace(A) / q + 1e-300) * eye)
        RAinv = torch.cholesky_solve(self._R.T, L).T  # R A^{-1}, A symmetric
        return BW, RAinv

    def _errors(self, BW: torch.Tensor, RAinv: torch.Tensor, Z: torch.Tensor, coef: torch.Tensor | None):
        """:math:`R E`: the grid errors of the columns ``Z`` (times ``coef`` when drawn)."""
        err = RAinv @ (BW.T @ Z)
        if self._offset is not None:
            err = err + self._offset
        return err if coef is None else err @ coef

    def expected(self, w: torch.Tensor) -> torch.Tensor:
        """Expected grid-averaged squared error over the Gaussian family (bias² + ρ·variance)."""
        BW, RAinv = self._projector(w)
        bias = self._errors(BW, RAinv, self.Z, None).square().sum()
        noise = (RAinv @ BW.T).square().sum()
        return bias + self.rho * noise

    def sampled(self, w: torch.Tensor, coef: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Mean grid-averaged squared error over explicit draws: Gaussian coefficients ``coef``
        (r, S) of the columns and noise ``noise`` (n, S), whose true curve is zero after the
        constants and :math:`f` cancel."""
        BW, RAinv = self._projector(w)
        err = self._errors(BW, RAinv, self.Z, coef) + RAinv @ (BW.T @ noise)
        return err.square().sum() / coef.shape[1]

    def components(self, w: torch.Tensor) -> dict[str, float]:
        """The expected loss split into squared bias and (noise-scaled) variance, as floats."""
        with torch.no_grad():
            BW, RAinv = self._projector(w)
            bias = float(self._errors(BW, RAinv, self.Z, None).square().sum())
            variance = float((RAinv @ BW.T).square().sum())
        return {"bias2": bias, "variance": variance, "noise_ratio": self.rho}
