"""Registers the bundled attribution methods: zennit LRP/DTD, captum baselines, a random control."""

from __future__ import annotations

from typing import Any

from xecgbench import hookimpl
from xecgbench_builtin.attribution.captum_methods import CAPTUM_METHODS
from xecgbench_builtin.attribution.control_methods import RandomAttribution
from xecgbench_builtin.attribution.zennit_methods import ZENNIT_METHODS


@hookimpl
def xecgbench_register_attributions(registry: Any) -> None:
    """Register every bundled method under its class's ``name``."""
    for method in (*ZENNIT_METHODS, *CAPTUM_METHODS, RandomAttribution):
        registry.register(method.name, method)
