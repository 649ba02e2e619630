"""The vocabulary of a stage: task, outcome, failure, the per-process context, and the helpers
every stage shares (loading windows, building and restoring models)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xecgbench.errors import UserError
from xecgbench.plugins.components import BranchedModel, ECGSet, ModelFactory
from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.cache import ArtifactCache, CorruptArtifactError
from xecgbench.run.config import ComponentSpec, Suite
from xecgbench.run.windows import evaluation_windows, training_windows

STAGES: tuple[str, ...] = ("pretrain", "finetune", "evaluate", "attribute", "score")
#: Procedure versions in the stage keys: a change of what a stage computes is never served
#: from an older cache (evaluate 2: the majority-class row and constant-output report;
#: evaluate 3: per-window probabilities and validation-record operating points;
#: score 2: each window's class and chance level stored beside its score).
STAGE_VERSIONS = {"evaluate": 3, "score": 2}
#: ``model_state`` of score rows: the cell's trained model, or the null baseline that explains
#: the same architecture re-initialised from the seed (no pretraining, no fine-tuning).
TRAINED, UNTRAINED = "trained", "untrained"
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
    #: The evaluate stage's per-window AF probabilities (rows of the store's ``probabilities``).
    probabilities: list[dict[str, Any]] = field(default_factory=list)


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

    @property
    def device(self) -> str:
        """The torch device stages compute on (``suite.device`` resolved, never in a key)."""
        from xecgbench.run.device import resolve_device

        return resolve_device(self.suite.device)

    def component(self, kind: str, spec: ComponentSpec) -> Any:
        """The registered component for ``spec`` (a class or factory, not yet configured)."""
        return self.system.registry[kind].get(spec.name)

    def plugin_of(self, kind: str, name: str) -> str:
        """The plugin that registered ``name`` (or ``?`` if it is not registered)."""
        registry = self.system.registry[kind]
        return registry.registration(name).plugin if name in registry else "?"


def load_data(context: StageContext) -> tuple[ECGSet, ECGSet]:
    """Training and evaluation windows of the suite, loaded once per context (once per process)."""
    if context.data is None:
        context.data = (
            training_windows(context.suite, context.system),
            evaluation_windows(context.suite, context.system),
        )
    return context.data


def build_model(context: StageContext, seed: int, n_samples: int) -> BranchedModel:
    """A fresh model of the suite, initialised from ``seed``."""
    from xecgbench.run.training import seed_everything

    seed_everything(seed)
    spec = context.suite.model
    factory: ModelFactory = context.component("models", spec)
    return factory(fs=context.suite.data.fs, n_samples=n_samples, **spec.params)


class ModelFileError(UserError):
    """A stage's upstream model file that does not load as the suite's model: its own error,
    not the component's that asked for it (a refused pickle blamed an attribution)."""


def load_model(context: StageContext, task: StageTask, upstream: str) -> Any:
    """The ``upstream`` stage's model; an untrained task's model is the seed's initialisation
    itself (the weights every pretraining of that seed starts from)."""
    _, test = load_data(context)
    model = build_model(context, task.seed, test.signals.shape[-1])
    if task.labels.get("model_state") != UNTRAINED:
        relative, checksum = task.upstream[upstream]
        try:
            model.load_state_dict(context.cache.load_state(relative, checksum))
        except CorruptArtifactError:
            raise
        except Exception as exc:  # torch's refusal of a pickle, a state dict of another model
            first = next((line for line in str(exc).splitlines() if line.strip()), "")
            raise ModelFileError(f"model file {relative}: not a state dict of the suite's "
                                 f"{context.suite.model.name!r} model ({type(exc).__name__}: "
                                 f"{first.strip()[:300]})") from None
    model.to(context.device)
    model.eval()
    return model


def score_row(task: StageTask, **values: Any) -> dict[str, Any]:
    """One score row: the stage key, the cell's labels and ``values``."""
    return {"stage_key": task.key, "model_state": TRAINED, **task.labels, **values}
