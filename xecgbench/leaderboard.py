"""Leaderboard tables aggregated from one run's per-sample scores: mean ± 95 % CI over seeds.

A run becomes several small tables, each answering one question, instead of one wide table:

- ``alignment-<branch>``: do explanations land on the branch's clinical region? Ranked by the
  suite's primary metric, with the domain-specificity index against ``none`` pretraining;
- ``interval-profile``: where on the beat relevance lies (P, PR, QRS, ST, T, TP shares);
- ``explanation-quality``: faithfulness, robustness, randomisation sanity, complexity;
- ``accuracy``: AF detection per pretraining × freezing and branch;
- ``pretraining``: how well the pretraining tasks themselves were learnt.

Everything here is pure pandas on a :class:`RunResults`; reading stores and committed raw
files lives in :mod:`xecgbench.reporting`, so a table can be rebuilt without a store.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.stats import holm, paired_wilcoxon, seed_summary

CELL = ("pretraining", "freezing", "attribution", "branch")
BASELINE_PRETRAINING = "none"
BRANCH_ORDER = ("morphology", "rhythm", "ensemble")
INTERVALS = ("P", "PR", "QRS", "ST", "T", "TP")
QUALITY_CATEGORIES = ("faithfulness", "robustness", "randomisation", "complexity")
#: An attribution whose MPRT similarity to the fully randomised model's explanation exceeds
#: this does not depend on the model's weights enough (Adebayo et al. 2018): it fails.
MPRT_FAIL_SIMILARITY = 0.5
#: Directions of the numbers pretraining strategies report (None: descriptive).
PRETRAINING_DIRECTIONS: dict[str, bool] = {
    "p_wave_f1": True,
    "p_wave_ppv": True,
    "p_wave_sensitivity": True,
    "rr_r2": True,
    "rr_mae_ms": False,
}
#: Interval-profile sub-score that corresponds to a paired mask (for an interval primary).
MASK_INTERVAL = {"p_wave": "P", "qrs": "QRS", "r_peak": "QRS", "t_wave": "T"}
TIDY_COLUMNS = (
    "table", "rank", *CELL, "metric", "region", "mean", "ci95", "n_seeds", "p_value",
)


@dataclass(frozen=True)
class RunResults:
    """Everything a leaderboard is built from, independent of where it was stored.

    Attributes
    ----------
    scores : per-sample scores (the store's ``scores_frame`` columns).
    run : ``run_id``, ``suite``, ``config_hash``, ``config``, ``provenance``, ``started``,
        ``status`` of the run.
    metrics : display label -> ``{"name", "category", "higher_is_better"}``, frozen at export
        so a rebuild does not depend on which plugins are installed.
    pretraining : one row per pretraining stage: ``pretraining``, ``seed`` and its report.
    failures : failed stages (``stage``, ``labels``, ``component``, ``plugin``, ``error``),
        listed in the *failed cells* table.
    """

    scores: pd.DataFrame
    run: Mapping[str, Any]
    metrics: Mapping[str, Mapping[str, Any]]
    pretraining: Sequence[Mapping[str, Any]] = ()
    failures: Sequence[Mapping[str, Any]] = ()

    @property
    def config(self) -> Mapping[str, Any]:
        """The run's resolved suite config."""
        return self.run["config"]

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
    kind: str = "stat"  # "stat": mean ± CI; "ratio": value (p); "text": a column of rows


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

    def table(self, name: str) -> Table:
        """The table called ``name``."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"no table {name!r}; tables: {', '.join(t.name for t in self.tables)}")


def _display(spec: Mapping[str, Any]) -> str:
    """A component's display label as the runner writes it (see ``ComponentSpec.display``)."""
    from xecgbench.config import ComponentSpec

    return ComponentSpec.model_validate(spec).display


def suite_order(results: RunResults) -> dict[str, dict[str, int]]:
    """Position of each pretraining, freezing and attribution label in the suite's lists."""
    config = results.config
    return {
        axis: {_display(spec): i for i, spec in enumerate(config.get(key, ()))}
        for axis, key in (
            ("pretraining", "pretraining"),
            ("freezing", "freezing"),
            ("attribution", "attributions"),
        )
    } | {"branch": {b: i for i, b in enumerate(BRANCH_ORDER)}}


def _sorted(frame: pd.DataFrame, keys: Sequence[str], order: Mapping[str, Mapping[str, int]]):
    """``frame`` sorted by ``keys`` in suite order (unknown labels last, alphabetically)."""
    if frame.empty:
        return frame.reset_index(drop=True)

    def position(column: pd.Series) -> pd.Series:
        known = order.get(str(column.name), {})
        return column.map(lambda v: (known.get(v, len(known)), str(v)))

    return frame.sort_values(list(keys), key=position, kind="stable").reset_index(drop=True)


def _arrow(higher_is_better: bool | None) -> str:
    return "" if higher_is_better is None else (" ↑" if higher_is_better else " ↓")


def _with_region(metric: str, region: str) -> str:
    return f"{metric} [{region}]" if region else metric


def _stat_columns(
    results: RunResults, pairs: Sequence[tuple[str, str]], direction: Callable[[str], Any] | None
) -> tuple[Column, ...]:
    look = direction or results.direction
    return tuple(Column(m, r, _with_region(m, r) + _arrow(look(m)), look(m)) for m, r in pairs)


def _primary_region(summary: pd.DataFrame, primary: str, regions: Sequence[str]) -> str | None:
    """The region the primary metric is read on: the first paired mask it was scored on."""
    present = set(summary.loc[summary["metric"] == primary, "region"])
    candidates = [*regions, *(MASK_INTERVAL.get(r, "") for r in regions), ""]
    return next((c for c in candidates if c in present), None)


def _domain_specificity(
    scores: pd.DataFrame, primary: str, region: str, branch: str
) -> pd.DataFrame:
    """Primary score relative to the ``none``-pretraining cell, with a paired Wilcoxon test.

    Index = mean(candidate) / mean(baseline) over the same (seed, sample) pairs; p from a
    two-sided Wilcoxon signed-rank test on those pairs, Holm-adjusted over the table's cells.
    """
    columns = [*CELL, "metric", "region", "mean", "ci95", "n_seeds", "p_value"]
    picked = scores[
        (scores["metric"] == primary) & (scores["region"] == region) & (scores["branch"] == branch)
    ]
    base = picked[picked["pretraining"] == BASELINE_PRETRAINING]
    pair = ["freezing", "attribution", "seed", "sample"]
    merged = picked[picked["pretraining"] != BASELINE_PRETRAINING].merge(
        base[[*pair, "value"]], on=pair, suffixes=("", "_base")
    )
    out = []
    for (pretraining, freezing, attribution), cell in merged.groupby(
        ["pretraining", "freezing", "attribution"], sort=False
    ):
        keep = cell["value"].notna() & cell["value_base"].notna()
        base_mean = cell.loc[keep, "value_base"].mean()
        ratio = cell.loc[keep, "value"].mean() / base_mean if base_mean else np.nan
        out.append(
            {
                "pretraining": pretraining, "freezing": freezing, "attribution": attribution,
                "branch": branch, "metric": "domain_specificity", "region": region,
                "mean": ratio, "ci95": np.nan, "n_seeds": cell.loc[keep, "seed"].nunique(),
                "p_value": paired_wilcoxon(cell["value"].to_numpy(), cell["value_base"].to_numpy()),
            }
        )
    frame = pd.DataFrame(out, columns=columns)
    frame["p_value"] = holm(frame["p_value"].to_numpy(dtype=float))
    return frame


def _accuracy_for_rows(
    accuracy: pd.DataFrame, rows: pd.DataFrame, metric: str, branch: str
) -> pd.DataFrame:
    """The branch's accuracy (per pretraining × freezing) repeated on every attribution row."""
    chosen = accuracy[(accuracy["metric"] == metric) & (accuracy["branch"] == branch)]
    return rows[["pretraining", "freezing", "attribution"]].merge(
        chosen, on=["pretraining", "freezing"]
    )


def _alignment_tables(
    results: RunResults,
    scores: pd.DataFrame,
    summary: pd.DataFrame,
    accuracy: pd.DataFrame,
    order: Mapping[str, Mapping[str, int]],
) -> list[Table]:
    config = results.config
    primary = config["primary_metric"]
    primary_up = results.direction(primary)
    alignment = config["explain"]["alignment"]
    localisation = [
        m for m in dict.fromkeys(summary["metric"]) if results.metrics.get(m, {}).get(
            "category") == "localisation"
    ]
    accuracy_metric = next(iter(dict.fromkeys(accuracy["metric"])), None)
    tables = []
    for branch in [b for b in BRANCH_ORDER if b in set(summary["branch"])]:
        regions = tuple(alignment.get(branch, ()))
        mine = summary[summary["branch"] == branch]
        region = _primary_region(mine, primary, regions)
        if not regions or region is None:
            continue
        rows = _sorted(mine[["pretraining", "freezing", "attribution"]].drop_duplicates(),
                       ["attribution", "freezing", "pretraining"], order)
        pairs = [(primary, region)]
        pairs += [(m, r) for r in regions for m in localisation if (m, r) != (primary, region)]
        pairs = [p for p in pairs if ((mine["metric"] == p[0]) & (mine["region"] == p[1])).any()]
        dsi = _domain_specificity(scores, primary, region, branch)
        shown = pd.MultiIndex.from_frame(mine[["metric", "region"]]).isin(pairs)
        values = [mine[shown], dsi]
        columns = list(_stat_columns(results, pairs[:1], None))
        columns.append(Column("domain_specificity", region, "domain specificity (p)", None,
                              "ratio"))
        if accuracy_metric is not None:
            values.append(_accuracy_for_rows(accuracy, rows, accuracy_metric, branch))
            columns += _stat_columns(results, [(accuracy_metric, "")], None)
        columns += _stat_columns(results, pairs[1:], None)
        values_frame = pd.concat([v for v in values if not v.empty], ignore_index=True)
        primary_values = values_frame[
            (values_frame["metric"] == primary) & (values_frame["region"] == region)
        ][["pretraining", "freezing", "attribution", "mean"]]
        rows = rows.merge(primary_values, on=["pretraining", "freezing", "attribution"],
                          how="left")
        rows = rows.sort_values("mean", ascending=primary_up is False, na_position="last",
                                kind="stable").reset_index(drop=True)
        rows.insert(0, "rank", np.where(rows["mean"].notna(), rows.index + 1, np.nan))
        rows = rows.drop(columns="mean")
        paired = ", ".join(f"`{r}`" for r in regions)
        tables.append(
            Table(
                name=f"alignment-{branch}",
                title=f"Clinical alignment: {branch} branch",
                caption=(
                    f"Explanations of the {branch} branch against its paired masks ({paired}); "
                    f"ranked by the primary metric `{primary}` on `{region}`"
                    f"{' (higher is better)' if primary_up is not False else ' (lower is better)'}."
                    f" Domain specificity: `{primary}` on `{region}` relative to "
                    f"`{BASELINE_PRETRAINING}` pretraining with the same freezing and attribution"
                    " (ratio of means over the same seeds × samples; Wilcoxon signed-rank p, "
                    "Holm-adjusted over this table)."
                    + (f" `{accuracy_metric}`: the {branch} branch's AF detection."
                       if accuracy_metric else "")
                ),
                row_keys=("pretraining", "freezing", "attribution"),
                rows=rows,
                columns=tuple(columns),
                values=values_frame,
                fixed={"branch": branch},
            )
        )
    return tables


def _cell_rows(summary: pd.DataFrame, sort: Sequence[str], order) -> pd.DataFrame:
    return _sorted(summary[list(CELL)].drop_duplicates(), sort, order)


def _interval_table(results: RunResults, summary: pd.DataFrame, order) -> Table | None:
    names = [m for m in dict.fromkeys(summary["metric"])
             if results.metrics.get(m, {}).get("category") == "interval_profile"]
    if not names:
        return None
    mine = summary[summary["metric"].isin(names)]
    regions = list(dict.fromkeys(mine["region"]))
    regions = [r for r in INTERVALS if r in regions] + [r for r in regions if r not in INTERVALS]
    columns = tuple(
        Column(m, r, r if len(names) == 1 else f"{m} [{r}]", None) for m in names for r in regions
    )
    return Table(
        name="interval-profile",
        title="Relevance per ECG interval",
        caption=(
            "Share of positive relevance per interval, normalised by interval length (uniform "
            "relevance gives 1/6 each; see docs/metrics.md). A morphology branch that looks at "
            "atrial activity has a high P share; a rhythm branch a high QRS share."
        ),
        row_keys=CELL,
        rows=_cell_rows(mine, ["branch", "attribution", "freezing", "pretraining"], order),
        columns=columns,
        values=mine,
    )


def _quality_table(
    results: RunResults, summary: pd.DataFrame, order, mprt_threshold: float
) -> Table | None:
    by_category = {
        c: [m for m in dict.fromkeys(summary["metric"])
            if results.metrics.get(m, {}).get("category") == c]
        for c in QUALITY_CATEGORIES
    }
    names = [m for c in QUALITY_CATEGORIES for m in by_category[c]]
    if not names:
        return None
    mine = summary[summary["metric"].isin(names)]
    pairs = list(dict.fromkeys(zip(mine["metric"], mine["region"], strict=True)))
    pairs.sort(key=lambda p: names.index(p[0]))
    rows = _cell_rows(mine, ["attribution", "branch", "freezing", "pretraining"], order)
    mprt = [m for m in names if results.metric_name(m) == "mprt"]
    caption = (
        "Faithfulness, robustness, randomisation sanity and complexity of the explanations "
        "(scored on the suite's `n_costly` samples for costly metrics)."
    )
    columns = _stat_columns(results, pairs, None)
    if mprt:
        similarity = mine[mine["metric"] == mprt[0]].groupby(list(CELL))["mean"].first()
        verdict = similarity.map(lambda s: "FAIL" if s > mprt_threshold else "pass")
        rows = rows.merge(verdict.rename("MPRT sanity").reset_index(), on=list(CELL), how="left")
        rows["MPRT sanity"] = rows["MPRT sanity"].fillna("—")
        failing = sorted(set(rows.loc[rows["MPRT sanity"] == "FAIL", "attribution"]))
        caption += (
            f" MPRT sanity: FAIL when the `{mprt[0]}` similarity between the explanation of the "
            f"trained and of the fully randomised model exceeds {mprt_threshold:g} (the "
            "explanation barely depends on the weights). Failing somewhere: "
            + (", ".join(f"`{m}`" for m in failing) if failing else "none") + "."
        )
        columns = (Column("MPRT sanity", "", "MPRT sanity", None, "text"), *columns)
    return Table("explanation-quality", "Explanation quality", caption, CELL, rows,
                 tuple(columns), mine)


def _accuracy_table(results: RunResults, accuracy: pd.DataFrame, order) -> Table | None:
    if accuracy.empty:
        return None
    keys = ("pretraining", "freezing", "branch")
    rows = _sorted(accuracy[list(keys)].drop_duplicates(), keys, order)
    metrics = list(dict.fromkeys(accuracy["metric"]))
    return Table(
        name="accuracy",
        title="AF detection accuracy",
        caption=(
            "AF detection on the test split per pretraining × freezing, for each branch and "
            "their ensemble (mean of the branch probabilities; AF called at p ≥ 0.5)."
        ),
        row_keys=keys,
        rows=rows,
        columns=_stat_columns(results, [(m, "") for m in metrics], None),
        values=accuracy,
    )


def _pretraining_table(results: RunResults, order) -> Table | None:
    long = [
        {"pretraining": row["pretraining"], "seed": row["seed"], "metric": key, "region": "",
         "value": float(value) if value is not None else np.nan}
        for row in results.pretraining
        for key, value in row.items()
        if key not in ("pretraining", "seed") and isinstance(value, int | float | None)
    ]
    if not long:
        return None
    summary = seed_summary(pd.DataFrame(long), ["pretraining", "metric", "region"])
    rows = _sorted(summary[["pretraining"]].drop_duplicates(), ["pretraining"], order)
    metrics = list(dict.fromkeys(pd.DataFrame(long)["metric"]))
    return Table(
        name="pretraining",
        title="Pretraining quality",
        caption=(
            "How well each strategy learnt its own task, on its held-out pretraining split "
            "(P-wave detection F1 at ±50 ms; RR-variability regression R² and MAE)."
        ),
        row_keys=("pretraining",),
        rows=rows,
        columns=_stat_columns(results, [(m, "") for m in metrics], PRETRAINING_DIRECTIONS.get),
        values=summary,
    )


def footer(results: RunResults) -> dict[str, str]:
    """The provenance footer: what produced these numbers, from the run's record only."""
    run, config = results.run, results.config
    provenance = run.get("provenance", {})
    packages = provenance.get("packages", {})
    plugins = provenance.get("plugins", {})
    started = datetime.fromtimestamp(float(run["started"]), tz=timezone.utc)
    datasets = sorted(str(d) for d in results.scores["dataset"].dropna().unique())
    return {
        "suite": f"{config['name']} (config hash {run['config_hash']})",
        "run": str(run["run_id"]),
        "run date": started.strftime("%Y-%m-%d"),
        "dataset": ", ".join(datasets) or "n/a",
        "seeds": ", ".join(str(s) for s in config["seeds"]),
        "xecgbench": str(provenance.get("xecgbench", "n/a")),
        "versions": ", ".join(f"{k} {v}" for k, v in sorted(packages.items()) if v) or "n/a",
        "plugins": ", ".join(f"{k} {v}" for k, v in sorted(plugins.items())) or "n/a",
        "python": str(provenance.get("python", "n/a")),
        "git commit": str(provenance.get("git_commit") or "n/a"),
    }


def build_leaderboard(results: RunResults, *,
                      mprt_threshold: float = MPRT_FAIL_SIMILARITY) -> Leaderboard:
    """Aggregate a run's per-sample scores into its tables (mean ± 95 % CI over seeds)."""
    from xecgbench.failed_cells import failed_table

    scores = results.scores.copy()
    scores["region"] = scores["region"].fillna("")
    explained = scores[scores["attribution"].notna()]
    accuracy = seed_summary(scores[scores["attribution"].isna()],
                            ["pretraining", "freezing", "branch", "metric", "region"])
    summary = seed_summary(explained, [*CELL, "metric", "region"])
    order = suite_order(results)
    tables = [
        *_alignment_tables(results, explained, summary, accuracy, order),
        _interval_table(results, summary, order),
        _quality_table(results, summary, order, mprt_threshold),
        _accuracy_table(results, accuracy, order),
        _pretraining_table(results, order),
        failed_table(results.failures),
    ]
    notes = (
        "Mean ± 95 % CI (Student t) over seeds of each seed's mean over test samples; "
        "a single seed shows the mean only. NaN (undefined) sample scores are left out.",
        "↑ / ↓: higher / lower is better (xecgbench's direction table, docs/metrics.md); "
        "no arrow: descriptive.",
    )
    return Leaderboard(
        title=f"xecgbench leaderboard: {results.config['name']}",
        tables=tuple(t for t in tables if t is not None and not t.rows.empty),
        footer=footer(results),
        notes=notes,
    )


# ---------------------------------------------------------------- rendering


def format_number(value: Any) -> str:
    """Three decimals, one for magnitudes of 100 and more; an em dash for missing values."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def format_stat(record: Mapping[str, Any] | None) -> str:
    """``mean ± ci95`` (or the mean alone with one seed)."""
    if record is None or pd.isna(record["mean"]):
        return "—"
    mean = format_number(record["mean"])
    return mean if pd.isna(record["ci95"]) else f"{mean} ± {format_number(record['ci95'])}"


def format_ratio(record: Mapping[str, Any] | None) -> str:
    """``ratio (p=…)`` for the domain-specificity index."""
    if record is None or pd.isna(record["mean"]):
        return "—"
    p = record.get("p_value")
    return f"{record['mean']:.2f}" + ("" if p is None or pd.isna(p) else f" (p={p:.2g})")


def _rank(value: Any) -> str:
    return "—" if pd.isna(value) else str(int(value))


def cell_texts(table: Table) -> list[list[str]]:
    """Every row of ``table`` as display strings (keys, rank, then columns), unescaped."""
    lookup = table.lookup()
    out = []
    for row in table.rows.to_dict("records"):
        keys = tuple(row[k] for k in table.row_keys)
        texts = [_rank(row["rank"])] if "rank" in row else []
        texts += [str(k) for k in keys]
        for column in table.columns:
            record = lookup.get((*keys, column.metric, column.region))
            if column.kind == "text":
                texts.append(str(row.get(column.metric, "—")))
            elif column.kind == "ratio":
                texts.append(format_ratio(record))
            else:
                texts.append(format_stat(record))
        out.append(texts)
    return out


def headers(table: Table) -> list[str]:
    """Column headers of ``table`` (unescaped)."""
    return (["rank"] if "rank" in table.rows else []) + list(table.row_keys) + [
        c.header for c in table.columns
    ]


def _md(text: str) -> str:
    """Escape a plugin-provided string for a Markdown table cell (no raw HTML, no pipes)."""
    return (
        text.replace("\\", "\\\\").replace("|", "\\|").replace("&", "&amp;")
        .replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    )


def to_markdown(board: Leaderboard) -> str:
    """The leaderboard as Markdown: one section per table, then the provenance footer."""
    lines = [f"# {_md(board.title)}", ""]
    for note in board.notes:
        lines += [note, ""]
    for table in board.tables:
        head = headers(table)
        lines += [f"## {_md(table.title)}", "", _md(table.caption), ""]
        lines.append("| " + " | ".join(_md(h) for h in head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(_md(t) for t in row) + " |" for row in cell_texts(table)]
        lines.append("")
    lines += ["## Provenance", ""]
    lines += [f"- {key}: {_md(value)}" for key, value in board.footer.items()]
    return "\n".join(lines) + "\n"


def tidy(board: Leaderboard) -> pd.DataFrame:
    """One row per table cell × metric: the numbers behind every table."""
    frames = []
    for table in board.tables:
        if table.values.empty:
            continue  # text-only tables (failed cells) hold no numbers
        values = table.values.copy()
        for key, value in table.fixed.items():
            values[key] = value
        if "rank" in table.rows:
            ranks = table.rows[[*table.row_keys, "rank"]]
            values = values.merge(ranks, on=list(table.row_keys), how="left")
        values["table"] = table.name
        frames.append(values)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = frame.reindex(columns=list(TIDY_COLUMNS))
    frame["rank"] = frame["rank"].astype("Int64")
    frame["n_seeds"] = frame["n_seeds"].astype("Int64")
    return frame


def to_csv(board: Leaderboard) -> str:
    """The tidy numbers as CSV (full precision, ``\\n`` line ends)."""
    buffer = io.StringIO()
    tidy(board).to_csv(buffer, index=False, lineterminator="\n", float_format="%.10g")
    return buffer.getvalue()


LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "±": r"$\pm$", "↑": r"$\uparrow$",
    "↓": r"$\downarrow$", "—": "---", "×": r"$\times$", "≥": r"$\geq$", "²": r"$^2$",
    "`": "", "|": r"\textbar{}",
}


def latex_escape(text: str) -> str:
    """Escape ``text`` for LaTeX (every special character, and the symbols our tables use)."""
    return "".join(LATEX_SPECIALS.get(char, char) for char in str(text))


def to_latex(board: Leaderboard) -> str:
    """The tables as booktabs LaTeX (needs ``\\usepackage{booktabs}``), provenance as comments."""
    lines = [f"% {latex_escape(board.title)}: generated by xecgbench, do not edit"]
    lines += [f"% {key}: {value}" for key, value in board.footer.items()]
    for table in board.tables:
        head = headers(table)
        align = "l" * (len(head) - len(table.columns)) + "r" * len(table.columns)
        lines += [
            "",
            r"\begin{table}[htbp]",
            r"\centering",
            r"\small",
            rf"\caption{{{latex_escape(table.title)}. {latex_escape(table.caption)}}}",
            rf"\label{{tab:{table.name}}}",
            rf"\begin{{tabular}}{{{align}}}",
            r"\toprule",
            " & ".join(latex_escape(h) for h in head) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(latex_escape(t) for t in row) + r" \\" for row in cell_texts(table)]
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
