"""The answer at the top of every leaderboard, in three short tables.

(a) Does pretraining move relevance onto the clinical target? Exploratory (the pre-registered
    answer is :mod:`xecgbench.report.stats.primary_tests`): per branch × method × freezing, the
    primary metric of each pretraining strategy relative to the baseline (the strategy that
    pre-trains no branch): per-seed ratios, their t-interval and t-test over seeds (one unit for
    both), Benjamini–Hochberg over the distinct cells, and a verdict that calls an effect robust
    only when every seed agrees in sign.
(b) Which attribution method localises the clinical target best? Per branch, each method's
    primary metric beside its untrained-model null, chance and the controls; ranked only above
    all three gates (untrained, ``amplitude``, chance), by score, with paired seed-level tests
    (:mod:`xecgbench.report.answer_text.method_answer`).
(c) Does it cost accuracy? Per configuration, the ensemble's and each branch's balanced
    accuracy against the trivial majority-class predictor (built in
    :mod:`~xecgbench.report.answer_text.accuracy_answer`).

Cells whose scores are identical (e.g. a strategy that does not pre-train this branch gives
the baseline's model back) collapse into one row naming every configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.answer_text.accuracy_answer import accuracy_answer
from xecgbench.report.answer_text.method_answer import method_table
from xecgbench.report.board import (
    BRANCH_ORDER,
    Column,
    RunResults,
    Table,
)
from xecgbench.report.stats.corrections import benjamini_hochberg
from xecgbench.report.stats.inference import (
    MIN_SEEDS,
    Grid,
    grids,
    ratio,
)
from xecgbench.report.table_builders.nulls import primary_region

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
    primary = results.suite.primary_metric
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
    primary = results.suite.primary_metric
    up = results.direction(primary) is not False
    if baseline is None:
        return None
    rows, values = [], []
    for branch in BRANCH_ORDER:
        region = primary_region(results, branch)
        if region is None:
            continue
        cells = grids(_primary_frame(results, branch, region), CONFIG)[0]
        if not cells:
            continue
        for representative, members in collapse_identical(cells).items():
            pretraining, freezing, attribution = representative
            if pretraining == baseline or any(m[0] == baseline for m in members):
                continue  # the baseline itself, or cells that are the baseline's model
            reference = cells.get((baseline, results.unfrozen_schedule, attribution))
            if reference is None:
                continue
            effect = ratio(cells[representative], reference)
            rows.append({"branch": branch, "attribution": attribution, "freezing": freezing,
                         "pretraining": _label(members, 0, order["pretraining"]),
                         "effect": effect, "region": region})
    if not rows:
        return None
    # One row per distinct cell (identical cells share a row), so each enters the family once.
    adjusted = benjamini_hochberg(np.array([r["effect"].p_value for r in rows]))
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
        title="Does pretraining move relevance onto the clinical target? (exploratory)",
        caption=(
            f"Exploratory, cell by cell (the pre-registered tests above are the answer): "
            f"`{primary}` on each branch's target region with each pretraining strategy, "
            f"relative to `{baseline}` (pre-trains nothing) trained with nothing frozen "
            f"(`{results.unfrozen_schedule}`; a from-scratch model with frozen blocks keeps "
            "random weights frozen, so it is never the reference), same method: "
            "geometric mean over seeds of the per-seed ratio of means over the same explained "
            "windows, with a 95 % t-interval and a t-test over seeds (seeds are the "
            "replicates; windows are held fixed in both). p is Benjamini–Hochberg-adjusted "
            "(false discovery rate) over the distinct cells of this table: configurations "
            "with identical scores share one row (≡) and count once. Robust = significant "
            "and every seed on the same side."
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


def headline_tables(results: RunResults, order: Mapping[str, Mapping[str, int]],
                    operating: pd.DataFrame | None = None,
                    detail: RunResults | None = None) -> list[Table]:
    """The answer section: (a) pretraining effects, (b) method ranking, (c) accuracy.

    Accuracy columns follow the suite's metric order; list the imbalance-robust one first.
    ``operating``: the run's operating points, if it stored per-window probabilities.
    ``detail``: the results with identical configurations shown once, for the accuracy table
    (the only accuracy table: one row per distinct model).
    """
    listed = [spec.display for spec in results.suite.metrics]
    accuracy = [m for m in listed if results.metrics.get(m, {}).get("category") == "accuracy"]
    tables = [effect_table(results, order), method_table(results, order),
              accuracy_answer(detail or results, order, accuracy, operating)
              if accuracy else None]
    return [t for t in tables if t is not None]
