"""The answer a clinician reads first: the primary tests as one paragraph and one table.

Both are generated from :mod:`xecgbench.report.stats.primary_tests`, so the words can never
claim more than the pre-registered tests found: a verdict needs p below the declared alpha,
and every number carries its interval and its seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import Column, Table
from xecgbench.report.stats.inference import SeedTest
from xecgbench.report.stats.primary_tests import PrimaryResult, minimum_detectable_effect

NO_TESTS = ("This run declares no pre-registered primary test, so every table below is "
            "exploratory.")


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _ratio(test: PrimaryResult) -> str:
    effect = test.effect
    assert effect is not None
    return (f"×{np.exp(effect.estimate):.2f} [{np.exp(effect.low):.2f}, "
            f"{np.exp(effect.high):.2f}] over {effect.n_seeds} seeds ({_p(effect.p_value)})")


def verdict(test: PrimaryResult) -> str:
    """``onto the target`` / ``away from the target`` / ``no evidence`` / ``not tested``."""
    effect = test.effect
    if test.note or effect is None:
        return "not tested"
    if not np.isfinite(effect.p_value) or effect.p_value >= test.test.alpha:
        return "no evidence of an effect"
    return "onto the target" if (effect.estimate > 0) == test.up else "away from the target"


def sentence(test: PrimaryResult) -> str:
    """One test in plain words, with its interval, seeds and p-value."""
    who = f"{test.strategy} (vs {test.baseline})"
    where = f"the {test.test.branch} branch's relevance"
    if test.note or test.effect is None:
        return f"{who} on {where}: not tested ({test.note.removeprefix('not tested: ')})."
    said = verdict(test)
    target = f"`{test.region}`"
    if said == "onto the target":
        text = f"{who} moved {where} onto {target} by {_ratio(test)}."
    elif said == "away from the target":
        text = f"{who} moved {where} away from {target}: {_ratio(test)}."
    else:
        mde = minimum_detectable_effect(test.effect.n_seeds, test.test.alpha)
        scale = (f" (×{np.exp(mde * test.effect.sd):.2f} at the spread between seeds seen "
                 "here)" if np.isfinite(test.effect.sd) else "")
        text = (f"No evidence that {who} moves {where} onto {target}: {_ratio(test)}; "
                f"with {test.effect.n_seeds} seeds the test has 80 % power only for effects "
                f"of ≥ {mde:.1f} between-seed SDs{scale}.")
    trend = test.trend
    if trend is not None and np.isfinite(trend.p_value) and trend.p_value < test.test.alpha:
        text += (f" Each further frozen block multiplies it by ×{np.exp(trend.estimate):.2f} "
                 f"[{np.exp(trend.low):.2f}, {np.exp(trend.high):.2f}] ({_p(trend.p_value)}).")
    return text


def answer_paragraph(tests: Sequence[PrimaryResult], seeds: Sequence[int] = (),
                     planned: Sequence[int] | None = None) -> str:
    """The leaderboard's first paragraph: every primary test in plain words, called an interim
    look when the run holds only some of the ``planned`` seeds (a grid run in parts)."""
    if not tests:
        return NO_TESTS
    interim = interim_seeds(seeds, planned)
    head = ("**The answer (pre-registered primary tests).** " if interim is None else
            f"**Interim answer ({interim}; the pre-registered tests are confirmatory only at "
            "all of them, and an interim result may not hold there).** ")
    return head + " ".join(sentence(t) for t in tests) + " Every other table is exploratory."


def interim_seeds(seeds: Sequence[int], planned: Sequence[int] | None) -> str | None:
    """``"6 of the 10 seeds the suite declares"`` for a run of only some planned seeds."""
    if not planned or not set(seeds) < set(planned):
        return None
    return f"{len(set(seeds))} of the {len(planned)} seeds the suite declares"


def _record(test: PrimaryResult, metric: str, effect: SeedTest) -> dict[str, Any]:
    return {"branch": test.test.branch, "pretraining": test.strategy, "metric": metric,
            "region": "", "mean": np.exp(effect.estimate), "ci_low": np.exp(effect.low),
            "ci_high": np.exp(effect.high), "p_value": effect.p_value,
            "n_seeds": effect.n_seeds, "n_records": test.n_records}


def primary_table(tests: Sequence[PrimaryResult]) -> Table | None:
    """One row per declared test: effect, what was pooled, the depth trend, the verdict."""
    if not tests:
        return None
    rows, values = [], []
    for test in tests:
        effect = test.effect if not test.note else None
        mde = minimum_detectable_effect(effect.n_seeds, test.test.alpha) if effect else np.inf
        rows.append({
            "branch": test.test.branch, "pretraining": test.strategy, "claim": test.test.name,
            "against": test.baseline, "target": f"{test.metric} on {test.region or '—'}",
            "pooled": (f"{len(test.methods)} methods × {len(test.freezing)} freezing"
                       + (f"; left out: {'; '.join(test.excluded)}" if test.excluded else "")),
            "80 % power at": f"≥ {mde:.1f} SD" if np.isfinite(mde) else "—",
            "depth": test.trend_note or "—",
            "verdict": verdict(test) + (f" ({test.note})" if test.note else ""),
        })
        if effect is not None:
            values.append(_record(test, "primary effect", effect))
        if test.trend is not None and not test.note:
            values.append(_record(test, "per frozen block", test.trend))
    return Table(
        name="answer-primary",
        title="Pre-registered primary tests",
        caption=(
            "Each claim as the suite declared it before the run: per seed, the log ratio of "
            "the mean score on the target (strategy vs baseline, same freezing and method, "
            "same windows), averaged over the listed methods that pass the run's sanity "
            "checks and over the freezing schedules; ratio = exp(mean over seeds) with a "
            "(1 − alpha) t-interval over seeds (95 % at alpha = 0.05) and a one-sample "
            "t-test (seeds are the replicates; the "
            "windows are held fixed in both). 80 % power: the smallest true effect, in "
            "between-seed SDs of the per-seed log ratio, this many seeds detect four times in "
            "five. Depth: the per-seed slope of the log ratio on the number of frozen blocks, "
            "t-tested over seeds, where ≥ 3 fixed depths exist."
        ),
        row_keys=("branch", "pretraining"),
        rows=pd.DataFrame(rows),
        columns=(Column("claim", "", "claim", None, "text"),
                 Column("against", "", "against", None, "text"),
                 Column("target", "", "target", None, "text"),
                 Column("primary effect", "", "ratio [CI] (p)", None, "effect"),
                 Column("pooled", "", "pooled", None, "text"),
                 Column("80 % power at", "", "80 % power at", None, "text"),
                 Column("per frozen block", "", "per frozen block [CI] (p)", None, "effect"),
                 Column("depth", "", "depth", None, "text"),
                 Column("verdict", "", "verdict", None, "text")),
        values=pd.DataFrame(values, columns=["branch", "pretraining", "metric", "region", "mean",
                                             "ci_low", "ci_high", "p_value", "n_seeds",
                                             "n_records"]),
    )
