"""Tests of the leaderboard tables on a seeded fake run with planted effects."""

from __future__ import annotations

import re

import pytest
from fake_results import make_results

from xecgbench.report.board import RunResults
from xecgbench.report.rendering.text_formats import (
    latex_escape,
    tidy,
    to_csv,
    to_latex,
    to_markdown,
)
from xecgbench.report.tables import build_leaderboard


@pytest.fixture(scope="module")
def board():
    return build_leaderboard(make_results())


def test_tables_each_answer_one_question(board) -> None:
    names = [t.name for t in board.tables]
    assert names == ["answer-pretraining", "answer-methods", "answer-accuracy",
                     "alignment-morphology", "alignment-rhythm", "interval-profile",
                     "explanation-quality", "pretraining"]


def test_alignment_is_ranked_by_the_primary_metric_and_finds_the_planted_effect(board) -> None:
    table = board.table("alignment-morphology")
    assert list(table.rows["rank"]) == [1, 2, 3, 4]
    top = table.rows.iloc[0]
    assert (top["pretraining"], top["attribution"]) == ("p_wave_detection", "dtd")
    values = table.values
    dsi = values[(values["metric"] == "domain_specificity")
                 & (values["attribution"] == "dtd")].iloc[0]
    assert dsi["mean"] == pytest.approx(0.5 / 0.2, rel=0.05)
    assert dsi["p_value"] < 0.01
    assert dsi["ci_low"] > 1 and dsi["n_records"] == 12
    rand = values[(values["metric"] == "domain_specificity")
                  & (values["attribution"] == "random")].iloc[0]
    assert rand["mean"] == pytest.approx(1.0, abs=0.05)


def test_lower_is_better_primary_ranks_ascending() -> None:
    results = make_results()
    metrics = {**results.metrics, "relevance_mass_accuracy": {
        **results.metrics["relevance_mass_accuracy"], "higher_is_better": False}}
    flipped = build_leaderboard(RunResults(results.scores, results.run, results.suite, metrics,
                                           results.pretraining))
    last = flipped.table("alignment-morphology").rows.iloc[-1]
    assert (last["pretraining"], last["attribution"]) == ("p_wave_detection", "dtd")


def test_rhythm_table_shows_every_paired_mask(board) -> None:
    headers = [c.header for c in board.table("alignment-rhythm").columns]
    assert "relevance_mass_accuracy [r_peak] ↑" in headers
    assert "relevance_mass_accuracy [qrs] ↑" in headers


def test_mprt_failures_are_flagged(board) -> None:
    rows = board.table("explanation-quality").rows
    verdict = dict(zip(rows["attribution"], rows["MPRT sanity"], strict=False))
    assert verdict == {"dtd": "pass", "random": "FAIL"}
    assert "`random`" in board.table("explanation-quality").caption


def test_interval_profile_columns_in_beat_order(board) -> None:
    headers = [c.header for c in board.table("interval-profile").columns]
    assert headers == ["P", "PR", "QRS", "ST", "T", "TP"]


def test_intervals_are_over_seeds_and_inside_the_data(board) -> None:
    values = board.table("pretraining").values.iloc[0]
    assert values["mean"] == pytest.approx(0.81)
    assert values["n_seeds"] == 3
    assert 0.8 - 1e-9 <= values["ci_low"] < values["mean"] < values["ci_high"] <= 0.82 + 1e-9


def test_no_interval_leaves_its_metric_range(board) -> None:
    frame = tidy(board)
    shares = frame[frame["metric"].isin(["relevance_mass_accuracy", "interval_profile"])]
    assert (shares["ci_low"].dropna() >= 0).all() and (shares["ci_high"].dropna() <= 1).all()


