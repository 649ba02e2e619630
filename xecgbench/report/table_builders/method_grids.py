"""Each method's seed × window grid of the primary metric on one branch and region, averaged
over the run's configurations, with its untrained-model grid on the same axes: what the
method tables test every method and gate on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xecgbench.report.board import RunResults
from xecgbench.report.stats.inference import Grid, grids
from xecgbench.report.table_builders.nulls import primary_rows
from xecgbench.run.stage_types import TRAINED, UNTRAINED

KEYS = ("model_state", "pretraining", "freezing", "attribution")


def mean_grid(grid_list: Sequence[Grid]) -> Grid:
    """Elementwise mean over configurations (NaN where every configuration is undefined)."""
    stack = np.stack([g.values for g in grid_list])
    defined = np.isfinite(stack)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 -> NaN where none is defined
        return Grid(np.where(defined, stack, 0.0).sum(axis=0) / defined.sum(axis=0))


def defined_share(grid_list: Sequence[Grid]) -> float:
    """Share of defined scores over every configuration's seed × window cells.

    Not the mean grid's coverage: that mean is defined wherever *any* configuration is, so it
    read 100 % for a method with 2.1 % undefined scores (rhythm ``grad_cam`` on
    ``cinc2017-paper``).
    """
    size = sum(g.values.size for g in grid_list)
    return float(sum(g.defined.sum() for g in grid_list) / size) if size else float("nan")


@dataclass(frozen=True)
class MethodGrids:
    """Per method, the trained grid (mean over configurations), the untrained grid and the
    share of defined trained scores, on one seed × window axis shared by all."""

    trained: dict[str, Grid]
    untrained: dict[str, Grid]
    coverage: dict[str, float]
    seeds: list
    records: list


def method_grids(results: RunResults, branch: str, region: str, column: str = "value"
                 ) -> MethodGrids:
    """:class:`MethodGrids` of ``column`` (``value`` or ``chance``) on ``branch`` and
    ``region``."""
    primary = results.suite.primary_metric
    frames = [primary_rows(results.scores, primary, branch, region).assign(model_state=TRAINED),
              primary_rows(results.untrained, primary, branch, region)
              .assign(model_state=UNTRAINED)]
    frames = [f for f in frames if not f.empty]
    empty = MethodGrids({}, {}, {}, [], [])
    if not frames:
        return empty
    frame = pd.concat(frames, ignore_index=True)
    if column not in frame or frame[column].isna().all():
        return empty
    frame = frame.assign(value=frame[column])
    cells, seeds, records = grids(frame, KEYS)
    trained: dict[str, list[Grid]] = {}
    untrained: dict[str, Grid] = {}
    for key, grid in cells.items():
        if key[0] == UNTRAINED:
            untrained[key[3]] = grid
        else:
            trained.setdefault(key[3], []).append(grid)
    return MethodGrids({m: mean_grid(g) for m, g in trained.items()},
                       {m: g for m, g in untrained.items() if m in trained},
                       {m: defined_share(g) for m, g in trained.items()}, seeds, records)
