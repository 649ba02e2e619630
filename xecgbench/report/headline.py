"""The answer at the top of every leaderboard, in three short tables.

(a) Does pretraining move relevance onto the clinical target? Per branch × method × freezing,
    the primary metric of each pretraining strategy relative to the baseline (the strategy that
    pre-trains no branch): ratio with a two-way bootstrap interval, a seed-level p-value
    (Holm-adjusted over the table), and a verdict that calls an effect robust only when every
    seed agrees in sign.
(b) Which attribution method localises the clinical target best? Per branch, each method's
    primary metric above its untrained-model null, beside chance and the controls, ranked
    with paired seed-level tests (:mod:`xecgbench.report.method_answer`).
(c) Does it cost accuracy? Per configuration, the ensemble's and each branch's balanced
    accuracy against the trivial majority-class predictor.

Cells whose scores are identical (e.g. a strategy that does not pre-train this branch gives
the baseline's model back) collapse into one row naming every configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import (
    BRANCH_ORDER,
    Column,
    RunResults,
    Table,
    display_label,
)
from xecgbench.report.inference import (
    MIN_SEEDS,
    Grid,
    TwoWayBootstrap,
    estimate,
    grids,
    ratio,
)
from xecgbench.report.method_answer import method_table
from xecgbench.report.nulls import primary_region
from xecgbench.report.stats import holm

ALPHA = 0.05
#: Verdict wording, shared with the results page that summarises the verdicts.
ONTO = "moves onto the target"
AWAY = "moves away from the target"
ROBUST = " (robust: every seed agrees)"
#: Branch label of the majority-class predictor the evaluate stage scores beside the model.
TRIVIAL_BRANCH = "majority"
CONFIG = ("pretraining", "freezing", "attribution")


def _primary_frame(results: RunResults, branch: str, region: str) -> pd.DataFrame:
    scores = results.scores
    primary = results.config["primary_metric"]
    return scores[(scores["metric"] == primary) & (scores["branch"] == branch)
                  & (scores["region"].fillna("") == region) & scores["attribution"].notna()]


def collapse_identical(cells: Mapping[tuple, Grid]) -> dict[tuple, list[tuple]]:
    """Representative cell -> every cell whose grid is bit-identical to it (in input order)."""
    groups: dict[bytes, list[tuple]] = {}
    for key, grid in cells.items():
        fingerprint = np.nan_to_num(grid.values, nan=-1e300).tobytes()
        groups.setdefault(fingerprint, []).append(key)
    return {members[0]: members for members in groups.values()}


def _verdict(effect: Any, p_adjusted: float, up_is_better: bool) -> str:
    if effect.n_seeds < MIN_SEEDS:
        return f"too few seeds ({effect.n_seeds}) to tell"
    if not np.isfinite(p_adjusted) or p_adjusted >= ALPHA:
        return "no clear effect"
    towards = (effect.value > 1) == up_is_better
    verdict = ONTO if towards else AWAY
    return verdict + (ROBUST if effect.seeds_agree else " (seeds disagree)")


def _label(members: Sequence[tuple], axis: int, order: Mapping[str, int]) -> str:
    names = sorted({m[axis] for m in members}, key=lambda n: order.get(n, len(order)))
    return " ≡ ".join(names)


def effect_table(results: RunResults, order: Mapping[str, Mapping[str, int]]) -> Table | None:
    """(a): pretraining vs the baseline, per branch × method × freezing."""
    baseline = results.baseline
    primary = results.config["primary_metric"]
    up = results.direction(primary) is not False
    if baseline is None:
        return None
    rows, values = [], []
    for branch in BRANCH_ORDER:
        region = primary_region(results, branch)
        if region is None:
            continue
        cells, seeds, records = grids(_primary_frame(results, branch, region), CONFIG)
        if not cells:
            continue
        bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
        for representative, members in collapse_identical(cells).items():
            pretraining, freezing, attribution = representative
            if pretraining == baseline or any(m[0] == baseline for m in members):
                continue  # the baseline itself, or cells that are the baseline's model
            reference = cells.get((baseline, freezing, attribution))
            if reference is None:
                continue
            effect = ratio(cells[representative], reference, bootstrap)
            rows.append({"branch": branch, "attribution": attribution, "freezing": freezing,
                         "pretraining": _label(members, 0, order["pretraining"]),
                         "effect": effect, "region": region})
    if not rows:
        return None
    adjusted = holm(np.array([r["effect"].p_value for r in rows]))
    for row, p in zip(rows, adjusted, strict=True):
        effect = row.pop("effect")
        agree = sum(1 for v in effect.per_seed if np.isfinite(v) and (v > 1) == (effect.value > 1))
        row["seeds agreeing"] = f"{agree}/{effect.n_seeds}"
        row["verdict"] = _verdict(effect, p, up)
        values.append({**{k: row[k] for k in ("branch", "attribution", "freezing",
                                               "pretraining")},
                       "metric": "effect", "region": "", "mean": effect.value,
                       "ci_low": effect.low, "ci_high": effect.high, "p_value": p,
                       "n_seeds": effect.n_seeds, "n_records": effect.n_records})
    frame = pd.DataFrame(rows).drop(columns="region")
    keys = ("branch", "attribution", "freezing", "pretraining")
    frame = frame.sort_values(
        list(keys[:3]), key=lambda c: c.map(lambda v: _position(order, c.name, v)),
        kind="stable").reset_index(drop=True)
    return Table(
        name="answer-pretraining",
        title="Does pretraining move relevance onto the clinical target?",
        caption=(
            f"`{primary}` on each branch's target region with each pretraining strategy, "
            f"relative to `{baseline}` (pre-trains nothing) with the same freezing and method: "
            "ratio of means over the same seeds × explained windows, 95 % interval from a "
            "two-way bootstrap (seeds and windows resampled), p from a t-test over seeds of "
            "the per-seed log ratios (seeds are the replicates), Holm-adjusted over this "
            "table. Robust = significant and every seed on the same side. Configurations "
            "with identical scores share one row (≡)."
        ),
        row_keys=keys,
        rows=frame,
        columns=(Column("effect", "", "ratio [95 % CI] (p)", None, "effect"),
                 Column("seeds agreeing", "", "seeds agreeing", None, "text"),
                 Column("verdict", "", "verdict", None, "text")),
        values=pd.DataFrame(values),
    )


def _position(order: Mapping[str, Mapping[str, int]], axis: Any, value: Any) -> tuple:
    known = order.get(str(axis), {})
    return (known.get(value, len(known)), str(value))


def accuracy_answer(results: RunResults, order: Mapping[str, Mapping[str, int]],
                    metrics: Sequence[str]) -> Table | None:
    """(c): accuracy per configuration against the trivial majority-class predictor."""
    scores = results.scores
    picked = scores[scores["attribution"].isna() & scores["metric"].isin(metrics)]
    if picked.empty:
        return None
    keys = ("pretraining", "freezing", "branch")
    cells, seeds, records = grids(picked, (*keys, "metric"))
    bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
    rows: dict[tuple, dict[str, Any]] = {}
    values = []
    for key, grid in cells.items():
        if key[2] == TRIVIAL_BRANCH:
            continue
        cell, metric = key[:3], key[3]
        result = estimate(grid, bootstrap)
        row = rows.setdefault(cell, dict(zip(keys, cell, strict=True)))
        values.append({**dict(zip(keys, cell, strict=True)), "metric": metric, "region": "",
                       "mean": result.mean, "ci_low": result.low, "ci_high": result.high,
                       "n_seeds": result.n_seeds, "n_records": result.n_records})
        base = cells.get((cell[0], cell[1], TRIVIAL_BRANCH, metric))
        if base is not None and metric == metrics[0]:
            values.append({**dict(zip(keys, cell, strict=True)), "metric": "trivial",
                           "region": "", "mean": base.mean(), "ci_low": np.nan,
                           "ci_high": np.nan})
            above = grid.seed_means() > base.seed_means()
            row["above trivial"] = f"{int(above.sum())}/{len(above)} seeds"
    frame = pd.DataFrame(list(rows.values())).sort_values(
        list(keys), key=lambda c: c.map(lambda v: _position(order, c.name, v)),
        kind="stable").reset_index(drop=True)
    has_trivial = "above trivial" in frame
    columns = [Column(metrics[0], "", f"{metrics[0]} ↑", True)]
    if has_trivial:
        columns += [Column("trivial", "", f"trivial {metrics[0]}", None),
                    Column("above trivial", "", "above trivial", None, "text")]
    columns += [Column(m, "", f"{m} ↑", True) for m in metrics[1:]]
    return Table(
        name="answer-accuracy",
        title="What does it cost in accuracy?",
        caption=(
            "AF detection on the evaluation windows per configuration and branch (the "
            "ensemble averages the branch probabilities), with 95 % bootstrap intervals over "
            "seeds. The trivial predictor calls every window the training set's majority "
            "class; a branch that does not beat it in every seed learnt nothing useful."
        ),
        row_keys=keys,
        rows=frame,
        columns=tuple(columns),
        values=pd.DataFrame(values),
    )


def headline_tables(results: RunResults, order: Mapping[str, Mapping[str, int]]) -> list[Table]:
    """The answer section: (a) pretraining effects, (b) method ranking, (c) accuracy.

    Accuracy columns follow the suite's metric order; list the imbalance-robust one first.
    """
    listed = [display_label(spec) for spec in results.config.get("metrics", ())]
    accuracy = [m for m in listed if results.metrics.get(m, {}).get("category") == "accuracy"]
    tables = [effect_table(results, order), method_table(results, order),
              accuracy_answer(results, order, accuracy) if accuracy else None]
    return [t for t in tables if t is not None]
