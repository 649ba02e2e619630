"""The stage functions of a cell: pretrain → fine-tune → evaluate → attribute → score.

Each takes a :class:`StageTask` whose upstream artifacts are resolved, does its work, and
returns a :class:`StageOutcome`; it never touches the results store, so the same function
runs in-process, in a process pool or as a Ray task.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xecgbench.cache import ArtifactCache
from xecgbench.components import DatasetError, ECGSet, ExplanationBatch
from xecgbench.config import ComponentSpec, Suite
from xecgbench.faults import StorageError
from xecgbench.plugin_manager import PluginSystem

STAGES: tuple[str, ...] = ("pretrain", "finetune", "evaluate", "attribute", "score")
#: Registry kind of the component each stage is named after (for failure reports).
STAGE_KIND = {
    "pretrain": "pretraining",
    "finetune": "freezing",
    "evaluate": "models",
    "attribute": "attributions",
    "score": "metrics",
}


@dataclass(frozen=True)
class StageTask:
    """One unit of work: its key, its cell's labels and the upstream artifacts it reads."""

    stage: str
    key: str
    seed: int
    specs: Mapping[str, ComponentSpec]
    labels: Mapping[str, Any]
    upstream: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def component(self) -> ComponentSpec:
        """The component this stage is about (the one to blame if it fails)."""
        return self.specs[STAGE_KIND[self.stage]]


@dataclass(frozen=True)
class StageOutcome:
    """What a finished stage produced."""

    key: str
    artifact: str | None
    checksum: str | None
    seconds: float
    report: dict[str, Any] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class StageFailure:
    """A stage that raised: recorded, and its cell's downstream stages are skipped."""

    key: str
    component: str
    plugin: str
    error: str
    traceback: str = ""
    #: The machine (disk, store, cache), not the component, failed: the run stops.
    infrastructure: bool = False


@dataclass
class StageContext:
    """What every stage needs: the suite, the plugins, the artifact cache."""

    suite: Suite
    system: PluginSystem
    cache: ArtifactCache
    data: tuple[ECGSet, ECGSet] | None = None

    def component(self, kind: str, spec: ComponentSpec) -> Any:
        """The registered component for ``spec`` (a class or factory, not yet configured)."""
        return self.system.registry[kind].get(spec.name)

    def plugin_of(self, kind: str, name: str) -> str:
        """The plugin that registered ``name`` (or ``?`` if it is not registered)."""
        registry = self.system.registry[kind]
        return registry.registration(name).plugin if name in registry else "?"


def load_data(context: StageContext) -> tuple[ECGSet, ECGSet]:
    """Train and test windows of the suite, loaded once per context (so once per process)."""
    if context.data is None:
        data = context.suite.data
        train_cls = context.component("datasets", data.dataset)
        train = train_cls(**data.dataset.params).load(
            "train", fs=data.fs, duration_s=data.duration_s
        )
        test_spec = data.test or data.dataset
        split = data.test_split or ("all" if data.test else "test")
        test_cls = context.component("datasets", test_spec)
        test = test_cls(**test_spec.params).load(split, fs=data.fs, duration_s=data.duration_s)
        context.data = (train, test)
    return context.data


