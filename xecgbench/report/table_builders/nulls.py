"""Null baselines and targets that exist: what a score must beat before it says anything.

- **Untrained model**: every method is also run on each seed's re-initialised model (the
  weights every pretraining of that seed starts from) and scored on the same windows. An
  alignment that an untrained model reaches too describes the architecture and the signal,
  not what training taught; the tables report the trained score *above* it, per seed.
- **Targets by class**: a mask whose target exists only in sinus rhythm (``p_wave``: no P wave
  in AF) is scored on non-AF windows only; on AF windows the same mask marks the template
  interval before each QRS and its score is renamed (``explain.af_regions``, e.g.
  ``atrial_interval``), so the two are never pooled.
- **Mask-informed methods** build relevance from the masks they are scored against; their
  natural null is about one over the number of interval types they spread relevance over,
  not the mask's share, so they are ranked against their own untrained null, apart.
- **Ranking gates**: a plain method is ranked only above its untrained model, the
  ``amplitude`` control and chance (:mod:`~xecgbench.report.table_builders.ranking_gates`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from xecgbench.report.board import MASK_INTERVAL, RunResults
from xecgbench.report.stats.inference import (
    Effect,
    Grid,
    TwoWayBootstrap,
    difference,
    estimate,
    grids,
)
from xecgbench.report.table_builders import ranking_gates
from xecgbench.run.stage_types import TRAINED, UNTRAINED

#: Label of AF windows in score rows (the evaluate stage's convention: AF is class 1).
AF_LABEL = 1
#: Row roles in the method ranking: plain methods are ranked; these are shown apart.
CONTROL, MASK_INFORMED = "control", "mask-informed"
NOT_ABOVE = f"not above {ranking_gates.UNTRAINED}"


class AttributionRecord(BaseModel):
    """How to read one attribution method's rows (``run.json``'s ``attributions``)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    family: str = ""
    mask_informed: bool = False


def with_model_state(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with a ``model_state`` on every row (rows written before it: ``trained``)."""
    state = (scores["model_state"] if "model_state" in scores
             else pd.Series(np.nan, index=scores.index, dtype=object))
    return _with_column(scores, "model_state", state.astype(object).where(state.notna(), TRAINED))


def _with_column(frame: pd.DataFrame, name: str, values: pd.Series) -> pd.DataFrame:
    """``frame.assign(name=values)`` without its deep copy: a board's millions of text cells
    are shared, not copied (pandas 2 replaces, never overwrites, a column set on a copy)."""
    out = frame.copy(deep=False)
    out[name] = values
    return out


def split_af_regions(scores: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Rename the AF windows' rows of every mask in ``mapping`` (the suite's
    ``explain.af_regions``) and of its sub-scores.

    Rows without a stored class (results exported before labels were) cannot be split and
    are left as they are.
    """
    if not mapping or "label" not in scores or scores.empty:
        return scores
    region = scores["region"].fillna("").astype(str)
    # a few dozen distinct regions among millions of rows: rename each distinct one once
    heads = {r: r.partition("/")[0] for r in region.unique()}  # "p_wave/x" -> "p_wave"
    renamed = {r: mapping[h] + r[len(h):] for r, h in heads.items() if h in mapping}
    on_af = (pd.to_numeric(scores["label"], errors="coerce") == AF_LABEL) & region.isin(renamed)
    if not on_af.any():
        return scores
    return _with_column(scores, "region", scores["region"].where(~on_af, region.map(renamed)))


def primary_region(results: RunResults, branch: str) -> str | None:
    """The region the primary metric is read on for ``branch`` (its first paired mask)."""
    scores = results.scores
    primary = results.suite.primary_metric
    regions = tuple(results.suite.explain.alignment.get(branch, ()))
    mine = scores[(scores["metric"] == primary) & (scores["branch"] == branch)]
    present = set(mine["region"].fillna(""))
    candidates = [*regions, *(MASK_INTERVAL.get(r, "") for r in regions)]
    return next((c for c in candidates if c and c in present), None)


def primary_rows(scores: pd.DataFrame, primary: str, branch: str, region: str) -> pd.DataFrame:
    """Explanation rows of the primary metric on ``branch`` and ``region``."""
    if scores.empty:
        return scores
    mine = scores[scores["metric"] == primary]  # the narrowest test first: the rest on few rows
    return mine[(mine["branch"] == branch) & (mine["region"].fillna("") == region)
                & mine["attribution"].notna()]


def role(results: RunResults, attribution: str) -> str:
    """``control``, ``mask-informed`` or ``""`` (a method ranked with the others)."""
    record = results.attributions.get(attribution, {})
    if record.get("mask_informed"):
        return MASK_INFORMED
    return CONTROL if record.get("family") == CONTROL else ""


def untrained_status(effect: Effect, up: bool) -> str:
    """How a trained score compares with its untrained null (:func:`ranking_gates.versus`):
    ``not above untrained`` whenever training did not raise the score on average (``below``
    for a lower-is-better metric); ``not clearly above untrained`` when the difference's
    interval reaches 0 or its seed-level test is not significant."""
    if not np.isfinite(effect.value):
        return "no untrained baseline"
    return ranking_gates.versus(effect, up, ranking_gates.UNTRAINED)


def minus(grid: Grid, reference: Grid | None) -> Grid:
    """Window-wise ``grid − reference`` on the same seeds × windows (``grid`` if no reference)."""
    return grid if reference is None else Grid(grid.values - reference.values)


def cells_vs_untrained(results: RunResults, primary: str, branch: str, region: str
                       ) -> tuple[pd.DataFrame, dict[tuple, str]]:
    """Per configuration: the method's untrained score and the cell's score above it.

    Returns the values (metrics ``untrained`` and ``above untrained``: per window cell −
    untrained on the same seeds × windows, two-way bootstrap interval, seed-level t-test p)
    and each cell's :func:`untrained_status`.
    """
    trained = primary_rows(results.scores, primary, branch, region)
    null = primary_rows(results.untrained, primary, branch, region)
    if trained.empty or null.empty:
        return pd.DataFrame(), {}
    up = results.direction(primary) is not False
    frame = pd.concat([trained.assign(model_state=TRAINED), null.assign(model_state=UNTRAINED)],
                      ignore_index=True)
    cells, seeds, records = grids(frame, ("model_state", "pretraining", "freezing",
                                          "attribution"))
    nulls = {key[3]: grid for key, grid in cells.items() if key[0] == UNTRAINED}
    bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
    values, status = [], {}
    for (state, pretraining, freezing, attribution), grid in cells.items():
        if state == UNTRAINED or attribution not in nulls:
            continue
        cell = {"pretraining": pretraining, "freezing": freezing, "attribution": attribution,
                "branch": branch, "region": region}
        null_estimate = estimate(nulls[attribution], bootstrap)
        effect = difference(grid, nulls[attribution], bootstrap)
        values += [{**cell, "metric": "untrained", "mean": null_estimate.mean,
                    "ci_low": null_estimate.low, "ci_high": null_estimate.high,
                    "n_seeds": null_estimate.n_seeds, "n_records": null_estimate.n_records},
                   {**cell, "metric": "above untrained", "mean": effect.value,
                    "ci_low": effect.low, "ci_high": effect.high, "p_value": effect.p_value,
                    "n_seeds": effect.n_seeds, "n_records": effect.n_records}]
        status[(pretraining, freezing, attribution)] = untrained_status(effect, up)
    return pd.DataFrame(values), status
