"""Shared by the quality-metric tests: a tiny seeded 1-D CNN and its saliency explainer."""

from __future__ import annotations

import torch
from captum.attr import Saliency
from torch import nn

T = 240
N = 6


def conv_net() -> nn.Module:
    """A small two-class 1-D CNN in eval mode, the same weights every call."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(1, 4, 7, padding=3),
        nn.ReLU(),
        nn.MaxPool1d(4),
        nn.Conv1d(4, 8, 5, padding=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(4),
        nn.Flatten(),
        nn.Linear(32, 2),
    ).eval()


def saliency(model: nn.Module):
    """A deterministic explainer ``explain(x, target)`` (signed gradient)."""
    def explain(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return Saliency(model).attribute(x.clone().requires_grad_(True), target=target, abs=False)

    return explain
