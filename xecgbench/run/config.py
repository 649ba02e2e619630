"""Suites: YAML files validated into frozen config objects, with errors naming file and line.

Long because a suite is one pydantic model tree (data, explain, pre-registered tests, the
suite) whose cross-field checks and YAML line lookup must see all of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xecgbench.errors import XecgbenchError
from xecgbench.plugins.components import EXPLAINED_BRANCHES, TrainingBudget
from xecgbench.run.sample_rule import SampleRule
from xecgbench.run.suite_yaml import (
    SuiteYAMLError,
    compose_checked,
    construct,
    read_suite_text,
    safe_load_bounded,
)

SUITES_PACKAGE = "xecgbench.suites"
#: Fields every suite inherits unless it sets them (not a runnable suite itself).
DEFAULTS_FILE = "defaults.yaml"


class SuiteError(XecgbenchError):
    """A suite that cannot be used; the message names the file, line and field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ComponentSpec(_Frozen):
    """A registered component by name, with its constructor parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def display(self) -> str:
        """``label`` if given, else ``name(k=v, …)``: unique within a suite's axis."""
        if self.label:
            return self.label
        if not self.params:
            return self.name
        args = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name}({args})"


class DataConfig(_Frozen):
    """Where windows come from: a training source and an optional separate test source."""

    dataset: ComponentSpec
    test: ComponentSpec | None = None
    #: Split of the test source; default ``"all"`` for a separate source (external validation:
    #: every record of it), ``"test"`` otherwise.
    test_split: str | None = None
    fs: float = Field(250.0, gt=0, allow_inf_nan=False)
    duration_s: float = Field(10.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _some_samples(self) -> DataConfig:
        if round(self.fs * self.duration_s) < 1:
            raise ValueError(
                f"windows of fs × duration_s = {self.fs:g} Hz × {self.duration_s:g} s = "
                f"{self.fs * self.duration_s:g} samples; need at least one sample")
        return self

    @property
    def n_samples(self) -> int:
        """Samples per window."""
        return round(self.fs * self.duration_s)


class ExplainConfig(_Frozen):
    """Which test windows, branches and mask pairings explanations are scored on."""

    #: The windows explained (``alternating``: exactly these first ones; ``stratified``: at
    #: most this many); costly metrics score the first ``n_costly`` of them.
    n_samples: int = Field(64, ge=1)
    n_costly: int = Field(8, ge=0)
    #: Attributions whose ``relative_cost`` is at least this explain only the first
    #: ``n_costly`` windows too (with the stratified rule, a stratified prefix): a method at
    #: 300 × saliency on every window would cost more than the rest of the grid. None: every
    #: method explains every window (hashed only when set).
    costly_attribution: float | None = Field(None, gt=0, allow_inf_nan=False)
    #: How they are chosen; the default (``alternating``) hashes as before the rule existed.
    sample: SampleRule = SampleRule()
    batch_size: int = Field(16, ge=1)
    branches: tuple[str, ...] = ("morphology", "rhythm")
    #: Which class each window is explained for: ``predicted`` (the explained branch's own
    #: decision, so its class contrast is positive and every window has positive relevance,
    #: misclassified ones included) or ``true`` (the label; z+ rules then give misclassified
    #: windows no positive relevance, and their localisation scores are undefined).
    target: Literal["predicted", "true"] = "predicted"
    alignment: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "morphology": ("p_wave",),
            "rhythm": ("r_peak", "qrs"),
            "ensemble": ("p_wave", "r_peak"),
        }
    )

    def unset_later_fields(self) -> set[str]:
        """Fields added after hashes existed that sit at the value older runs behave as:
        left out of hashes and keys, so those runs keep theirs."""
        unset = {"sample"} if self.sample == SampleRule() else set()
        return unset | ({"costly_attribution"} if self.costly_attribution is None else set())

    #: Score every method also on the model re-initialised from each seed (no training): the
    #: "untrained" null. One attribute and score stage per seed × method, not per cell.
    untrained_baseline: bool = True
    #: Masks whose target exists only in sinus rhythm (no P wave in AF): their scores on AF
    #: windows are reported under the mapped name (the template interval where a P wave
    #: would be), never pooled with the non-AF windows' scores.
    af_regions: dict[str, str] = Field(default_factory=lambda: {"p_wave": "atrial_interval"})

    @field_validator("branches")
    @classmethod
    def _known_branches(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("explain at least one branch (an empty list explains nothing)")
        twice = sorted({b for b in value if value.count(b) > 1})
        if twice:
            raise ValueError(f"branch {twice[0]!r} is listed twice")
        unknown = [b for b in value if b not in EXPLAINED_BRANCHES]
        if unknown:
            raise ValueError(
                f"unknown branch {unknown[0]!r}; valid: {', '.join(EXPLAINED_BRANCHES)}"
            )
        return value

    @model_validator(mode="after")
    def _quotas_within_n_samples(self) -> ExplainConfig:
        if self.sample.counted > self.n_samples:
            raise ValueError(f"sample.per_class asks {self.sample.counted} windows, over "
                             f"n_samples {self.n_samples}")
        return self


class PrimaryTest(_Frozen):
    """One pre-registered claim, fixed before the run so the report cannot pick its test.

    ``pretraining`` against ``baseline`` (default: the strategy that pre-trains nothing) on
    ``branch``: per seed, the log ratio of mean ``metric`` on ``region`` (defaults: the suite's
    primary metric, the branch's first paired mask), averaged over ``methods`` (default: every
    attribution) that pass the run's sanity checks and over ``freezing`` (default: every
    schedule); then a t-test and t-interval over seeds at ``alpha``. ``model:
    above_untrained`` compares the trained model with its own untrained initialisation
    instead (same seed, method and windows; no ``baseline``): did training put the relevance
    on the target, where synthetic data planted the only cue?
    """

    name: str
    branch: str
    pretraining: str
    baseline: str = ""
    metric: str = ""
    region: str = ""
    freezing: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    alpha: float = Field(0.05, gt=0, lt=1)
    model: Literal["seed_log_ratio", "above_untrained"] = "seed_log_ratio"
    #: Regions where the claim predicts no gain, as ``region`` (the test's metric) or
    #: ``metric:region``; empty: :data:`DEFAULT_CONTROLS` of the target. "Onto the target"
    #: needs the target's gain above every control's gain that the run scored.
    controls: tuple[str, ...] = ()
    #: Practical equivalence on the log-ratio scale: an interval inside ±margin concludes
    #: "no effect" (0.05 ≈ ×0.95 – ×1.05), where a wider one says only "no evidence".
    margin: float = Field(0.05, ge=0, lt=1)
    #: ``secondary``: reported beside the primary tests, labelled, never the answer.
    role: Literal["primary", "secondary"] = "primary"


#: The primary-test model that compares a trained model with its own initialisation.
ABOVE_UNTRAINED = "above_untrained"

#: Per target region, the controls a claim about it predicts no gain on: the same statistic
#: on AF windows (``atrial_interval``: the P mask's template where no P wave exists) and the
#: size-normalised relevance density of the beat intervals without the target
#: (``interval_profile``: TP, the segment without a wave; QRS; the T wave).
DEFAULT_CONTROLS: dict[str, tuple[str, ...]] = {
    "p_wave": ("atrial_interval", "interval_profile:TP", "interval_profile:QRS"),
    "r_peak": ("interval_profile:T", "interval_profile:TP"),
}


def _one_of(field: str, value: str, specs: Sequence[ComponentSpec]) -> str | None:
    """Why ``value`` names no single component of ``specs`` (by label or name), or None."""
    matches = [s for s in specs if value in (s.display, s.name)]
    if len(matches) == 1:
        return None
    labels = ", ".join(s.display for s in specs)
    return (f"{field} {value!r} is not in the suite's list ({labels})" if not matches
            else f"{field} {value!r} matches several entries; use a label ({labels})")


def check_primary_tests(tests: Sequence[PrimaryTest], data: Mapping[str, Any]) -> None:
    """Every name a primary test uses must be in the suite: a typo would void the test."""
    names = [t.name for t in tests]
    if len(set(names)) != len(names):
        raise ValueError(f"primary test names must be unique, got {', '.join(names)}")
    explain = data.get("explain", ExplainConfig())
    for i, test in enumerate(tests):
        where = f"primary_tests[{i}] ({test.name})"
        problems = [
            _one_of("pretraining", test.pretraining, data.get("pretraining", ())),
            _one_of("baseline", test.baseline, data.get("pretraining", ())) if test.baseline
            else None,
            _one_of("metric", test.metric, data.get("metrics", ())) if test.metric else None,
            *(_one_of("freezing", f, data.get("freezing", ())) for f in test.freezing),
            *(_one_of("methods", m, data.get("attributions", ())) for m in test.methods),
        ]
        if test.branch not in explain.branches:
            problems.insert(0, f"branch {test.branch!r} is not explained "
                               f"(explain.branches: {', '.join(explain.branches)})")
        paired = explain.alignment.get(test.branch, ())
        if test.region and test.region not in paired:
            problems.append(f"region {test.region!r} is not paired with {test.branch} "
                            f"(explain.alignment: {', '.join(paired) or 'no mask'})")
        if test.model == ABOVE_UNTRAINED:
            if test.baseline:
                problems.append("model above_untrained compares with the untrained model: "
                                "remove baseline")
            if not explain.untrained_baseline:
                problems.append("model above_untrained needs explain.untrained_baseline: true")
        problem = next((p for p in problems if p), None)
        if problem:
            raise ValueError(f"{where}: {problem} (a changed grid voids the pre-registered "
                             "test: change it too, or set primary_tests: [])")


#: The longest stage time limit a suite may declare: 30 days.
MAX_STAGE_TIME_LIMIT_S = 30 * 86400.0


class Suite(_Frozen):
    """A benchmark grid: datasets × pretraining × freezing × attributions × metrics × seeds."""

    name: str
    description: str = ""
    #: What the suite's data can and cannot show, and where a real-data answer stands: the
    #: leaderboard's first words (hashed only when set, so older runs keep their hash).
    about: str = ""
    #: Integers, strictly: ``"0"`` and ``true`` were read as seeds 0 and 1.
    seeds: tuple[Annotated[int, Field(ge=0, lt=2**32, strict=True)], ...] = (0,)
    data: DataConfig
    model: ComponentSpec
    pretraining: tuple[ComponentSpec, ...]
    pretraining_budget: TrainingBudget = TrainingBudget()
    freezing: tuple[ComponentSpec, ...]
    training: TrainingBudget = TrainingBudget()
    attributions: tuple[ComponentSpec, ...]
    metrics: tuple[ComponentSpec, ...]
    explain: ExplainConfig = ExplainConfig()
    primary_metric: str
    #: Pre-registered primary tests (the study's claims), stored with the run before it starts.
    primary_tests: tuple[PrimaryTest, ...] = ()
    #: Also run the from-scratch strategy with frozen blocks (random weights kept frozen):
    #: a "random features" contrast, labelled, never a baseline. Off: those cells are not run.
    random_features: bool = False
    #: Where models, attributions and batched metrics run (``--device``); not in any key.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    #: Wall-clock seconds one stage may run before it fails naming its component (None: no
    #: limit; ``verify`` always sets one). Changes no result, so it is in no key or hash. At most
    #: :data:`MAX_STAGE_TIME_LIMIT_S` (1e300 overflowed the timer and failed every stage).
    stage_time_limit_s: float | None = Field(None, gt=0, le=MAX_STAGE_TIME_LIMIT_S,
                                             allow_inf_nan=False)

    @field_validator("pretraining_budget")
    @classmethod
    def _pretraining_is_not_augmented(cls, value: TrainingBudget) -> TrainingBudget:
        if value.augment or value.validate_on != "first":
            raise ValueError("augment and validate_on apply to fine-tuning (training.…); "
                             "pretraining strategies draw their own data")
        return value

    @field_validator("seeds")
    @classmethod
    def _some_seeds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("at least one seed is needed")
        twice = sorted({seed for seed in value if value.count(seed) > 1})
        if twice:
            raise ValueError(f"seed {twice[0]} is listed twice (each seed is one replicate)")
        return value

    @field_validator("pretraining", "freezing", "attributions", "metrics")
    @classmethod
    def _unique_labels(cls, value: tuple[ComponentSpec, ...]) -> tuple[ComponentSpec, ...]:
        seen = [spec.display for spec in value]
        duplicates = sorted({d for d in seen if seen.count(d) > 1})
        if duplicates:
            raise ValueError(f"listed twice: {', '.join(duplicates)} (give each a distinct label)")
        if not value:
            raise ValueError("list at least one component")
        return value

    @field_validator("primary_tests")
    @classmethod
    def _tests_name_the_grid(cls, value: tuple[PrimaryTest, ...],
                             info: ValidationInfo) -> tuple[PrimaryTest, ...]:
        check_primary_tests(value, info.data)
        return value

    def config_hash(self) -> str:
        """A short content hash of the resolved config (the device and the stage time limit
        are not part of it; no primary tests, no ``about`` and the default sample rule hash
        as before they existed, so older runs keep their hash)."""
        exclude: dict[str, Any] = {"device": True, "stage_time_limit_s": True}
        exclude |= {} if self.primary_tests else {"primary_tests": True}
        exclude |= {} if self.random_features else {"random_features": True}
        exclude |= {} if self.about else {"about": True}
        exclude |= {"training": later_budget_fields(self.training),
                    "pretraining_budget": later_budget_fields(self.pretraining_budget)}
        exclude["explain"] = self.explain.unset_later_fields()
        config = self.model_dump(mode="json", exclude=exclude)
        for test in config.get("primary_tests", ()):  # fields added later hash only when set
            for name, default in _LATER_TEST_DEFAULTS.items():
                if test.get(name) == default:
                    del test[name]
        return content_hash(config)[:12]


def later_budget_fields(budget: TrainingBudget) -> set[str]:
    """Budget fields added after hashes existed that sit at the value older runs behave as:
    left out of config hashes and stage keys alike."""
    unset = set() if budget.augment else {"augment"}
    return unset | ({"validate_on"} if budget.validate_on == "first" else set())


#: Primary-test fields added after hashes existed, at the value older runs behave as.
_LATER_TEST_DEFAULTS: dict[str, Any] = {"controls": [], "margin": 0.05, "role": "primary"}


def content_hash(value: Any) -> str:
    """SHA-256 of canonical JSON: the key of everything cached."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def builtin_suites() -> dict[str, Path]:
    """Names and paths of the suites shipped in :mod:`xecgbench.suites`."""
    folder = resources.files(SUITES_PACKAGE)
    return {
        Path(entry.name).stem: Path(str(entry))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and entry.name != DEFAULTS_FILE
    }


def resolve_suite_path(name_or_path: str) -> Path:
    """A built-in suite name or a YAML file path; unknown names list the valid ones."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise SuiteError(f"suite file {path} does not exist")
        return path
    suites = builtin_suites()
    if name_or_path not in suites and os.path.lexists(path):
        return path  # a file by another name (/dev/zero, a FIFO): the reader says what it is
    if name_or_path not in suites:
        raise SuiteError(
            f"unknown suite {name_or_path!r}; valid suites: {', '.join(sorted(suites))} "
            "(or a path to a .yaml file)"
        )
    return suites[name_or_path]


def suite_defaults() -> dict[str, Any]:
    """What a suite does not say: ``suites/defaults.yaml`` (component names are data, not code)."""
    text = resources.files(SUITES_PACKAGE).joinpath(DEFAULTS_FILE).read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def merged(defaults: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` over ``defaults``: mappings merge key by key, everything else replaces."""
    result = dict(defaults)
    for key, value in data.items():
        base = result.get(key)
        both_maps = isinstance(base, Mapping) and isinstance(value, Mapping)
        result[key] = merged(base, value) if both_maps else value  # type: ignore[arg-type]
    return result


def _parse_override(item: str) -> tuple[list[str], Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise SuiteError(f"--set {item!r}: expected key=value, e.g. training.epochs=2")
    try:
        return key.split("."), safe_load_bounded(raw, f"--set {key}")
    except yaml.YAMLError as exc:
        raise SuiteError(f"--set {item}: invalid YAML value: {getattr(exc, 'problem', exc)}"
                         ) from None
    except SuiteYAMLError as exc:
        raise SuiteError(str(exc)) from None


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML) to a nested dict copy."""
    result = json.loads(json.dumps(data))
    for item in overrides:
        path, value = _parse_override(item)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {"name": child} if isinstance(child, str) else {}
                node[part] = child
            node = child
        node[path[-1]] = value
    return result


def _line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """1-based line of the YAML node at pydantic location ``loc`` (deepest node found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def load_suite(name_or_path: str, overrides: Sequence[str] = ()) -> Suite:
    """Read, override and validate a suite; every problem raises :class:`SuiteError`."""
    path = resolve_suite_path(name_or_path)
    try:
        root = compose_checked(read_suite_text(path), str(path))
        raw = construct(root)
    except SuiteYAMLError as exc:
        raise SuiteError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SuiteError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, Mapping):
        raise SuiteError(f"{path}:1: a suite must be a mapping of fields, got {type(raw).__name__}")
    data = apply_overrides(merged(suite_defaults(), raw), overrides)
    data.setdefault("name", path.stem)
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        from xecgbench.run.config_errors import describe_validation_error

        message = describe_validation_error(
            exc, Suite, path, overrides, lambda loc: _line_of(root, loc)
        )
        raise SuiteError(message) from None
