"""A branch that learnt nothing is detected where it is evaluated, recorded, and shown as a
flagged cell instead of being averaged in."""

from __future__ import annotations

from pathlib import Path

import torch
from fake_results import make_results

from xecgbench.plugins.manager import load_plugins
from xecgbench.report.board import RunResults
from xecgbench.report.rendering.text_formats import to_markdown
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import load_suite
from xecgbench.run.explanation_stages import run_attribute
from xecgbench.run.model_stages import run_evaluate
from xecgbench.run.stage_types import StageContext, StageTask, build_model, load_data

TINY = ["pretraining=[none]", "freezing=[none]", "attributions=[saliency]",
        "explain.n_samples=4", "metrics=[accuracy, relevance_mass_accuracy]"]


def _dead_morphology_task(tmp_path: Path, stage: str) -> tuple[StageContext, StageTask]:
    suite = load_suite("smoke", TINY)
    context = StageContext(suite, load_plugins(autoload=False), ArtifactCache(tmp_path))
    _, test = load_data(context)
    model = build_model(context, 0, test.signals.shape[-1])
    with torch.no_grad():  # a head that ignores its features: the same output for every window
        model.branches["morphology"].head.linear.weight.zero_()
    upstream = context.cache.save_state("finetune", "dead", model.state_dict())
    specs = {"pretraining": suite.pretraining[0], "models": suite.model,
             "freezing": suite.freezing[0], "attributions": suite.attributions[0]}
    labels = {"dataset": "synthetic", "seed": 0, "pretraining": "none", "freezing": "none",
              "attribution": "saliency" if stage == "attribute" else None}
    return context, StageTask(stage, f"{stage}-key", 0, specs, labels, {"finetune": upstream})


def test_evaluate_reports_a_constant_branch_and_scores_the_trivial_predictor(
    tmp_path: Path,
) -> None:
    context, task = _dead_morphology_task(tmp_path, "evaluate")
    outcome = run_evaluate(context, task)
    assert outcome.report["constant_output"] == ["morphology"]
    branches = {row["branch"] for row in outcome.scores}
    assert branches == {"morphology", "rhythm", "ensemble", "majority"}


def test_attribute_reports_all_zero_relevance(tmp_path: Path) -> None:
    context, task = _dead_morphology_task(tmp_path, "attribute")
    outcome = run_attribute(context, task)
    assert outcome.report["zero_relevance"]["morphology"] == 1.0
    assert outcome.report["zero_relevance"]["rhythm"] < 1.0


def test_flagged_models_are_listed_and_left_out_of_the_aggregates() -> None:
    results = make_results()
    flag = {"pretraining": "p_wave_detection", "freezing": "none", "seed": 1,
            "branch": "morphology", "attribution": None, "flag": "constant output"}
    flagged = RunResults(results.scores, results.run, results.suite, results.metrics,
                         results.pretraining, results.strategies, [flag])
    board = build_leaderboard(flagged)
    assert "Flagged models" in to_markdown(board)
    values = board.table("alignment-morphology").values
    cell = values[(values["pretraining"] == "p_wave_detection") & (values["attribution"] == "dtd")
                  & (values["metric"] == "relevance_mass_accuracy")].iloc[0]
    assert cell["n_seeds"] == 2  # seed 1 left out
    accuracy = board.table("answer-accuracy").values
    kept = accuracy[(accuracy["pretraining"] == "p_wave_detection")
                    & (accuracy["branch"] == "morphology")].iloc[0]
    assert kept["n_seeds"] == 3  # its accuracy is a real number and stays