def test_the_answer_finds_the_planted_effect_and_calls_it_robust(board) -> None:
    rows = board.table("answer-pretraining").rows
    dtd = rows[(rows["branch"] == "morphology") & (rows["attribution"] == "dtd")].iloc[0]
    assert dtd["verdict"].startswith("moves onto the target (robust")
    assert dtd["seeds agreeing"] == "3/3"
    rand = rows[(rows["branch"] == "morphology") & (rows["attribution"] == "random")].iloc[0]
    assert rand["verdict"] == "no clear effect"


def test_the_answer_ranks_methods(board) -> None:
    rows = board.table("answer-methods").rows
    morphology = rows[rows["branch"] == "morphology"]
    assert list(morphology["attribution"]) == ["dtd", "random"]
    assert list(morphology["rank"]) == [1, 2]


def test_identical_cells_collapse_into_one_row() -> None:
    results = make_results(pretrainings=("none", "p_wave_detection", "rr_variability"))
    scores = results.scores.copy()
    # rr_variability does not pre-train the morphology branch: its scores there are none's
    morph = scores["branch"] == "morphology"
    none_rows = scores[morph & (scores["pretraining"] == "none")]
    rr = scores[morph & (scores["pretraining"] == "rr_variability")].index
    scores.loc[rr, "value"] = none_rows["value"].to_numpy()
    strategies = {**results.strategies, "rr_variability": {
        "name": "rr_variability", "branches": ["rhythm"], "report_directions": {},
        "report_description": ""}}
    board = build_leaderboard(RunResults(scores, results.run, results.suite, results.metrics,
                                         results.pretraining, strategies))
    rows = board.table("answer-pretraining").rows
    morphology = rows[rows["branch"] == "morphology"]
    assert "rr_variability" not in set(morphology["pretraining"])  # it is the baseline's model
    assert "rr_variability" in set(rows.loc[rows["branch"] == "rhythm", "pretraining"])


def test_markdown_has_every_table_and_the_provenance(board) -> None:
    text = to_markdown(board)
    assert text.count("\n## ") == len(board.tables) + 1
    assert "config hash abc123" in text and "run-1" in text and "2023-11-14" in text
    assert re.search(
        r"\| 1 \| p_wave_detection \| none \| dtd \| 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \|", text
    )


def test_markdown_escapes_plugin_strings() -> None:
    results = make_results(attributions=("a|b<script>",))
    text = to_markdown(build_leaderboard(results))
    assert "<script>" not in text and "a\\|b&lt;script&gt;" in text


def test_csv_is_tidy_one_row_per_cell_and_metric(board) -> None:
    frame = tidy(board)
    assert not frame.duplicated(["table", "pretraining", "freezing", "attribution", "branch",
                                 "metric", "region"]).any()
    assert set(frame["table"]) == {t.name for t in board.tables}
    assert to_csv(board).splitlines()[0] == (
        "table,rank,pretraining,freezing,attribution,branch,metric,region,mean,ci_low,ci_high,"
        "n_seeds,n_records,coverage,p_value"
    )
    morphology = frame[frame["table"] == "alignment-morphology"]
    assert set(morphology["branch"]) == {"morphology"}


def test_latex_is_booktabs_and_escaped() -> None:
    text = to_latex(build_leaderboard(make_results(attributions=("lrp_50%&#",))))
    assert r"\toprule" in text and r"\midrule" in text and r"\bottomrule" in text
    assert r"lrp\_50\%\&\#" in text
    assert latex_escape("a_b ± {c}") == r"a\_b $\pm$ \{c\}"
    columns = re.findall(r"\\begin\{tabular\}\{(\w+)\}", text)
    rows = [line for line in text.splitlines() if line.endswith(r"\\")]
    assert rows and all(line.count(" & ") == len(columns[0]) - 1 for line in rows[:3])


def test_single_seed_shows_means_without_ci() -> None:
    board = build_leaderboard(make_results(seeds=(0,)))
    text = to_markdown(board)
    body = text.split("## Provenance")[0].split("## Clinical")[1]
    assert not re.search(r"\d \[\d", body)  # no interval anywhere
    assert "too few seeds (1) to tell" in to_markdown(board)
