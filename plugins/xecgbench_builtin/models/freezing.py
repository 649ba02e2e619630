"""Freezing schedules: how many blocks stay frozen in each fine-tuning stage."""

from __future__ import annotations

from xecgbench.api import FineTuneStage


class NoFreezing:
    """Fine-tune everything: the original xECGArch."""

    name = "none"
    version = "1"
    depth = 0  # on the ordered freezing-depth scale the trend test reads

    def stages(self, n_blocks: int, epochs: int) -> list[FineTuneStage]:
        """One stage, nothing frozen."""
        return [FineTuneStage(0, epochs)]


class FreezeFirstK:
    """Keep the first ``k`` (pre-trained) blocks of every branch frozen throughout."""

    name = "freeze_first_k"
    version = "1"

    def __init__(self, k: int = 1) -> None:
        if k < 0:
            raise ValueError(f"freeze_first_k: k must be >= 0, got {k}")
        self.k = k

    @property
    def depth(self) -> int:
        """Blocks kept frozen: this schedule's place on the ordered depth scale."""
        return self.k

    def stages(self, n_blocks: int, epochs: int) -> list[FineTuneStage]:
        """One stage with ``k`` blocks frozen (``k`` may not exceed the block count)."""
        if self.k > n_blocks:
            raise ValueError(f"freeze_first_k: k={self.k} exceeds the model's {n_blocks} blocks")
        return [FineTuneStage(self.k, epochs)]


class Iterative:
    """The study's schedule: stages freezing 0, 1, 2, … blocks, ``epochs_per_stage`` each.

    ``max_frozen`` caps the deepest stage (default: all blocks but the last).
    """

    name = "iterative"
    version = "1"
    depth = None  # several depths in turn: not a point on the ordered scale

    def __init__(self, epochs_per_stage: int | None = None, max_frozen: int | None = None) -> None:
        self.epochs_per_stage = epochs_per_stage
        self.max_frozen = max_frozen

    def stages(self, n_blocks: int, epochs: int) -> list[FineTuneStage]:
        """``max_frozen + 1`` stages; the epoch budget is split evenly unless given per stage."""
        deepest = n_blocks - 1 if self.max_frozen is None else min(self.max_frozen, n_blocks)
        per_stage = self.epochs_per_stage or max(1, epochs // (deepest + 1))
        return [FineTuneStage(k, per_stage) for k in range(deepest + 1)]


class GradualUnfreeze:
    """ULMFiT-style contrast: start with every block frozen, unfreeze one more per stage."""

    name = "gradual_unfreeze"
    version = "1"
    depth = None  # several depths in turn: not a point on the ordered scale

    def __init__(self, epochs_per_stage: int | None = None) -> None:
        self.epochs_per_stage = epochs_per_stage

    def stages(self, n_blocks: int, epochs: int) -> list[FineTuneStage]:
        """Stages freezing K, K−1, …, 0 blocks (head always trainable)."""
        per_stage = self.epochs_per_stage or max(1, epochs // (n_blocks + 1))
        return [FineTuneStage(k, per_stage) for k in range(n_blocks, -1, -1)]
