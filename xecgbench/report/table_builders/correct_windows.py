"""A method's score on the windows its model classified right, and on those it got wrong.

An explanation of a wrong decision shows what misled the model, not where the clinical
target is: a method that localises P waves on correct windows only, or a pooled score carried
by the misclassified ones, reads differently. The explained class is the branch's own
decision (``explain.target: predicted``), so a window counts as correct for a model when that
branch's AF probability is on the same side of 0.5 as the label. Correctness differs between
seeds and configurations, so each configuration's seed × window grid is split before the mean
over configurations is taken (:func:`~.method_grids.mean_grid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import RunResults
from xecgbench.report.stats.inference import Grid
from xecgbench.report.table_builders.method_grids import mean_grid
from xecgbench.report.table_builders.nulls import primary_rows

#: The two subsets, as the value rows name them.
CORRECT, WRONG = "correct", "misclassified"
CELL = ["seed", "pretraining", "freezing", "sample"]


def decisions(results: RunResults, branch: str) -> pd.DataFrame | None:
    """Per model and explained window of the test split: was ``branch``'s decision right?
    None for runs that stored no probabilities."""
    probabilities = results.probabilities
    if probabilities is None or probabilities.empty:
        return None
    mine = probabilities[(probabilities["branch"] == branch)
                         & (probabilities["split"] == "test")]
    if mine.empty:
        return None
    correct = (mine["probability"] >= 0.5) == (mine["label"] == 1)
    return mine[CELL].assign(correct=correct.to_numpy())


def split_grids(results: RunResults, branch: str, region: str, method: str,
                seeds: Sequence[Any], records: Sequence[Any],
                decided: pd.DataFrame) -> dict[str, Grid]:
    """The method's grid on correct and on misclassified windows (NaN elsewhere), on the
    given seed and window axes, averaged over configurations."""
    rows = primary_rows(results.scores, results.suite.primary_metric, branch, region)
    rows = rows[rows["attribution"] == method].merge(decided, on=CELL, how="inner")
    seed_index = {s: i for i, s in enumerate(seeds)}
    record_index = {r: i for i, r in enumerate(records)}
    out: dict[str, Grid] = {}
    for name, keep in ((CORRECT, True), (WRONG, False)):
        per_config = []
        for _, group in rows.groupby(["pretraining", "freezing"], sort=False, dropna=False):
            values = np.full((len(seeds), len(records)), np.nan)
            chosen = group[group["correct"] == keep]
            values[chosen["seed"].map(seed_index).to_numpy(),
                   chosen["sample"].map(record_index).to_numpy()] = chosen["value"].to_numpy(
                       dtype=np.float64)
            per_config.append(Grid(values))
        if per_config and any(np.isfinite(g.values).any() for g in per_config):
            out[name] = mean_grid(per_config)
    return out
