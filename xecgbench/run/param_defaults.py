"""Parameters as a cache key sees them: a component's own defaults do not count.

``{name: dtd}`` and ``{name: dtd, params: {epsilon: 1e-6}}`` (the default written out) build the
same thing, so they must share cached stages. Keys are computed from the parameters that
*differ* from the defaults in the component's signature: two specs get the same key exactly
when their parameters merged with the defaults are equal, and a spec that lists no parameters
keeps the key it always had (committed caches stay valid).
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping
from typing import Any

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def declared_defaults(component: Any) -> dict[str, Any]:
    """Keyword defaults of ``component``'s constructor or call signature (``{}`` if unknown)."""
    try:
        signature = inspect.signature(component)
    except (TypeError, ValueError):  # builtins and C callables may have none
        return {}
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if p.kind in _NAMED and p.default is not inspect.Parameter.empty
    }


def _same(value: Any, default: Any) -> bool:
    """Equal as a suite would write them: 1 == 1.0, [1, 2] == (1, 2), but True != 1."""
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default) and value == default
    if isinstance(value, int | float) and isinstance(default, int | float):
        return math.isclose(value, default, rel_tol=0.0, abs_tol=0.0) or value == default
    try:
        return json.dumps(value, sort_keys=True, default=str) == json.dumps(
            default, sort_keys=True, default=str
        )
    except (TypeError, ValueError):
        return False


def key_params(component: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without the entries equal to ``component``'s declared defaults."""
    defaults = declared_defaults(component)
    return {
        name: value
        for name, value in params.items()
        if not (name in defaults and _same(value, defaults[name]))
    }


def merged_params(component: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over the declared defaults: what the component is actually built with."""
    return {**declared_defaults(component), **params}
