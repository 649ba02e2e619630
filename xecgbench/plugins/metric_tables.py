"""Which leaderboard table shows a metric, decided from its ``MetricInfo`` alone.

A metric the tables cannot place used to be scored, stored and shown nowhere: a
``localisation`` metric without a mask got the region ``""``, which no alignment table reads.
Registration refuses such a metric (:func:`placement_problem`, called by
``registration_checks``), naming the plugin and the metric. The rules mirror what the tables
read; change them together:

- ``report/tables.py`` (accuracy table): every ``accuracy`` metric, unlabelled by region;
- ``report/table_builders/alignment.py``: ``localisation`` scores whose region is a mask paired
  with the branch, ``(metric, region) for region in explain.alignment[branch]``;
- ``report/table_builders/detail_tables.py``: ``interval_profile`` and the quality categories,
  any region;
- ``report/table_builders/interval_anova.py`` via ``stats.intervals.long_frame``: ``interval_anova``
  sub-scores as the whole region, ``<class>/<interval>``, so no mask may prefix them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xecgbench.plugins.components import MASK_NAMES

#: category -> the table that shows it, for messages.
TABLE_OF: dict[str, str] = {
    "accuracy": "the accuracy table",
    "localisation": "the alignment-BRANCH tables",
    "interval_profile": "the interval-profile table",
    "interval_anova": "the interval-anova table",
    "faithfulness": "the explanation-quality table",
    "robustness": "the explanation-quality table",
    "randomisation": "the explanation-quality table",
    "complexity": "the explanation-quality table",
}


def scored_regions(info: Any) -> str:
    """How a metric's scores are labelled: ``paired`` (once per mask paired with the branch,
    ``requires`` ``mask``), ``own`` (its declared ``region``) or ``unlabelled``."""
    if "mask" in info.requires:
        return "paired"
    return "own" if getattr(info, "region", None) else "unlabelled"


def metric_regions(info: Any, paired: Sequence[str]) -> tuple[str, ...]:
    """The masks a metric is scored on for a branch paired with ``paired`` (``""``: none);
    the score stage and the Python API both ask here."""
    where = scored_regions(info)
    if where == "paired":
        return tuple(paired)
    return (info.region,) if where == "own" else ("",)


def placement_problem(name: str, info: Any) -> str | None:
    """Why no table would show metric ``name`` as declared (or show it garbled), else None."""
    region = getattr(info, "region", None)
    if region is not None and region not in MASK_NAMES:
        return (f"metric {name!r}: unknown region {region!r}; valid regions: "
                f"{', '.join(MASK_NAMES)}")
    where = scored_regions(info)
    if region is not None and "mask" in info.requires:
        return (f"metric {name!r} declares region {region!r} and requires 'mask': drop 'mask' "
                "(scored on its own region) or the region (scored on each paired mask)")
    if info.category == "accuracy" and where != "unlabelled":
        return (f"metric {name!r} of category 'accuracy' is scored on predictions, not on a "
                "mask; remove 'mask' from requires and the region")
    if info.category == "localisation" and where == "unlabelled":
        return (f"metric {name!r} of category 'localisation' would be shown in no table: "
                f"{TABLE_OF['localisation']} show it on a mask, so add 'mask' to requires "
                "(scored on each mask paired with the branch) or declare region= (the one mask "
                "it scores)")
    if info.category == "interval_anova" and where != "unlabelled":
        return (f"metric {name!r} of category 'interval_anova' returns '<class>/<interval>' "
                f"sub-scores, which a mask label would garble in {TABLE_OF['interval_anova']}; "
                "remove 'mask' from requires and the region")
    return None
