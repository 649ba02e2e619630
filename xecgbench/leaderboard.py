"""Leaderboard tables aggregated from the results store: mean ± 95 % CI over seeds, ranked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.stats import mean_ci95, paired_wilcoxon

CELL = ["pretraining", "freezing", "attribution", "branch"]
BASELINE_PRETRAINING = "none"


@dataclass(frozen=True)
class Leaderboard:
    """A ranked table (one row per pretraining × freezing × attribution × branch)."""

    rows: pd.DataFrame
    columns: list[str]
    primary: str
    higher_is_better: Mapping[str, bool]
    footer: dict[str, Any]


def _column(metric: str, region: str) -> str:
    return f"{metric} [{region}]" if region else metric


def _seed_means(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean over samples per seed (NaN scores left out)."""
    return frame.groupby([*keys, "seed"], dropna=False)["value"].mean().reset_index()


def _aggregate(per_seed: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    rows = []
    for group, values in per_seed.groupby(list(keys), dropna=False):
        mean, half = mean_ci95(values["value"].to_numpy(dtype=float))
        rows.append(
            {
                **dict(zip(keys, group, strict=True)),
                "mean": mean,
                "ci95": half,
                "n_seeds": len(values),
            }
        )
    return pd.DataFrame(rows)


def _domain_specificity(
    explanation: pd.DataFrame, primary: str, alignment: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """Primary alignment score relative to the ``none``-pretraining cell, with a paired test.

    Index = mean(candidate) / mean(baseline) over the same (seed, sample) pairs; p-value from
    a Wilcoxon signed-rank test on those pairs.
    """
    out = []
    scores = explanation[explanation["metric"] == primary]
    for (pretraining, freezing, attribution, branch), cell in scores.groupby(CELL):
        regions = alignment.get(branch, ())
        if pretraining == BASELINE_PRETRAINING or not regions:
            continue
        base = scores[
            (scores["pretraining"] == BASELINE_PRETRAINING)
            & (scores["freezing"] == freezing)
            & (scores["attribution"] == attribution)
            & (scores["branch"] == branch)
        ]
        pick = ["seed", "sample", "value"]
        paired = cell[cell["region"] == regions[0]][pick].merge(
            base[base["region"] == regions[0]][pick], on=["seed", "sample"], suffixes=("", "_base")
        )
        if paired.empty:
            continue
        base_mean = paired["value_base"].mean()
        out.append(
            {
                "pretraining": pretraining,
                "freezing": freezing,
                "attribution": attribution,
                "branch": branch,
                "domain_specificity": paired["value"].mean() / base_mean if base_mean else np.nan,
                "dsi_p": paired_wilcoxon(
                    paired["value"].to_numpy(), paired["value_base"].to_numpy()
                ),
            }
        )
    return pd.DataFrame(out, columns=[*CELL, "domain_specificity", "dsi_p"])


def build_leaderboard(
    frame: pd.DataFrame,
    *,
    primary: str,
    higher_is_better: Mapping[str, bool],
    alignment: Mapping[str, Sequence[str]],
    footer: Mapping[str, Any],
) -> Leaderboard:
    """Aggregate per-sample ``frame`` (a store's scores) into a ranked :class:`Leaderboard`."""
    frame = frame.copy()
    frame["region"] = frame["region"].fillna("")
    explanation = frame[frame["attribution"].notna()]
    accuracy = frame[frame["attribution"].isna()]
    keys = [*CELL, "metric", "region"]
    explained = (
        _aggregate(_seed_means(explanation, keys), keys)
        if len(explanation)
        else pd.DataFrame(columns=[*keys, "mean", "ci95"])
    )
    acc_keys = ["pretraining", "freezing", "branch", "metric"]
    acc = (
        _aggregate(_seed_means(accuracy, acc_keys), acc_keys)
        if len(accuracy)
        else pd.DataFrame(columns=[*acc_keys, "mean", "ci95"])
    )
    cells = explained[CELL].drop_duplicates() if len(explained) else pd.DataFrame(columns=CELL)
    rows = cells.reset_index(drop=True)
    columns: list[str] = []

    def attach(source: pd.DataFrame, on: list[str], name: str) -> None:
        nonlocal rows
        renamed = source[[*on, "mean", "ci95"]].rename(columns={"mean": name, "ci95": f"{name} ±"})
        rows = rows.merge(renamed, on=on, how="left")
        columns.append(name)

    for metric in accuracy["metric"].drop_duplicates():
        attach(acc[acc["metric"] == metric], ["pretraining", "freezing", "branch"], metric)
    for (metric, region), _ in explained.groupby(["metric", "region"], sort=False):
        subset = explained[(explained["metric"] == metric) & (explained["region"] == region)]
        attach(subset, CELL, _column(metric, region))
    rows["primary"] = [
        _primary_value(rows.loc[i], primary, alignment.get(rows.loc[i, "branch"], ()))
        for i in rows.index
    ]
    rows = rows.merge(_domain_specificity(explanation, primary, alignment), on=CELL, how="left")
    ascending = not higher_is_better.get(primary, True)
    rows = rows.sort_values("primary", ascending=ascending, na_position="last").reset_index(
        drop=True
    )
    rows.insert(0, "rank", range(1, len(rows) + 1))
    return Leaderboard(rows, columns, primary, dict(higher_is_better), dict(footer))


def _primary_value(row: pd.Series, primary: str, regions: Sequence[str]) -> float:
    name = _column(primary, regions[0]) if regions else primary
    return float(row[name]) if name in row and pd.notna(row[name]) else float("nan")


def _format(mean: Any, half: Any) -> str:
    if mean is None or pd.isna(mean):
        return "—"
    return f"{mean:.3f}" if pd.isna(half) else f"{mean:.3f} ± {half:.3f}"


def to_markdown(board: Leaderboard, title: str) -> str:
    """The leaderboard as a Markdown table with a provenance footer."""
    arrow = "↑" if board.higher_is_better.get(board.primary, True) else "↓"
    header = ["rank", *CELL, f"primary: {board.primary} {arrow}", "domain specificity (p)"]
    header += [
        f"{c} {'↑' if board.higher_is_better.get(c.split(' [')[0], True) else '↓'}"
        for c in board.columns
    ]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in board.rows.iterrows():
        dsi = (
            "—"
            if pd.isna(row.get("domain_specificity"))
            else f"{row['domain_specificity']:.2f} (p={row['dsi_p']:.2g})"
        )
        cells = [
            str(row["rank"]),
            *(str(row[c]) for c in CELL),
            _format(row["primary"], float("nan")),
            dsi,
        ]
        cells += [_format(row[c], row[f"{c} ±"]) for c in board.columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Mean ± 95 % CI (t) over seeds of per-seed means over test samples; "
        "↑/↓: higher/lower is better.",
        "Primary: the primary metric on each branch's first paired mask; "
        f"domain specificity: primary relative to `{BASELINE_PRETRAINING}` pretraining "
        "(paired Wilcoxon p over seeds × samples).",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in board.footer.items()]
    return "\n".join(lines) + "\n"