def explained_indices(labels: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` test windows in a fixed class-alternating order (balanced, seed-free)."""
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    order = [i for group in zip(*by_class, strict=False) for i in group]
    rest = sorted(set(range(len(labels))) - set(order))
    return np.array((order + rest)[:n], dtype=np.int64)


def build_model(context: StageContext, seed: int, n_samples: int) -> Any:
    """A fresh model of the suite, initialised from ``seed``."""
    from xecgbench.training import seed_everything

    seed_everything(seed)
    spec = context.suite.model
    factory = context.component("models", spec)
    return factory(fs=context.suite.data.fs, n_samples=n_samples, **spec.params)


def _load_model(context: StageContext, task: StageTask, upstream: str) -> Any:
    _, test = load_data(context)
    model = build_model(context, task.seed, test.signals.shape[-1])
    model.load_state_dict(context.cache.load_state(*task.upstream[upstream]))
    model.eval()
    return model


def run_pretrain(context: StageContext, task: StageTask) -> StageOutcome:
    """Build a model from the seed and pre-train the branches the strategy declares."""
    train, _ = load_data(context)
    model = build_model(context, task.seed, train.signals.shape[-1])
    spec = task.specs["pretraining"]
    strategy = context.component("pretraining", spec)(**spec.params)
    report = strategy.pretrain(
        model, train, seed=task.seed, budget=context.suite.pretraining_budget.budget()
    )
    artifact, checksum = context.cache.save_state("pretrain", task.key, model.state_dict())
    return StageOutcome(task.key, artifact, checksum, 0.0, report=dict(report))


def run_finetune(context: StageContext, task: StageTask) -> StageOutcome:
    """Fine-tune the pre-trained model on AF with the freezing schedule's stages."""
    from xecgbench.training import fine_tune

    train, _ = load_data(context)
    model = _load_model(context, task, "pretrain")
    spec = task.specs["freezing"]
    schedule = context.component("freezing", spec)(**spec.params)
    n_blocks = min(len(branch.blocks) for branch in model.branches.values())
    budget = context.suite.training.budget()
    stages = schedule.stages(n_blocks, budget.epochs)
    histories = fine_tune(model, train, stages, budget, task.seed)
    artifact, checksum = context.cache.save_state("finetune", task.key, model.state_dict())
    report = {
        "stages": [[s.frozen_blocks, s.epochs] for s in stages],
        "epochs_run": {b: sum(len(h.train_loss) for h in hs) for b, hs in histories.items()},
        "final_val_loss": {
            b: next((h.val_loss[h.best_epoch] for h in reversed(hs) if h.best_epoch >= 0), None)
            for b, hs in histories.items()
        },
    }
    return StageOutcome(task.key, artifact, checksum, 0.0, report=report)


def _score_row(task: StageTask, **values: Any) -> dict[str, Any]:
    return {"stage_key": task.key, **task.labels, **values}


def run_evaluate(context: StageContext, task: StageTask) -> StageOutcome:
    """Accuracy metrics of every branch and the ensemble on the test split."""
    from xecgbench.training import predict

    _, test = load_data(context)
    model = _load_model(context, task, "finetune")
    probabilities = predict(model, test.signals)
    scores = []
    for spec in context.suite.metrics:
        metric_cls = context.component("metrics", spec)
        if metric_cls.info.category != "accuracy":
            continue
        metric = metric_cls(**spec.params)
        for branch, prob in probabilities.items():
            value = metric.evaluate(test.labels, prob)
            scores.append(
                _score_row(
                    task,
                    branch=branch,
                    metric=spec.display,
                    category="accuracy",
                    region="",
                    sample=-1,
                    record_id=None,
                    value=float(value),
                )
            )
    artifact, checksum = context.cache.save_arrays(
        "evaluate", task.key, {f"prob_{b}": p for b, p in probabilities.items()}
    )
    return StageOutcome(task.key, artifact, checksum, 0.0, scores=scores)


def _explainer(context: StageContext, task: StageTask, model: Any, branch: str) -> Any:
    from xecgbench.attribution_checks import make_attribution

    spec = task.specs["attributions"]
    cls = context.component("attributions", spec)
    return make_attribution(
        cls, model.explainable(branch), fs=context.suite.data.fs, seed=task.seed, **spec.params
    )


def _checked_explain(context: StageContext, task: StageTask, method: Any) -> Any:
    from xecgbench.attribution_checks import call_attribution

    spec = task.specs["attributions"]
    plugin = context.plugin_of("attributions", spec.name)
    return functools.partial(call_attribution, spec.display, plugin, method)


def run_attribute(context: StageContext, task: StageTask) -> StageOutcome:
    """Relevance of the explained test windows for their true class, per explained branch."""
    import torch

    _, test = load_data(context)
    model = _load_model(context, task, "finetune")
    explain_cfg = context.suite.explain
    index = explained_indices(test.labels, explain_cfg.n_samples)
    x = torch.from_numpy(test.signals[index])
    target = torch.from_numpy(test.labels[index].astype(np.int64))
    arrays = {"index": index}
    for branch in explain_cfg.branches:
        explain = _checked_explain(context, task, _explainer(context, task, model, branch))
        parts = [
            explain(
                x[s : s + explain_cfg.batch_size], target[s : s + explain_cfg.batch_size]
            ).numpy()
            for s in range(0, len(x), explain_cfg.batch_size)
        ]
        arrays[branch] = np.concatenate(parts).astype(np.float32)
    artifact, checksum = context.cache.save_arrays("attribute", task.key, arrays)
    return StageOutcome(task.key, artifact, checksum, 0.0)


def run_score(context: StageContext, task: StageTask) -> StageOutcome:
    """One explanation metric on every explained branch (and each of its paired masks)."""
    import torch

    _, test = load_data(context)
    arrays = context.cache.load_arrays(*task.upstream["attribute"])
    spec = task.specs["metrics"]
    metric = context.component("metrics", spec)(**spec.params)
    explain_cfg = context.suite.explain
    index = arrays["index"]
    if getattr(metric, "costly", False):
        index = index[: explain_cfg.n_costly]
    model = (
        _load_model(context, task, "finetune")
        if metric.info.requires & {"model", "explainer"}
        else None
    )
    scores: list[dict[str, Any]] = []
    for branch in explain_cfg.branches:
        module = model.explainable(branch) if model is not None else None
        explain = None
        if "explainer" in metric.info.requires:
            checked = _checked_explain(context, task, _explainer(context, task, model, branch))
            explain = lambda x, t, checked=checked: checked(torch.as_tensor(x), torch.as_tensor(t))  # noqa: E731
        regions = explain_cfg.alignment.get(branch, ()) if "mask" in metric.info.requires else ("",)
        for region in regions:
            batch = ExplanationBatch(
                x=test.signals[index],
                y=test.labels[index],
                target=test.labels[index].astype(np.int64),
                attributions=arrays[branch][: len(index)],
                fs=test.fs,
                seed=task.seed,
                mask=test.masks[region][index] if region else None,
                mask_name=region or None,
                masks={name: m[index] for name, m in test.masks.items()},
                model=module,
                explain=explain,
            )
            result = metric.evaluate_batch(batch)
            named = result if isinstance(result, Mapping) else {"": result}
            for sub, values in named.items():
                values = np.asarray(values, dtype=np.float64)
                if values.shape != (len(index),):
                    raise ValueError(
                        f"metric {spec.name!r} returned shape {values.shape}, "
                        f"expected ({len(index)},)"
                    )
                label = "/".join(p for p in (region, sub) if p)
                scores.extend(
                    _score_row(
                        task,
                        branch=branch,
                        metric=spec.display,
                        category=metric.info.category,
                        region=label,
                        sample=int(i),
                        record_id=test.record_ids[i],
                        value=float(v) if np.isfinite(v) else None,
                    )
                    for i, v in zip(index, values, strict=True)
                )
    return StageOutcome(task.key, None, None, 0.0, scores=scores)


RUNNERS = {
    "pretrain": run_pretrain,
    "finetune": run_finetune,
    "evaluate": run_evaluate,
    "attribute": run_attribute,
    "score": run_score,
}


def execute(context: StageContext, task: StageTask) -> StageOutcome | StageFailure:
    """Run ``task``; any exception becomes a :class:`StageFailure` naming the component."""
    started = time.perf_counter()
    try:
        outcome = RUNNERS[task.stage](context, task)
    except StorageError as exc:  # the disk, not a plugin: never blamed on the component
        return StageFailure(key=task.key, component="storage", plugin="xecgbench",
                            error=str(exc), traceback=traceback.format_exc(),
                            infrastructure=True)
    except Exception as exc:
        kind, spec = STAGE_KIND[task.stage], task.component
        if isinstance(exc, DatasetError):  # the data, not the stage's component, is to blame
            kind, spec = "datasets", context.suite.data.dataset
        return StageFailure(
            key=task.key,
            component=f"{kind}:{spec.display}",
            plugin=context.plugin_of(kind, spec.name),
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )
    return StageOutcome(
        outcome.key,
        outcome.artifact,
        outcome.checksum,
        time.perf_counter() - started,
        outcome.report,
        outcome.scores,
    )
