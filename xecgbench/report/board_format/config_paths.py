"""Paths in an untrusted run record, confined by what they are, not by what they are called.

``verify`` hands a board's ``run.json`` config to the components it reruns; a ``cache_dir``
pointing outside made a rerun write 40 files there, because only keys named ``path``,
``folder`` or ``*_path`` were confined. Two checks, neither looking at a key's name:

* whenever a record is read (:func:`refuse_escapes`): no string anywhere in a component's
  ``params`` may be absolute, start with ``~`` or hold a ``..`` part. An honest board names its
  data relative to the data root; no value, whatever its key, may name a place outside it;
* before ``verify`` builds a component (:func:`confine_declared`): every parameter the
  component annotates as a path (``Path``, ``os.PathLike``; :func:`~xecgbench.run.param_types.
  path_parameters`) and every ``Path`` field of the validated suite must resolve, symlinks
  followed, inside the data root; so must any other string among the params that names an
  existing place (``notes: decoy.txt`` beside the working directory), whatever its key and
  whether or not the component declares it a path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.board_format.reader import ResultsFileError
from xecgbench.run.param_types import path_parameters

#: (config field, registry kind) of every component a suite config names; list fields hold
#: one spec per entry.
COMPONENT_FIELDS = (("data.dataset", "datasets"), ("data.test", "datasets"),
                    ("model", "models"), ("pretraining", "pretraining"),
                    ("freezing", "freezing"), ("attributions", "attributions"),
                    ("metrics", "metrics"))


def component_specs(config: Mapping[str, Any]) -> Iterator[tuple[str, str, str, dict]]:
    """(field, registry kind, component name, params) of every spec in a raw suite config."""
    for field, kind in COMPONENT_FIELDS:
        head, _, tail = field.partition(".")
        value = config.get(head)
        value = value.get(tail) if tail and isinstance(value, Mapping) else value
        specs = value if isinstance(value, list) else [value]
        for index, spec in enumerate(specs):
            where = f"{field}.{index}" if isinstance(value, list) else field
            if isinstance(spec, str):
                yield where, kind, spec, {}
            elif isinstance(spec, Mapping):
                params = spec.get("params")
                yield where, kind, str(spec.get("name")), params if isinstance(
                    params, dict) else {}


def escapes(text: str) -> bool:
    """``text`` as a path leaves whatever directory it is read from: absolute (POSIX or
    Windows, a drive included), ``~``-relative, or through ``..``."""
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    return (text.startswith("~") or posix.is_absolute() or windows.is_absolute()
            or bool(windows.drive) or ".." in posix.parts or ".." in windows.parts)


def leaves(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(dotted field, value) of every leaf under ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from leaves(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from leaves(item, f"{where}.{index}")
    else:
        yield where, value


def refuse_escapes(config: Mapping[str, Any], file: Path, field: str = "run.config") -> None:
    """No string in any component's ``params`` of ``config`` :func:`escapes`."""
    for where, _, _, params in component_specs(config):
        for name, text in leaves(params, f"{field}.{where}.params"):
            if isinstance(text, str) and escapes(text):
                raise ResultsFileError(
                    f"{file}: field {name!r}: {text[:80]!r} points outside the data root "
                    "(absolute, '~' or '..'); a board names places only relative to it")


def _outside(value: str | PurePath, root: Path) -> bool:
    """``value`` (relative to the working directory, as a component opens it) resolves
    outside ``root``; a value that cannot be resolved (a NUL byte, a link loop) is outside."""
    try:
        target = (Path.cwd() / value).resolve()
    except (OSError, ValueError, RuntimeError):
        return True
    return target != root and root not in target.parents


def _names_a_place(text: str) -> bool:
    """``text``, read as a path from the working directory, is an existing entry."""
    if not text or len(text) > 4096 or "\0" in text:
        return False
    try:
        return (Path.cwd() / text).exists() or (Path.cwd() / text).is_symlink()
    except (OSError, ValueError):
        return False


def confine_declared(config: Mapping[str, Any], file: Path, root: Path,
                     system: PluginSystem, suite: Any = None) -> None:
    """Every parameter a registered component declares as a path, and every ``Path`` field
    of the validated ``suite``, resolves inside ``root``: ``verify`` reads and writes nothing
    but the data root (and its own temporary directory)."""
    for where, kind, name, params in component_specs(config):
        if name not in system.registry[kind]:
            continue  # the planner names an unknown component with the valid ones
        for key in sorted(path_parameters(system.registry[kind].registration(name).component)):
            value = params.get(key)
            if isinstance(value, str | PurePath) and _outside(value, root):
                raise ResultsFileError(
                    f"{file}: field 'run.config.{where}.params.{key}' (a path of "
                    f"{kind.removesuffix('s')} {name!r}): {str(value)[:80]!r} is outside the "
                    f"data root {root} (--data-dir)")
        for field, text in leaves(params, f"run.config.{where}.params"):
            if isinstance(text, str) and _names_a_place(text) and _outside(text, root):
                raise ResultsFileError(
                    f"{file}: field {field!r}: {text[:80]!r} names an existing place outside "
                    f"the data root {root} (--data-dir)")
    dumped = suite.model_dump() if suite is not None else {}
    for where, value in leaves(dumped, "run.config"):
        if isinstance(value, PurePath) and _outside(value, root):
            raise ResultsFileError(f"{file}: field {where!r}: {str(value)[:80]!r} is outside "
                                   f"the data root {root} (--data-dir)")
