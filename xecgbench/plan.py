"""Expands a suite into stage tasks keyed by content hashes of everything that shapes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xecgbench.config import ComponentSpec, Suite, content_hash
from xecgbench.param_defaults import key_params
from xecgbench.plugin_manager import PluginSystem
from xecgbench.stages import StageTask
from xecgbench.training import FINE_TUNING_VERSION


@dataclass(frozen=True)
class PlannedTask:
    """A task and the keys of the stages it needs first (by upstream name)."""

    task: StageTask
    needs: dict[str, str]


def _component_id(system: PluginSystem, kind: str, spec: ComponentSpec) -> dict[str, Any]:
    """Name, params and version: a new plugin version invalidates the stages it shaped.

    Params equal to the component's defaults are left out, so writing a default out in a
    suite reuses the stages cached without it.
    """
    registration = system.registry[kind].registration(spec.name)
    params = key_params(registration.component, spec.params)
    return {"name": spec.name, "params": params, "version": registration.version}


def validate_components(suite: Suite, system: PluginSystem) -> None:
    """Raise :class:`~xecgbench.registry.UnknownComponentError` for any unregistered name."""
    data_specs = [suite.data.dataset, *([suite.data.test] if suite.data.test else [])]
    checks = [("datasets", s) for s in data_specs] + [("models", suite.model)]
    checks += [("pretraining", s) for s in suite.pretraining]
    checks += [("freezing", s) for s in suite.freezing]
    checks += [("attributions", s) for s in suite.attributions]
    checks += [("metrics", s) for s in suite.metrics]
    for kind, spec in checks:
        system.registry[kind].registration(spec.name)


def plan(suite: Suite, system: PluginSystem) -> list[PlannedTask]:
    """Every stage of every cell, in dependency order (pretrain … score)."""
    validate_components(suite, system)
    data_id = {
        "dataset": _component_id(system, "datasets", suite.data.dataset),
        "test": _component_id(system, "datasets", suite.data.test) if suite.data.test else None,
        "fs": suite.data.fs,
        "duration_s": suite.data.duration_s,
        "model": _component_id(system, "models", suite.model),
    }
    dataset = suite.data.dataset.display
    metrics = [(s, system.registry["metrics"].get(s.name)) for s in suite.metrics]
    accuracy = [s for s, cls in metrics if cls.info.category == "accuracy"]
    explanation = [s for s, cls in metrics if cls.info.category != "accuracy"]
    explain_id = suite.explain.model_dump(mode="json")
    tasks: list[PlannedTask] = []
    stages: dict[str, list[PlannedTask]] = {
        s: [] for s in ("pretrain", "finetune", "evaluate", "attribute", "score")
    }
    for seed in suite.seeds:
        for pretraining in suite.pretraining:
            pre_key = content_hash(
                [
                    "pretrain",
                    data_id,
                    _component_id(system, "pretraining", pretraining),
                    suite.pretraining_budget.model_dump(),
                    seed,
                ]
            )
            labels = {"dataset": dataset, "seed": seed, "pretraining": pretraining.display}
            specs = {"pretraining": pretraining, "models": suite.model}
            stages["pretrain"].append(
                PlannedTask(StageTask("pretrain", pre_key, seed, specs, labels), {})
            )
            for freezing in suite.freezing:
                fine_key = content_hash(
                    [
                        "finetune",
                        pre_key,
                        _component_id(system, "freezing", freezing),
                        suite.training.model_dump(),
                        FINE_TUNING_VERSION,
                    ]
                )
                cell = {**labels, "freezing": freezing.display}
                cell_specs = {**specs, "freezing": freezing}
                stages["finetune"].append(
                    PlannedTask(
                        StageTask(
                            "finetune", fine_key, seed, cell_specs, {**cell, "attribution": None}
                        ),
                        {"pretrain": pre_key},
                    )
                )
                if accuracy:
                    eval_key = content_hash(
                        [
                            "evaluate",
                            fine_key,
                            [_component_id(system, "metrics", s) for s in accuracy],
                        ]
                    )
                    stages["evaluate"].append(
                        PlannedTask(
                            StageTask(
                                "evaluate",
                                eval_key,
                                seed,
                                cell_specs,
                                {**cell, "attribution": None},
                            ),
                            {"finetune": fine_key},
                        )
                    )
                for attribution in suite.attributions:
                    attr_key = content_hash(
                        [
                            "attribute",
                            fine_key,
                            _component_id(system, "attributions", attribution),
                            explain_id,
                        ]
                    )
                    attr_labels = {**cell, "attribution": attribution.display}
                    attr_specs = {**cell_specs, "attributions": attribution}
                    stages["attribute"].append(
                        PlannedTask(
                            StageTask("attribute", attr_key, seed, attr_specs, attr_labels),
                            {"finetune": fine_key},
                        )
                    )
                    for metric in explanation:
                        score_key = content_hash(
                            ["score", attr_key, _component_id(system, "metrics", metric)]
                        )
                        stages["score"].append(
                            PlannedTask(
                                StageTask(
                                    "score",
                                    score_key,
                                    seed,
                                    {**attr_specs, "metrics": metric},
                                    {**attr_labels, "metric": metric.display},
                                ),
                                {"finetune": fine_key, "attribute": attr_key},
                            )
                        )
    for name in stages:
        tasks.extend(stages[name])
    return tasks
