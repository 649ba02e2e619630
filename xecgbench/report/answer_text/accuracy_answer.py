"""(c) of the answer section: does it cost accuracy?

Per configuration and branch, the suite's accuracy metrics (the first one against the trivial
majority-class predictor), and, when the run stored per-window probabilities, AUROC, AUPRC
beside the AF prevalence and F1 / balanced accuracy at the validation-chosen threshold, with
intervals over seeds and test windows (:mod:`~xecgbench.report.table_builders.operating_points`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.plugins.components import TRIVIAL_BRANCH
from xecgbench.report.board import Column, RunResults, Table
from xecgbench.report.stats.inference import TwoWayBootstrap, estimate, grids


def _position(order: Mapping[str, Mapping[str, int]], axis: Any, value: Any) -> tuple:
    known = order.get(str(axis), {})
    return (known.get(value, len(known)), str(value))


#: Operating-point statistics shown in (c)
#: (see :mod:`~xecgbench.report.table_builders.operating_points`).
OPERATING_COLUMNS = ("roc_area", "pr_area", "f1_val", "balanced_val")


def accuracy_answer(results: RunResults, order: Mapping[str, Mapping[str, int]],
                    metrics: Sequence[str], operating: pd.DataFrame | None = None
                    ) -> Table | None:
    """(c): accuracy per configuration against the trivial majority-class predictor.

    ``operating``: the run's operating points (None when it stored no probabilities) add
    AUROC, AUPRC beside the prevalence, and F1 / balanced accuracy at the validation threshold,
    with intervals over seeds and test windows.
    """
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
    caption = (
        "AF detection on the evaluation windows per configuration and branch (the "
        "ensemble averages the branch probabilities). The trivial predictor calls every window "
        "the training set's majority class; a branch that does not beat it in every seed "
        "learnt nothing useful. "
    )
    if operating is None or operating.empty:
        caption += ("Intervals resample seeds only: per-window probabilities were not stored "
                    "in this run, so test windows cannot be resampled.")
    else:
        shown = frame[list(keys)].drop_duplicates()
        mine = operating[operating["metric"].isin(["prevalence", *OPERATING_COLUMNS])
                         ].merge(shown, on=list(keys))
        values += mine.drop(columns=[c for c in ("count",) if c in mine]).to_dict("records")
        prevalence = mine[mine["metric"] == "prevalence"].set_index(list(keys))["mean"]
        frame["AF prevalence"] = [f"{prevalence.get(tuple(r), np.nan):.3f}"
                                  for r in frame[list(keys)].itertuples(index=False)]
        columns += [Column("AF prevalence", "", "AF prevalence", None, "text"),
                    Column("roc_area", "", "AUROC ↑", True),
                    Column("pr_area", "", "AUPRC ↑", True),
                    Column("f1_val", "", "F1 of AF @ val ↑", True),
                    Column("balanced_val", "", "balanced accuracy @ val ↑", True)]
        caption += (
            "Stored metrics: 95 % bootstrap intervals over seeds (one number per model). "
            "AUROC, AUPRC (its chance level is the AF prevalence beside it) and the @ val "
            "columns (threshold chosen on the fine-tuning validation records, never on the "
            "test windows) come from the stored per-window probabilities, with intervals over "
            "seeds and test windows (two-way bootstrap); see the operating-point table.")
    return Table(
        name="answer-accuracy",
        title="What does it cost in accuracy?",
        caption=caption,
        row_keys=keys,
        rows=frame,
        columns=tuple(columns),
        values=pd.DataFrame(values),
    )
