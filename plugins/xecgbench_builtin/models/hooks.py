"""Registers the bundled model family: xECGArch, pretraining strategies, freezing schedules."""

from __future__ import annotations

import inspect
from typing import Any

from xecgbench.api import BoundRegistry, hookimpl
from xecgbench_builtin.models.freezing import FreezeFirstK, GradualUnfreeze, Iterative, NoFreezing
from xecgbench_builtin.models.pretraining import (
    BothPretraining,
    NoPretraining,
    PWaveDetection,
    RRVariability,
)


class XECGArchFactory:
    """Builds :class:`~xecgbench_builtin.models.xecgarch.XECGArch`; imports torch on first use."""

    name = "xecgarch"
    version = "1"

    def __call__(self, *, fs: float, n_samples: int, **params: Any) -> Any:
        from xecgbench_builtin.models.xecgarch import build_xecgarch

        return build_xecgarch(fs=fs, n_samples=n_samples, **params)

    def accepted_parameters(self) -> set[str]:
        """What ``build_xecgarch`` takes, so a misspelled suite parameter fails before a run."""
        return set(self.__signature__.parameters)

    @property
    def __signature__(self) -> inspect.Signature:
        """``build_xecgarch``'s, with its declared ranges (checked before a run)."""
        from xecgbench_builtin.models.xecgarch import build_xecgarch

        return inspect.signature(build_xecgarch, eval_str=True)


@hookimpl
def xecgbench_register_models(registry: BoundRegistry) -> None:
    """Register ``xecgarch``."""
    registry.register("xecgarch", XECGArchFactory())


@hookimpl
def xecgbench_register_pretraining(registry: BoundRegistry) -> None:
    """Register ``none``, ``p_wave_detection``, ``rr_variability`` and ``both``."""
    for strategy in (NoPretraining, PWaveDetection, RRVariability, BothPretraining):
        registry.register(strategy.name, strategy)


@hookimpl
def xecgbench_register_freezing(registry: BoundRegistry) -> None:
    """Register ``none``, ``freeze_first_k``, ``iterative`` and ``gradual_unfreeze``."""
    for schedule in (NoFreezing, FreezeFirstK, Iterative, GradualUnfreeze):
        registry.register(schedule.name, schedule)
