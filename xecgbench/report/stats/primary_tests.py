"""The pre-registered primary tests: one claim per branch, one test each, fixed before the run.

The per-cell effect table tests dozens of cells and can find only huge effects; the study makes
two claims (one per branch), so each gets one test declared in the suite (``primary_tests``,
stored with the run's config before it starts):

- **Unit**: seeds. Each seed trains its own models; the explained windows are the same in every
  seed and are held fixed (the claim is about these windows) in the p-value and the interval.
- **Reference**: the from-scratch model trained with nothing frozen (the original xECGArch), of
  the same seed, for every freezing depth of the strategy: a from-scratch model with frozen
  blocks keeps random weights frozen and is never a baseline.
- **Statistic**: per seed, the log ratio of mean alignment (strategy at each schedule vs the
  unfrozen baseline, same method, paired windows), averaged over the declared methods that pass
  the run's sanity checks and over the pooled schedules: one number per seed.
- **Controls**: the same statistic on regions where the claim predicts no gain
  (:data:`~xecgbench.run.config.DEFAULT_CONTROLS`); per seed, target gain − control gain, each
  t-tested. With the additive gain (share − baseline share), the trained model above its
  untrained one and above chance, they decide whether a gain is *onto the target*.
- **Test**: one-sample t over seeds with its t-interval (:func:`seed_t_test`), nominal under
  normal per-seed values (``tests/core/report/test_primary_tests.py`` checks coverage and size
  by simulation); an interval inside ± the declared margin concludes *no effect*.
- **Against the untrained model** (``model: above_untrained``): the same statistic with the
  trained model's own initialisation (same seed, method and windows) as the reference: what
  a synthetic variant can answer, where the generator planted the only cue.
- **Depth**: per seed, the least-squares slope of the strategy's *own* log mean score on the
  number of frozen blocks, over schedules declaring one fixed ``depth``; t over seeds; only with
  ≥ 3 depths (a ratio to a baseline would mix in how the baseline changes).

:func:`minimum_detectable_effect` states what each test can find (docs/concepts.md).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from xecgbench.report.board import MASK_INTERVAL, RunResults
from xecgbench.report.stats.claim_evidence import (
    CONFIG,
    ControlResult,
    Design,
    above_nulls,
    control_results,
    own_scores,
    pooled,
    schedule_log_ratios,
)
from xecgbench.report.stats.inference import (
    MIN_SEEDS,
    SeedTest,
    grids,
    seed_t_test,
)
from xecgbench.run.config import ABOVE_UNTRAINED, ComponentSpec, PrimaryTest

POWER = 0.8
#: The reference's label when a test compares a model with its own initialisation.
UNTRAINED_REFERENCE = "its untrained initialisation"
#: Fewest distinct freezing depths a trend is fitted on (two points always fit a line).
MIN_DEPTHS = 3


def power(effect_sd: float, n_seeds: int, alpha: float = 0.05) -> float:
    """Power of the two-sided one-sample t-test over ``n_seeds`` at ``alpha`` when the true
    mean is ``effect_sd`` between-seed SDs: the noncentral t integrated over its chi-square
    (scipy's ``nct`` tail returns NaN where the Holm thresholds need it)."""
    df = n_seeds - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    shift = effect_sd * np.sqrt(n_seeds)

    def rejected(v: float) -> float:
        scale = critical * np.sqrt(v / df)
        return (stats.norm.sf(scale - shift) + stats.norm.cdf(-scale - shift)) \
            * stats.chi2.pdf(v, df)

    return float(integrate.quad(rejected, 0, np.inf, limit=200)[0])


@functools.lru_cache(maxsize=64)
def minimum_detectable_effect(n_seeds: int, alpha: float = 0.05, target: float = POWER) -> float:
    """The true mean per-seed effect, in between-seed SDs, that the test over ``n_seeds`` seeds
    at ``alpha`` detects with probability ``target`` (infinite below 2 seeds). Cached: each
    root costs ~0.4 s of quadrature and every board asks for the same few."""
    if n_seeds < 2:
        return float("inf")
    return float(optimize.brentq(lambda d: power(d, n_seeds, alpha) - target, 1e-6, 1e3))


@dataclass(frozen=True)
class PrimaryResult:
    """One primary test as run: what was pooled, what was left out, and its tests."""

    test: PrimaryTest
    strategy: str
    baseline: str
    metric: str
    region: str
    methods: tuple[str, ...]
    freezing: tuple[str, ...]
    excluded: tuple[str, ...]
    effect: SeedTest | None
    trend: SeedTest | None
    trend_note: str
    note: str
    n_records: int
    #: Whether higher ``metric`` means more relevance on the target (the claim's direction).
    up: bool
    #: The baseline's schedule every depth is compared with (the unfrozen one).
    reference: str = ""
    controls: tuple[ControlResult, ...] = ()
    #: Per seed, strategy share − baseline share on the target (additive scale).
    additive: SeedTest | None = None
    above_untrained: SeedTest | None = None
    above_chance: SeedTest | None = None
    #: Each pooled method alone: its per-seed log ratio, for the signs beside the pooled test.
    per_method: tuple[tuple[str, SeedTest], ...] = ()


def _label(value: str, specs: Sequence[ComponentSpec]) -> str:
    """The display label of the suite entry ``value`` names (label or registered name)."""
    labels = {s.display: s for s in specs}
    if value in labels:
        return value
    named = [label for label, s in labels.items() if s.name == value]
    return named[0] if len(named) == 1 else value


def _region(results: RunResults, test: PrimaryTest, metric: str) -> str | None:
    scores = results.scores
    mine = scores[(scores["metric"] == metric) & (scores["branch"] == test.branch)]
    present = set(mine["region"].fillna(""))
    paired = (test.region,) if test.region else tuple(
        results.suite.explain.alignment.get(test.branch, ()))
    candidates = [*paired, *(MASK_INTERVAL.get(r, "") for r in paired)]
    return next((c for c in candidates if c and c in present), None)


def _sanity_failures(results: RunResults, test: PrimaryTest, keep: pd.DataFrame,
                     methods: Sequence[str]) -> dict[str, str]:
    """Method -> why it fails a sanity check the run's metrics declare (mean over the test's
    configurations above the check's limit)."""
    failed: dict[str, str] = {}
    scores = results.scores
    for metric, meta in results.metrics.items():
        check = meta.get("sanity")
        if not check:
            continue
        mine = scores[(scores["metric"] == metric) & (scores["branch"] == test.branch)
                      & scores["attribution"].isin(methods)].merge(keep, how="inner")
        for method, value in mine.groupby("attribution")["value"].mean().items():
            if value > check["fail_above"] and method not in failed:
                failed[str(method)] = f"{method} fails {check['column']} ({value:.2f} > " \
                                      f"{check['fail_above']:g})"
    return failed


def _not_tested(test: PrimaryTest, note: str, **known: Any) -> PrimaryResult:
    fields = {"strategy": test.pretraining, "baseline": test.baseline, "metric": test.metric,
              "region": test.region, "methods": (), "freezing": (), "excluded": (),
              "effect": None, "trend": None, "trend_note": "", "n_records": 0, "up": True}
    return PrimaryResult(test=test, note=note, **{**fields, **known})


def _depth_slopes(results: RunResults, per_schedule: Mapping[str, np.ndarray],
                  alpha: float) -> tuple[SeedTest | None, str]:
    """Per-seed slope of the per-schedule values on frozen blocks, over fixed depths."""
    if not results.schedules:
        return None, "depth not tested: the run's record declares no freezing depths"
    depth = {f: results.schedules.get(f, {}).get("depth") for f in per_schedule}
    fixed = {f: d for f, d in depth.items() if d is not None}
    left = sorted(f for f, d in depth.items() if d is None)
    aside = f" ({', '.join(left)}: no fixed depth, left out)" if left else ""
    levels = sorted(set(fixed.values()))
    if len(levels) < MIN_DEPTHS:
        shown = ", ".join(str(d) for d in levels) or "—"
        return None, (f"depth not tested: needs ≥ {MIN_DEPTHS} freezing depths, "
                      f"the run has k = {shown}{aside}")
    x = np.array(list(fixed.values()), dtype=float)
    y = np.stack([per_schedule[f] for f in fixed])  # (schedules, seeds)
    slopes = []
    for column in y.T:
        ok = np.isfinite(column)
        enough = len(set(x[ok])) >= MIN_DEPTHS
        slopes.append(np.polyfit(x[ok], column[ok], 1)[0] if enough else np.nan)
    levels_text = ", ".join(str(d) for d in levels)
    return seed_t_test(np.array(slopes), alpha), f"own score over k = {levels_text}{aside}"


def untrained_as_reference(results: RunResults) -> RunResults:
    """``results`` with each seed's untrained-model rows also among the scores, as the
    strategy :data:`UNTRAINED_REFERENCE` trained with nothing frozen: the reference of a
    ``model: above_untrained`` test, compared by the same code as any baseline."""
    null, reference = results.untrained, results.unfrozen_schedule
    if null.empty or reference is None:
        return results
    rows = null.assign(pretraining=UNTRAINED_REFERENCE, freezing=reference)
    return dataclasses.replace(results, scores=pd.concat([results.scores, rows],
                                                         ignore_index=True))


def run_primary_test(results: RunResults, test: PrimaryTest) -> PrimaryResult:
    """Run one declared test on a run's scores (flagged models already left out)."""
    suite = results.suite
    strategy = _label(test.pretraining, suite.pretraining)
    baseline = _label(test.baseline, suite.pretraining) if test.baseline \
        else results.baseline
    if test.model == ABOVE_UNTRAINED:
        results = untrained_as_reference(results)
        has_null = not results.untrained.empty
        baseline = UNTRAINED_REFERENCE if has_null else None
    metric = _label(test.metric, suite.metrics) if test.metric else suite.primary_metric
    known: dict[str, Any] = {"strategy": strategy, "metric": metric,
                             "up": results.direction(metric) is not False}
    if baseline is None:
        missing = ("no untrained-model rows (explain.untrained_baseline)"
                   if test.model == ABOVE_UNTRAINED
                   else "no baseline strategy (one that pre-trains nothing)")
        return _not_tested(test, missing, **known)
    known["baseline"] = baseline
    reference = results.unfrozen_schedule
    if reference is None:
        return _not_tested(test, "no unfrozen from-scratch model (one with frozen blocks keeps "
                                 "random weights frozen, so it is no baseline)", **known)
    known["reference"] = reference
    region = _region(results, test, metric)
    if region is None:
        return _not_tested(test, f"no `{metric}` scores on the {test.branch} branch's target",
                           **known)
    known["region"] = region
    freezing = tuple(_label(f, suite.freezing) for f in test.freezing) or tuple(
        s.display for s in suite.freezing)
    declared = tuple(_label(m, suite.attributions) for m in test.methods) or tuple(
        s.display for s in suite.attributions)
    keep = pd.DataFrame([*((strategy, f) for f in freezing), (baseline, reference)],
                        columns=["pretraining", "freezing"])
    failures = _sanity_failures(results, test, keep, declared)
    methods = tuple(m for m in declared if m not in failures)
    known |= {"freezing": freezing, "methods": methods, "excluded": tuple(failures.values())}
    design = Design.of(results, test.branch, strategy, baseline, reference, freezing, methods,
                        test.alpha)
    frame = design.rows(metric, region)
    if frame.empty:
        return _not_tested(test, "no scores for the declared configurations", **known)
    cells, _, records = grids(frame, CONFIG)
    known["n_records"] = len(records)
    by_schedule = schedule_log_ratios(design.pairs(cells, methods))
    if not by_schedule:
        return _not_tested(test, "the strategy and the baseline share no method", **known)
    gain = pooled(by_schedule)
    effect = seed_t_test(gain, test.alpha)
    trend, trend_note = _depth_slopes(results, own_scores(results, design, metric, region),
                                      test.alpha)
    per_method = []
    for method in methods:
        alone = schedule_log_ratios(design.pairs(cells, [method]))
        if alone:
            per_method.append((method, seed_t_test(pooled(alone), test.alpha)))
    additive, above_untrained, above_chance = above_nulls(results, design, metric, region)
    note = "" if effect.n_seeds >= MIN_SEEDS else \
        f"not tested: {effect.n_seeds} seed(s), a test over seeds needs ≥ {MIN_SEEDS}"
    return PrimaryResult(
        test=test, effect=effect, trend=trend, trend_note=trend_note, note=note,
        controls=control_results(results, test, design, metric, region, gain), additive=additive,
        above_untrained=above_untrained, above_chance=above_chance,
        per_method=tuple(per_method), **known)


def primary_results(results: RunResults) -> list[PrimaryResult]:
    """Every primary test the run declared (none for runs recorded before tests existed)."""
    return [run_primary_test(results, test) for test in results.suite.primary_tests]


def per_method_results(results: RunResults, tests: Sequence[PrimaryResult]) -> list[PrimaryResult]:
    """Each method a pooled test pooled, tested alone with the same controls and nulls:
    secondary (chosen after the declaration), so a claim is stated per method as far as it
    holds and a pooled verdict carried by one method shows as such."""
    out = []
    for result in tests:
        if result.note or len(result.methods) < 2:
            continue
        scores, null = results.scores, results.untrained
        mine = dataclasses.replace(  # the rows these tests read, selected once
            results,
            scores=scores[(scores["branch"] == result.test.branch)
                          & scores["pretraining"].isin((result.strategy, result.baseline))
                          & scores["attribution"].isin(result.methods)],
            untrained=null if null.empty else null[(null["branch"] == result.test.branch)
                                                   & null["attribution"].isin(result.methods)])
        for method in result.methods:
            alone = result.test.model_copy(update={
                "name": f"{result.test.name}: {method} alone", "methods": (method,),
                "role": "secondary"})
            out.append(run_primary_test(mine, alone))
    return out

