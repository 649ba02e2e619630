"""The answer a clinician reads first: the primary tests as one paragraph and one table.

Both are generated from :mod:`xecgbench.report.stats.primary_tests`, so the words can never
claim more than the pre-registered tests found: a verdict needs p below the declared alpha,
and every number carries its interval and its seeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import Column, Table
from xecgbench.report.stats.inference import SeedTest
from xecgbench.report.stats.primary_tests import PrimaryResult, minimum_detectable_effect
from xecgbench.run.config import ABOVE_UNTRAINED

NO_TESTS = ("This run declares no pre-registered primary test, so every table below is "
            "exploratory.")


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _times(effect: SeedTest, digits: int = 2) -> str:
    low, mid, high = np.exp([effect.low, effect.estimate, effect.high])
    return f"×{mid:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _ratio(test: PrimaryResult) -> str:
    effect = test.effect
    assert effect is not None
    return f"{_times(effect)} over {effect.n_seeds} seeds ({_p(effect.p_value)})"


def _plus(effect: SeedTest) -> str:
    return f"{effect.estimate:+.3f} [{effect.low:+.3f}, {effect.high:+.3f}]"


def _shown(effect: SeedTest | None, alpha: float, up: bool) -> bool:
    """Significant at ``alpha`` and in the claim's direction."""
    return (effect is not None and np.isfinite(effect.p_value) and effect.p_value < alpha
            and (effect.estimate > 0) == up)


def unmet(test: PrimaryResult) -> list[str]:
    """What a significant gain still lacks before it is *onto the target*: every control's
    gain below the target's, the trained model above its untrained one and above chance."""
    alpha, up = test.test.alpha, test.up
    reasons = []
    if not test.controls:
        reasons.append("no control region declared for this target")
    for control in test.controls:
        if control.specific is None:
            reasons.append(f"control {control.label} {control.note}")
        elif not _shown(control.specific, alpha, up):
            reasons.append(f"{control.label} gains as much (target − control "
                           f"{_times(control.specific)}, {_p(control.specific.p_value)})")
    for name, effect in (("its untrained model", test.above_untrained),
                         ("chance", test.above_chance)):
        if effect is None:
            reasons.append(f"{name} not scored")
        elif not _shown(effect, alpha, up):
            reasons.append(f"not above {name} ({_plus(effect)}, {_p(effect.p_value)})")
    return reasons


def verdict(test: PrimaryResult) -> str:
    """``onto the target`` / ``a gain not specific to the target`` / ``away from the target``
    / ``no effect (within ±margin)`` / ``no evidence of an effect`` / ``not tested``."""
    effect = test.effect
    if test.note or effect is None:
        return "not tested"
    if not np.isfinite(effect.p_value) or effect.p_value >= test.test.alpha:
        margin = test.test.margin
        if np.isfinite(effect.low) and -margin < effect.low and effect.high < margin:
            return f"no effect (within ×{np.exp(-margin):.2f} – ×{np.exp(margin):.2f})"
        return "no evidence of an effect"
    if (effect.estimate > 0) != test.up:
        return "away from the target"
    return "a gain not specific to the target" if unmet(test) else "onto the target"


def _trend_sentence(test: PrimaryResult) -> str:
    trend = test.trend
    if trend is None or not np.isfinite(trend.p_value):
        return ""
    said = "changes" if trend.p_value < test.test.alpha else "shows no clear change"
    return (f" With each further frozen block the pretrained models' own score {said}: "
            f"{_times(trend, 3)} per block ({_p(trend.p_value)}).")


