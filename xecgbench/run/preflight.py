"""Checks a suite must pass before its first stage runs.

Before these, ``run paper --data-dir /nope`` started, failed 12 stages and skipped 2,220; a
misspelled plugin parameter (``{kk: 2}``) failed cells with a raw ``TypeError``; a
``primary_metric`` missing from ``metrics`` made both alignment tables vanish with exit 0.
Each is now one line, naming the plugin and parameter, before any work is done. So are
values outside the ranges a component declares (``n_train: Annotated[int, Field(ge=0)]``),
a value of another type than an unannotated parameter's
default (``window_ms=fifty`` for ``window_ms=50``), a model that cannot be built for the
suite's windows, data or a model larger than the memory
available, and a split without windows of a class (issue 24).
"""

from __future__ import annotations

import difflib
import inspect
import os
import tempfile
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from xecgbench.plugins.components import MASK_NAMES, ECGSet
from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.augmentation import check_augmentation
from xecgbench.run.config import ComponentSpec, Suite, SuiteError
from xecgbench.run.faults import from_os_error
from xecgbench.run.param_types import expected_type, unannotated_defaults
from xecgbench.run.windows import evaluation_source

#: Arguments the runner itself always passes to a component of each kind; a suite cannot set
#: them (attributions' ``fs`` and ``seed`` are only defaults, so a suite may override those).
RUNNER_KEYWORDS: dict[str, frozenset[str]] = {
    "models": frozenset({"fs", "n_samples"}),
    "attributions": frozenset({"model"}),
}


