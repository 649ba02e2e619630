"""The leaderboard's ``interval-anova`` table: relevance per beat interval by class, and tests.

One row per cell (pretraining × freezing × attribution × branch): the mean ± 95 % CI over seeds
of each class's interval shares (metric category ``interval_anova``, regions
``"<class>/<interval>"``), then the class × interval statistics of
:mod:`xecgbench.report.stats.intervals` fitted to that cell's window-level values: the interaction
p, the interval p, and the intervals where AF and non-AF differ after Holm correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import CELL, Column, RunResults, Table, sorted_rows
from xecgbench.report.stats.inference import summarise
from xecgbench.report.stats.intervals import class_interval_tests, long_frame

CLASS_ORDER = ("non-AF", "AF")
INTERVAL_ORDER = ("P", "PQ", "F", "QRS", "ST", "T", "TP")
ALPHA = 0.05
MODEL_TEXT = {
    "mixed": (
        "a linear mixed model on the window-level shares (class × interval cell means and a "
        "seed block as fixed effects; random record intercepts and record × interval effects, "
        "so seeds are the replicates and records a random effect; statsmodels MixedLM, Wald "
        "tests)"
    ),
    "seed_anova": (
        "an ANOVA on the seed-level means (seed block + class × interval cells; seeds are the "
        "replicates)"
    ),
}
TEXT_COLUMNS = ("class × interval p", "interval p", "AF vs non-AF (Holm p < 0.05)")


def _p(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return "< 1e-16" if value < 1e-16 else f"{value:.2g}"


def _region_order(regions: list[str]) -> list[str]:
    def key(region: str) -> tuple[int, int, str]:
        cls, _, interval = region.partition("/")
        return (
            CLASS_ORDER.index(cls) if cls in CLASS_ORDER else len(CLASS_ORDER),
            INTERVAL_ORDER.index(interval) if interval in INTERVAL_ORDER else len(INTERVAL_ORDER),
            region,
        )

    return sorted(regions, key=key)


def _differences(posthoc: pd.DataFrame) -> str:
    """Shared intervals where AF − non-AF is Holm-significant: ``QRS ↑`` (AF higher)."""
    picked = posthoc[(posthoc["family"] == "class within interval") & (posthoc["p_holm"] < ALPHA)]
    parts = [
        f"{label.rsplit('@ ', 1)[-1]} {'↑' if estimate > 0 else '↓'}"
        for label, estimate in zip(picked["comparison"], picked["estimate"], strict=True)
    ]
    return ", ".join(parts) if parts else "no interval"


def interval_anova_table(
    results: RunResults,
    scores: pd.DataFrame,
    order: Mapping[str, Mapping[str, int]],
    *,
    model: str = "mixed",
) -> Table | None:
    """The ``interval-anova`` table of ``scores`` (explained scores of one run), or None."""
    names = [
        m for m in dict.fromkeys(scores["metric"])
        if results.metrics.get(m, {}).get("category") == "interval_anova"
    ]
    if not names:
        return None
    name = names[0]
    mine = scores[(scores["metric"] == name) & (scores["region"] != "")]
    summary = summarise(mine, [*CELL, "metric", "region"])
    rows: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    cells = [(dict(zip(CELL, keys, strict=True)), long_frame(cell))
             for keys, cell in mine.groupby(list(CELL), sort=False)]
    fitted = class_interval_tests([frame for _, frame in cells], model=model)
    for (labels, _), result in zip(cells, fitted, strict=True):
        if isinstance(result, Exception):
            rows.append(labels | dict.fromkeys(TEXT_COLUMNS, f"— ({type(result).__name__})"))
            continue
        rows.append(
            labels
            | {
                TEXT_COLUMNS[0]: _p(result.p_interaction),
                TEXT_COLUMNS[1]: _p(result.p_interval),
                TEXT_COLUMNS[2]: _differences(result.posthoc),
            }
        )
        for test, p in (("class × interval", result.p_interaction),
                        ("interval", result.p_interval), ("class", result.p_class)):
            tests.append(labels | {"metric": f"{name}: {test}", "region": "", "mean": np.nan,
                                   "n_seeds": result.n_seeds, "p_value": p})
        for record in result.posthoc.to_dict("records"):
            tests.append(labels | {"metric": f"{name}: {record['comparison']}", "region": "",
                                   "mean": record["estimate"],
                                   "n_seeds": result.n_seeds, "p_value": record["p_holm"]})
    if not rows:
        return None
    regions = _region_order(list(dict.fromkeys(summary["region"])))
    columns = [Column(name, r, r.replace("/", " "), None) for r in regions]
    columns += [Column(text, "", text, None, "text") for text in TEXT_COLUMNS]
    values = pd.concat([summary, pd.DataFrame(tests)], ignore_index=True)
    return Table(
        name="interval-anova",
        title="Relevance per beat interval by class (class × interval analysis)",
        caption=(
            "Share of positive relevance per beat interval, normalised by interval length, for "
            "non-AF and AF windows separately (P and PQ are undefined on AF windows; F is the "
            f"atrial window of AF beats). Per row, {MODEL_TEXT[model]} tests the class × "
            "interval interaction and the interval effect over the intervals both classes have;"
            " the last column lists the intervals where AF and non-AF differ (Holm-adjusted; "
            "↑: higher in AF). See docs/metrics.md."
        ),
        row_keys=CELL,
        rows=sorted_rows(pd.DataFrame(rows), ["branch", "attribution", "freezing", "pretraining"],
                     order),
        columns=tuple(columns),
        values=values,
    )
