"""The evidence behind one primary test: the comparison it makes and the regions and nulls
that decide whether a gain is *onto the target* (see :mod:`.primary_tests`).

:class:`Design` fixes what is compared (strategy schedules against the unfrozen baseline, per
method, on one branch); per seed it gives the pooled log gain on any (metric, region), the
control regions' gains (:func:`control_results`), the additive gain and the margins over the
untrained model and chance (:func:`above_nulls`), and the strategy's own score per schedule
for the depth trend (:func:`own_scores`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xecgbench.report.board import MASK_INTERVAL, RunResults
from xecgbench.report.stats.inference import (
    Grid,
    SeedTest,
    grids,
    paired_cells,
    seed_log_ratios,
    seed_t_test,
)
from xecgbench.run.config import DEFAULT_CONTROLS, PrimaryTest

CONFIG = ("pretraining", "freezing", "attribution")


@dataclass(frozen=True)
class ControlResult:
    """One control region: the strategy's gain there, and the target's gain above it."""

    label: str
    #: The target as the control's metric names it (``P`` in the interval profile).
    target: str
    gain: SeedTest | None
    specific: SeedTest | None
    note: str = ""


def column_means(stack: np.ndarray) -> np.ndarray:
    """Per seed (column), the mean over the finite rows; NaN where none is finite."""
    finite = np.isfinite(stack)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, stack, 0.0).sum(axis=0) / finite.sum(axis=0)


def schedule_log_ratios(pairs: Mapping[str, Sequence[tuple[Grid, Grid]]]
                        ) -> dict[str, np.ndarray]:
    """Per freezing schedule, the per-seed log ratio averaged over its methods'
    (candidate, reference) grid pairs; schedules with no pair are left out."""
    return {schedule: column_means(np.stack([seed_log_ratios(c, r) for c, r in grids_]))
            for schedule, grids_ in pairs.items() if grids_}


def pooled(by_schedule: Mapping[str, np.ndarray]) -> np.ndarray:
    """The test's one number per seed: the mean over schedules of their per-seed log ratios."""
    return column_means(np.stack(list(by_schedule.values())))


def seed_difference(candidate: Grid, reference: Grid) -> np.ndarray:
    """Per seed, mean(candidate) − mean(reference) over the windows both define."""
    candidate, reference = paired_cells(candidate, reference)
    return candidate.seed_means() - reference.seed_means()


@dataclass(frozen=True)
class Design:
    """What one test compares: strategy schedules against one baseline cell, per method."""

    branch: str
    strategy: str
    baseline: str
    reference: str
    freezing: tuple[str, ...]
    methods: tuple[str, ...]
    alpha: float
    #: The run's score rows of this branch, methods and the two strategies (read once).
    scores: pd.DataFrame

    @classmethod
    def of(cls, results: RunResults, branch: str, strategy: str, baseline: str,
           reference: str, freezing: tuple[str, ...], methods: tuple[str, ...],
           alpha: float) -> Design:
        scores = results.scores
        mine = scores[(scores["branch"] == branch) & scores["attribution"].isin(methods)
                      & scores["pretraining"].isin((strategy, baseline))]
        return cls(branch, strategy, baseline, reference, freezing, methods, alpha, mine)

    def rows(self, metric: str, region: str) -> pd.DataFrame:
        mine = self.scores[(self.scores["metric"] == metric)
                           & (self.scores["region"].fillna("") == region)]
        strategy = (mine["pretraining"] == self.strategy) & mine["freezing"].isin(self.freezing)
        baseline = (mine["pretraining"] == self.baseline) & (mine["freezing"] == self.reference)
        return mine[strategy | baseline]

    def pairs(self, cells: Mapping[tuple, Grid], methods: Sequence[str]
              ) -> dict[str, list[tuple[Grid, Grid]]]:
        return {f: [(cells[(self.strategy, f, m)], cells[(self.baseline, self.reference, m)])
                    for m in methods if {(self.strategy, f, m),
                                         (self.baseline, self.reference, m)} <= cells.keys()]
                for f in self.freezing}

    def log_gain(self, metric: str, region: str) -> np.ndarray | None:
        """Per seed, the pooled log ratio strategy vs baseline on ``region`` (None: no rows)."""
        frame = self.rows(metric, region)
        if frame.empty:
            return None
        cells, _, _ = grids(frame, CONFIG)
        by_schedule = schedule_log_ratios(self.pairs(cells, self.methods))
        return pooled(by_schedule) if by_schedule else None


