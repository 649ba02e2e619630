"""The contracts every component implements. Core code depends on these, never on a plugin.

Shapes follow one convention everywhere: signals, masks and attributions are ``(N, 1, T)``
(batch, lead, time), channel first, single lead.

Long because every contract a plugin author implements is read on one page, beside the
constants (families, mask names, categories) that registration checks it against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Literal,
    Protocol,
    Self,
    runtime_checkable,
)

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from xecgbench.errors import XecgbenchError

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Fiducial masks a dataset may provide; ``p_wave`` of an AF beat marks its atrial window.
MASK_NAMES: tuple[str, ...] = ("p_wave", "qrs", "r_peak", "t_wave")
#: Branch names of the two-branch model, plus the ensemble of both.
BRANCHES: tuple[str, ...] = ("morphology", "rhythm")
EXPLAINED_BRANCHES: tuple[str, ...] = (*BRANCHES, "ensemble")
#: The trivial predictor scored beside every model: the training set's majority class.
TRIVIAL_BRANCH = "majority"
#: Rhythm classes of the windows a dataset can name: normal sinus rhythm, other rhythms, AF
#: (CinC 2017's N / O / A); :attr:`ECGSet.rhythm_class` falls back to AF / non-AF.
RHYTHM_NORMAL, RHYTHM_OTHER, RHYTHM_AF, RHYTHM_NON_AF = "N", "O", "AF", "non-AF"
#: Below this spread over the evaluation windows a branch's AF probability counts as
#: constant: the branch learnt nothing and is flagged, never averaged in silently.
CONSTANT_OUTPUT_SPREAD = 1e-6


class DatasetError(XecgbenchError):
    """A dataset directory or configuration a user must fix; the message names the file."""


@dataclass(frozen=True)
class ECGSet:
    """Fixed-length single-lead ECG windows with labels and fiducial masks.

    Attributes
    ----------
    signals : float32 array ``(N, 1, T)``, normalised as the dataset was configured.
    labels : int64 array ``(N,)``, 1 = atrial fibrillation, 0 = not AF.
    masks : mask name -> bool array ``(N, 1, T)``; names from :data:`MASK_NAMES`.
    record_ids : one identifier per window (``"A00004#0"`` for a record's first window).
    fs : sampling rate in Hz.
    annotated : bool array ``(N, 1, T)`` marking where the masks are valid (LUDB annotates only
        part of each record), or ``None`` when they are valid everywhere.
    extras : per-window arrays a task may need (e.g. ``"rr_rmssd_ms"``), first axis ``N``.
    skipped : record id -> reason, for records the loader refused (never silently dropped).
    rhythm_labels : the dataset's rhythm class of each window (``"N"``, ``"O"``, ``"AF"`` …),
        or ``None`` when it knows only the binary label (see :attr:`rhythm_class`).
    """

    signals: np.ndarray
    labels: np.ndarray
    masks: Mapping[str, np.ndarray]
    record_ids: tuple[str, ...]
    fs: float
    annotated: np.ndarray | None = None
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    rhythm_labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.signals.ndim != 3 or self.signals.shape[:2] != (n, 1):
            raise ValueError(f"signals must be (N, 1, T) with N={n}, got {self.signals.shape}")
        for name, mask in self.masks.items():
            if mask.shape != self.signals.shape:
                raise ValueError(f"mask {name!r} has shape {mask.shape}, not {self.signals.shape}")
        if len(self.record_ids) != n:
            raise ValueError(f"{len(self.record_ids)} record ids for {n} windows")
        if self.rhythm_labels is not None and len(self.rhythm_labels) != n:
            raise ValueError(f"{len(self.rhythm_labels)} rhythm labels for {n} windows")

    @property
    def rhythm_class(self) -> np.ndarray:
        """Each window's rhythm class (str array ``(N,)``): the dataset's own, else AF / non-AF
        from the label, so a stratified sample can always name the classes it draws from."""
        if self.rhythm_labels is not None:
            return np.asarray(self.rhythm_labels, dtype=str)
        return np.where(self.labels == 1, RHYTHM_AF, RHYTHM_NON_AF).astype(str)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> ECGSet:
        """The windows at ``index`` (any numpy index), with their masks and extras."""
        index = np.asarray(index)
        return ECGSet(
            signals=self.signals[index],
            labels=self.labels[index],
            masks={k: v[index] for k, v in self.masks.items()},
            record_ids=tuple(np.asarray(self.record_ids, dtype=object)[index]),
            fs=self.fs,
            annotated=None if self.annotated is None else self.annotated[index],
            extras={k: v[index] for k, v in self.extras.items()},
            skipped=self.skipped,
            rhythm_labels=None if self.rhythm_labels is None
            else tuple(np.asarray(self.rhythm_labels, dtype=object)[index]),
        )


def record_of(window_id: str) -> str:
    """The record a window comes from: its id up to the **last** ``#`` (``"A00004#0"`` ->
    ``"A00004"``), so a record name may itself hold a ``#``. Every grouping of windows by
    record (splits, seeds × records statistics, run summaries) goes through this."""
    return window_id.rsplit("#", 1)[0]


@runtime_checkable
class Dataset(Protocol):
    """A source of :class:`ECGSet` windows. Constructor kwargs are the dataset's config.

    Optional class attribute ``data_licence`` (str): the licence and citation of the data,
    written as ``DATA_LICENCE`` beside a board's published windows (which redistribute them).
    """

    name: ClassVar[str]
    version: ClassVar[str]

    def load(self, split: str, *, fs: float, duration_s: float) -> ECGSet:
        """Windows of ``split`` (``"train"`` or ``"test"``) at ``fs`` Hz, ``duration_s`` long."""
        ...


class WindowDelineator(Protocol):
    """Optional for datasets: ``delineate(signals, fs, labels) -> (masks, failed)``, the masks
    its loader would draw on ``(N, 1, T)`` windows from elsewhere (``failed``: window index ->
    why it got none). Lets the Python API score a user's windows against masks made the way a
    board's dataset makes them, without the core importing the plugin."""

    def delineate(
        self, signals: np.ndarray, fs: float, labels: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[int, str]]: ...


