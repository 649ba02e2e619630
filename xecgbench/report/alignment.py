"""The clinical-alignment tables: per branch, explanations against their paired masks, with the
domain-specificity index against the baseline pretraining."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xecgbench.report.board import (
    BRANCH_ORDER,
    CELL,
    MASK_INTERVAL,
    Column,
    RunResults,
    Table,
    sorted_rows,
    stat_columns,
)
from xecgbench.report.stats import holm, paired_wilcoxon


def _primary_region(summary: pd.DataFrame, primary: str, regions: Sequence[str]) -> str | None:
    """The region the primary metric is read on: the first paired mask it was scored on."""
    present = set(summary.loc[summary["metric"] == primary, "region"])
    candidates = [*regions, *(MASK_INTERVAL.get(r, "") for r in regions), ""]
    return next((c for c in candidates if c in present), None)


def _domain_specificity(
    scores: pd.DataFrame, primary: str, region: str, branch: str, baseline: str
) -> pd.DataFrame:
    """Primary score relative to the ``baseline``-pretraining cell, with a paired Wilcoxon test.

    Index = mean(candidate) / mean(baseline) over the same (seed, sample) pairs; p from a
    two-sided Wilcoxon signed-rank test on those pairs, Holm-adjusted over the table's cells.
    """
    columns = [*CELL, "metric", "region", "mean", "ci95", "n_seeds", "p_value"]
    picked = scores[
        (scores["metric"] == primary) & (scores["region"] == region) & (scores["branch"] == branch)
    ]
    base = picked[picked["pretraining"] == baseline]
    pair = ["freezing", "attribution", "seed", "sample"]
    merged = picked[picked["pretraining"] != baseline].merge(
        base[[*pair, "value"]], on=pair, suffixes=("", "_base")
    )
    out = []
    for (pretraining, freezing, attribution), cell in merged.groupby(
        ["pretraining", "freezing", "attribution"], sort=False
    ):
        keep = cell["value"].notna() & cell["value_base"].notna()
        base_mean = cell.loc[keep, "value_base"].mean()
        ratio = cell.loc[keep, "value"].mean() / base_mean if base_mean else np.nan
        out.append(
            {
                "pretraining": pretraining, "freezing": freezing, "attribution": attribution,
                "branch": branch, "metric": "domain_specificity", "region": region,
                "mean": ratio, "ci95": np.nan, "n_seeds": cell.loc[keep, "seed"].nunique(),
                "p_value": paired_wilcoxon(cell["value"].to_numpy(), cell["value_base"].to_numpy()),
            }
        )
    frame = pd.DataFrame(out, columns=columns)
    frame["p_value"] = holm(frame["p_value"].to_numpy(dtype=float))
    return frame


def _accuracy_for_rows(
    accuracy: pd.DataFrame, rows: pd.DataFrame, metric: str, branch: str
) -> pd.DataFrame:
    """The branch's accuracy (per pretraining × freezing) repeated on every attribution row."""
    chosen = accuracy[(accuracy["metric"] == metric) & (accuracy["branch"] == branch)]
    return rows[["pretraining", "freezing", "attribution"]].merge(
        chosen, on=["pretraining", "freezing"]
    )


def alignment_tables(
    results: RunResults,
    scores: pd.DataFrame,
    summary: pd.DataFrame,
    accuracy: pd.DataFrame,
    order: Mapping[str, Mapping[str, int]],
) -> list[Table]:
    config = results.config
    primary = config["primary_metric"]
    primary_up = results.direction(primary)
    alignment = config["explain"]["alignment"]
    localisation = [
        m for m in dict.fromkeys(summary["metric"]) if results.metrics.get(m, {}).get(
            "category") == "localisation"
    ]
    accuracy_metric = next(iter(dict.fromkeys(accuracy["metric"])), None)
    tables = []
    for branch in [b for b in BRANCH_ORDER if b in set(summary["branch"])]:
        regions = tuple(alignment.get(branch, ()))
        mine = summary[summary["branch"] == branch]
        region = _primary_region(mine, primary, regions)
        if not regions or region is None:
            continue
        rows = sorted_rows(mine[["pretraining", "freezing", "attribution"]].drop_duplicates(),
                       ["attribution", "freezing", "pretraining"], order)
        pairs = [(primary, region)]
        pairs += [(m, r) for r in regions for m in localisation if (m, r) != (primary, region)]
        pairs = [p for p in pairs if ((mine["metric"] == p[0]) & (mine["region"] == p[1])).any()]
        baseline = results.baseline or ""
        dsi = _domain_specificity(scores, primary, region, branch, baseline)
        shown = pd.MultiIndex.from_frame(mine[["metric", "region"]]).isin(pairs)
        values = [mine[shown], dsi]
        columns = list(stat_columns(results, pairs[:1], None))
        columns.append(Column("domain_specificity", region, "domain specificity (p)", None,
                              "ratio"))
        if accuracy_metric is not None:
            values.append(_accuracy_for_rows(accuracy, rows, accuracy_metric, branch))
            columns += stat_columns(results, [(accuracy_metric, "")], None)
        columns += stat_columns(results, pairs[1:], None)
        values_frame = pd.concat([v for v in values if not v.empty], ignore_index=True)
        primary_values = values_frame[
            (values_frame["metric"] == primary) & (values_frame["region"] == region)
        ][["pretraining", "freezing", "attribution", "mean"]]
        rows = rows.merge(primary_values, on=["pretraining", "freezing", "attribution"],
                          how="left")
        rows = rows.sort_values("mean", ascending=primary_up is False, na_position="last",
                                kind="stable").reset_index(drop=True)
        rows.insert(0, "rank", np.where(rows["mean"].notna(), rows.index + 1, np.nan))
        rows = rows.drop(columns="mean")
        paired = ", ".join(f"`{r}`" for r in regions)
        tables.append(
            Table(
                name=f"alignment-{branch}",
                title=f"Clinical alignment: {branch} branch",
                caption=(
                    f"Explanations of the {branch} branch against its paired masks ({paired}); "
                    f"ranked by the primary metric `{primary}` on `{region}`"
                    f"{' (higher is better)' if primary_up is not False else ' (lower is better)'}."
                    f" Domain specificity: `{primary}` on `{region}` relative to "
                    f"`{baseline}` pretraining with the same freezing and attribution"
                    " (ratio of means over the same seeds × samples; Wilcoxon signed-rank p, "
                    "Holm-adjusted over this table)."
                    + (f" `{accuracy_metric}`: the {branch} branch's AF detection."
                       if accuracy_metric else "")
                ),
                row_keys=("pretraining", "freezing", "attribution"),
                rows=rows,
                columns=tuple(columns),
                values=values_frame,
                fixed={"branch": branch},
            )
        )
    return tables


