"""Models of E2B's log base weights: linear in a tensor basis (default) or a small MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["LinearBaseWeights", "MLPBaseWeights"]


class LinearBaseWeights(nn.Module):
    """Log base weights linear in precomputed basis features; zero-initialised (plain EB at start)."""

    def __init__(self, n_features: int, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.linear = nn.Linear(n_features, 1, bias=False, dtype=dtype)
        nn.init.zeros_(self.linear.weight)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)[:, 0]


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
