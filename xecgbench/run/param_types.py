"""What a component's signature says a parameter is: a default's type, or a place on disk.

``def __init__(self, model, window_ms=50)`` given ``window_ms: fifty`` used to pass preflight
and fail every cell at run time. Without an annotation the default is the author's only
statement of the type, so preflight reads it; annotated parameters are pydantic's job
(``preflight.check_ranges``). A parameter annotated as a path (:func:`path_parameters`) is
confined when its value comes from an untrusted run record, whatever it is called.
"""

from __future__ import annotations

import inspect
import os
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePath
from typing import Any

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
#: default type -> (what a suite may give for it, its name in messages). bool first: it is
#: an int to Python, never to a suite (``window_ms: yes`` is a mistake); a YAML list stands
#: for a tuple default, and an int for a float default.
_ACCEPTED: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (bool, (bool,), "true or false"),
    (int, (int,), "an integer"),
    (float, (int, float), "a number"),
    (str, (str,), "a string"),
    (tuple, (list, tuple), "a list"),
    (list, (list, tuple), "a list"),
    (dict, (Mapping,), "a mapping"),
)


def _declared(component: Callable[..., Any], eval_str: bool = False
              ) -> Iterator[inspect.Parameter]:
    """Named parameters of ``component``, followed like ``preflight.declared_ranges``: a
    class's ``__init__`` up its MRO (the first declaration of a name wins), a factory's own
    signature. Annotations are evaluated when ``eval_str`` and they can be."""
    targets: list[Any] = [component]
    if inspect.isclass(component):
        targets = [owner.__dict__["__init__"] for owner in inspect.getmro(component)
                   if "__init__" in owner.__dict__ and owner is not object]
    seen: set[str] = set()
    for target in targets:
        try:
            parameters = inspect.signature(target, eval_str=eval_str).parameters
        except (TypeError, ValueError, NameError):
            try:  # an annotation that does not evaluate is still read as text
                parameters = inspect.signature(target).parameters
            except (TypeError, ValueError):
                continue
        for name, p in parameters.items():
            if p.kind in _NAMED and name not in seen:
                seen.add(name)
                yield p


def unannotated_defaults(component: Callable[..., Any]) -> dict[str, Any]:
    """Defaults of the parameters ``component`` declares without an annotation."""
    return {p.name: p.default for p in _declared(component)
            if p.annotation is p.empty and p.default is not p.empty}


def _names_a_path(annotation: Any) -> bool:
    """``Path``, ``os.PathLike[str]``, or a union or ``Annotated`` holding one."""
    if isinstance(annotation, str):  # not evaluable: its text is all there is
        return "Path" in annotation
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, PurePath | os.PathLike):
        return True
    return any(_names_a_path(a) for a in typing.get_args(annotation))


def path_parameters(component: Callable[..., Any]) -> set[str]:
    """Parameters ``component`` annotates as a place on disk (``cache_dir: str |
    os.PathLike[str] | None`` as much as ``path: Path``): by their type, not their name."""
    return {p.name for p in _declared(component, eval_str=True) if _names_a_path(p.annotation)}


def expected_type(value: Any, default: Any) -> str | None:
    """What ``value`` should be to stand for ``default`` (``"a number"``), or None when it can
    (a ``None`` default, or one of a type a suite cannot write, accepts anything)."""
    if default is None:
        return None
    for kind, accepted, name in _ACCEPTED:
        if isinstance(default, kind):
            ok = isinstance(value, accepted) and (kind is bool or not isinstance(value, bool))
            return None if ok else name
    return None
