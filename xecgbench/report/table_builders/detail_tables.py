"""The detail tables after the alignment ones: interval profile, explanation quality, accuracy
and pretraining quality."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xecgbench.plugins.components import QUALITY_CATEGORIES
from xecgbench.report.board import (
    CELL,
    INTERVALS,
    Column,
    RunResults,
    Table,
    sorted_rows,
    stat_columns,
)
from xecgbench.report.stats.inference import summarise


def _cell_rows(summary: pd.DataFrame, sort: Sequence[str], order) -> pd.DataFrame:
    return sorted_rows(summary[list(CELL)].drop_duplicates(), sort, order)


def interval_table(results: RunResults, summary: pd.DataFrame, order) -> Table | None:
    names = [m for m in dict.fromkeys(summary["metric"])
             if results.metrics.get(m, {}).get("category") == "interval_profile"]
    if not names:
        return None
    mine = summary[summary["metric"].isin(names)]
    regions = list(dict.fromkeys(mine["region"]))
    regions = [r for r in INTERVALS if r in regions] + [r for r in regions if r not in INTERVALS]
    columns = tuple(
        Column(m, r, r if len(names) == 1 else f"{m} [{r}]", None) for m in names for r in regions
    )
    return Table(
        name="interval-profile",
        title="Relevance per ECG interval",
        caption=(
            "Share of positive relevance per interval, normalised by interval length (uniform "
            "relevance gives 1/6 each; see docs/metrics.md). A morphology branch that looks at "
            "atrial activity has a high P share; a rhythm branch a high QRS share."
        ),
        row_keys=CELL,
        rows=_cell_rows(mine, ["branch", "attribution", "freezing", "pretraining"], order),
        columns=columns,
        values=mine,
    )


def quality_table(results: RunResults, summary: pd.DataFrame, order) -> Table | None:
    by_category = {
        c: [m for m in dict.fromkeys(summary["metric"])
            if results.metrics.get(m, {}).get("category") == c]
        for c in QUALITY_CATEGORIES
    }
    names = [m for c in QUALITY_CATEGORIES for m in by_category[c]]
    if not names:
        return None
    mine = summary[summary["metric"].isin(names)]
    pairs = list(dict.fromkeys(zip(mine["metric"], mine["region"], strict=True)))
    pairs.sort(key=lambda p: names.index(p[0]))
    rows = _cell_rows(mine, ["attribution", "branch", "freezing", "pretraining"], order)
    caption = (
        "Faithfulness, robustness, randomisation sanity and complexity of the explanations "
        "(scored on the suite's `n_costly` samples for costly metrics)."
    )
    columns = stat_columns(results, pairs, None)
    checked = [(m, results.metrics[m]["sanity"]) for m in names
               if results.metrics.get(m, {}).get("sanity")]
    for metric, check in reversed(checked):
        column, limit = check["column"], check["fail_above"]
        means = mine[mine["metric"] == metric].groupby(list(CELL))["mean"].first()
        verdict = means.map(lambda s, limit=limit: "FAIL" if s > limit else "pass")
        rows = rows.merge(verdict.rename(column).reset_index(), on=list(CELL), how="left")
        rows[column] = rows[column].fillna("—")
        failing = sorted(set(rows.loc[rows[column] == "FAIL", "attribution"]))
        caption += (
            f" {column}: FAIL when the `{metric}` {check['description']} exceeds {limit:g} "
            f"({check['failure']}). Failing somewhere: "
            + (", ".join(f"`{m}`" for m in failing) + "." if failing else "none.")
        )
        columns = (Column(column, "", column, None, "text"), *columns)
    return Table("explanation-quality", "Explanation quality", caption, CELL, rows,
                 tuple(columns), mine)


def pretraining_table(results: RunResults, order) -> Table | None:
    long = [
        {"pretraining": row["pretraining"], "seed": row["seed"], "metric": key, "region": "",
         "value": float(value) if value is not None else np.nan}
        for row in results.pretraining
        for key, value in row.items()
        if key not in ("pretraining", "seed") and isinstance(value, int | float | None)
    ]
    if not long:
        return None
    summary = summarise(pd.DataFrame(long).assign(sample=0), ["pretraining", "metric", "region"])
    rows = sorted_rows(summary[["pretraining"]].drop_duplicates(), ["pretraining"], order)
    metrics = list(dict.fromkeys(pd.DataFrame(long)["metric"]))
    described = list(dict.fromkeys(
        s["report_description"] for s in results.strategies.values() if s["report_description"]
    ))
    return Table(
        name="pretraining",
        title="Pretraining quality",
        caption=(
            "How well each strategy learnt its own task, on its held-out pretraining split"
            + (f" ({'; '.join(described)})." if described else ".")
        ),
        row_keys=("pretraining",),
        rows=rows,
        columns=stat_columns(results, [(m, "") for m in metrics], results.report_direction),
        values=summary,
    )


