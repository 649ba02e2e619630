"""What registration can check before anything runs: names, metric metadata and categories,
attribution families.

A metric with an unknown ``category``, or one its category's table cannot place
(``metric_tables``), used to be computed, stored and then shown in no table; checking at
registration (:class:`~xecgbench.plugins.registry.KindRegistry` raises the
``RegistryError``, naming the plugin) catches it before any stage runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from xecgbench.plugins.components import ATTRIBUTION_FAMILIES, METRIC_CATEGORIES
from xecgbench.plugins.metric_tables import placement_problem

#: What a metric may list in ``MetricInfo.requires`` (``validation``: an accuracy metric that
#: picks its operating point on the validation records' predictions).
METRIC_REQUIREMENTS: frozenset[str] = frozenset({"mask", "model", "explainer", "validation"})
_INFO_FIELDS = ("name", "version", "category", "higher_is_better", "requires")


def registration_problem(kind: str, name: str, component: Any) -> str | None:
    """Why ``component`` cannot be registered as ``name``, or ``None`` when it can."""
    if not name.isidentifier():
        return f"{kind} name {name!r} is not an identifier (use letters, digits and _)"
    if kind == "attributions":
        family = getattr(component, "family", None)
        if family is not None and family not in ATTRIBUTION_FAMILIES:
            return (f"attribution {name!r}: unknown family {family!r}; valid families: "
                    f"{', '.join(ATTRIBUTION_FAMILIES)}")
        return None
    if kind != "metrics":
        return None
    info = getattr(component, "info", None)
    if info is None:
        return f"metric {name!r} has no class attribute 'info' (a MetricInfo)"
    missing = [f for f in _INFO_FIELDS if not hasattr(info, f)]
    if missing:
        return (f"metric {name!r}: info lacks {', '.join(missing)} "
                "(use xecgbench.plugins.components.MetricInfo)")
    if info.category not in METRIC_CATEGORIES:
        return (f"metric {name!r}: unknown category {info.category!r}; valid categories: "
                f"{', '.join(METRIC_CATEGORIES)}")
    if not isinstance(info.higher_is_better, bool):
        return f"metric {name!r}: higher_is_better must be True or False"
    declared = getattr(info, "value_range", None)
    if declared is not None and not _is_range(declared):
        return (f"metric {name!r}: value_range must be (low, high), finite numbers with "
                f"low < high, not {declared!r}")
    unknown = sorted(set(info.requires) - METRIC_REQUIREMENTS)
    if unknown:
        return (f"metric {name!r}: unknown requires {', '.join(unknown)}; valid: "
                f"{', '.join(sorted(METRIC_REQUIREMENTS))}")
    placement = placement_problem(name, info)
    if placement is not None:
        return placement
    method = "evaluate" if info.category == "accuracy" else "evaluate_batch"
    if not callable(getattr(component, method, None)):
        return f"metric {name!r} of category {info.category!r} has no {method}() method"
    return None


def metric_info_fields() -> tuple[str, ...]:
    """Field names of ``MetricInfo`` (for the docs and their test)."""
    from xecgbench.plugins.components import MetricInfo

    return tuple(f.name for f in dataclasses.fields(MetricInfo))


def _is_range(value: object) -> bool:
    """``(low, high)``: two finite numbers, low below high."""
    import math

    if not isinstance(value, tuple | list) or len(value) != 2:
        return False
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return False
    low, high = (float(v) for v in value)
    return math.isfinite(low) and math.isfinite(high) and low < high
