"""The answer's section (b): which attribution method localises the clinical target, above
what an untrained model, the controls and chance reach?

Per branch, each method's primary metric on the branch's target region (averaged over every
pretraining × freezing configuration) beside its untrained-model score, chance, and the
trained score above the untrained model, above each control and above chance
(each per window trained − reference on the same windows; two-way bootstrap interval;
seed-level t-test). A plain method is ranked only when it passes every gate
(:mod:`xecgbench.report.table_builders.ranking_gates`); ranked methods are ordered by their
score, the others listed unranked with the gates they fail. Controls (``random``,
``amplitude``) and mask-informed methods are shown apart, each against its own null. A "best
method" is claimed only where the top method beats every other ranked method in a paired
seed-level test (per seed, the difference of the two methods' means on the same windows;
t-test over seeds; Holm over the comparisons of the branch). Coverage is the share of the
method's seed × window × configuration scores that are defined. On AF windows the morphology
target is reported as its own labelled measure (see
:mod:`xecgbench.report.table_builders.nulls`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import BRANCH_ORDER, Column, RunResults, Table
from xecgbench.report.stats.corrections import holm
from xecgbench.report.stats.inference import Grid, TwoWayBootstrap, difference, estimate
from xecgbench.report.table_builders import ranking_gates
from xecgbench.report.table_builders.correct_windows import CORRECT, WRONG, decisions, split_grids
from xecgbench.report.table_builders.method_grids import method_grids
from xecgbench.report.table_builders.nulls import (
    MASK_INFORMED,
    minus,
    primary_region,
    primary_rows,
    role,
    untrained_status,
)

ALPHA = 0.05
CLASS_NAMES = {1: "AF", 0: "non-AF"}
#: Row order within a branch: ranked, unranked (a gate failed), mask-informed, controls.
RANKED, UNRANKED, APART, CONTROLS = range(4)


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
    frame = primary_rows(results.scores, results.suite.primary_metric, branch, region)
    if "label" not in frame or frame["label"].isna().all():
        return None
    label_of = frame.drop_duplicates("sample").set_index("sample")["label"]
    return np.array([label_of.get(r, np.nan) for r in records], dtype=float)


def _by_class(results: RunResults, record: Mapping[str, Any], grid: Grid,
              labels: np.ndarray | None) -> list[dict[str, Any]]:
    """The method's score on each class's windows (the classes left in the region)."""
    if labels is None:
        return []
    primary = results.suite.primary_metric
    out = []
    for label, name in CLASS_NAMES.items():
        keep = labels == label
        if keep.any() and not keep.all():
            mine = Grid(grid.values[:, keep])
            result = estimate(mine, TwoWayBootstrap.draw(mine.values.shape[0], int(keep.sum())))
            out.append(_stat(record, f"{primary} · {name}", result))
    return out


def _by_decision(results: RunResults, record: Mapping[str, Any], branch: str, region: str,
                 found: Any, decided: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The method's score on the windows its models classified right and on the others."""
    if decided is None:
        return []
    primary = results.suite.primary_metric
    out = []
    split = split_grids(results, branch, region, record["attribution"], found.seeds,
                        found.records, decided)
    for name, grid in split.items():
        if len(split) == 2:  # both subsets exist: one alone is the method's own score
            bootstrap = TwoWayBootstrap.draw(*grid.values.shape)
            out.append(_stat(record, f"{primary} · {name}", estimate(grid, bootstrap)))
    return out


def _af_measure(results: RunResults, branch: str, region: str) -> list[dict[str, Any]]:
    """The separate AF-window measure of ``region`` (e.g. ``atrial_interval``), per method."""
    af_region = results.suite.explain.af_regions.get(region)
    if af_region is None:
        return []
    found = method_grids(results, branch, af_region)
    if not found.trained:
        return []
    bootstrap = TwoWayBootstrap.draw(len(found.seeds), len(found.records))
    out = []
    for method, grid in found.trained.items():
        record = {"branch": branch, "attribution": method, "region": ""}
        out.append(_stat(record, f"{af_region} (AF)", estimate(grid, bootstrap)))
        if method in found.untrained:
            out.append(_stat(record, f"{af_region} (AF) untrained",
                             estimate(found.untrained[method], bootstrap)))
    return out


