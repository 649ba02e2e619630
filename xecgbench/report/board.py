"""The leaderboard's vocabulary: a run's results, tables, columns, and the ordering helpers
every table builder shares (:mod:`xecgbench.report.tables` assembles the tables)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from xecgbench.plugins.components import EXPLAINED_BRANCHES
from xecgbench.run.config import Suite

if TYPE_CHECKING:  # the run record's schema lives beside its one reader and writer
    from xecgbench.report.results_files import RunInfo

CELL = ("pretraining", "freezing", "attribution", "branch")
BRANCH_ORDER = EXPLAINED_BRANCHES
INTERVALS = ("P", "PR", "QRS", "ST", "T", "TP")
#: Interval-profile sub-score that corresponds to a paired mask (for an interval primary).
MASK_INTERVAL = {"p_wave": "P", "qrs": "QRS", "r_peak": "QRS", "t_wave": "T"}
TIDY_COLUMNS = (
    "table", "rank", *CELL, "metric", "region", "mean", "ci_low", "ci_high", "n_seeds",
    "n_records", "coverage", "p_value",
)


@dataclass(frozen=True)
class RunResults:
    """Everything a leaderboard is built from, independent of where it was stored.

    Attributes
    ----------
    scores : per-sample scores (the store's ``scores_frame`` columns).
    run : the run as the store recorded it (its config as stored, provenance, dates).
    suite : that config validated once, when the results were loaded: what every table reads
        (so mypy checks each field it reads; a field the config predates reads as its
        default).
    metrics : display label -> ``{"name", "category", "higher_is_better", "sanity"}``, frozen
        when the run started, so a rebuild does not depend on which plugins are installed.
    pretraining : one row per pretraining stage: ``pretraining``, ``seed`` and its report.
    strategies : pretraining display label -> ``{"name", "branches", "report_directions",
        "report_description"}``, frozen likewise.
    flags : models that learnt nothing (``pretraining``, ``freezing``, ``seed``, ``branch``,
        ``attribution`` or None, ``flag``); their explanation scores are left out of every
        aggregate and listed instead.
    failures : failed stages (``stage``, ``labels``, ``component``, ``plugin``, ``error``),
        listed in the *failed cells* table.
    costs : seconds of each attribute stage (``pretraining``, ``freezing``, ``seed``,
        ``attribution``, ``seconds``), for the site's cost column; empty for older exports.
    schedules : freezing display label -> ``{"name", "depth"}`` (blocks frozen; None when not
        one fixed depth), frozen likewise; empty for runs recorded before depths were.
    probabilities : per-window AF probabilities (``xecgbench.run.store.PROBABILITY_COLUMNS``
        without ``stage_key``), test and validation windows; None for runs recorded before
        they were stored (the operating-point table then says "not stored").
    untrained : the null baseline's per-sample scores (every method on each seed's
        re-initialised model, ``model_state == "untrained"``; empty for older runs).
    attributions : method display label -> ``{"name", "family", "mask_informed"}``, frozen
        when the run started (empty for older runs).
    planned_seeds : the seeds the bundled suite of this name declares when the run covers only
        some of them (its tests are then an interim look); None otherwise.
    """

    scores: pd.DataFrame
    run: RunInfo
    suite: Suite
    metrics: Mapping[str, Mapping[str, Any]]
    pretraining: Sequence[Mapping[str, Any]] = ()
    strategies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    flags: Sequence[Mapping[str, Any]] = ()
    failures: Sequence[Mapping[str, Any]] = ()
    costs: Sequence[Mapping[str, Any]] = ()
    schedules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    probabilities: pd.DataFrame | None = None
    untrained: pd.DataFrame = field(default_factory=pd.DataFrame)
    attributions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    planned_seeds: tuple[int, ...] | None = None

    @property
    def baseline(self) -> str | None:
        """The pretraining label that pre-trains no branch (the reference for every ratio)."""
        return next((label for label, s in self.strategies.items() if not s["branches"]), None)

    @property
    def unfrozen_schedule(self) -> str | None:
        """The freezing label that freezes nothing (depth 0): with the baseline strategy, the
        from-scratch reference of every comparison (the original xECGArch). A from-scratch
        model with frozen blocks keeps random weights frozen, so it is never a reference.
        Runs recorded before depths were: the suite's first schedule (every bundled suite
        lists the unfrozen one first)."""
        if self.schedules:
            return next((label for label, s in self.schedules.items() if s.get("depth") == 0),
                        None)
        return next((s.display for s in self.suite.freezing), None)

    def report_direction(self, key: str) -> bool | None:
        """Direction of a pretraining report key, as its strategy declared it."""
        for strategy in self.strategies.values():
            if key in strategy.get("report_directions", {}):
                return strategy["report_directions"][key]
        return None

    def direction(self, metric: str) -> bool | None:
        """True if higher is better for the metric labelled ``metric`` (None if unknown)."""
        meta = self.metrics.get(metric)
        return None if meta is None else bool(meta["higher_is_better"])

    def metric_name(self, metric: str) -> str:
        """The registered name behind the display label ``metric``."""
        return str(self.metrics.get(metric, {}).get("name", metric))


@dataclass(frozen=True)
class Column:
    """One rendered column: a metric on a region, or a text column of the table's rows."""

    metric: str
    region: str
    header: str
    higher_is_better: bool | None = None
    #: "stat": mean ± CI; "ratio": value× (p); "difference": ±value (p); "text": row text
    kind: str = "stat"


