"""The answer's section (b): which attribution method localises the clinical target, above
what an untrained model and the controls reach?

Per branch, each method's primary metric on the branch's target region (averaged over every
pretraining × freezing configuration) beside its untrained-model score, chance, and the
trained score **above the untrained model** (per window trained − untrained on the same
windows; two-way bootstrap interval; seed-level t-test). Plain methods are ranked by that
quantity; controls (``random``, ``amplitude``) and mask-informed methods are shown apart,
each against its own null. A "best method" is claimed only where the top method beats every
other ranked method in a paired seed-level test (per seed, the difference of the two
methods' above-untrained means on the same windows; t-test over seeds; Holm over the
comparisons of the branch). On AF windows the morphology target is reported as its own
labelled measure (see :mod:`xecgbench.report.table_builders.nulls`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import BRANCH_ORDER, Column, RunResults, Table
from xecgbench.report.stats.corrections import holm
from xecgbench.report.stats.inference import Grid, TwoWayBootstrap, difference, estimate, grids
from xecgbench.report.table_builders.nulls import (
    MASK_INFORMED,
    af_regions,
    minus,
    primary_region,
    primary_rows,
    role,
    untrained_status,
)
from xecgbench.run.stage_types import TRAINED, UNTRAINED

ALPHA = 0.05
CLASS_NAMES = {1: "AF", 0: "non-AF"}
KEYS = ("model_state", "pretraining", "freezing", "attribution")


def _mean_grid(grid_list: Sequence[Grid]) -> Grid:
    """Elementwise mean over configurations (NaN where every configuration is undefined)."""
    stack = np.stack([g.values for g in grid_list])
    defined = np.isfinite(stack)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 -> NaN where none is defined
        return Grid(np.where(defined, stack, 0.0).sum(axis=0) / defined.sum(axis=0))


def method_grids(results: RunResults, branch: str, region: str, column: str = "value"
                 ) -> tuple[dict[str, Grid], dict[str, Grid], list, list]:
    """Per method, the trained grid (mean over configurations) and the untrained grid, on one
    seed × window axis shared by both, of ``column`` (``value`` or ``chance``)."""
    primary = results.config["primary_metric"]
    frames = [primary_rows(results.scores, primary, branch, region).assign(model_state=TRAINED),
              primary_rows(results.untrained, primary, branch, region)
              .assign(model_state=UNTRAINED)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return {}, {}, [], []
    frame = pd.concat(frames, ignore_index=True)
    if column not in frame or frame[column].isna().all():
        return {}, {}, [], []
    frame = frame.assign(value=frame[column])
    cells, seeds, records = grids(frame, KEYS)
    trained: dict[str, list[Grid]] = {}
    untrained: dict[str, Grid] = {}
    for key, grid in cells.items():
        if key[0] == UNTRAINED:
            untrained[key[3]] = grid
        else:
            trained.setdefault(key[3], []).append(grid)
    return ({m: _mean_grid(g) for m, g in trained.items()},
            {m: g for m, g in untrained.items() if m in trained}, seeds, records)


def _stat(record: Mapping[str, Any], metric: str, result: Any) -> dict[str, Any]:
    return {**record, "metric": metric, "mean": result.mean, "ci_low": result.low,
            "ci_high": result.high, "n_seeds": result.n_seeds, "n_records": result.n_records}


def _effect(record: Mapping[str, Any], metric: str, effect: Any, p: float) -> dict[str, Any]:
    return {**record, "metric": metric, "mean": effect.value, "ci_low": effect.low,
            "ci_high": effect.high, "p_value": p, "n_seeds": effect.n_seeds,
            "n_records": effect.n_records}


def _window_labels(results: RunResults, branch: str, region: str,
                   records: Sequence[Any]) -> np.ndarray | None:
    """Each explained window's class (1 = AF), in ``records`` order; None when not stored."""
    frame = primary_rows(results.scores, results.config["primary_metric"], branch, region)
    if "label" not in frame or frame["label"].isna().all():
        return None
    label_of = frame.drop_duplicates("sample").set_index("sample")["label"]
    return np.array([label_of.get(r, np.nan) for r in records], dtype=float)