def sentence(test: PrimaryResult) -> str:
    """One test in plain words, with its interval, seeds, p-value and what it lacks."""
    methods = ", ".join(f"`{m}`" for m in test.methods) or "the declared methods"
    who = (f"{methods} on the trained model ({test.strategy} pretraining, vs "
           f"{test.baseline})" if test.test.model == ABOVE_UNTRAINED
           else f"{test.strategy} (vs {test.baseline}, nothing frozen)")
    where = f"the {test.test.branch} branch's relevance"
    if test.note or test.effect is None:
        return f"{who} on {where}: not tested ({test.note.removeprefix('not tested: ')})."
    said = verdict(test)
    target = f"`{test.region}`"
    extra = f" (additive: {_plus(test.additive)})" if test.additive is not None else ""
    if said == "onto the target":
        controls = ", ".join(test_control.label for test_control in test.controls)
        text = (f"{who} moved {where} onto {target} by {_ratio(test)}{extra}, more than onto "
                f"its controls ({controls}), above its untrained model and above chance.")
    elif said == "a gain not specific to the target":
        text = (f"{who} raised {where} on {target} by {_ratio(test)}{extra}, but not "
                f"specifically there: {'; '.join(unmet(test))}.")
    elif said == "away from the target":
        text = f"{who} moved {where} away from {target}: {_ratio(test)}{extra}."
    elif said.startswith("no effect"):
        text = (f"{who} did not move {where} onto {target}: {_ratio(test)}{extra}, "
                f"inside the declared margin of practical equivalence ({said[11:-1]}).")
    else:
        mde = minimum_detectable_effect(test.effect.n_seeds, test.test.alpha)
        scale = (f" (×{np.exp(mde * test.effect.sd):.2f} at the spread between seeds seen "
                 "here)" if np.isfinite(test.effect.sd) else "")
        text = (f"No evidence that {who} moves {where} onto {target}: {_ratio(test)}{extra}; "
                f"with {test.effect.n_seeds} seeds the test has 80 % power only for effects "
                f"of ≥ {mde:.1f} between-seed SDs{scale}.")
    return text + _trend_sentence(test)


def about_the_data(about: str) -> str:
    """The suite's own words on what its data can show, before the answer (or nothing)."""
    return f"**About this data.** {' '.join(about.split())} " if about.strip() else ""


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
    primary = [t for t in tests if t.test.role == "primary"]
    secondary = len(tests) - len(primary)
    aside = (f" {secondary} secondary test(s) stand in the table below, labelled; they are not "
             "the answer." if secondary else "")
    return (head + " ".join(sentence(t) for t in primary) + aside
            + " Every other table is exploratory.")


def interim_seeds(seeds: Sequence[int], planned: Sequence[int] | None) -> str | None:
    """``"6 of the 10 seeds the suite declares"`` for a run of only some planned seeds."""
    if not planned or not set(seeds) < set(planned):
        return None
    return f"{len(set(seeds))} of the {len(planned)} seeds the suite declares"


def _record(test: PrimaryResult, metric: str, effect: SeedTest) -> dict[str, Any]:
    return {"branch": test.test.branch, "pretraining": test.strategy,
            "claim": test.test.name, "metric": metric,
            "region": "", "mean": np.exp(effect.estimate), "ci_low": np.exp(effect.low),
            "ci_high": np.exp(effect.high), "p_value": effect.p_value,
            "n_seeds": effect.n_seeds, "n_records": test.n_records}


def _per_method(test: PrimaryResult) -> str:
    """Each pooled method's own ratio, starred where its seeds alone are significant."""
    if len(test.per_method) < 2:
        return "—"
    return ", ".join(f"{m} ×{np.exp(e.estimate):.2f}"
                     + ("*" if np.isfinite(e.p_value) and e.p_value < test.test.alpha else "")
                     for m, e in test.per_method)


def _control_cell(test: PrimaryResult) -> str:
    parts = []
    for control in test.controls:
        if control.gain is None or control.specific is None:  # both or neither (not scored)
            parts.append(f"{control.label}: {control.note}")
        else:
            parts.append(f"{control.label}: gain {_times(control.gain)}; {control.target} − "
                         f"it {_times(control.specific)} ({_p(control.specific.p_value)})")
    return "; ".join(parts) or "none declared"


def _null_cell(effect: SeedTest | None) -> str:
    return "—" if effect is None else f"{_plus(effect)} ({_p(effect.p_value)})"


def per_method_table(tests: Sequence[PrimaryResult]) -> Table | None:
    """:func:`primary_table` of each pooled method alone (secondary, labelled so)."""
    table = primary_table(tests)
    if table is None:
        return None
    return dataclasses.replace(
        table, name="answer-per-method",
        title="Each pooled method alone (secondary: not pre-registered)",
        caption=("Every primary test that pools several methods, rerun on each of them alone "
                 "with the same reference, controls, nulls and margin (definitions as in the "
                 "primary tests' table). Chosen after the declaration and one per method, so "
                 "these are secondary: they say per method how far the pooled claim holds, "
                 "and whether one method carries it; they are not the answer."))


