"""Controls any real method has to beat: ``random`` relevance and the ``amplitude`` map.

``random``: noise seeded per sample from the run's seed and the sample's own values, so it is
deterministic, different for every window, and the same whether a window is explained alone
or in a batch.

``amplitude``: the signal above its own median, ``(x − median(x))⁺`` per window and channel.
It needs no model: an attribution that scores no better than it on a mask says where the ECG
is large (R peaks), not what the model learnt.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

from xecgbench.api import validate_inputs

if TYPE_CHECKING:
    import torch


def sample_seeds(x: torch.Tensor, seed: int) -> list[int]:
    """One 63-bit seed per sample of ``x``, from ``seed`` and the sample's bytes."""
    values = x.detach().cpu().float().contiguous().numpy()
    return [
        int.from_bytes(
            hashlib.blake2b(sample.tobytes(), digest_size=8, key=str(seed).encode()).digest(),
            "little",
        )
        >> 1
        for sample in values
    ]


class RandomAttribution:
    """Standard normal relevance, seeded per sample; ignores model and target on purpose."""

    name: ClassVar[str] = "random"
    version: ClassVar[str] = "1"
    family: ClassVar[str] = "control"
    needs_baseline: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 0.0

    def __init__(self, model: Any, *, seed: int = 0) -> None:
        self.model = model
        self.seed = seed

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch

        validate_inputs(self.name, x, target)
        noise = torch.empty(x.shape, dtype=torch.float32)
        for row, sample_seed in zip(noise, sample_seeds(x, self.seed), strict=True):
            row.normal_(generator=torch.Generator().manual_seed(sample_seed))
        return noise.to(x.device)


class AmplitudeAttribution:
    """The signal above its window's median, ``(x − median)⁺``; ignores model and target.

    The positive part, not ``|x − median|``: the localisation metrics count only positive
    relevance, and z+ rules (DTD) pass positive evidence from positive inputs, so this is the
    amplitude map such a method would reproduce if it learnt nothing (docs/attributions.md).
    """

    name: ClassVar[str] = "amplitude"
    version: ClassVar[str] = "1"
    family: ClassVar[str] = "control"
    needs_baseline: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 0.0

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch

        validate_inputs(self.name, x, target)
        signal = x.detach().float()
        median = signal.median(dim=-1, keepdim=True).values
        return torch.clamp(signal - median, min=0.0)