def _by_class(results: RunResults, record: Mapping[str, Any], grid: Grid,
              labels: np.ndarray | None) -> list[dict[str, Any]]:
    """The method's score on each class's windows (the classes left in the region)."""
    if labels is None:
        return []
    primary = results.config["primary_metric"]
    out = []
    for label, name in CLASS_NAMES.items():
        keep = labels == label
        if keep.any() and not keep.all():
            mine = Grid(grid.values[:, keep])
            result = estimate(mine, TwoWayBootstrap.draw(mine.values.shape[0], int(keep.sum())))
            out.append(_stat(record, f"{primary} · {name}", result))
    return out


def _af_measure(results: RunResults, branch: str, region: str) -> list[dict[str, Any]]:
    """The separate AF-window measure of ``region`` (e.g. ``atrial_interval``), per method."""
    af_region = af_regions(results.config).get(region)
    if af_region is None:
        return []
    trained, untrained, seeds, records = method_grids(results, branch, af_region)
    if not trained:
        return []
    bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
    out = []
    for method, grid in trained.items():
        record = {"branch": branch, "attribution": method, "region": ""}
        out.append(_stat(record, f"{af_region} (AF)", estimate(grid, bootstrap)))
        if method in untrained:
            out.append(_stat(record, f"{af_region} (AF) untrained",
                             estimate(untrained[method], bootstrap)))
    return out


