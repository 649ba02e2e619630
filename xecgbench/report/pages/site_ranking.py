"""One ranking per board and branch: built-in methods and accepted submissions side by side.

A board is a committed results directory; a submission is a results directory under its
``submissions/`` folder that scored further attribution methods on the board's published models
(the same pretraining × freezing × seed cells and the same explained windows). Their rows are
merged into one table per branch, so every method is estimated with the same bootstrap draws
and tested against the top method on the same seeds and windows (paired).

Columns: alignment (the suite's primary metric on the branch's target region, averaged over
configurations), above chance, above the untrained model when the board holds untrained-model
rows, above each control (``random``, ``amplitude``), the paired difference to the top method
with its seed-level p (Holm-adjusted per branch), faithfulness metrics, and the attribution
cost per explained window. As in the board's own method table, a method is ranked only if it
passes every gate (:mod:`~xecgbench.report.table_builders.ranking_gates`: above its untrained
model, every control and chance), ranked methods ordered by alignment; the others are listed
below them, unranked, with the gates they fail, then the controls (``random``, ``amplitude``)
and mask-informed methods (built from the masks they are scored on).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.answer_text.headline import CONFIG, primary_region
from xecgbench.report.board import RunResults
from xecgbench.report.results_files import ResultsFileError, read_record, validate_directory
from xecgbench.report.stats.corrections import holm
from xecgbench.report.stats.inference import (
    Effect,
    Estimate,
    Grid,
    TwoWayBootstrap,
    difference,
    estimate,
    grids,
)
from xecgbench.report.table_builders import ranking_gates
from xecgbench.report.table_builders.method_grids import mean_grid
from xecgbench.report.table_builders.nulls import primary_rows, role
from xecgbench.report.tables import without_flagged

SUBMISSIONS_DIR = "submissions"
#: A board or submission folder name: it is printed into Markdown, HTML and file names.
SAFE_FOLDER = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
BUILT_IN = "built-in"
#: Source of a submission that used only the bundled plugins (e.g. a built-in method's
#: parameter variant).
BUNDLED = "bundled plugins"
#: Column marking a row of the untrained-model null inside one ranking frame.
NULL = "null"


@dataclass(frozen=True)
class Entry:
    """One results directory on a board: the board's own run or a submission."""

    name: str
    source: str  # BUILT_IN, or the submitted plugins' distributions and versions
    results: RunResults
    directory: Path
    #: why a submission's code exists only where it was made (editable install, local path)
    local: tuple[str, ...] = ()

    @property
    def submitted(self) -> bool:
        """A submission (not the board's own run)."""
        return self.directory.parent.name == SUBMISSIONS_DIR


def _third_party(results: RunResults) -> tuple[set[str], dict[str, Any], set[str]]:
    """From a submission's run record: the non-bundled plugins behind the components it used
    (``component_plugins``), each plugin's distribution (``plugin_distributions``), and the
    bundled plugins' names."""
    from xecgbench.plugins.manager import DEFAULT_PLUGINS

    bundled = {name for name, _module in DEFAULT_PLUGINS}
    provenance = results.run.provenance
    used = {plugin for names in (provenance.get("component_plugins") or {}).values()
            for plugin in names.values()} - bundled
    return used, provenance.get("plugin_distributions") or {}, bundled


def _plugins(results: RunResults) -> str:
    """The third-party distributions a submission used, from its run record (older records
    give plugin versions only)."""
    used, named, bundled = _third_party(results)
    shown = [f"{d.get('distribution', p)} {d.get('version', '?')}"
             for p, d in sorted(named.items()) if d and p in used]
    if shown:
        return ", ".join(shown)
    plugins = results.run.provenance.get("plugins", {})
    third = {p: v for p, v in plugins.items() if p not in bundled}
    return ", ".join(f"{p} {v}" for p, v in sorted(third.items())) or BUNDLED


def local_reasons(results: RunResults) -> tuple[str, ...]:
    """Why the third-party plugins a submission used cannot be installed elsewhere, from the
    distributions its record names (:func:`~xecgbench.run.distributions.local_source`)."""
    from xecgbench.run.distributions import local_source

    used, named, _ = _third_party(results)
    return tuple(f"{plugin}: {reason}" for plugin in sorted(used)
                 if (reason := local_source(named.get(plugin))) is not None)


