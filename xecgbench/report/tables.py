"""Leaderboard tables aggregated from one run's per-sample scores: mean ± 95 % CI over seeds.

A run becomes several small tables, each answering one question, instead of one wide table:
the answer section first (pre-registered tests, pretraining effects, methods, and accuracy —
the only accuracy table, one row per distinct model), then the details:

- ``alignment-<branch>``: do explanations land on the branch's clinical region? Ranked by the
  suite's primary metric, with the domain-specificity index against the baseline (the
  pretraining strategy that pre-trains no branch);
- ``interval-profile``: where on the beat relevance lies (P, PR, QRS, ST, T, TP shares);
- ``interval-anova``: the same per class, with the class × interval mixed-model tests;
- ``explanation-quality``: faithfulness, robustness, randomisation sanity, complexity;
- ``operating-points``: AUROC, AUPRC and thresholded metrics at validation-chosen thresholds,
  from the stored per-window probabilities;
- ``pretraining``: how well the pretraining tasks themselves were learnt.

Everything here is pure pandas on a :class:`RunResults`; reading stores and committed raw
files lives in :mod:`xecgbench.report.results_files`, so a table can be rebuilt without a store.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from xecgbench.report.answer_text.headline import headline_tables
from xecgbench.report.answer_text.primary_answer import (
    about_the_data,
    answer_paragraph,
    per_method_table,
    primary_table,
)
from xecgbench.report.board import CELL, Column, Leaderboard, RunResults, Table, suite_order
from xecgbench.report.stats.inference import summarise
from xecgbench.report.stats.primary_tests import per_method_results, primary_results
from xecgbench.report.table_builders.alignment import alignment_tables
from xecgbench.report.table_builders.detail_tables import (
    interval_table,
    pretraining_table,
    quality_table,
)
from xecgbench.report.table_builders.failed_cells import failed_table
from xecgbench.report.table_builders.identical_models import (
    duplicates_note,
    identical_configurations,
    without_duplicates,
)
from xecgbench.report.table_builders.interval_anova import interval_anova_table
from xecgbench.report.table_builders.operating_points import (
    operating_point_table,
    operating_points,
    record_probabilities,
)


def _datasets(results: RunResults) -> str:
    """Where the models were trained and where they were tested, both named.

    A board with a separate test source was once headed by its training set alone, which hid
    that its windows came from another dataset.
    """
    trained = sorted(str(d) for d in results.scores["dataset"].dropna().unique())
    data = results.suite.data
    if data.test is None:
        return ", ".join(trained) or "n/a"
    split = data.test_split or "all"
    return (f"trained on {', '.join(trained) or 'n/a'}; tested on {data.test.name} "
            f"({split} records)")


def footer(results: RunResults) -> dict[str, str]:
    """The provenance footer: what produced these numbers, from the run's record only."""
    run = results.run
    provenance = run.provenance
    packages = provenance.get("packages", {})
    plugins = provenance.get("plugins", {})
    started = datetime.fromtimestamp(run.started, tz=UTC)
    return {
        "suite": f"{results.suite.name} (config hash {run.config_hash})",
        "run": run.run_id,
        "run date": started.strftime("%Y-%m-%d"),
        "dataset": _datasets(results),
        "seeds": ", ".join(str(s) for s in results.suite.seeds),
        "xecgbench": str(provenance.get("xecgbench", "n/a")),
        "versions": ", ".join(f"{k} {v}" for k, v in sorted(packages.items()) if v) or "n/a",
        "plugins": ", ".join(f"{k} {v}" for k, v in sorted(plugins.items())) or "n/a",
        "python": str(provenance.get("python", "n/a")),
        "git commit": str(provenance.get("git_commit") or "n/a"),
    }


