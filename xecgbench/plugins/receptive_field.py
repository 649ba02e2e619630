"""Receptive fields of 1D conv/pool stacks, computed from the layers (not asserted by hand)."""

from __future__ import annotations

from torch import nn


def _as_int(value: int | tuple[int, ...]) -> int:
    return value[0] if isinstance(value, tuple) else value


def receptive_field(module: nn.Module) -> int:
    """Receptive field in input samples of the conv/pool layers of ``module``, in order.

    Uses r ← r + (k − 1)·d·j and j ← j·s over every ``Conv1d``, ``MaxPool1d`` and ``AvgPool1d``
    in registration order, which is execution order for the sequential stacks we build.
    """
    field, jump = 1, 1
    for layer in module.modules():
        if isinstance(layer, (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d)):
            kernel = _as_int(layer.kernel_size)
            dilation = _as_int(getattr(layer, "dilation", 1))
            stride = _as_int(layer.stride) if layer.stride is not None else kernel
            field += (kernel - 1) * dilation * jump
            jump *= stride
    return field