def shown_metrics(directory: Path) -> set[str]:
    """The metrics a ranking shows: the primary one and the faithfulness ones (read from the
    run record, so that the other metrics' millions of rows are never decoded)."""
    record = read_record(directory)
    return {record.run.config["primary_metric"],
            *(m for m, meta in record.metrics.items() if meta.category == "faithfulness")}


def board_entries(directory: Path) -> list[Entry]:
    """The board's run, then every submission under ``directory/submissions`` (by name), each
    with the score rows of the metrics a ranking shows."""
    directory = Path(directory)
    for name in (directory.name, *(p.parent.name for p in
                                   (directory / SUBMISSIONS_DIR).glob("*/run.json"))):
        if not re.fullmatch(SAFE_FOLDER, name):
            raise ResultsFileError(f"{directory}: folder name {name[:60]!r} is not a board or "
                                   "submission name (letters, digits, '.', '_', '-')")
    entries = [Entry(directory.name, BUILT_IN,
                     validate_directory(directory, shown_metrics(directory)), directory)]
    for sub in sorted((directory / SUBMISSIONS_DIR).glob("*/run.json")):
        try:
            results = validate_directory(sub.parent, shown_metrics(sub.parent))
        except ResultsFileError as exc:
            raise ResultsFileError(f"submission {sub.parent}: {exc}") from None
        entries.append(Entry(sub.parent.name, _plugins(results), results, sub.parent,
                             local_reasons(results)))
    return entries


