"""Checks a suite must pass before its first stage runs.

Before these, ``run paper --data-dir /nope`` started, failed 12 stages and skipped 2,220; a
misspelled plugin parameter (``{kk: 2}``) failed cells with a raw ``TypeError``; a
``primary_metric`` missing from ``metrics`` made both alignment tables vanish with exit 0.
Each is now one line, naming the plugin and parameter, before any work is done.
"""

from __future__ import annotations

import difflib
import inspect
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.config import ComponentSpec, Suite, SuiteError
from xecgbench.run.faults import from_os_error

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
                f"suite {suite.name}: {field}: {kind[:-1] if kind.endswith('s') else kind} "
                f"{spec.name!r} (plugin {registration.plugin}) has no parameter {name!r}{hint} "
                f"(parameters: {valid})"
            )


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
    """Everything checkable before the first stage: parameters, primary metric, directories."""
    check_parameters(suite, system)
    check_primary_metric(suite)
    check_writable(out_dir)
    check_writable(cache_dir)
