"""Expands a suite into stage tasks keyed by content hashes of everything that shapes them.

One key function per stage says what shapes that stage's result; :func:`cells` walks the grid
flatly; :func:`plan` puts every stage of every cell in dependency order (:data:`STAGES`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from xecgbench.plugins.components import TrainingBudget
from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.config import ComponentSpec, Suite, content_hash, later_budget_fields
from xecgbench.run.param_defaults import key_params
from xecgbench.run.preflight import validate_components
from xecgbench.run.stage_types import STAGE_VERSIONS, STAGES, UNTRAINED, StageTask
from xecgbench.run.training import FINE_TUNING_VERSION
from xecgbench.run.windows import explained_subset

#: Explain settings that change the relevance arrays (which windows, which branches, chunking);
#: the rest (mask pairings, how many windows costly metrics score) only shapes the scores.
ATTRIBUTION_FIELDS = ("n_samples", "sample", "batch_size", "branches", "target")
SCORE_FIELDS = ("alignment", "n_costly")


@dataclass(frozen=True)
class PlannedTask:
    """A task and the keys of the stages it needs first (by upstream name)."""

    task: StageTask
    needs: dict[str, str]


@dataclass(frozen=True)
class Cell:
    """One point of the grid up to fine-tuning: seed × pretraining × freezing."""

    seed: int
    pretraining: ComponentSpec
    freezing: ComponentSpec


def _component_id(system: PluginSystem, kind: str, spec: ComponentSpec) -> dict[str, Any]:
    """Name, params and version: a new plugin version invalidates the stages it shaped.

    Params equal to the component's defaults are left out, so writing a default out in a
    suite reuses the stages cached without it.
    """
    registration = system.registry[kind].registration(spec.name)
    params = key_params(registration.component, spec.params)
    return {"name": spec.name, "params": params, "version": registration.version}


#: Budget fields added after keys existed but before hashes left them out, with the value that
#: reproduces the older behaviour: left out of keys at that value, so older caches stay valid
#: (later ones are left out of both, by :func:`~xecgbench.run.config.later_budget_fields`).
_LATER_KEY_DEFAULTS: dict[str, Any] = {"schedule": "constant", "class_weight": "inverse"}


def _budget_id(budget: TrainingBudget) -> dict[str, Any]:
    unset = later_budget_fields(budget)
    return {k: v for k, v in dataclasses.asdict(budget).items()
            if k not in unset and _LATER_KEY_DEFAULTS.get(k, object()) != v}


@dataclass(frozen=True)
class StageKeys:
    """The content-hash key of each stage, from the suite and the registered versions."""

    suite: Suite
    system: PluginSystem

    def _id(self, kind: str, spec: ComponentSpec) -> dict[str, Any]:
        return _component_id(self.system, kind, spec)

    def _explain(self, fields: tuple[str, ...]) -> dict[str, Any]:
        """The explain ``fields``; later fields at their older behaviour are left out (keys
        made before they existed stay valid)."""
        explain = self.suite.explain
        return explain.model_dump(mode="json",
                                  include=set(fields) - explain.unset_later_fields())

    def _data_id(self) -> dict[str, Any]:
        data = self.suite.data
        # The test source shapes no training: suites that differ only in it (``paper`` and
        # ``paper-ludb``) share their pretrained and fine-tuned models in one ``--out``.
        return {
            "dataset": self._id("datasets", data.dataset),
            "test": None,  # kept (constant) so keys of suites without a test source are unchanged
            "fs": data.fs,
            "duration_s": data.duration_s,
            "model": self._id("models", self.suite.model),
        }

    def pretrain(self, seed: int, pretraining: ComponentSpec) -> str:
        """Data, model, strategy, pretraining budget, seed."""
        return content_hash([
            "pretrain", self._data_id(), self._id("pretraining", pretraining),
            _budget_id(self.suite.pretraining_budget), seed,
        ])

    def untrained(self, seed: int) -> str:
        """The seed's initial model: data and model (as for pretraining), seed; no budget or
        strategy, so every cell of the seed shares it."""
        return content_hash(["untrained", self._data_id(), seed])

    def finetune(self, pre_key: str, freezing: ComponentSpec) -> str:
        """The pretrained model, the schedule, the training budget and procedure version."""
        return content_hash([
            "finetune", pre_key, self._id("freezing", freezing),
            _budget_id(self.suite.training), FINE_TUNING_VERSION,
        ])

    def _evaluation_source(self) -> list[dict[str, Any]]:
        """The separate test source, if any ([] keeps the keys of suites without one)."""
        data = self.suite.data
        if data.test is None and data.test_split is None:
            return []
        return [{"test": self._id("datasets", data.test) if data.test else None,
                 "test_split": data.test_split}]

    def evaluate(self, fine_key: str, accuracy: list[ComponentSpec]) -> str:
        """The fine-tuned model, the windows it is evaluated on and the accuracy metrics."""
        return content_hash(
            ["evaluate", fine_key, *self._evaluation_source(),
             [self._id("metrics", s) for s in accuracy], STAGE_VERSIONS["evaluate"]]
        )

    def attribute(self, fine_key: str, attribution: ComponentSpec) -> str:
        """The fine-tuned model, the explained windows' source, the method, and the explain
        fields that shape relevance (a costly method's subset only for that method, so the
        others keep their relevance)."""
        method = self.system.registry["attributions"].get(attribution.name)
        subset = explained_subset(self.suite.explain, method)
        return content_hash([
            "attribute", fine_key, *self._evaluation_source(),
            self._id("attributions", attribution),
            self._explain(ATTRIBUTION_FIELDS),
            *([] if subset is None else [{"costly_subset": subset}]),
        ])

    def score(self, attr_key: str, metric: ComponentSpec) -> str:
        """The relevance, the metric, and the explain fields that shape scores only."""
        return content_hash(
            ["score", attr_key, self._id("metrics", metric), self._explain(SCORE_FIELDS),
             STAGE_VERSIONS["score"]]
        )


def freezes_random_weights(system: PluginSystem, pretraining: ComponentSpec,
                           freezing: ComponentSpec) -> bool:
    """Whether the cell keeps randomly initialised blocks frozen: a strategy that pre-trains
    no branch under a schedule that freezes any block (a fixed depth above 0, or none fixed:
    ``iterative`` and ``gradual_unfreeze`` freeze blocks in turn)."""
    if system.registry["pretraining"].get(pretraining.name).branches:
        return False
    schedule = system.registry["freezing"].get(freezing.name)(**freezing.params)
    return getattr(schedule, "depth", None) != 0


def cells(suite: Suite, system: PluginSystem) -> Iterator[Cell]:
    """Every seed × pretraining × freezing of the suite, in suite order; from-scratch cells
    with frozen blocks only when the suite asks for ``random_features`` (they would freeze
    random weights: the from-scratch baseline is the model trained with nothing frozen)."""
    for seed, pretraining, freezing in itertools.product(
        suite.seeds, suite.pretraining, suite.freezing
    ):
        if suite.random_features or not freezes_random_weights(system, pretraining, freezing):
            yield Cell(seed, pretraining, freezing)


def _cell_tasks(suite: Suite, keys: StageKeys, cell: Cell, accuracy: list[ComponentSpec],
                explanation: list[ComponentSpec]) -> Iterator[PlannedTask]:
    """The fine-tune, evaluate, attribute and score tasks of one cell."""
    pre_key = keys.pretrain(cell.seed, cell.pretraining)
    fine_key = keys.finetune(pre_key, cell.freezing)
    labels = {"dataset": suite.data.dataset.display, "seed": cell.seed,
              "pretraining": cell.pretraining.display, "freezing": cell.freezing.display}
    specs = {"pretraining": cell.pretraining, "models": suite.model, "freezing": cell.freezing}
    model_labels = {**labels, "attribution": None}
    yield PlannedTask(StageTask("finetune", fine_key, cell.seed, specs, model_labels),
                      {"pretrain": pre_key})
    if accuracy:
        yield PlannedTask(
            StageTask("evaluate", keys.evaluate(fine_key, accuracy), cell.seed, specs,
                      model_labels),
            {"finetune": fine_key},
        )
    yield from _explanation_tasks(suite, keys, cell.seed, fine_key, specs, labels, explanation,
                                  {"finetune": fine_key})


def _explanation_tasks(suite: Suite, keys: StageKeys, seed: int, model_key: str,
                       specs: dict[str, ComponentSpec], labels: dict[str, Any],
                       explanation: list[ComponentSpec],
                       model_needs: dict[str, str]) -> Iterator[PlannedTask]:
    """Attribute and score tasks of every method on the model keyed ``model_key``."""
    for attribution in suite.attributions:
        attr_key = keys.attribute(model_key, attribution)
        attr_labels = {**labels, "attribution": attribution.display}
        attr_specs = {**specs, "attributions": attribution}
        yield PlannedTask(StageTask("attribute", attr_key, seed, attr_specs, attr_labels),
                          dict(model_needs))
        for metric in explanation:
            yield PlannedTask(
                StageTask("score", keys.score(attr_key, metric), seed,
                          {**attr_specs, "metrics": metric},
                          {**attr_labels, "metric": metric.display}),
                {**model_needs, "attribute": attr_key},
            )


def _untrained_tasks(suite: Suite, keys: StageKeys, seed: int,
                     explanation: list[ComponentSpec]) -> Iterator[PlannedTask]:
    """The null baseline of one seed: every method on the initial model, scored like a cell.

    Its rows carry ``model_state = untrained`` and no pretraining or freezing label; it needs
    no upstream stage (the initial weights are rebuilt from the seed, see ``load_model``).
    """
    labels = {"dataset": suite.data.dataset.display, "seed": seed, "pretraining": None,
              "freezing": None, "model_state": UNTRAINED}
    specs = {"models": suite.model}
    yield from _explanation_tasks(suite, keys, seed, keys.untrained(seed), specs, labels,
                                  explanation, {})


def plan(suite: Suite, system: PluginSystem) -> list[PlannedTask]:
    """Every stage of every cell, grouped by stage in :data:`STAGES` order."""
    validate_components(suite, system)
    keys = StageKeys(suite, system)
    metrics = system.registry["metrics"]
    is_accuracy = [metrics.get(s.name).info.category == "accuracy" for s in suite.metrics]
    accuracy = [s for s, a in zip(suite.metrics, is_accuracy, strict=True) if a]
    explanation = [s for s, a in zip(suite.metrics, is_accuracy, strict=True) if not a]
    tasks: list[PlannedTask] = []
    for seed, pretraining in itertools.product(suite.seeds, suite.pretraining):
        labels = {"dataset": suite.data.dataset.display, "seed": seed,
                  "pretraining": pretraining.display}
        specs = {"pretraining": pretraining, "models": suite.model}
        tasks.append(PlannedTask(
            StageTask("pretrain", keys.pretrain(seed, pretraining), seed, specs, labels), {}
        ))
    for cell in cells(suite, system):
        tasks.extend(_cell_tasks(suite, keys, cell, accuracy, explanation))
    if suite.explain.untrained_baseline:
        for seed in suite.seeds:
            tasks.extend(_untrained_tasks(suite, keys, seed, explanation))
    order = {stage: i for i, stage in enumerate(STAGES)}
    return sorted(tasks, key=lambda t: order[t.task.stage])