def primary_table(tests: Sequence[PrimaryResult]) -> Table | None:
    """One row per declared test: effect, controls, nulls, what was pooled, depth, verdict."""
    if not tests:
        return None
    rows, values = [], []
    for test in tests:
        effect = test.effect if not test.note else None
        mde = minimum_detectable_effect(effect.n_seeds, test.test.alpha) if effect else np.inf
        rows.append({
            "branch": test.test.branch, "pretraining": test.strategy, "claim": test.test.name,
            "role": test.test.role,
            "against": f"{test.baseline} ({test.reference or '—'})",
            "target": f"{test.metric} on {test.region or '—'}",
            "controls": _control_cell(test) if effect else "—",
            "additive": _null_cell(test.additive) if effect else "—",
            "above untrained": _null_cell(test.above_untrained) if effect else "—",
            "above chance": _null_cell(test.above_chance) if effect else "—",
            "pooled": (f"{len(test.methods)} methods × {len(test.freezing)} freezing"
                       + (f"; left out: {'; '.join(test.excluded)}" if test.excluded else "")),
            "per method": _per_method(test) if effect else "—",
            "80 % power at": f"≥ {mde:.1f} SD" if np.isfinite(mde) else "—",
            "depth": test.trend_note or "—",
            "verdict": verdict(test) + (f" ({test.note})" if test.note else ""),
        })
        if effect is not None:
            values.append(_record(test, "primary effect", effect))
        if test.trend is not None and not test.note:
            values.append(_record(test, "own score per frozen block", test.trend))
    text = ("role", "against", "target")
    return Table(
        name="answer-primary",
        title="Pre-registered primary tests",
        caption=(
            "Each claim as the suite declared it before the run: per seed, the log ratio of "
            "the mean score on the target (strategy at each freezing schedule vs the baseline "
            "trained from scratch with nothing frozen — a from-scratch model with frozen "
            "blocks keeps random weights frozen and is never the reference — same method, "
            "same windows), averaged over the listed methods that pass the run's sanity "
            "checks and over the schedules; ratio = exp(mean over seeds) with a "
            "(1 − alpha) t-interval over seeds (95 % at alpha = 0.05) and a one-sample "
            "t-test (seeds are the replicates; the windows are held fixed in both). "
            "Controls: regions where the claim predicts no gain (the AF windows' "
            "atrial-interval template, where no P wave exists; the relevance density of the "
            "beat intervals without the target in `interval_profile`); per seed, the target's "
            "gain minus the control's, in the control's own statistic. Additive: strategy "
            "share − baseline share; above untrained / chance: the strategy's share minus "
            "its untrained model's (same seed, method and windows) / minus the mask's share. "
            "*Onto the target* needs the gain, every control below it, and both nulls "
            "beaten at alpha; an interval inside the declared margin concludes *no effect*. "
            "Per method: each pooled method alone (* where significant). 80 % power: the "
            "smallest true effect, in between-seed SDs of the per-seed log ratio, this many "
            "seeds detect four times in five. Depth: the per-seed slope of the strategy's "
            "own log mean score on the number of frozen blocks, t-tested over seeds, where "
            "≥ 3 fixed depths exist. Secondary tests are labelled and are not the answer."
        ),
        # the claim is a key: two tests of one strategy on one branch (a method alone, or
        # the pooled one beside the study's) must not share their numbers
        row_keys=("branch", "pretraining", "claim"),
        rows=pd.DataFrame(rows),
        columns=(*(Column(name, "", name, None, "text") for name in text),
                 Column("primary effect", "", "ratio [CI] (p)", None, "effect"),
                 Column("controls", "", "controls: gain; target − control (p)", None, "text"),
                 Column("additive", "", "additive [CI] (p)", None, "text"),
                 Column("above untrained", "", "above untrained [CI] (p)", None, "text"),
                 Column("above chance", "", "above chance [CI] (p)", None, "text"),
                 Column("pooled", "", "pooled", None, "text"),
                 Column("per method", "", "per method", None, "text"),
                 Column("80 % power at", "", "80 % power at", None, "text"),
                 Column("own score per frozen block", "", "own score per frozen block [CI] (p)",
                        None, "effect"),
                 Column("depth", "", "depth", None, "text"),
                 Column("verdict", "", "verdict", None, "text")),
        values=pd.DataFrame(values, columns=["branch", "pretraining", "claim", "metric",
                                             "region", "mean",
                                             "ci_low", "ci_high", "p_value", "n_seeds",
                                             "n_records"]),
    )