def control_results(results: RunResults, test: PrimaryTest, design: Design, metric: str,
              region: str, target_gain: np.ndarray) -> tuple[ControlResult, ...]:
    """Each declared (or default) control: its gain, and the target's gain above it, per seed
    (the target measured by the control's own metric, so both are the same statistic)."""
    declared = test.controls or DEFAULT_CONTROLS.get(test.region or region, ())
    out = []
    for control in declared:
        control_metric, _, control_region = control.rpartition(":")
        control_metric = control_metric or metric
        target = region if control_metric == metric else MASK_INTERVAL.get(region, region)
        gain = design.log_gain(control_metric, control_region)
        own = target_gain if control_metric == metric else design.log_gain(control_metric,
                                                                            target)
        if gain is None or own is None:
            out.append(ControlResult(control, target, None, None,
                                     f"not scored on this run ({control_metric} on "
                                     f"{control_region if gain is None else target})"))
            continue
        out.append(ControlResult(control, target, seed_t_test(gain, design.alpha),
                                 seed_t_test(own - gain, design.alpha)))
    return tuple(out)


def above_nulls(results: RunResults, design: Design, metric: str, region: str
                 ) -> tuple[SeedTest | None, SeedTest | None, SeedTest | None]:
    """Per seed, the strategy's target share minus the baseline's (additive), minus its
    untrained model's (same seed, method and windows) and minus chance (the mask's share)."""
    frame = design.rows(metric, region)
    cells, _, _ = grids(frame, CONFIG)
    additive = [seed_difference(c, r) for pairs in design.pairs(cells, design.methods).values()
                for c, r in pairs]
    own = frame[frame["pretraining"] == design.strategy]
    chance: list[np.ndarray] = []
    if "chance" in own:
        chances, _, _ = grids(own.assign(value=own["chance"].astype(float)), CONFIG)
        chance = [seed_difference(grid, chances[key]) for key, grid in cells.items()
                  if key[0] == design.strategy and key in chances]
    untrained: list[np.ndarray] = []
    null = results.untrained
    if not null.empty:
        null = null[(null["metric"] == metric) & (null["branch"] == design.branch)
                    & (null["region"].fillna("") == region)
                    & null["attribution"].isin(design.methods)]
        frame_all = pd.concat([own.assign(state="trained"), null.assign(state="untrained")])
        both, _, _ = grids(frame_all, ("state", *CONFIG))
        nulls = {k[3]: g for k, g in both.items() if k[0] == "untrained"}
        untrained = [seed_difference(g, nulls[k[3]]) for k, g in both.items()
                     if k[0] == "trained" and k[3] in nulls]

    def test(parts: list[np.ndarray]) -> SeedTest | None:
        return seed_t_test(column_means(np.stack(parts)), design.alpha) if parts else None

    return test(additive), test(untrained), test(chance)


def own_scores(results: RunResults, design: Design, metric: str, region: str
                ) -> dict[str, np.ndarray]:
    """Per schedule, each seed's log mean target score of the strategy, over its methods."""
    frame = design.rows(metric, region)
    cells, _, _ = grids(frame, CONFIG)
    out = {}
    for schedule in design.freezing:
        logs = [np.log(np.where(g.seed_means() > 0, g.seed_means(), np.nan))
                for m in design.methods if (g := cells.get((design.strategy, schedule, m)))]
        if logs:
            out[schedule] = column_means(np.stack(logs))
    return out
