"""Hook specifications: the only contract between xecgbench's core and its plugins.

Every component kind has one ``xecgbench_register_<kind>(registry)`` hook; the registry passed
in is already bound to the calling plugin, so it records who registered what. The types the
hooks name are imported for type checkers only: loading the specs loads neither click nor the
runner (``xecgbench --help`` stays fast), and a plugin imports them from ``xecgbench.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from xecgbench.plugins.registry import BoundRegistry
    from xecgbench.run.config import Suite
    from xecgbench.run.runner import RunSummary

hookspec = pluggy.HookspecMarker("xecgbench")
hookimpl = pluggy.HookimplMarker("xecgbench")


@hookspec
def xecgbench_register_datasets(registry: BoundRegistry) -> None:
    """Register dataset classes: ``registry.register("name", DatasetClass)``."""


@hookspec
def xecgbench_register_models(registry: BoundRegistry) -> None:
    """Register model factories returning a :class:`xecgbench.api.BranchedModel`."""


@hookspec
def xecgbench_register_pretraining(registry: BoundRegistry) -> None:
    """Register pretraining strategies (:class:`xecgbench.api.PretrainingStrategy`)."""


@hookspec
def xecgbench_register_freezing(registry: BoundRegistry) -> None:
    """Register freezing schedules (:class:`xecgbench.api.FreezingSchedule`)."""


@hookspec
def xecgbench_register_attributions(registry: BoundRegistry) -> None:
    """Register attribution methods (:class:`xecgbench.api.AttributionMethod`)."""


@hookspec
def xecgbench_register_metrics(registry: BoundRegistry) -> None:
    """Register metrics (:class:`xecgbench.api.AccuracyMetric` or ``ExplanationMetric``)."""


@hookspec
def xecgbench_register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``xecgbench`` command line."""


@hookspec
def xecgbench_run_finished(config: Suite, results: RunSummary) -> None:
    """Called once a run has finished, with the validated suite and what the run did."""