@dataclass(frozen=True)
class Table:
    """A titled table: ordered rows (keys + text columns), columns and tidy values."""

    name: str
    title: str
    caption: str
    row_keys: tuple[str, ...]
    rows: pd.DataFrame
    columns: tuple[Column, ...]
    values: pd.DataFrame
    fixed: Mapping[str, str] = field(default_factory=dict)

    def lookup(self) -> dict[tuple[Any, ...], Mapping[str, Any]]:
        """Values indexed by (row keys..., metric, region)."""
        keys = [*self.row_keys, "metric", "region"]
        return {
            tuple(record[k] for k in keys): record
            for record in self.values.to_dict("records")
        }


@dataclass(frozen=True)
class Leaderboard:
    """The tables of one run and its provenance footer."""

    title: str
    tables: tuple[Table, ...]
    footer: Mapping[str, str]
    notes: tuple[str, ...] = ()
    #: The answer in plain words, from the pre-registered primary tests (first on the page).
    answer: str = ""

    def table(self, name: str) -> Table:
        """The table called ``name``."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"no table {name!r}; tables: {', '.join(t.name for t in self.tables)}")


def suite_order(results: RunResults) -> dict[str, dict[str, int]]:
    """Position of each pretraining, freezing and attribution label in the suite's lists."""
    suite = results.suite
    return {
        axis: {spec.display: i for i, spec in enumerate(specs)}
        for axis, specs in (
            ("pretraining", suite.pretraining),
            ("freezing", suite.freezing),
            ("attribution", suite.attributions),
        )
    } | {"branch": {b: i for i, b in enumerate(BRANCH_ORDER)}}


def sorted_rows(frame: pd.DataFrame, keys: Sequence[str], order: Mapping[str, Mapping[str, int]]):
    """``frame`` sorted by ``keys`` in suite order (unknown labels last, alphabetically)."""
    if frame.empty:
        return frame.reset_index(drop=True)

    def position(column: pd.Series) -> pd.Series:
        known = order.get(str(column.name), {})
        return column.map(lambda v: (known.get(v, len(known)), str(v)))

    return frame.sort_values(list(keys), key=position, kind="stable").reset_index(drop=True)


def arrow(higher_is_better: bool | None) -> str:
    return "" if higher_is_better is None else (" ↑" if higher_is_better else " ↓")


def with_region(metric: str, region: str) -> str:
    return f"{metric} [{region}]" if region else metric


def stat_columns(
    results: RunResults, pairs: Sequence[tuple[str, str]], direction: Callable[[str], Any] | None
) -> tuple[Column, ...]:
    look = direction or results.direction
    return tuple(Column(m, r, with_region(m, r) + arrow(look(m)), look(m)) for m, r in pairs)


