"""Freezing schedules turn a block count and an epoch budget into stages."""

from __future__ import annotations

import pytest

from xecgbench.plugins.components import FineTuneStage
from xecgbench_builtin.models.freezing import FreezeFirstK, GradualUnfreeze, Iterative, NoFreezing


def test_none_freezes_nothing() -> None:
    assert NoFreezing().stages(4, 10) == [FineTuneStage(0, 10)]


def test_freeze_first_k() -> None:
    assert FreezeFirstK(k=2).stages(4, 10) == [FineTuneStage(2, 10)]
    with pytest.raises(ValueError, match="exceeds"):
        FreezeFirstK(k=5).stages(4, 10)


def test_iterative_freezes_progressively_more() -> None:
    stages = Iterative().stages(4, 8)
    assert [s.frozen_blocks for s in stages] == [0, 1, 2, 3]
    assert all(s.epochs == 2 for s in stages)
    assert [s.frozen_blocks for s in Iterative(max_frozen=2, epochs_per_stage=1).stages(4, 8)] == [
        0,
        1,
        2,
    ]


def test_gradual_unfreeze_is_the_reverse() -> None:
    assert [s.frozen_blocks for s in GradualUnfreeze().stages(4, 10)] == [4, 3, 2, 1, 0]