def _branch_rows(results: RunResults, branch: str, region: str, up: bool
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    primary = results.suite.primary_metric
    found = method_grids(results, branch, region)
    trained, untrained = found.trained, found.untrained
    if not trained:
        return [], []
    chance = method_grids(results, branch, region, "chance").trained
    chance = {m: g for m, g in chance.items() if np.isfinite(g.values).any()}
    controls = {m: trained[m] for m in ranking_gates.control_methods(results, list(trained))}
    bootstrap = TwoWayBootstrap.draw(len(found.seeds), len(found.records))
    labels = _window_labels(results, branch, region, found.records)
    decided = decisions(results, branch)
    rows, values = [], []
    above: dict[str, Grid] = {}
    for method, grid in trained.items():
        record = {"branch": branch, "attribution": method, "region": ""}
        result = estimate(grid, bootstrap)
        coverage = found.coverage[method]
        values.append({**_stat(record, primary, result), "coverage": coverage})
        row: dict[str, Any] = {"branch": branch, "attribution": method,
                               "role": role(results, method) or "—",
                               "coverage": _percent_down(coverage), "gates": "—"}
        reference = untrained.get(method)
        if reference is not None:
            values.append(_stat(record, "untrained", estimate(reference, bootstrap)))
        if method in chance:
            values.append({**record, "metric": "chance", "mean": chance[method].mean()})
        # plain methods face every gate; controls and mask-informed methods only their null
        against = ranking_gates.references(method, untrained, controls, chance)
        if row["role"] != "—":
            against = {k: v for k, v in against.items() if k == ranking_gates.UNTRAINED}
        effects, failed = ranking_gates.gates(grid, against, bootstrap, up)
        for gate, effect in effects.items():
            values.append(_effect(record, ranking_gates.column(gate), effect, effect.p_value))
        untrained_effect = effects.get(ranking_gates.UNTRAINED)
        row["vs untrained"] = ("no untrained baseline" if untrained_effect is None
                               else untrained_status(untrained_effect, up))
        if row["role"] == "—":
            row["gates"] = ranking_gates.gate_text(failed, list(against))
            row["_failed"] = bool(failed)
        values += _by_class(results, record, grid, labels)
        values += _by_decision(results, record, branch, region, found, decided)
        above[method] = minus(grid, reference)
        rows.append(row)
    _rank(rows, values, trained, above, bootstrap, up)
    values += _af_measure(results, branch, region)
    return rows, values


def _percent_down(share: float) -> str:
    """``97.9%``, rounded down: a method with any undefined score never reads 100 %."""
    return f"{np.floor(share * 1000) / 10:.1f}%"


def _by_score(grids_by_method: Mapping[str, Grid], up: bool
              ) -> Callable[[Mapping[str, Any]], tuple[bool, float]]:
    """Sort key: best mean first in the metric's direction, undefined means last."""
    sign = 1.0 if up else -1.0

    def key(row: Mapping[str, Any]) -> tuple[bool, float]:
        mean = grids_by_method[row["attribution"]].mean()
        return (not np.isfinite(mean), -sign * np.nan_to_num(mean))
    return key


def _rank(rows: list[dict[str, Any]], values: list[dict[str, Any]],
          scores: dict[str, Grid], above: dict[str, Grid], bootstrap: TwoWayBootstrap,
          up: bool) -> None:
    """Rank the plain methods that pass every gate by their score and test the top one
    against each other ranked method; list the rest unranked.

    Mask-informed methods get their own order (by the score above their own null), controls
    none.
    """
    plain = [r for r in rows if r["role"] == "—"]
    failed = {r["attribution"] for r in plain if r.pop("_failed")}
    ranked = sorted([r for r in plain if r["attribution"] not in failed],
                    key=_by_score(scores, up))
    unranked = sorted([r for r in plain if r["attribution"] in failed],
                      key=_by_score(scores, up))
    informed = sorted([r for r in rows if r["role"] == MASK_INFORMED],
                      key=_by_score(above, up))
    for group, members in ((RANKED, ranked), (UNRANKED, unranked), (APART, informed)):
        for i, row in enumerate(members):
            row["_order"] = (group, i)
            row["rank"] = i + 1 if group == RANKED else np.nan
            row["best"] = f"ranked apart: {MASK_INFORMED} #{i + 1}" if group == APART else "—"
    if len(ranked) == 1:
        ranked[0]["best"] = "only ranked method"
    if len(ranked) < 2:
        return
    top = ranked[0]["attribution"]
    tests = [difference(scores[top], scores[r["attribution"]], bootstrap) for r in ranked[1:]]
    adjusted = holm(np.array([t.p_value for t in tests]))
    for row, test, p in zip(ranked[1:], tests, adjusted, strict=True):
        values.append(_effect({"branch": row["branch"], "attribution": row["attribution"],
                               "region": ""}, "top − this", test, p))
        row["best"] = "below top" if np.isfinite(p) and p < ALPHA else "tied with top"
    clear = all(r["best"] == "below top" for r in ranked[1:])
    ranked[0]["best"] = (f"best (by score; beats every other ranked method, Holm p < {ALPHA})"
                         if clear else "top, not separable from every other")


def method_table(results: RunResults, order: Mapping[str, Mapping[str, int]]) -> Table | None:
    """(b): per branch, the methods that pass every gate ranked by their score, then the rest."""
    primary = results.suite.primary_metric
    up = results.direction(primary) is not False
    word = ranking_gates.side(up)
    rows: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    for branch in BRANCH_ORDER:
        region = primary_region(results, branch)
        if region is not None:
            mine, numbers = _branch_rows(results, branch, region, up)
            rows += sorted(mine, key=lambda r: r.get("_order", (CONTROLS, 0)))
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
                                 ("chance", "chance", "stat"),
                                 ("above chance", "above chance [95 % CI] (p)", "difference"),
                                 *((ranking_gates.column(c), f"{ranking_gates.column(c)} "
                                    "[95 % CI] (p)", "difference")
                                   for c in ranking_gates.control_methods(
                                       results, list(results.attributions)))):
        if metric in present:
            columns.append(Column(metric, "", header, up if kind != "stat" else None, kind))
    columns += [Column("vs untrained", "", "vs untrained", None, "text"),
                Column("gates", "", "ranking gates", None, "text"),
                Column("role", "", "role", None, "text"),
                Column("best", "", "best?", None, "text")]
    if "top − this" in present:
        columns.append(Column("top − this", "", "top − this (Holm p)", None, "difference"))
    for name in CLASS_NAMES.values():
        if f"{primary} · {name}" in present:
            columns.append(Column(f"{primary} · {name}", "", f"{name} windows", up))
    for name in (CORRECT, WRONG):
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
            "seed's re-initialised model (no training), same windows. Above untrained, above "
            "chance, above a control: trained − reference per window (the untrained model; "
            "chance, the target's share of each window; each control, attribution family "
            "`control`), interval from the same bootstrap, p from a t-test over seeds "
            "of the per-seed differences. Ranking gates: a plain method is ranked only if its "
            f"score is {word} its untrained model, {word} every control and {word} "
            "chance, each with the difference's interval excluding 0 and p < 0.05; ranked "
            "methods are ordered by their score, and the others are listed unranked (rank —) "
            "with the gates they fail (*not clearly*: on the right side, not significantly). "
            "A gate whose reference the run lacks is not applied, and the column says so. "
            "`best?`: the top ranked method against each other ranked method, per-seed paired "
            "differences of their scores, t-test over seeds, Holm-adjusted over the branch's "
            "comparisons. Controls (random relevance; the signal above its median) are not "
            "ranked: a method no better than them shows the ECG's amplitude, not what the "
            "model learnt. Mask-informed methods build relevance from the masks they are "
            "scored on: their natural null is about 1 / (number of interval types they spread "
            "relevance over), not chance, so they are ranked apart against their own "
            "untrained score. A target that exists only in sinus rhythm (the P wave) is "
            "scored on non-AF windows only; on AF windows the same mask marks the template "
            "interval before each QRS, reported as its own (AF) column and never pooled. "
            "Correct / misclassified windows: the same score on the windows each model's "
            "explained branch classified right (its AF probability on the label's side of "
            "0.5) and on the others, split per configuration before the mean; an explanation "
            "of a wrong decision shows what misled the model. "
            "Coverage: the share of the method's seed × window × configuration scores that "
            "are defined (rounded down)."
        ),
        row_keys=("branch", "attribution"),
        rows=frame[["rank", "branch", "attribution", *[c for c in frame.columns
                                                       if c not in ("rank", "branch",
                                                                    "attribution")]]],
        columns=tuple(columns),
        values=value_frame,
    )
