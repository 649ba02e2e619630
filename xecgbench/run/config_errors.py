"""One-line suite errors that point at their source: a ``--set`` override or a file line.

An invalid value that came from ``--set seeds=abc`` is reported against that override, not
against the line of the suite file it replaced; an unknown field gets a "did you mean" from
the fields valid at that place.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError


def _fields(model: Any) -> dict[str, Any]:
    """The fields of a pydantic model or pydantic dataclass (``TrainingBudget``)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return dict(model.model_fields)
    return dict(getattr(model, "__pydantic_fields__", {}))


def _models_in(annotation: Any) -> list[Any]:
    """Pydantic models and dataclasses nested in an annotation (``tuple[Spec, ...]``)."""
    if isinstance(annotation, type) and _fields(annotation):
        return [annotation]
    found: list[Any] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            found += [m for m in _models_in(arg) if m not in found]
    return found


def fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names valid at ``loc`` (the location of an unknown key) under ``model``."""
    current: Any = model
    for part in loc[:-1]:
        if current is None:
            return []
        if isinstance(part, int):
            continue  # an index into a tuple of models
        info = _fields(current).get(str(part))
        nested = _models_in(info.annotation) if info is not None else []
        current = nested[0] if nested else None
    return list(_fields(current)) if current is not None else []


def suggestion(word: str, candidates: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def override_source(loc: Sequence[Any], overrides: Sequence[str]) -> str | None:
    """The last ``--set`` whose key is ``loc`` or a prefix of it (it supplied the bad value)."""
    dotted = [str(p) for p in loc]
    for item in reversed(overrides):
        key = item.partition("=")[0].split(".")
        if dotted[: len(key)] == key or key[: len(dotted)] == dotted:
            return f"--set {item}"
    return None


def describe_validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    path: Path,
    overrides: Sequence[str],
    line_of: Callable[[Sequence[Any]], int | None],
) -> str:
    """The first error as ``SOURCE: field 'a.b': message`` with a "did you mean"."""
    first = exc.errors()[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    field = ".".join(str(p) for p in loc) or "(suite)"
    message = first["msg"]
    if first["type"] in ("extra_forbidden", "unexpected_keyword_argument") and loc:
        valid = fields_at(model, loc)
        hint = suggestion(str(loc[-1]), valid)
        message = f"unknown field{hint}; valid fields: {', '.join(valid)}"
    source = override_source(loc, overrides)
    if source is None:
        line = line_of(loc)
        source = f"{path}:{line}" if line else str(path)
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{source}: field {field!r}: {message}{more}"