def merge(entries: Sequence[Entry]) -> tuple[RunResults, dict[str, Entry]]:
    """The board's results with every submission's new methods added, and each method's entry.

    A submission contributes only explanation rows (trained and untrained-model) of methods the
    board (or an earlier submission) does not have, on the board's own cells and seeds: it can
    add a method, never replace one.
    """
    board = without_flagged(entries[0].results)
    scores, untrained = board.scores, board.untrained
    cells = set(map(tuple, scores[["pretraining", "freezing", "seed"]].drop_duplicates()
                    .to_numpy()))
    seeds = set(scores["seed"])
    owner = {m: entries[0] for m in scores["attribution"].dropna().unique()}
    parts, null_parts, costs = [scores], [untrained], list(board.costs)
    attributions = dict(board.attributions)
    for entry in entries[1:]:
        mine = without_flagged(entry.results)
        new = sorted(set(mine.scores["attribution"].dropna()) - set(owner))
        keep = mine.scores[mine.scores["attribution"].isin(new)]
        on_board = [tuple(c) in cells for c in keep[["pretraining", "freezing", "seed"]]
                    .to_numpy()]
        parts.append(keep[on_board])
        if not mine.untrained.empty:
            nulls = mine.untrained
            null_parts.append(nulls[nulls["attribution"].isin(new) & nulls["seed"].isin(seeds)])
        owner.update({m: entry for m in new})
        attributions.update({m: r for m, r in mine.attributions.items() if m in new})
        costs += [c for c in entry.results.costs if c["attribution"] in new]
    merged = dataclasses.replace(
        board, scores=pd.concat(parts, ignore_index=True), costs=costs, flags=(),
        untrained=pd.concat([p for p in null_parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in null_parts) else untrained,
        attributions=attributions)
    return merged, owner


def _stat(result: Estimate | Effect) -> dict[str, float]:
    mean = result.mean if isinstance(result, Estimate) else result.value
    return {"mean": mean, "ci_low": result.low, "ci_high": result.high}


def _method_grids(frame: pd.DataFrame) -> tuple[dict[tuple[bool, str], Grid], list, list]:
    """Per (untrained?, method), the seed × window grid averaged over its configurations,
    all on one seed axis and one window axis."""
    cells, seeds, records = grids(frame, (NULL, *CONFIG))
    by_method: dict[tuple[bool, str], list[Grid]] = {}
    for key, grid in cells.items():
        by_method.setdefault((bool(key[0]), key[3]), []).append(grid)
    return {k: mean_grid(g) for k, g in by_method.items()}, seeds, records


def _cost(results: RunResults, method: str, windows: int) -> float:
    """Attribute-stage seconds per explained window and branch (NaN when not recorded)."""
    mine = [c["seconds"] for c in results.costs if c["attribution"] == method]
    branches = len(results.suite.explain.branches)
    if not mine or windows == 0:
        return float("nan")
    return float(np.sum(mine)) / (len(mine) * windows * branches)


def _faithfulness(results: RunResults, branch: str) -> dict[str, dict[str, dict[str, float]]]:
    """Per faithfulness metric: method -> mean and interval, averaged over configurations."""
    scores = results.scores
    out: dict[str, dict[str, dict[str, float]]] = {}
    for metric, meta in results.metrics.items():
        if meta.get("category") != "faithfulness":
            continue
        frame = scores[(scores["metric"] == metric) & (scores["branch"] == branch)
                       & scores["attribution"].notna()]
        if frame.empty:
            continue
        method_grids, seeds, records = _method_grids(frame.assign(**{NULL: False}))
        bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
        out[metric] = {m: _stat(estimate(g, bootstrap)) for (_, m), g in method_grids.items()}
    return out


def branch_ranking(results: RunResults, branch: str) -> pd.DataFrame | None:
    """One row per method on ``branch``: the methods that pass every ranking gate
    (:mod:`~xecgbench.report.table_builders.ranking_gates`) by alignment, with the paired test
    against the top one; then the plain methods that fail a gate (``rank`` 0, ``gates`` naming
    them), then the controls and mask-informed methods (``rank`` 0, their ``role`` set)."""
    region = primary_region(results, branch)
    if region is None:
        return None
    primary = results.suite.primary_metric
    up = results.direction(primary) is not False
    trained = primary_rows(results.scores, primary, branch, region)
    if trained.empty:
        return None
    null = primary_rows(results.untrained, primary, branch, region)
    frame = pd.concat([trained.assign(**{NULL: False}), null.assign(**{NULL: True})],
                      ignore_index=True)
    both, seeds, records = _method_grids(frame)
    method_grids = {m: g for (is_null, m), g in both.items() if not is_null}
    nulls = {m: g for (is_null, m), g in both.items() if is_null and m in method_grids}
    bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
    chance: dict[str, Grid] = {}
    if "chance" in frame and frame["chance"].notna().any():
        chance = {m: g for (is_null, m), g in
                  _method_grids(frame.assign(value=frame["chance"]))[0].items() if not is_null}
    controls = {m: method_grids[m]
                for m in ranking_gates.control_methods(results, list(method_grids))}
    rows = []
    for method, grid in method_grids.items():
        row: dict[str, Any] = {"attribution": method, "region": region,
                               "role": role(results, method), "gates": "",
                               "alignment": _stat(estimate(grid, bootstrap)),
                               "n_seeds": grid.n_seeds, "n_windows": grid.n_records}
        against = ranking_gates.references(method, nulls, controls, chance)
        if row["role"]:  # controls and mask-informed methods: no gates, their nulls shown
            against = {g: v for g, v in against.items() if g not in controls}
        effects, failed = ranking_gates.gates(grid, against, bootstrap, up)
        for gate, effect in effects.items():
            row[ranking_gates.column(gate)] = _stat(effect)
        if not row["role"]:
            row["gates"] = ranking_gates.gate_text(failed, list(against))
            row["_failed"] = bool(failed)
        row["cost"] = _cost(results, method, grid.n_records)
        rows.append(row)
    ordered = sorted(rows, key=lambda r: _order(r["alignment"]["mean"], up))
    ranked = [r for r in ordered if not r["role"] and not r["_failed"]]
    unranked = [r for r in ordered if not r["role"] and r["_failed"]]
    apart = [r for r in ordered if r["role"]]
    if ranked:
        _versus_top(ranked, method_grids, bootstrap)
    faithfulness = _faithfulness(results, branch)
    listed = ranked + unranked + apart
    for rank, row in enumerate(listed, start=1):
        row["rank"] = rank if rank <= len(ranked) else 0
        row.pop("_failed", None)
        for metric, by_method in faithfulness.items():
            row[metric] = by_method.get(row["attribution"])
    return pd.DataFrame(listed).assign(branch=branch)


def _order(value: float, up: bool) -> tuple[bool, float]:
    return (bool(np.isnan(value)), -value if up else value)


def _versus_top(ranking: list[dict[str, Any]], method_grids: Mapping[str, Grid],
                bootstrap: TwoWayBootstrap) -> None:
    """Each ranked method minus the top one over the same seeds and windows; Holm over the
    branch."""
    top = method_grids[ranking[0]["attribution"]]
    effects = [difference(method_grids[r["attribution"]], top, bootstrap) for r in ranking[1:]]
    adjusted = holm(np.array([e.p_value for e in effects], dtype=float))
    for row, effect, p in zip(ranking[1:], effects, adjusted, strict=True):
        row["vs top"] = {**_stat(effect), "p_value": float(p)}