def without_flagged(results: RunResults) -> RunResults:
    """``results`` without the explanation scores of flagged models (they are listed instead).

    A branch with constant output loses every explanation score of its seed and cell; an
    all-zero explanation loses that method's scores only. Accuracy rows stay: a dead branch's
    accuracy is a real (trivial) number, and the accuracy table shows it beside the trivial
    predictor.
    """
    if not results.flags:
        return results
    scores = results.scores
    drop = np.zeros(len(scores), dtype=bool)
    explained = scores["attribution"].notna().to_numpy()
    for flag in results.flags:
        match = ((scores["pretraining"] == flag["pretraining"])
                 & (scores["freezing"] == flag["freezing"]) & (scores["seed"] == flag["seed"])
                 & (scores["branch"] == flag["branch"])).to_numpy() & explained
        if flag.get("attribution") is not None:
            match &= (scores["attribution"] == flag["attribution"]).to_numpy()
        drop |= match
    return dataclasses.replace(results, scores=scores[~drop].reset_index(drop=True))


def flagged_table(results: RunResults) -> Table | None:
    """Every flagged model, so no dead branch hides in an average."""
    if not results.flags:
        return None
    rows = pd.DataFrame([{**f, "attribution": f.get("attribution") or "(all)"}
                         for f in results.flags])
    return Table(
        name="flagged",
        title="Flagged models: left out of every explanation aggregate",
        caption=(
            "A branch whose AF probability is constant over the evaluation windows learnt "
            "nothing (constant output); an explanation that is zero on every window explains "
            "nothing (all-zero relevance). Their explanation scores are excluded above, so the "
            "affected cells rest on fewer seeds (see n); their accuracy stays in the tables."
        ),
        row_keys=("pretraining", "freezing", "seed", "branch", "attribution"),
        rows=rows[["pretraining", "freezing", "seed", "branch", "attribution", "flag"]],
        columns=(Column("flag", "", "flag", None, "text"),),
        values=pd.DataFrame(columns=["metric", "region"]),
    )


def build_leaderboard(results: RunResults) -> Leaderboard:
    """Aggregate a run's per-window scores into the answer section, then the detail tables."""
    flagged = flagged_table(results)
    results = without_flagged(results)
    order = suite_order(results)
    duplicates = identical_configurations(results.scores, order.get("pretraining", {}))
    detail = dataclasses.replace(results,
                                 scores=without_duplicates(results.scores, duplicates))
    scores = detail.scores.copy()
    scores["region"] = scores["region"].fillna("")
    explained = scores[scores["attribution"].notna()]
    accuracy = summarise(scores[scores["attribution"].isna()],
                         ["pretraining", "freezing", "branch", "metric", "region"])
    summary = summarise(explained, [*CELL, "metric", "region"])
    primary = primary_results(results)
    operating = (operating_points(results.probabilities)
                 if results.probabilities is not None else None)
    by_record = (record_probabilities(results.probabilities)
                 if results.probabilities is not None else None)
    tables = [
        primary_table(primary),
        per_method_table(per_method_results(results, primary)),
        *headline_tables(results, order, operating, detail),
        flagged,
        *alignment_tables(detail, explained, summary, accuracy, order),
        interval_table(detail, summary, order),
        interval_anova_table(detail, explained, order),
        quality_table(detail, summary, order),
        operating_point_table(operating, order),
        operating_point_table(None if by_record is None else operating_points(by_record), order,
                              per_record=True),
        pretraining_table(results, order),
        failed_table(results.failures),
    ]
    notes = (
        "Mean [95 % interval] over seeds × explained windows: a two-way bootstrap resamples "
        "seeds (the replicates: each trains its own model) and windows (a random effect), its "
        "width corrected for few seeds (t quantile), so intervals reflect both and stay inside "
        "each metric's range. Below 3 seeds only the mean is shown. p-values test over seeds, "
        "never over windows. NaN (undefined) window scores are left out and counted as "
        "coverage.",
        "↑ / ↓: higher / lower is better (xecgbench's direction table, docs/metrics.md); "
        "no arrow: descriptive.",
        *filter(None, [duplicates_note(duplicates)]),
    )
    return Leaderboard(
        title=f"xecgbench leaderboard: {results.suite.name}",
        tables=tuple(t for t in tables if t is not None and not t.rows.empty),
        footer=footer(results),
        notes=notes,
        answer=about_the_data(results.suite.about) + answer_paragraph(
            primary, results.suite.seeds, results.planned_seeds),
    )

