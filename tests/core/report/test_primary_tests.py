"""The pre-registered primary tests: planted effects found, nominal coverage and size checked by
simulation, power computed, sanity failures left out, the depth trend only on ordered depths,
and the answer in words before any table."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xecgbench.report.answer_text.primary_answer import NO_TESTS, answer_paragraph, verdict
from xecgbench.report.board import RunResults
from xecgbench.report.rendering.html import render_report
from xecgbench.report.rendering.text_formats import to_markdown
from xecgbench.report.results_files import RunInfo
from xecgbench.report.stats.corrections import benjamini_hochberg
from xecgbench.report.stats.inference import Grid, seed_t_test
from xecgbench.report.stats.primary_tests import (
    minimum_detectable_effect,
    pooled,
    primary_results,
    schedule_log_ratios,
)
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.config import Suite

METRICS = {
    "relevance_mass_accuracy": {"name": "relevance_mass_accuracy", "category": "localisation",
                                "higher_is_better": True},
    "mprt": {"name": "mprt", "category": "randomisation", "higher_is_better": False,
             "sanity": {"fail_above": 0.5, "column": "MPRT sanity", "failure": "weights unused",
                        "description": "similarity to the randomised model's explanation"}},
}
STRATEGIES = {
    "none": {"name": "none", "branches": [], "report_directions": {}, "report_description": ""},
    "p_wave_detection": {"name": "p_wave_detection", "branches": ["morphology"],
                         "report_directions": {}, "report_description": ""},
}
DEPTHS = {"none": 0, "freeze_first_k(k=1)": 1, "freeze_first_k(k=2)": 2,
          "freeze_first_k(k=3)": 3, "iterative": None}
TEST = {"name": "P-wave pretraining -> P waves", "branch": "morphology",
        "pretraining": "p_wave_detection", "baseline": "none", "region": "p_wave",
        "methods": ["dtd", "saliency", "random"], "controls": ["interval_profile:TP"]}


def make_results(effect: float = 0.5, per_block: float = 0.0, seeds=range(5),
                 freezing=("none", "freeze_first_k(k=2)", "iterative"),
                 tests=(TEST,), n_samples: int = 16, seed_sd: float = 0.1) -> RunResults:
    """A fake run: P-wave pretraining multiplies morphology relevance on P waves by
    ``exp(effect + per_block · depth + seed noise)`` for dtd and saliency; ``random`` fails
    MPRT sanity and carries no effect."""
    rng = np.random.default_rng(0)
    base = 0.1 + 0.1 * rng.random(n_samples)  # the same windows in every seed
    rows = []
    for seed, schedule in itertools.product(seeds, freezing):
        shift = rng.normal(0, seed_sd)
        for pretraining, method in itertools.product(STRATEGIES, ("dtd", "saliency", "random")):
            log_effect = 0.0
            if pretraining != "none" and method != "random":
                log_effect = effect + per_block * (DEPTHS[schedule] or 0) + shift
            cell = {"seed": seed, "pretraining": pretraining, "freezing": schedule,
                    "attribution": method, "branch": "morphology", "dataset": "synthetic",
                    "stage_key": "k", "category": None, "record_id": None}
            values = base * np.exp(log_effect) + rng.normal(0, 0.005, n_samples)
            rows += [{**cell, "metric": "relevance_mass_accuracy", "region": "p_wave",
                      "sample": i, "value": v, "chance": 0.05} for i, v in enumerate(values)]
            # the control: the TP interval's density, which no pretraining moves
            control = base + rng.normal(0, 0.005, n_samples)
            rows += [{**cell, "metric": "interval_profile", "region": region, "sample": i,
                      "value": v} for region, values_ in (("P", values), ("TP", control))
                     for i, v in enumerate(values_)]
            rows += [{**cell, "metric": "mprt", "region": "", "sample": i,
                      "value": 0.9 if method == "random" else 0.1} for i in range(2)]
    config = {"name": "fake", "data": {"dataset": "synthetic"}, "model": "xecgarch",
              "seeds": list(seeds), "primary_metric": "relevance_mass_accuracy",
              "pretraining": list(STRATEGIES), "freezing": list(freezing),
              "attributions": ["dtd", "saliency", "random"], "metrics": list(METRICS),
              "explain": {"alignment": {"morphology": ["p_wave"], "rhythm": ["r_peak"]}},
              "primary_tests": list(tests)}
    run = RunInfo(run_id="run-1", suite="fake", config_hash="abc", config=config,
                  provenance={}, started=1_700_000_000.0, status="ok")
    schedules = {f: {"name": f, "depth": DEPTHS[f]} for f in freezing}
    frame = pd.DataFrame(rows)
    first = frame[(frame["pretraining"] == "none") & (frame["freezing"] == freezing[0])]
    untrained = first.assign(value=first["value"] / 2, pretraining=None, freezing=None)
    return RunResults(frame, run, Suite.model_validate(config), METRICS, strategies=STRATEGIES,
                      schedules=schedules,
                      untrained=untrained)


def test_a_planted_effect_is_found_and_said_in_words() -> None:
    (result,) = primary_results(make_results(effect=0.5))
    assert np.exp(result.effect.estimate) == pytest.approx(np.exp(0.5), rel=0.1)
    assert result.effect.p_value < 0.001 and result.effect.n_seeds == 5
    assert np.exp(result.effect.low) < np.exp(0.5) < np.exp(result.effect.high)
    text = answer_paragraph([result])
    assert ("p_wave_detection (vs none, nothing frozen) moved the morphology branch's "
            "relevance onto") in text
    assert "over 5 seeds" in text


def test_a_run_of_some_of_the_declared_seeds_is_called_an_interim_answer() -> None:
    """A grid run in parts: the primary tests on 5 of 10 declared seeds are an interim look."""
    (result,) = primary_results(make_results(effect=0.5))
    text = answer_paragraph([result], range(5), list(range(10)))
    assert text.startswith("**Interim answer (5 of the 10 seeds the suite declares;")
    assert answer_paragraph([result], range(10), list(range(10))).startswith(
        "**The answer (pre-registered primary tests).**")
    assert answer_paragraph([result], range(5), None) == answer_paragraph([result])


def test_export_freezes_the_bundled_suites_seeds_for_a_run_of_some_of_them() -> None:
    from xecgbench.report.results_files import _planned_seeds

    run = {"suite": "paper", "config": {"seeds": [0, 1, 2]}}
    assert _planned_seeds(run) == list(range(10))
    assert _planned_seeds({**run, "config": {"seeds": list(range(10))}}) is None
    assert _planned_seeds({**run, "suite": "my-suite"}) is None


def test_methods_failing_a_sanity_check_are_left_out_and_named() -> None:
    (result,) = primary_results(make_results())
    assert result.methods == ("dtd", "saliency")
    assert result.excluded == ("random fails MPRT sanity (0.90 > 0.5)",)


def test_no_effect_gives_no_evidence_and_states_the_power() -> None:
    (result,) = primary_results(make_results(effect=0.0, seed_sd=0.3))
    assert result.effect.p_value > 0.05
    assert "No evidence that" in answer_paragraph([result])
    sd = result.effect.sd
    assert (f"80 % power only for effects of ≥ 1.7 between-seed SDs (×{np.exp(1.682 * sd):.2f} "
            "at the spread between seeds seen here)") in answer_paragraph([result])


def test_too_few_seeds_is_not_tested() -> None:
    (result,) = primary_results(make_results(seeds=[0]))
    assert result.note.startswith("not tested: 1 seed")
    assert "not tested (1 seed(s)" in answer_paragraph([result])


def test_a_run_without_primary_tests_says_everything_is_exploratory() -> None:
    board = build_leaderboard(make_results(tests=()))
    assert board.answer == NO_TESTS
    assert "answer-primary" not in [t.name for t in board.tables]


def test_the_answer_opens_markdown_and_html_before_any_table() -> None:
    results = make_results()
    board = build_leaderboard(results)
    assert board.tables[0].name == "answer-primary"
    markdown = to_markdown(board)
    assert markdown.index("**The answer") < markdown.index("\n## ")
    page = render_report(board, results)
    assert page.index('<p class="answer"><strong>The answer') < page.index("<table")


def test_depth_trend_is_tested_on_ordered_depths_and_leaves_iterative_out() -> None:
    freezing = ("none", "freeze_first_k(k=1)", "freeze_first_k(k=2)", "freeze_first_k(k=3)",
                "iterative")
    (result,) = primary_results(make_results(per_block=0.2, freezing=freezing))
    assert np.exp(result.trend.estimate) == pytest.approx(np.exp(0.2), rel=0.05)
    assert result.trend.p_value < 0.01
    assert result.trend_note == ("own score over k = 0, 1, 2, 3 (iterative: no fixed depth, "
                                 "left out)")
    assert ("With each further frozen block the pretrained models' own score changes: ×1.2"
            in answer_paragraph([result]))


def test_the_baseline_is_the_unfrozen_model_never_one_with_frozen_random_blocks() -> None:
    """A from-scratch model whose frozen blocks keep random weights decays with depth; were it
    the reference of each depth, that decay would pass for a pretraining effect."""
    freezing = ("none", "freeze_first_k(k=1)", "freeze_first_k(k=2)", "freeze_first_k(k=3)")
    results = make_results(effect=0.0, freezing=freezing)
    scores = results.scores.copy()
    decayed = (scores["pretraining"] == "none") & (scores["freezing"] != "none")
    depth = scores["freezing"].map(DEPTHS).astype(float)
    scores.loc[decayed, "value"] *= np.exp(-0.3 * depth[decayed])
    (result,) = primary_results(RunResults(scores, results.run, results.suite, results.metrics,
                                           strategies=STRATEGIES, schedules=results.schedules,
                                           untrained=results.untrained))
    (clean,) = primary_results(results)
    assert result.reference == "none"
    assert result.effect.estimate == pytest.approx(clean.effect.estimate)
    assert abs(result.effect.estimate) < 0.1


def test_a_gain_the_control_shares_is_not_onto_the_target() -> None:
    results = make_results(effect=0.5)
    scores = results.scores.copy()
    moved = (scores["region"] == "TP") & (scores["pretraining"] != "none") \
        & (scores["attribution"] != "random")
    scores.loc[moved, "value"] *= np.exp(0.5)
    (result,) = primary_results(RunResults(scores, results.run, results.suite, results.metrics,
                                           strategies=STRATEGIES, schedules=results.schedules,
                                           untrained=results.untrained))
    assert result.effect.p_value < 0.001
    assert verdict(result) == "a gain not specific to the target"
    assert "interval_profile:TP gains as much" in answer_paragraph([result])
    (planted,) = primary_results(results)
    assert verdict(planted) == "onto the target"


def test_a_declared_control_the_run_did_not_score_blocks_the_claim() -> None:
    test = {**TEST, "controls": ["t_wave_shifted"]}
    (result,) = primary_results(make_results(effect=0.5, tests=(test,)))
    assert result.controls[0].specific is None
    assert verdict(result) == "a gain not specific to the target"
    assert "control t_wave_shifted not scored on this run" in answer_paragraph([result])


def test_an_interval_inside_the_margin_concludes_no_effect() -> None:
    wide = {**TEST, "margin": 0.5}
    (result,) = primary_results(make_results(effect=0.0, seed_sd=0.01, tests=(wide,)))
    assert verdict(result) == "no effect (within ×0.61 – ×1.65)"
    (narrow,) = primary_results(make_results(effect=0.0, seed_sd=0.3))
    assert verdict(narrow) == "no evidence of an effect"


def test_each_pooled_method_is_shown_alone_and_secondary_tests_are_not_the_answer() -> None:
    secondary = {**TEST, "name": "pooled", "role": "secondary"}
    results = make_results(tests=(TEST, secondary))
    first, second = primary_results(results)
    assert [m for m, _ in first.per_method] == ["dtd", "saliency"]
    text = answer_paragraph([first, second])
    assert text.count("moved the morphology branch's relevance") == 1
    assert "1 secondary test(s) stand in the table below" in text
    table = build_leaderboard(results).table("answer-primary")
    assert list(table.rows["role"]) == ["primary", "secondary"]
    assert table.rows.iloc[0]["per method"].startswith("dtd ×1.6")


def test_two_depths_do_not_make_a_trend() -> None:
    (result,) = primary_results(make_results(per_block=0.2))
    assert result.trend is None
    assert result.trend_note == ("depth not tested: needs ≥ 3 freezing depths, the run has "
                                 "k = 0, 2 (iterative: no fixed depth, left out)")
    table = build_leaderboard(make_results()).table("answer-primary")
    assert table.rows.iloc[0]["depth"].startswith("depth not tested")


def test_a_run_recorded_before_depths_existed_says_so() -> None:
    results = make_results()
    old = RunResults(results.scores, results.run, results.suite, results.metrics,
                     strategies=STRATEGIES)
    (result,) = primary_results(old)
    assert result.trend_note == "depth not tested: the run's record declares no freezing depths"


def _simulated_per_seed(rng: np.random.Generator, theta: float, n_seeds: int,
                        n_windows: int = 24) -> np.ndarray:
    """The test's per-seed statistic on one simulated run: 2 schedules × 2 methods, window
    effects shared by every seed, a seed effect on the log scale, additive window noise."""
    base = 0.15 + 0.1 * rng.random(n_windows)
    pairs = {}
    for schedule in ("a", "b"):
        shift = rng.normal(0, 0.2, (n_seeds, 1))
        pairs[schedule] = [
            (Grid(base * np.exp(theta + shift) + rng.normal(0, 0.01, (n_seeds, n_windows))),
             Grid(base + rng.normal(0, 0.01, (n_seeds, n_windows))))
            for _ in range(2)
        ]
    return pooled(schedule_log_ratios(pairs))


@pytest.mark.parametrize("n_seeds", [5, 10])
def test_the_interval_covers_the_true_effect_at_its_nominal_rate(n_seeds: int) -> None:
    rng = np.random.default_rng(n_seeds)
    theta, hits, n_sim = 0.4, 0, 2000
    for _ in range(n_sim):
        test = seed_t_test(_simulated_per_seed(rng, theta, n_seeds))
        hits += test.low <= theta <= test.high
    assert 0.93 <= hits / n_sim <= 0.97


@pytest.mark.parametrize("n_seeds", [5, 10])
def test_the_test_holds_its_size_under_the_null(n_seeds: int) -> None:
    rng = np.random.default_rng(100 + n_seeds)
    n_sim = 2000
    rejected = sum(seed_t_test(_simulated_per_seed(rng, 0.0, n_seeds)).p_value < 0.05
                   for _ in range(n_sim))
    assert 0.03 <= rejected / n_sim <= 0.07


def test_a_percentile_bootstrap_over_five_seeds_would_undercover() -> None:
    """Why the interval is a t-interval: the bootstrap over 5 seeds covers ≈ 84 %."""
    rng = np.random.default_rng(7)
    samples = np.repeat(rng.normal(0, 1, (1000, 1, 5)), 400, axis=1)
    draws = np.take_along_axis(samples, rng.integers(0, 5, (1000, 400, 5)), axis=2).mean(axis=2)
    low, high = np.percentile(draws, [2.5, 97.5], axis=1)
    assert 0.80 <= np.mean((low <= 0) & (high >= 0)) <= 0.88


def test_minimum_detectable_effect_is_the_planned_4_75_sd_and_holds_in_a_simulation() -> None:
    # Holm over 48 cells at 5 seeds: the first step's alpha; the issue simulated ≈ 4.75 SD.
    assert minimum_detectable_effect(5, 0.05 / 48) == pytest.approx(4.75, abs=0.1)
    assert stats.t.ppf(1 - 0.05 / 96, 4) > 8.5  # the t the issue quotes for that step
    d = minimum_detectable_effect(5)
    rng = np.random.default_rng(3)
    power = np.mean(stats.ttest_1samp(rng.normal(d, 1, (4000, 5)), 0, axis=1).pvalue < 0.05)
    assert power == pytest.approx(0.8, abs=0.025)
    assert minimum_detectable_effect(10) < d < minimum_detectable_effect(3)


def test_benjamini_hochberg_matches_its_definition_and_keeps_nan() -> None:
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    adjusted = benjamini_hochberg(p)
    np.testing.assert_allclose(adjusted[[0, 1, 3, 4]], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert np.isnan(adjusted[2])


def test_the_exploratory_table_counts_each_distinct_cell_once() -> None:
    results = make_results()
    scores = results.scores
    twin = scores[scores["pretraining"] == "p_wave_detection"].assign(pretraining="both")
    strategies = {**STRATEGIES, "both": {**STRATEGIES["p_wave_detection"], "name": "both"}}
    config = {**results.run.config, "pretraining": [*STRATEGIES, "both"]}
    doubled = RunResults(pd.concat([scores, twin], ignore_index=True),
                         results.run.model_copy(update={"config": config}),
                         Suite.model_validate(config), METRICS, strategies=strategies,
                         schedules=results.schedules)
    table = build_leaderboard(doubled).table("answer-pretraining")
    assert "exploratory" in table.title and "Benjamini–Hochberg" in table.caption
    assert set(table.rows["pretraining"]) == {"p_wave_detection ≡ both"}
    assert len(table.values) == len(table.rows) == 9  # 3 methods × 3 schedules, each once
    single = build_leaderboard(results).table("answer-pretraining").values
    np.testing.assert_allclose(table.values["p_value"], single["p_value"])


@pytest.mark.parametrize(("override", "message"), [
    ("primary_tests=[{name: a, branch: rhythm, pretraining: nope}]",
     "primary_tests[0] (a): pretraining 'nope' is not in the suite's list"),
    ("primary_tests=[{name: a, branch: morphology, pretraining: p_wave_detection, methods: [xx]}]",
     "primary_tests[0] (a): methods 'xx' is not in the suite's list"),
    ("primary_tests=[{name: a, branch: morphology, pretraining: p_wave_detection, region: qrs}]",
     "region 'qrs' is not paired with morphology"),
])
def test_a_primary_test_naming_nothing_in_the_suite_is_refused(override: str,
                                                               message: str) -> None:
    from xecgbench.run.config import SuiteError, load_suite

    with pytest.raises(SuiteError, match=re.escape(message)):
        load_suite("quick-pretraining", [override])


def test_suites_without_primary_tests_keep_their_config_hash() -> None:
    from xecgbench.run.config import content_hash, load_suite

    suite = load_suite("quick-pretraining", ["primary_tests=[]"])
    before = suite.model_dump(mode="json",  # the fields the hash had before these existed
                              exclude={"device": True, "stage_time_limit_s": True,
                                       "primary_tests": True, "random_features": True,
                                       "about": True,
                                       "explain": {"sample", "costly_attribution"},
                                       "training": {"augment", "validate_on"},
                                       "pretraining_budget": {"augment", "validate_on"}})
    assert suite.config_hash() == content_hash(before)[:12]
    assert load_suite("quick-pretraining").config_hash() != suite.config_hash()


def test_a_model_above_its_untrained_initialisation_is_tested_against_it() -> None:
    """``model: above_untrained``: the trained model against its own initialisation (the
    fixture's untrained rows score half the trained ones: ×2), with the same controls."""
    test = {"name": "dtd finds it", "branch": "morphology", "pretraining": "none",
            "model": "above_untrained", "methods": ["dtd"], "region": "p_wave",
            "controls": ["interval_profile:TP"]}
    (result,) = primary_results(make_results(tests=(test,)))
    assert result.baseline == "its untrained initialisation"
    assert np.exp(result.effect.estimate) == pytest.approx(2.0, rel=0.05)
    assert result.effect.p_value < 0.001 and result.effect.n_seeds == 5
    assert result.controls[0].gain is not None  # the control compared with its null too
    text = answer_paragraph([result])
    assert "`dtd` on the trained model (none pretraining, vs its untrained initialisation) " \
           "raised the morphology branch's relevance on `p_wave` by ×2.00" in text


def test_a_test_against_the_untrained_model_needs_its_rows() -> None:
    from xecgbench.run.config import SuiteError, load_suite

    with pytest.raises(SuiteError, match=r"needs explain\.untrained_baseline: true"):
        load_suite("quick", ["explain.untrained_baseline=false"])
    with pytest.raises(SuiteError, match="remove baseline"):
        load_suite("quick", ["primary_tests=[{name: a, branch: morphology, pretraining: none, "
                             "baseline: none, model: above_untrained}]"])


def test_the_default_runs_board_opens_with_what_its_data_can_show() -> None:
    """The committed result of `xecgbench run` names its data, what it cannot show and where
    the real-data answer is, before the answer per method."""
    from pathlib import Path

    board = Path(__file__).resolve().parents[3] / "leaderboards" / "synthetic-planted"
    first = (board / "leaderboard.md").read_text(encoding="utf-8").split("\n\n")[1]
    assert first.startswith("**About this data.** These are synthetic ECGs")
    assert "docs/results.md" in first and "cannot show" in first
    for method in ("dtd", "lrp_epsilon", "saliency", "integrated_gradients"):
        assert f"`{method}` on the trained model (none pretraining" in first
