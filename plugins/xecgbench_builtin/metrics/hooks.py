"""Registers the bundled metrics: accuracy, localisation, interval profile, quality."""

from __future__ import annotations

from xecgbench.api import AccuracyMetric, BoundRegistry, ExplanationMetric, hookimpl
from xecgbench_builtin.metrics.accuracy import ACCURACY_METRICS
from xecgbench_builtin.metrics.interval_anova import IntervalAnova
from xecgbench_builtin.metrics.interval_profile import IntervalProfile
from xecgbench_builtin.metrics.localisation import LOCALISATION_METRICS
from xecgbench_builtin.metrics.quality import Complexity, Sparseness
from xecgbench_builtin.metrics.quality_batched import BATCHED_QUALITY_METRICS

ALL_METRICS: tuple[type[AccuracyMetric] | type[ExplanationMetric], ...] = (
    *ACCURACY_METRICS,
    *LOCALISATION_METRICS,
    IntervalProfile,
    IntervalAnova,
    *BATCHED_QUALITY_METRICS,  # backend='quantus' is the reference path
    Sparseness,
    Complexity,
)


@hookimpl
def xecgbench_register_metrics(registry: BoundRegistry) -> None:
    """Register every bundled metric under its ``info.name``."""
    for metric in ALL_METRICS:
        registry.register(metric.info.name, metric)
