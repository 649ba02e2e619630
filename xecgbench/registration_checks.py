"""What registration can check before anything runs: names, metric metadata and categories.

A metric with an unknown ``category`` used to be computed, stored and then shown in no table;
checking at registration turns that into a one-line :class:`~xecgbench.registry.RegistryError`
naming the plugin, before any stage runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: Metric categories and where each one's numbers appear (docs/plugin-hooks.md shows this).
METRIC_CATEGORIES: dict[str, str] = {
    "accuracy": "AF detection on the test split; `evaluate(y_true, y_score)` once per branch; "
    "the *accuracy* table and the accuracy column of the alignment tables",
    "localisation": "relevance inside the branch's paired mask; ranks the *alignment-BRANCH* "
    "tables (the suite's `primary_metric` is usually one)",
    "interval_profile": "shares of relevance per beat interval, returned as a mapping of "
    "sub-scores; the *interval-profile* table",
    "faithfulness": "does removing relevant samples change the output; *explanation-quality*",
    "robustness": "stability under small input perturbations; *explanation-quality*",
    "randomisation": "dependence on the model's weights (sanity checks); *explanation-quality*",
    "complexity": "how concentrated the relevance is; *explanation-quality*",
}
#: What an explanation metric may list in ``MetricInfo.requires``.
METRIC_REQUIREMENTS: frozenset[str] = frozenset({"mask", "model", "explainer"})
_INFO_FIELDS = ("name", "version", "category", "higher_is_better", "requires")


def _problem(kind: str, name: str, component: Any) -> str | None:
    """Why ``component`` cannot be registered as ``name``, or ``None`` when it can."""
    if not name.isidentifier():
        return f"{kind} name {name!r} is not an identifier (use letters, digits and _)"
    if kind != "metrics":
        return None
    info = getattr(component, "info", None)
    if info is None:
        return f"metric {name!r} has no class attribute 'info' (a MetricInfo)"
    missing = [f for f in _INFO_FIELDS if not hasattr(info, f)]
    if missing:
        return (f"metric {name!r}: info lacks {', '.join(missing)} "
                "(use xecgbench.components.MetricInfo)")
    if info.category not in METRIC_CATEGORIES:
        return (f"metric {name!r}: unknown category {info.category!r}; valid categories: "
                f"{', '.join(METRIC_CATEGORIES)}")
    if not isinstance(info.higher_is_better, bool):
        return f"metric {name!r}: higher_is_better must be True or False"
    unknown = sorted(set(info.requires) - METRIC_REQUIREMENTS)
    if unknown:
        return (f"metric {name!r}: unknown requires {', '.join(unknown)}; valid: "
                f"{', '.join(sorted(METRIC_REQUIREMENTS))}")
    method = "evaluate" if info.category == "accuracy" else "evaluate_batch"
    if not callable(getattr(component, method, None)):
        return f"metric {name!r} of category {info.category!r} has no {method}() method"
    return None


def check_registration(kind: str, name: str, component: Any, plugin: str) -> None:
    """Raise :class:`~xecgbench.registry.RegistryError` naming ``plugin`` for a bad entry."""
    from xecgbench.registry import RegistryError

    problem = _problem(kind, name, component)
    if problem is not None:
        raise RegistryError(f"plugin {plugin!r}: {problem}")


def metric_info_fields() -> tuple[str, ...]:
    """Field names of :class:`~xecgbench.components.MetricInfo` (for docs and their test)."""
    from xecgbench.components import MetricInfo

    return tuple(f.name for f in dataclasses.fields(MetricInfo))