def _branch_rows(results: RunResults, branch: str, region: str, up: bool
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    primary = results.config["primary_metric"]
    trained, untrained, seeds, records = method_grids(results, branch, region)
    if not trained:
        return [], []
    chance, _, _, _ = method_grids(results, branch, region, "chance")
    bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
    labels = _window_labels(results, branch, region, records)
    rows, values = [], []
    above: dict[str, Grid] = {}
    for method, grid in trained.items():
        record = {"branch": branch, "attribution": method, "region": ""}
        result = estimate(grid, bootstrap)
        values.append({**_stat(record, primary, result), "coverage": result.coverage})
        row = {"branch": branch, "attribution": method, "role": role(results, method) or "—",
               "coverage": f"{result.coverage:.0%}"}
        reference = untrained.get(method)
        if reference is not None:
            values.append(_stat(record, "untrained", estimate(reference, bootstrap)))
            effect = difference(grid, reference, bootstrap)
            values.append(_effect(record, "above untrained", effect, effect.p_value))
            row["vs untrained"] = untrained_status(effect.value, effect.low, effect.p_value)
        else:
            row["vs untrained"] = "no untrained baseline"
        if method in chance and np.isfinite(chance[method].values).any():
            values.append({**record, "metric": "chance", "mean": chance[method].mean()})
        values += _by_class(results, record, grid, labels)
        above[method] = minus(grid, reference)
        rows.append(row)
    _rank(rows, values, above, bootstrap, up, bool(untrained))
    values += _af_measure(results, branch, region)
    return rows, values


def _rank(rows: list[dict[str, Any]], values: list[dict[str, Any]], above: dict[str, Grid],
          bootstrap: TwoWayBootstrap, up: bool, has_untrained: bool) -> None:
    """Rank plain methods by the score above untrained; test the top one against each other.

    Mask-informed methods get their own rank order (against their own null), controls none.
    """
    sign = 1.0 if up else -1.0
    for group in ("—", MASK_INFORMED):
        members = [r for r in rows if r["role"] == group]
        means = {r["attribution"]: above[r["attribution"]].mean() for r in members}
        members.sort(key=lambda r: (not np.isfinite(means[r["attribution"]]),
                                    -sign * np.nan_to_num(means[r["attribution"]])))
        for i, row in enumerate(members):
            row["_order"] = (0 if group == "—" else 1, i)
            row["rank"] = i + 1 if group == "—" else np.nan
            row["best"] = "—" if group == "—" else f"ranked apart: {group} #{i + 1}"
        if group != "—" or len(members) < 2:
            if members and group == "—":
                members[0]["best"] = "only ranked method"
            continue
        top = members[0]["attribution"]
        tests = [difference(above[top], above[r["attribution"]], bootstrap)
                 for r in members[1:]]
        adjusted = holm(np.array([t.p_value for t in tests]))
        quantity = "score above untrained" if has_untrained else "raw score"
        for row, test, p in zip(members[1:], tests, adjusted, strict=True):
            values.append(_effect({"branch": row["branch"], "attribution": row["attribution"],
                                   "region": ""}, "top − this", test, p))
            row["best"] = "below top" if np.isfinite(p) and p < ALPHA else "tied with top"
        clear = all(r["best"] == "below top" for r in members[1:])
        members[0]["best"] = (f"best (by {quantity}; beats every other, Holm p < {ALPHA})"
                              if clear else "top, not separable from every other")


def method_table(results: RunResults, order: Mapping[str, Mapping[str, int]]) -> Table | None:
    """(b): methods ranked by their score above the untrained model, per branch."""
    primary = results.config["primary_metric"]
    up = results.direction(primary) is not False
    rows: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    for branch in BRANCH_ORDER:
        region = primary_region(results, branch)
        if region is not None:
            mine, numbers = _branch_rows(results, branch, region, up)
            rows += sorted(mine, key=lambda r: r.get("_order", (2, 0)))  # controls last
            values += numbers
    if not rows:
        return None
    frame = pd.DataFrame(rows).drop(columns="_order", errors="ignore")
    frame["rank"] = frame.get("rank", pd.Series(np.nan, index=frame.index))
    frame["best"] = frame.get("best", pd.Series("—", index=frame.index)).fillna("—")
    value_frame = pd.DataFrame(values)
    present = set(value_frame["metric"])
    columns = [Column(primary, "", f"{primary} {'↑' if up else '↓'}", up)]
    for metric, header, kind in (("untrained", "untrained model", "stat"),
                                 ("above untrained", "above untrained [95 % CI] (p)",
                                  "difference"),
                                 ("chance", "chance", "stat")):
        if metric in present:
            columns.append(Column(metric, "", header, up if kind != "stat" else None, kind))
    columns += [Column("vs untrained", "", "vs untrained", None, "text"),
                Column("role", "", "role", None, "text"),
                Column("best", "", "best?", None, "text")]
    if "top − this" in present:
        columns.append(Column("top − this", "", "top − this (Holm p)", None, "difference"))
    for name in CLASS_NAMES.values():
        if f"{primary} · {name}" in present:
            columns.append(Column(f"{primary} · {name}", "", f"{name} windows", up))
    for metric in dict.fromkeys(m for m in value_frame["metric"] if str(m).endswith("(AF)")
                                or str(m).endswith("(AF) untrained")):
        columns.append(Column(metric, "", metric, None))
    columns.append(Column("coverage", "", "coverage", None, "text"))
    return Table(
        name="answer-methods",
        title="Which attribution method localises the clinical target best?",
        caption=(
            f"Each method's `{primary}` on the branch's target region, averaged over every "
            "pretraining × freezing configuration, with a two-way bootstrap 95 % interval "
            "over seeds and explained windows. Untrained model: the same method on each "
            "seed's re-initialised model (no training), same windows. Above untrained: "
            "trained − untrained per window, interval from the same bootstrap, p from a "
            "t-test over seeds of the per-seed differences; a method whose trained score does "
            "not exceed its untrained one is marked *not above untrained*. Plain methods are "
            "ranked by the score above untrained; `best?`: the top method against each other "
            "ranked method, per-seed paired differences of their above-untrained scores, "
            "t-test over seeds, Holm-adjusted over the branch's comparisons. Controls "
            "(random relevance; the signal above its median) are not ranked: a method no "
            "better than them shows the ECG's amplitude, not what the model learnt. "
            "Mask-informed methods build relevance from the masks they are scored on: their "
            "natural null is about 1 / (number of interval types they spread relevance "
            "over), not chance, so they are ranked apart against their own untrained score. "
            "Chance: the target's share of each window. A target that exists only in sinus "
            "rhythm (the P wave) is scored on non-AF windows only; on AF windows the same "
            "mask marks the template interval before each QRS, reported as its own (AF) "
            "column and never pooled."
        ),
        row_keys=("branch", "attribution"),
        rows=frame[["rank", "branch", "attribution", *[c for c in frame.columns
                                                       if c not in ("rank", "branch",
                                                                    "attribution")]]],
        columns=tuple(columns),
        values=value_frame,
    )
