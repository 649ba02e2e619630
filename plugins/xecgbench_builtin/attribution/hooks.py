"""Registers the bundled attribution methods: zennit LRP/DTD, captum methods, clinical
occlusion and two controls (random, amplitude)."""

from __future__ import annotations

from xecgbench.api import AttributionMethod, BoundRegistry, hookimpl
from xecgbench_builtin.attribution.captum_methods import CAPTUM_METHODS
from xecgbench_builtin.attribution.captum_more import CAPTUM_MORE
from xecgbench_builtin.attribution.clinical_occlusion import ClinicalOcclusion
from xecgbench_builtin.attribution.control_methods import AmplitudeAttribution, RandomAttribution
from xecgbench_builtin.attribution.surrogates import SURROGATES
from xecgbench_builtin.attribution.zennit_methods import ZENNIT_METHODS
from xecgbench_builtin.attribution.zennit_more import ZENNIT_MORE


@hookimpl
def xecgbench_register_attributions(registry: BoundRegistry) -> None:
    """Register every bundled method under its class's ``name``."""
    methods: tuple[type[AttributionMethod], ...] = (
        *ZENNIT_METHODS, *ZENNIT_MORE, *CAPTUM_METHODS, *CAPTUM_MORE, *SURROGATES,
        ClinicalOcclusion, RandomAttribution, AmplitudeAttribution,
    )
    for method in methods:
        registry.register(method.name, method)
