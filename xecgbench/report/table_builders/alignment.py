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
    arrow,
    sorted_rows,
    stat_columns,
)
from xecgbench.report.stats.corrections import holm
from xecgbench.report.stats.inference import grids, ratio, summarise
from xecgbench.report.table_builders.nulls import cells_vs_untrained, role


def _primary_region(summary: pd.DataFrame, primary: str, regions: Sequence[str]) -> str | None:
    """The region the primary metric is read on: the first paired mask it was scored on."""
    present = set(summary.loc[summary["metric"] == primary, "region"])
    candidates = [*regions, *(MASK_INTERVAL.get(r, "") for r in regions), ""]
    return next((c for c in candidates if c in present), None)


def _domain_specificity(
    scores: pd.DataFrame, primary: str, region: str, branch: str, baseline: str,
    reference_freezing: str | None,
) -> pd.DataFrame:
    """Primary score relative to the ``baseline``-pretraining cell trained with nothing frozen
    (``reference_freezing``; see :mod:`inference`).

    Geometric mean over seeds of the per-seed ratio of means over the same windows, with a
    t-interval and t-test over seeds (one unit for both), Holm-adjusted over the table's cells.
    """
    columns = [*CELL, "metric", "region", "mean", "ci_low", "ci_high", "n_seeds", "n_records",
               "p_value"]
    picked = scores[
        (scores["metric"] == primary) & (scores["region"] == region) & (scores["branch"] == branch)
    ]
    cells = grids(picked, ("pretraining", "freezing", "attribution"))[0]
    if not cells:
        return pd.DataFrame(columns=columns)
    out = []
    for (pretraining, freezing, attribution), grid in cells.items():
        reference = cells.get((baseline, reference_freezing, attribution))
        if pretraining == baseline or reference is None:
            continue
        effect = ratio(grid, reference)
        out.append({
            "pretraining": pretraining, "freezing": freezing, "attribution": attribution,
            "branch": branch, "metric": "domain_specificity", "region": region,
            "mean": effect.value, "ci_low": effect.low, "ci_high": effect.high,
            "n_seeds": effect.n_seeds, "n_records": effect.n_records, "p_value": effect.p_value,
        })
    frame = pd.DataFrame(out, columns=columns)
    frame["p_value"] = holm(frame["p_value"].to_numpy(dtype=float))
    return frame


def _by_class(scores: pd.DataFrame, primary: str, region: str, branch: str) -> pd.DataFrame:
    """The primary score and its chance level on AF and on non-AF windows separately."""
    picked = scores[(scores["metric"] == primary) & (scores["region"] == region)
                    & (scores["branch"] == branch)]
    if "label" not in picked or picked["label"].isna().all():
        return pd.DataFrame()
    frames = []
    for label, name in ((1, "AF"), (0, "non-AF")):
        mine = picked[picked["label"] == label]
        if mine.empty:
            continue
        keys = ["pretraining", "freezing", "attribution"]
        score = summarise(mine, keys).assign(metric=f"{primary} · {name}")
        frames.append(score)
        if "chance" in mine and mine["chance"].notna().any():
            chance = summarise(mine.assign(value=mine["chance"]), keys)
            frames.append(chance.assign(metric=f"chance · {name}"))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).assign(branch=branch, region=region)


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
    explain = results.suite.explain
    primary = results.suite.primary_metric
    primary_up = results.direction(primary)
    alignment = explain.alignment
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
        af_region = explain.af_regions.get(region)
        pairs = [(primary, region)]
        pairs += [(m, r) for r in regions for m in localisation if (m, r) != (primary, region)]
        pairs += [(primary, af_region)] if af_region else []
        pairs = [p for p in pairs if ((mine["metric"] == p[0]) & (mine["region"] == p[1])).any()]
        baseline = results.baseline or ""
        dsi = _domain_specificity(scores, primary, region, branch, baseline,
                                  results.unfrozen_schedule)
        by_class = _by_class(scores, primary, region, branch)
        shown = pd.MultiIndex.from_frame(mine[["metric", "region"]]).isin(pairs)
        null_values, null_status = cells_vs_untrained(results, primary, branch, region)
        values = [mine[shown], dsi, by_class, null_values]
        columns = list(stat_columns(results, pairs[:1], None))
        if not null_values.empty:
            columns += [Column("untrained", region, "untrained model", None),
                        Column("above untrained", region, "above untrained [95 % CI] (p)",
                               primary_up, "difference"),
                        Column("vs untrained", "", "vs untrained", None, "text")]
        columns.append(Column("role", "", "role", None, "text"))
        columns.append(Column("domain_specificity", region, "vs baseline [95 % CI] (p)", None,
                              "ratio"))
        for metric in dict.fromkeys(by_class.get("metric", ())):
            up = None if metric.startswith("chance") else primary_up
            columns.append(Column(metric, region, metric + arrow(up), up))
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
        keys = zip(rows["pretraining"], rows["freezing"], rows["attribution"], strict=True)
        rows["vs untrained"] = [null_status.get(k, "—") for k in keys]
        rows["role"] = [role(results, a) or "—" for a in rows["attribution"]]
        paired = ", ".join(f"`{r}`" for r in regions)
        tables.append(
            Table(
                name=f"alignment-{branch}",
                title=f"Clinical alignment: {branch} branch",
                caption=(
                    f"Explanations of the {branch} branch against its paired masks ({paired}); "
                    f"ranked by the primary metric `{primary}` on `{region}`"
                    f"{' (higher is better)' if primary_up is not False else ' (lower is better)'}."
                    f" vs baseline: `{primary}` on `{region}` relative to "
                    f"`{baseline}` pretraining trained with nothing frozen "
                    f"(`{results.unfrozen_schedule}`), same attribution "
                    "(geometric mean over seeds of the per-seed ratio of means over the same "
                    "windows; t-interval and t-test over seeds, p Holm-adjusted over this "
                    "table)."
                    " · AF / · non-AF: the same score on each class's windows, each beside its"
                    " own chance level (the score of uniform relevance on those windows)."
                    " untrained model: the same method on each seed's re-initialised model;"
                    " above untrained: cell − untrained per window (seed-level t-test p, not"
                    " adjusted: exploratory). role: controls and mask-informed methods (which"
                    " build relevance from these masks) are no evidence of alignment."
                    + (f" `{af_region}`: the same mask on AF windows (no P wave there), kept"
                       f" apart from `{region}`, which is scored on non-AF windows only."
                       if af_region else "")
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