def accepted_parameters(component: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``component`` accepts; None when it takes any (``**kwargs`` to the end).

    A class whose ``__init__`` forwards ``**config`` to its base (the WFDB datasets) accepts
    the base's names too, so the MRO is followed until an ``__init__`` without ``**``. A
    factory object forwarding ``**params`` declares them with ``accepted_parameters()``.
    """
    declared = getattr(component, "accepted_parameters", None)
    if callable(declared) and not inspect.isclass(component):  # a factory object says itself
        return set(declared())
    owners = inspect.getmro(component) if inspect.isclass(component) else (component,)
    names: set[str] = set()
    for owner in owners:
        target = owner.__dict__.get("__init__") if inspect.isclass(component) else owner
        if target is None:
            continue
        if target is object.__init__:
            return names - {"self"}  # object.__init__ takes nothing more
        try:
            parameters = inspect.signature(target).parameters
        except (TypeError, ValueError):
            return None
        names |= {name for name, p in parameters.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return names - {"self"}
    return None  # every signature on the way forwards ``**kwargs``: anything may be valid


def _specs(suite: Suite) -> Iterator[tuple[str, str, ComponentSpec]]:
    """(registry kind, suite field, spec) of every component the suite names."""
    yield "datasets", "data.dataset", suite.data.dataset
    if suite.data.test is not None:
        yield "datasets", "data.test", suite.data.test
    yield "models", "model", suite.model
    for kind, field in (("pretraining", "pretraining"), ("freezing", "freezing"),
                        ("attributions", "attributions"), ("metrics", "metrics")):
        for spec in getattr(suite, field):
            yield kind, field, spec


def validate_components(suite: Suite, system: PluginSystem) -> None:
    """Raise :class:`~xecgbench.plugins.registry.UnknownComponentError` for the first
    unregistered name; the registry alone answers, so the error comes before torch loads."""
    for kind, _, spec in _specs(suite):
        system.registry[kind].registration(spec.name)


def check_parameters(suite: Suite, system: PluginSystem) -> None:
    """Every component parameter is one its constructor accepts (else: did you mean …?)."""
    for kind, field, spec in _specs(suite):
        registry = system.registry[kind]
        if spec.name not in registry:
            continue  # the planner names unknown components with the valid ones
        registration = registry.registration(spec.name)
        accepted = accepted_parameters(registration.component)
        if accepted is None:
            continue
        reserved = RUNNER_KEYWORDS.get(kind, frozenset())
        accepted -= reserved
        for name in spec.params:
            if name in accepted:
                continue
            if name in reserved:
                raise SuiteError(f"suite {suite.name}: {field}: {spec.name!r} parameter {name!r} "
                                 "is set by the runner, not the suite (remove it)")
            close = difflib.get_close_matches(name, sorted(accepted), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            valid = ", ".join(sorted(accepted)) or "(none)"
            raise SuiteError(
                f"suite {suite.name}: {field}: {_kind(kind)} "
                f"{spec.name!r} (plugin {registration.plugin}) has no parameter {name!r}{hint} "
                f"(parameters: {valid})"
            )


def declared_ranges(component: Callable[..., Any]) -> dict[str, Any]:
    """Parameters whose annotation declares a range (``Annotated[int, Field(ge=1)]``).

    The component states its own limits where it states its parameters, so no central table
    has to know any plugin. Followed like :func:`accepted_parameters`: a class's ``__init__``
    up its MRO, a factory object's ``__signature__``.
    """
    targets: list[Any] = [component]
    if inspect.isclass(component):
        targets = [owner.__dict__["__init__"] for owner in inspect.getmro(component)
                   if "__init__" in owner.__dict__ and owner is not object]
    ranges: dict[str, Any] = {}
    for target in targets:
        try:
            parameters = inspect.signature(target, eval_str=True).parameters
        except (TypeError, ValueError, NameError):
            continue
        for name, parameter in parameters.items():
            if typing.get_origin(parameter.annotation) is typing.Annotated:
                ranges.setdefault(name, parameter.annotation)
    return ranges


def _kind(kind: str) -> str:
    return kind[:-1] if kind.endswith("s") else kind


def check_ranges(suite: Suite, system: PluginSystem) -> None:
    """Every component parameter lies in the range its component declares."""
    for kind, field, spec in _specs(suite):
        if spec.name not in system.registry[kind]:
            continue
        registration = system.registry[kind].registration(spec.name)
        ranges = declared_ranges(registration.component)
        for name, value in spec.params.items():
            if name not in ranges:
                continue
            try:
                TypeAdapter(ranges[name]).validate_python(value)
            except ValidationError as exc:
                raise SuiteError(
                    f"suite {suite.name}: {field}: {_kind(kind)} {spec.name!r} (plugin "
                    f"{registration.plugin}) parameter {name}={value!r}: "
                    f"{exc.errors()[0]['msg'].lower()}") from None


def check_default_types(suite: Suite, system: PluginSystem) -> None:
    """Every value given to an unannotated parameter has its default's type."""
    for kind, field, spec in _specs(suite):
        if spec.name not in system.registry[kind]:
            continue
        registration = system.registry[kind].registration(spec.name)
        defaults = unannotated_defaults(registration.component)
        for name, value in spec.params.items():
            expected = expected_type(value, defaults[name]) if name in defaults else None
            if expected is not None:
                raise SuiteError(
                    f"suite {suite.name}: {field}: {_kind(kind)} {spec.name!r} (plugin "
                    f"{registration.plugin}) parameter {name}={value!r}: expected {expected}, "
                    f"like its default {defaults[name]!r}")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _check_memory(suite: Suite, what: str, needed: float) -> None:
    available = available_memory()
    if available is not None and needed > available:
        raise SuiteError(f"suite {suite.name}: {what} need about {_size(needed)}, more than "
                         f"the {_size(available)} of memory available")


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.1f} MiB"


def check_data_size(suite: Suite, system: PluginSystem) -> None:
    """The windows fit in memory: windows × fs × duration × bytes per sample (float32 signal,
    a float64 copy while it is rendered or resampled, a byte per mask).

    A dataset that can say how many windows a split has before loading it defines
    ``expected_windows(split)``; for others one window is the least it will need.
    """
    n_samples = suite.data.n_samples
    windows = 0
    for spec, split in ((suite.data.dataset, "train"), evaluation_source(suite)):
        if spec.name not in system.registry["datasets"]:
            continue
        registration = system.registry["datasets"].registration(spec.name)
        try:
            dataset = registration.component(**spec.params)
        except (ValueError, TypeError) as exc:
            raise SuiteError(f"suite {suite.name}: dataset {spec.name!r} (plugin "
                             f"{registration.plugin}): {exc}") from None
        expected = getattr(dataset, "expected_windows", None)
        windows += int(expected(split)) if callable(expected) else 1
    _check_memory(suite, f"{windows} windows of {n_samples} samples ({suite.data.fs:g} Hz × "
                  f"{suite.data.duration_s:g} s)", windows * n_samples * (4 + 8 + len(MASK_NAMES)))


