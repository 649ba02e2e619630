"""Registers the bundled pretraining strategies and freezing schedules."""

from __future__ import annotations

from typing import Any

from xecgbench import hookimpl
from xecgbench_builtin.freezing import FreezeFirstK, GradualUnfreeze, Iterative, NoFreezing
from xecgbench_builtin.pretraining import (
    BothPretraining,
    NoPretraining,
    PWaveDetection,
    RRVariability,
)


@hookimpl
def xecgbench_register_pretraining(registry: Any) -> None:
    """Register ``none``, ``p_wave_detection``, ``rr_variability`` and ``both``."""
    for strategy in (NoPretraining, PWaveDetection, RRVariability, BothPretraining):
        registry.register(strategy.name, strategy)


@hookimpl
def xecgbench_register_freezing(registry: Any) -> None:
    """Register ``none``, ``freeze_first_k``, ``iterative`` and ``gradual_unfreeze``."""
    for schedule in (NoFreezing, FreezeFirstK, Iterative, GradualUnfreeze):
        registry.register(schedule.name, schedule)
