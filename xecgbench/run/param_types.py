"""A suite's parameter values checked against the type of an unannotated parameter's default.

``def __init__(self, model, window_ms=50)`` given ``window_ms: fifty`` used to pass preflight
and fail every cell at run time. Without an annotation the default is the author's only
statement of the type, so preflight reads it; annotated parameters are pydantic's job
(``preflight.check_ranges``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
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


def unannotated_defaults(component: Callable[..., Any]) -> dict[str, Any]:
    """Defaults of the parameters ``component`` declares without an annotation, followed like
    ``preflight.declared_ranges``: a class's ``__init__`` up its MRO (the first declaration of
    a name wins), a factory's own signature."""
    targets: list[Any] = [component]
    if inspect.isclass(component):
        targets = [owner.__dict__["__init__"] for owner in inspect.getmro(component)
                   if "__init__" in owner.__dict__ and owner is not object]
    defaults: dict[str, Any] = {}
    seen: set[str] = set()
    for target in targets:
        try:
            parameters = inspect.signature(target).parameters
        except (TypeError, ValueError):
            continue
        for name, p in parameters.items():
            if p.kind not in _NAMED or name in seen:
                continue
            seen.add(name)
            if p.annotation is p.empty and p.default is not p.empty:
                defaults[name] = p.default
    return defaults


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
