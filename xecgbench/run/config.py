"""Suites: YAML files validated into frozen config objects, with errors naming file and line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xecgbench.plugins.components import EXPLAINED_BRANCHES, TrainingBudget

SUITES_PACKAGE = "xecgbench.suites"
#: Fields every suite inherits unless it sets them (not a runnable suite itself).
DEFAULTS_FILE = "defaults.yaml"


class SuiteError(Exception):
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

    n_samples: int = Field(64, ge=1)
    n_costly: int = Field(8, ge=0)
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

    @field_validator("branches")
    @classmethod
    def _known_branches(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [b for b in value if b not in EXPLAINED_BRANCHES]
        if unknown:
            raise ValueError(
                f"unknown branch {unknown[0]!r}; valid: {', '.join(EXPLAINED_BRANCHES)}"
            )
        return value


class Suite(_Frozen):
    """A benchmark grid: datasets × pretraining × freezing × attributions × metrics × seeds."""

    name: str
    description: str = ""
    seeds: tuple[Annotated[int, Field(ge=0, lt=2**32)], ...] = (0,)
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
    #: Where models, attributions and batched metrics run (``--device``); not in any key.
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @field_validator("seeds")
    @classmethod
    def _some_seeds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("at least one seed is needed")
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

    def config_hash(self) -> str:
        """A short content hash of the resolved config (the device is not part of it)."""
        return content_hash(self.model_dump(mode="json", exclude={"device"}))[:12]


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
        if not path.is_file():
            raise SuiteError(f"suite file {path} does not exist")
        return path
    suites = builtin_suites()
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
        return key.split("."), yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise SuiteError(f"--set {item}: invalid YAML value: {getattr(exc, 'problem', exc)}"
                         ) from None


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
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
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
