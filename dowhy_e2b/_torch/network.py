"""Models of E2B's log base weights: linear in a tensor basis (default) or a small MLP.

Both start at zero (constant base weights: plain entropy balancing).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["LinearBaseWeights", "MLPBaseWeights", "TensorBaseWeights"]


class LinearBaseWeights(nn.Module):
    """Log base weights linear in precomputed basis features; zero-initialised (plain EB at start)."""

    def __init__(self, n_features: int, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.linear = nn.Linear(n_features, 1, bias=False, dtype=dtype)
        nn.init.zeros_(self.linear.weight)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)[:, 0]


class TensorBaseWeights(nn.Module):
    """Log base weights linear in a tensor basis :math:`B(a) \\otimes T(x)`, from its two factors.

    ``forward`` takes ``[B(a), T(x)]`` side by side (the first ``n_spline`` columns are
    :math:`B(a)`) and returns :math:`\\sum_{m, j} \\Theta_{jm} B_m(a) T_j(x)`: the same model as
    :class:`LinearBaseWeights` on the Kronecker product of the factors, without forming it (a
    factor of ``n_spline`` less memory traffic per step).
    """

    def __init__(self, n_spline: int, n_terms: int, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.n_spline = int(n_spline)
        self.weight = nn.Parameter(torch.zeros(n_terms, n_spline, dtype=dtype))

    def forward(self, factors: torch.Tensor) -> torch.Tensor:
        spline, terms = factors[:, : self.n_spline], factors[:, self.n_spline :]
        return ((terms @ self.weight) * spline).sum(dim=1)


class MLPBaseWeights(nn.Module):
    """Log base weights from an MLP on standardised ``(x, a)``; the last layer starts at zero."""

    def __init__(self, n_inputs: int, hidden: Sequence[int] = (64, 64), dtype: torch.dtype = torch.float64):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for h in hidden:
            layers += [nn.Linear(width, h, dtype=dtype), nn.SiLU()]
            width = h
        last = nn.Linear(width, 1, dtype=dtype)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)[:, 0]
