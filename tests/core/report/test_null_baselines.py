"""Null baselines and honest targets: the untrained model per seed × method, the amplitude
control, AF windows kept apart from the P-wave target, mask-informed methods ranked apart."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_results import null_results

from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.report.board import RunResults
from xecgbench.report.board_format.score_parts import parse_scores
from xecgbench.report.rendering.text_formats import to_markdown
from xecgbench.report.results_files import load_store
from xecgbench.report.table_builders.nulls import NOT_ABOVE, split_af_regions, with_model_state
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.config import ExplainConfig, load_suite
from xecgbench.run.layout import STORE_NAME
from xecgbench.run.plan import plan
from xecgbench.run.runner import run_suite
from xecgbench.run.store import ResultsStore, score_block_digest, scores_digest

PRIMARY = "relevance_mass_accuracy"
METRICS = {PRIMARY: {"name": PRIMARY, "category": "localisation", "higher_is_better": True}}


@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory, system: PluginSystem) -> Path:
    """The smoke suite on two seeds (two pretrainings × two freezings = 4 cells per seed)."""
    out = tmp_path_factory.mktemp("nulls")
    summary = run_suite(load_suite("smoke", ["seeds=[0, 1]"]), system, out, quiet=True)
    assert summary.ok
    return out


def test_plan_has_one_untrained_attribute_stage_per_seed_and_method(system) -> None:
    suite = load_suite("smoke", ["seeds=[0, 1]"])
    tasks = [p for p in plan(suite, system) if p.task.labels.get("model_state") == "untrained"]
    attribute = [p for p in tasks if p.task.stage == "attribute"]
    pairs = sorted((p.task.seed, p.task.labels["attribution"]) for p in attribute)
    methods = [a.display for a in suite.attributions]
    assert pairs == sorted(itertools.product(suite.seeds, methods))
    assert all(p.needs == {} for p in attribute)  # rebuilt from the seed, no trained model
    assert all(p.task.labels["pretraining"] is None for p in tasks)
    off = load_suite("smoke", ["seeds=[0, 1]", "explain.untrained_baseline=false"])
    assert not [p for p in plan(off, system) if p.task.labels.get("model_state")]


def test_untrained_rows_exist_for_every_seed_and_method_at_one_stage_each(
        smoke_run: Path, system: PluginSystem) -> None:
    suite = load_suite("smoke", ["seeds=[0, 1]"])
    with ResultsStore(smoke_run / STORE_NAME) as store:
        run_id = store.latest_run_id()
        stages = store.finished_stages(run_id, "attribute")
        scores = store.scores_frame(run_id)
    untrained = [s for s in stages if s.labels.get("model_state") == "untrained"]
    n_methods, n_cells = len(suite.attributions), 3  # none × freeze_first_k is not run
    assert len(untrained) == len(suite.seeds) * n_methods  # not per cell
    assert len(stages) == len(suite.seeds) * n_methods * (n_cells + 1)
    rows = scores[scores["model_state"] == "untrained"]
    assert set(map(tuple, rows[["seed", "attribution"]].drop_duplicates().to_numpy())) == set(
        itertools.product(suite.seeds, [a.display for a in suite.attributions]))
    assert rows["pretraining"].isna().all() and rows["freezing"].isna().all()
    assert set(scores.loc[scores["model_state"] != "untrained", "model_state"]) == {"trained"}
    # the null explains the same windows as every cell
    trained = scores[(scores["model_state"] == "trained") & scores["attribution"].notna()]
    assert set(rows["sample"]) == set(trained["sample"])


def test_leaderboard_reads_the_null_and_keeps_the_p_wave_target_to_non_af(
        smoke_run: Path, system: PluginSystem) -> None:
    results = load_store(smoke_run / STORE_NAME, system)
    assert not results.untrained.empty and (results.untrained["model_state"] == "untrained").all()
    assert (results.scores["model_state"] == "trained").all()
    morph = results.scores[(results.scores["branch"] == "morphology")
                           & (results.scores["metric"] == PRIMARY)]
    assert set(morph.loc[morph["region"] == "p_wave", "label"]) == {0}  # non-AF windows only
    assert set(morph.loc[morph["region"] == "atrial_interval", "label"]) == {1}
    assert results.attributions["amplitude"]["family"] == "control"
    board = build_leaderboard(results)
    answer = board.table("answer-methods")
    metrics = set(answer.values["metric"])
    assert {"untrained", "above untrained", "chance", "atrial_interval (AF)"} <= metrics
    rows = answer.rows.set_index(["branch", "attribution"])
    assert rows.loc[("morphology", "amplitude"), "role"] == "control"
    assert np.isnan(rows.loc[("morphology", "amplitude"), "rank"])  # controls are not ranked
    # amplitude ignores the model: untrained and trained maps are the same
    assert rows.loc[("rhythm", "amplitude"), "vs untrained"] == NOT_ABOVE
    alignment = board.table("alignment-morphology")
    assert "above untrained" in set(alignment.values["metric"])
    assert "atrial_interval" in {c.region for c in alignment.columns}
    assert "untrained model" in to_markdown(board)


def _answer(results: RunResults) -> pd.DataFrame:
    return build_leaderboard(results).table("answer-methods").rows.set_index("attribution")


def test_a_method_not_above_its_untrained_score_is_listed_unranked() -> None:
    # "lucky" scores highest raw, but its untrained model scores higher still
    rows = _answer(null_results({"learnt": 0.40, "lucky": 0.60}, {"learnt": 0.10, "lucky": 0.70}))
    assert rows.loc["lucky", "vs untrained"] == NOT_ABOVE
    assert rows.loc["learnt", "vs untrained"] == "above untrained"
    assert rows.loc["learnt", "rank"] == 1 and np.isnan(rows.loc["lucky", "rank"])
    assert rows.loc["lucky", "gates"] == NOT_ABOVE
    assert rows.loc["learnt", "gates"] == "passes (controls: not in this run)"
    assert rows.loc["learnt", "best"] == "only ranked method"
    assert list(rows.index) == ["learnt", "lucky"]  # unranked below the ranked


AMPLITUDE_CONTROL = {"amplitude": {"name": "amplitude", "family": "control"}}


def test_a_method_below_the_amplitude_control_is_unranked_with_that_gate_named() -> None:
    # "weak" is well above its untrained model and chance, but below the amplitude map
    results = null_results({"good": 0.50, "weak": 0.30, "amplitude": 0.40},
                       {"good": 0.10, "weak": 0.10, "amplitude": 0.40}, AMPLITUDE_CONTROL)
    rows = _answer(results)
    assert rows.loc["weak", "vs untrained"] == "above untrained"
    assert rows.loc["weak", "gates"] == "not above amplitude"
    assert np.isnan(rows.loc["weak", "rank"]) and rows.loc["weak", "best"] == "—"
    assert rows.loc["good", "rank"] == 1 and rows.loc["good", "gates"] == "passes"
    assert rows.loc["amplitude", "role"] == "control" and rows.loc["amplitude", "gates"] == "—"
    values = build_leaderboard(results).table("answer-methods").values
    weak = values[(values["attribution"] == "weak") & (values["metric"] == "above amplitude")]
    assert weak["mean"].iloc[0] == pytest.approx(-0.10, abs=0.01)


def test_a_method_at_or_below_chance_is_unranked() -> None:
    # "flat" beats its untrained model (0.02) but stays below chance (0.1); "bad" fails all
    results = null_results({"good": 0.50, "flat": 0.08, "bad": 0.05, "amplitude": 0.20},
                       {"good": 0.10, "flat": 0.02, "bad": 0.30, "amplitude": 0.20},
                       AMPLITUDE_CONTROL)
    rows = _answer(results)
    assert rows.loc["flat", "vs untrained"] == "above untrained"
    assert rows.loc["flat", "gates"] == "not above amplitude; not above chance"
    assert rows.loc["bad", "gates"] == ("not above untrained; not above amplitude; "
                                        "not above chance")
    assert rows[rows["rank"].notna()].index.tolist() == ["good"]


def test_ranked_methods_are_ordered_by_their_score_not_by_the_gain_over_untrained() -> None:
    # "mid" gains more over its untrained model (+0.35) than "high" (+0.10), "high" scores more
    rows = _answer(null_results({"high": 0.60, "mid": 0.45}, {"high": 0.50, "mid": 0.10}))
    assert rows.loc["high", "rank"] == 1 and rows.loc["mid", "rank"] == 2
    assert rows.loc["high", "best"].startswith("best (by score")
    assert rows.loc["mid", "best"] == "below top"


def test_gates_flip_for_a_lower_is_better_metric() -> None:
    results = null_results({"low": 0.05, "high": 0.50}, {"low": 0.30, "high": 0.60})
    lower = {PRIMARY: {**METRICS[PRIMARY], "higher_is_better": False}}
    rows = _answer(dataclasses.replace(results, metrics=lower))
    assert rows.loc["low", "rank"] == 1 and rows.loc["low", "vs untrained"] == "below untrained"
    assert rows.loc["high", "vs untrained"] == "below untrained"
    assert rows.loc["high", "gates"] == "not below chance"  # 0.5 against a chance of 0.1
    assert np.isnan(rows.loc["high", "rank"])


def test_coverage_counts_undefined_scores_of_every_configuration() -> None:
    results = null_results({"a": 0.40}, {"a": 0.10})
    scores = results.scores.copy()
    # one pretraining's score undefined on one non-AF window in every seed: the mean over
    # configurations is still defined there, the scores are not
    hole = (scores["pretraining"] == "none") & (scores["sample"] == 0)
    scores.loc[hole, "value"] = np.nan
    table = build_leaderboard(dataclasses.replace(results, scores=scores)).table(
        "answer-methods")
    rows = table.rows.set_index("attribution")
    assert rows.loc["a", "coverage"] == "90.0%"  # 4 of 2 × 4 seeds × 5 windows undefined
    values = table.values
    assert values.loc[values["metric"] == PRIMARY, "coverage"].iloc[0] == pytest.approx(0.9)


def test_best_is_not_claimed_without_a_paired_difference() -> None:
    rows = _answer(null_results({"a": 0.40, "b": 0.40}, {"a": 0.10, "b": 0.10}))
    assert rows.iloc[0]["best"] == "top, not separable from every other"
    assert "tied with top" in set(rows["best"])


def test_a_mask_informed_method_is_marked_and_ranked_apart() -> None:
    informed = {"occlusion_by_mask": {"name": "x", "family": "perturbation",
                                      "mask_informed": True},
                "dtd": {"name": "dtd", "family": "propagation", "mask_informed": False}}
    results = null_results({"dtd": 0.3, "occlusion_by_mask": 0.9},
                       {"dtd": 0.1, "occlusion_by_mask": 0.25}, informed)
    rows = _answer(results)
    assert rows.loc["occlusion_by_mask", "role"] == "mask-informed"
    assert np.isnan(rows.loc["occlusion_by_mask", "rank"])
    assert rows.loc["occlusion_by_mask", "best"] == "ranked apart: mask-informed #1"
    assert rows.loc["dtd", "rank"] == 1  # first among methods that do not read the masks
    alignment = build_leaderboard(results).table("alignment-morphology").rows
    assert set(alignment.loc[alignment["attribution"] == "occlusion_by_mask", "role"]) == {
        "mask-informed"}


def test_p_wave_alignment_uses_only_non_af_windows() -> None:
    results = null_results({"dtd": 0.3}, {"dtd": 0.1})
    p_wave = results.scores[results.scores["region"] == "p_wave"]
    assert set(p_wave["label"]) == {0}
    assert set(results.scores.loc[results.scores["region"] == "atrial_interval", "label"]) == {1}
    values = build_leaderboard(results).table("answer-methods").values
    n = values[(values["metric"] == PRIMARY) & (values["attribution"] == "dtd")]["n_records"]
    assert int(n.iloc[0]) == 5  # of 10 windows, the 5 non-AF ones


def test_split_renames_af_rows_and_their_sub_scores_only() -> None:
    scores = pd.DataFrame({"region": ["p_wave", "p_wave", "p_wave/x", "r_peak", "p_wave"],
                           "label": [0, 1, 1, 1, np.nan]})
    out = split_af_regions(scores, ExplainConfig().af_regions)  # the default
    assert list(out["region"]) == ["p_wave", "atrial_interval", "atrial_interval/x", "r_peak",
                                   "p_wave"]
    same = split_af_regions(scores, {})
    assert list(same["region"]) == list(scores["region"])


def test_rows_stored_before_model_state_keep_their_checksum() -> None:
    old = [("k", "d", 0, "none", "none", "dtd", "rhythm", "m", "c", "", 1, "r", 0.5, 0, 0.1)]
    assert score_block_digest([(*old[0], None)]) == scores_digest(old)  # what was stored
    assert score_block_digest([(*old[0], "untrained")]) != scores_digest(old)


def test_raw_scores_without_model_state_read_as_trained(tmp_path: Path) -> None:
    frame = pd.DataFrame([{"dataset": "d", "seed": 0, "pretraining": "none", "freezing": "none",
                           "attribution": "dtd", "branch": "rhythm", "metric": "m",
                           "category": "c", "region": "", "sample": 1, "record_id": "r",
                           "value": 0.5, "label": 0, "chance": 0.1}])
    path = tmp_path / "scores.csv.gz"
    scores = parse_scores(gzip.compress(frame.to_csv(index=False).encode()), path)
    assert list(with_model_state(scores)["model_state"]) == ["trained"]


def test_results_without_a_null_rank_by_the_raw_score() -> None:
    results = null_results({"a": 0.5, "b": 0.2}, {"a": 0.1, "b": 0.1})
    bare = dataclasses.replace(results, untrained=pd.DataFrame())
    rows = _answer(bare)
    assert rows.loc["a", "rank"] == 1 and rows.loc["a", "vs untrained"] == "no untrained baseline"
