"""Leaderboard tables aggregated from one run's per-sample scores: mean ± 95 % CI over seeds.

A run becomes several small tables, each answering one question, instead of one wide table:

- ``alignment-<branch>``: do explanations land on the branch's clinical region? Ranked by the
  suite's primary metric, with the domain-specificity index against the baseline (the
  pretraining strategy that pre-trains no branch);
- ``interval-profile``: where on the beat relevance lies (P, PR, QRS, ST, T, TP shares);
- ``interval-anova``: the same per class, with the class × interval mixed-model tests;
- ``explanation-quality``: faithfulness, robustness, randomisation sanity, complexity;
- ``accuracy``: AF detection per pretraining × freezing and branch;
- ``pretraining``: how well the pretraining tasks themselves were learnt.

Everything here is pure pandas on a :class:`RunResults`; reading stores and committed raw
files lives in :mod:`xecgbench.report.results_files`, so a table can be rebuilt without a store.
"""

from __future__ import annotations

from datetime import datetime, timezone

from xecgbench.report.alignment import alignment_tables
from xecgbench.report.board import CELL, Leaderboard, RunResults, suite_order
from xecgbench.report.detail_tables import (
    accuracy_table,
    interval_table,
    pretraining_table,
    quality_table,
)
from xecgbench.report.headline import headline_tables
from xecgbench.report.inference import summarise
from xecgbench.report.interval_anova_table import interval_anova_table


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


def build_leaderboard(results: RunResults) -> Leaderboard:
    """Aggregate a run's per-window scores into the answer section, then the detail tables."""
    scores = results.scores.copy()
    scores["region"] = scores["region"].fillna("")
    explained = scores[scores["attribution"].notna()]
    accuracy = summarise(scores[scores["attribution"].isna()],
                         ["pretraining", "freezing", "branch", "metric", "region"])
    summary = summarise(explained, [*CELL, "metric", "region"])
    order = suite_order(results)
    tables = [
        *headline_tables(results, order),
        *alignment_tables(results, explained, summary, accuracy, order),
        interval_table(results, summary, order),
        interval_anova_table(results, explained, order),
        quality_table(results, summary, order),
        accuracy_table(results, accuracy, order),
        pretraining_table(results, order),
    ]
    notes = (
        "Mean [95 % interval] over seeds × explained windows: a two-way bootstrap resamples "
        "seeds (the replicates: each trains its own model) and windows (a random effect), so "
        "intervals reflect both and stay inside each metric's range. Below 3 seeds only the "
        "mean is shown. p-values test over seeds, never over windows. NaN (undefined) window "
        "scores are left out and counted as coverage.",
        "↑ / ↓: higher / lower is better (xecgbench's direction table, docs/metrics.md); "
        "no arrow: descriptive.",
    )
    return Leaderboard(
        title=f"xecgbench leaderboard: {results.config['name']}",
        tables=tuple(t for t in tables if t is not None and not t.rows.empty),
        footer=footer(results),
        notes=notes,
    )