def check_model(suite: Suite, system: PluginSystem) -> None:
    """The model builds for the suite's windows and fits in memory (weights, gradients and
    two optimiser moments); built on torch's ``meta`` device, so nothing is allocated."""
    import torch

    spec = suite.model
    if spec.name not in system.registry["models"]:
        return
    registration = system.registry["models"].registration(spec.name)
    n_samples = suite.data.n_samples
    try:
        with torch.device("meta"):
            model = registration.component(fs=suite.data.fs, n_samples=n_samples, **spec.params)
    except (ValueError, TypeError) as exc:
        raise SuiteError(
            f"suite {suite.name}: model {spec.name!r} (plugin {registration.plugin}) cannot be "
            f"built for windows of {n_samples} samples ({suite.data.fs:g} Hz × "
            f"{suite.data.duration_s:g} s): {exc}") from None
    except Exception:  # a factory the meta device cannot build: its first stage will say
        return
    parameters = sum(p.numel() for p in model.parameters())
    _check_memory(suite, f"model {spec.name!r} ({parameters:,} parameters) and its training",
                  parameters * 4 * 4)


def check_classes(suite: Suite, train: ECGSet, test: ECGSet) -> None:
    """Both splits hold windows of both classes (else no training, no AUC, no explanation)."""
    for (spec, split), part in (((suite.data.dataset, "train"), train),
                                (evaluation_source(suite), test)):
        present = set(np.unique(part.labels).tolist())
        missing = [c for c in (0, 1) if c not in present]
        if missing:
            names = " and ".join("AF (1)" if c else "non-AF (0)" for c in missing)
            raise SuiteError(
                f"suite {suite.name}: dataset {spec.display!r} split {split!r} has no windows of "
                f"class {names} ({len(part.labels)} windows, {len(part.skipped)} records "
                "excluded); check its parameters, labels and label map")


def check_masks(suite: Suite, system: PluginSystem, test: ECGSet) -> None:
    """The evaluation windows carry every mask a metric declares as its ``region`` and every
    mask ``explain.alignment`` pairs with an explained branch, when a metric scores on paired
    masks (else the first score stage fails on a bare key)."""
    metrics = system.registry["metrics"]
    spec, split = evaluation_source(suite)
    for metric in suite.metrics:
        region = getattr(metrics.get(metric.name).info, "region", None)
        if region is not None and region not in test.masks:
            raise SuiteError(
                f"suite {suite.name}: dataset {spec.display!r} split {split!r} has no "
                f"{region!r} mask, which metric {metric.display!r} scores (its masks: "
                f"{', '.join(sorted(test.masks)) or 'no masks at all'})")
    on_masks = [s.display for s in suite.metrics
                if "mask" in metrics.get(s.name).info.requires]
    if not on_masks:
        return
    for branch in suite.explain.branches:
        missing = [r for r in suite.explain.alignment.get(branch, ()) if r not in test.masks]
        if missing:
            raise SuiteError(
                f"suite {suite.name}: dataset {spec.display!r} split {split!r} has no "
                f"{', '.join(map(repr, missing))} mask, which explain.alignment.{branch} pairs "
                f"with the {branch} branch for {', '.join(on_masks)} (its masks: "
                f"{', '.join(sorted(test.masks)) or 'no masks at all'}); give the dataset that "
                "mask or pair another in explain.alignment")


def check_primary_metric(suite: Suite) -> None:
    """``primary_metric`` is one of ``metrics`` (the alignment tables are built on it)."""
    names = {spec.display for spec in suite.metrics} | {spec.name for spec in suite.metrics}
    if suite.primary_metric not in names:
        shown = [spec.display for spec in suite.metrics]
        close = difflib.get_close_matches(suite.primary_metric, shown, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SuiteError(
            f"suite {suite.name}: primary_metric {suite.primary_metric!r} is not among "
            f"metrics ({', '.join(shown)}){hint}"
        )


def check_writable(directory: Path) -> None:
    """``directory`` can be created and written (probe file), else a one-line StorageError."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(dir=directory, prefix=".write-probe.")
    except OSError as exc:
        raise from_os_error(exc, directory) from exc
    os.close(descriptor)
    os.unlink(probe)


def preflight(suite: Suite, system: PluginSystem, out_dir: Path, cache_dir: Path) -> None:
    """Everything checkable before the first stage and before any data is loaded: parameters,
    their ranges and their defaults' types, the model, augmentation, memory, primary metric,
    directories."""
    check_parameters(suite, system)
    check_ranges(suite, system)
    check_default_types(suite, system)
    check_data_size(suite, system)
    check_model(suite, system)
    check_augmentation(suite.training.augment, suite.data.fs)
    check_primary_metric(suite)
    check_writable(out_dir)
    check_writable(cache_dir)