class BranchedModel(Protocol):
    """What the core needs from a model: named branches made of named blocks.

    ``model.branches[b]`` maps ``(N, 1, T)`` to AF logits ``(N, 2)``; ``branch.blocks`` is an
    ``nn.Sequential`` of blocks (so "freeze the first k blocks" is unambiguous) and
    ``branch.head`` the classification head. ``model.explainable(b)`` returns the module to
    explain for ``b`` in :data:`EXPLAINED_BRANCHES` (logits ``(N, 2)``). The model is an
    ``nn.Module``: stages move it, switch its mode and hand it over as a state dict.
    """

    branches: Any

    def to(self, device: str) -> Self: ...

    def eval(self) -> Self: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> Any: ...

    def explainable(self, branch: str) -> nn.Module: ...

    def predict_proba(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """AF probability ``(N,)`` per branch and for ``"ensemble"`` (the branch mean)."""
        ...


class ModelFactory(Protocol):
    """What the ``models`` hook registers: builds a fresh model for ``n_samples`` at ``fs`` Hz.

    ``params`` are the suite's ``model.params``; a factory that forwards ``**params`` may
    define ``accepted_parameters() -> set[str]`` so misspelt parameters fail before a run.
    """

    version: ClassVar[str]

    def __call__(self, *, fs: float, n_samples: int, **params: Any) -> BranchedModel: ...


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Augmentation:
    """One `ecg-augmentations` transform (``name``: its class, e.g. ``BaselineWander``)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class TrainingBudget:
    """Optimisation settings shared by pretraining and fine-tuning (validated, one definition
    for suites and training code alike)."""

    epochs: Annotated[int, Field(ge=0)] = 10
    batch_size: Annotated[int, Field(ge=1)] = 32
    lr: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1e-3
    patience: Annotated[int, Field(ge=1)] = 3
    val_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.2
    #: Learning rate over the epochs: ``constant`` or ``cosine`` (annealed to 0 at ``epochs``).
    schedule: Literal["constant", "cosine"] = "constant"
    #: Class weights of the fine-tuning loss: ``inverse`` frequency (balanced), its ``sqrt``
    #: (half-way to the prior: fewer false AF calls) or ``equal`` (unweighted).
    class_weight: Literal["inverse", "sqrt", "equal"] = "inverse"
    #: Label-preserving augmentation of every fine-tuning batch: `ecg-augmentations`
    #: transforms by class name with their parameters (``fs`` filled in where a transform
    #: takes it), applied in order with the run's seeded generator. Empty: none (in no key
    #: or hash). Fine-tuning only: pretraining strategies draw their own data.
    augment: tuple[Augmentation, ...] = ()
    #: With several windows (crops) per record, which windows of each held-out record the
    #: early-stopping loss (and the validation operating points) use: its ``first`` (half the
    #: cost of them all) or ``all`` (a steadier loss). Single-window data uses them all anyway.
    validate_on: Literal["first", "all"] = "first"


class PretrainingStrategy(Protocol):
    """Pre-trains some branches in place on a task of their domain.

    ``branches`` declares which branches it touches; a strategy that touches none is the
    baseline the tables compare against. Optional class attributes describe the report
    :meth:`pretrain` returns, for the pretraining table: ``report_directions`` (report key ->
    True if higher is better, False if lower, None if descriptive) and ``report_description``
    (what the numbers are, e.g. "P-wave detection F1 at ±50 ms").
    """

    name: ClassVar[str]
    version: ClassVar[str]
    branches: ClassVar[tuple[str, ...]]

    def pretrain(
        self, model: BranchedModel, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Train ``model`` in place; return a report of pretraining-quality numbers."""
        ...


@dataclass(frozen=True)
class FineTuneStage:
    """One stage of fine-tuning: the first ``frozen_blocks`` blocks of every branch frozen."""

    frozen_blocks: int
    epochs: int


class FreezingSchedule(Protocol):
    """Turns a block count and an epoch budget into fine-tuning stages.

    Optional attribute ``depth``: the number of blocks it keeps frozen when that is one fixed
    number (``None`` or absent for a schedule that changes depth), so the report can test a
    trend over depth without knowing schedule names.
    """

    name: ClassVar[str]
    version: ClassVar[str]

    def stages(self, n_blocks: int, epochs: int) -> list[FineTuneStage]: ...


#: Attribution families, in the order the docs list them, and what each computes (checked at
#: registration; docs/plugin-hooks.md and docs/attributions.md show this table).
ATTRIBUTION_FAMILIES: dict[str, str] = {
    "gradient": "derivatives of the output at the input (local sensitivity)",
    "path": "gradients integrated along a path from a baseline to the input",
    "propagation": "the output's relevance redistributed backwards layer by layer by a rule",
    "perturbation": "the output change when parts of the input are replaced",
    "surrogate": "a simple model fitted to the outputs of perturbed inputs",
    "cam": "class activation maps of a convolutional layer, upsampled to the input",
    "control": "a baseline every real method has to beat",
}


class AttributionMethod(Protocol):
    """``cls(model, **params)`` then ``method(x, target)`` -> relevance of ``x``'s shape.

    ``model`` maps ``(N, 1, T)`` to logits ``(N, C)``; ``target`` is an int64 tensor ``(N,)``.
    Class metadata: ``family`` (a key of :data:`ATTRIBUTION_FAMILIES`), ``needs_baseline`` and
    ``relative_cost`` (forward+backward passes per sample). A method whose ``__call__`` takes a
    ``masks`` keyword also gets the windows' fiducial masks (see ``call_attribution``).
    Optional ``mask_informed`` (default False): True when the method builds its relevance from
    those masks, which the alignment metrics then score it against; the tables mark it and
    rank it against its own untrained null instead of beside the others.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    family: ClassVar[str]
    needs_baseline: ClassVar[bool]
    relative_cost: ClassVar[float]

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


#: Explanation-quality categories: the quality table's four column groups, in order.
QUALITY_CATEGORIES: tuple[str, ...] = ("faithfulness", "robustness", "randomisation", "complexity")
#: Metric categories and where each one's numbers appear (checked at registration;
#: docs/plugin-hooks.md shows this table).
METRIC_CATEGORIES: dict[str, str] = {
    "accuracy": "AF detection on the evaluation windows; `evaluate(y_true, y_score)` once per "
    "branch; the answer's accuracy table and the *accuracy* table",
    "localisation": "relevance inside the branch's paired mask; ranks the *alignment-BRANCH* "
    "tables and the answer (the suite's `primary_metric` is usually one)",
    "interval_profile": "shares of relevance per beat interval, returned as a mapping of "
    "sub-scores; the *interval-profile* table",
    "interval_anova": "relevance shares per beat interval and class, returned as "
    "`<class>/<interval>` sub-scores; the *interval-anova* table (class × interval model)",
    "faithfulness": "does removing relevant samples change the output; *explanation-quality*",
    "robustness": "stability under small input perturbations; *explanation-quality*",
    "randomisation": "dependence on the model's weights (sanity checks); *explanation-quality*",
    "complexity": "how concentrated the relevance is; *explanation-quality*",
}
#: The range a metric of each category scores in unless its ``MetricInfo.value_range`` says
#: otherwise (shares, rates and probabilities); a board's score, or chance level, outside its
#: metric's range is refused when read. Categories not listed have no default range.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "accuracy": (0.0, 1.0), "localisation": (0.0, 1.0), "interval_profile": (0.0, 1.0),
    "interval_anova": (0.0, 1.0),
}


@dataclass(frozen=True)
class SanityCheck:
    """A pass/FAIL verdict the tables show beside a metric.

    A cell FAILs when its mean score exceeds ``fail_above``. The caption reads "``column``:
    FAIL when the `<metric>` ``description`` exceeds ``fail_above`` (``failure``)".
    """

    fail_above: float
    column: str
    description: str
    failure: str


@dataclass(frozen=True)
class MetricInfo:
    """What every metric declares. ``higher_is_better`` is ours, not Quantus'.

    ``category`` is one of :data:`METRIC_CATEGORIES`; ``sanity`` an optional pass/FAIL check.
    ``region`` (one of :data:`MASK_NAMES`) is the mask a metric scores whatever the branch is
    paired with: it is scored once, given that mask as ``batch.mask`` and labelled with it
    (``requires`` ``mask`` instead scores each paired mask; a metric that picks its own region
    but declares ``mask`` gets each paired label on identical values). ``value_range``
    ``(low, high)`` is where its scores lie (default: its category's in :data:`METRIC_RANGES`).
    """

    name: str
    version: str
    category: str
    higher_is_better: bool
    requires: frozenset[str] = frozenset()
    sanity: SanityCheck | None = None
    region: str | None = None
    value_range: tuple[float, float] | None = None


class AccuracyMetric(Protocol):
    """A classification metric on AF probabilities; ``info.category == "accuracy"``.

    ``evaluate(y_true, y_score)`` is the whole call for most metrics. A metric whose
    ``info.requires`` holds ``"validation"`` also takes a keyword
    ``validation: ValidationScores | None = None``: the evaluate stage passes the same branch's
    predictions on the fine-tuning validation records, where it must choose any threshold
    (never on the test windows it scores); callers without validation records (``score_model``)
    pass nothing (the bundled ones then return NaN). No metric is given any other keyword.
    """

    info: ClassVar[MetricInfo]

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float: ...


@dataclass(frozen=True)
class ExplanationBatch:
    """Everything an explanation metric may need for one batch of explained windows.

    ``mask`` is the region paired with this branch (``None`` for metrics that need none);
    ``explain(x, target)`` re-explains with the same method (robustness, randomisation).
    """

    x: np.ndarray
    y: np.ndarray
    target: np.ndarray
    attributions: np.ndarray
    fs: float
    seed: int
    mask: np.ndarray | None = None
    mask_name: str | None = None
    masks: Mapping[str, np.ndarray] = field(default_factory=dict)
    model: Any = None
    explain: Callable[[Any, Any], Any] | None = None


class ExplanationMetric(Protocol):
    """Scores explanations per sample.

    ``evaluate_batch`` returns ``(N,)`` scores, or a mapping of sub-score name to ``(N,)``
    (e.g. the interval profile's ``"P"``, ``"QRS"`` shares). NaN marks an undefined score.
    ``info.requires`` lists what it needs from :class:`ExplanationBatch`: ``"mask"``,
    ``"model"``, ``"explainer"``. ``costly`` metrics run on a subset of samples.
    """

    info: ClassVar[MetricInfo]
    costly: ClassVar[bool]

    def evaluate_batch(self, batch: ExplanationBatch) -> np.ndarray | Mapping[str, np.ndarray]: ...


class ChanceLevel(Protocol):
    """Optional for explanation metrics: ``chance(batch) -> (N,)``, the score relevance spread
    uniformly over each window would get (e.g. the mask's share of the window). Stored beside
    every score, so tables can compare each class against its own chance level."""

    def chance(self, batch: ExplanationBatch) -> np.ndarray: ...
