"""The results page's model checks: targets, baseline seeds and the majority rule, from scores."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xecgbench.errors import UserError
from xecgbench.plugins.components import TRIVIAL_BRANCH as TRIVIAL
from xecgbench.report.board import RunResults
from xecgbench.report.pages.model_checks import load_targets, model_checks
from xecgbench.report.results_files import RunInfo
from xecgbench.run.config import Suite

REPO = Path(__file__).resolve().parents[3]
TARGETS = load_targets(REPO / "leaderboards" / "targets.yaml")

STRATEGIES = {"none": {"name": "none", "branches": []},
              "p_wave": {"name": "p_wave", "branches": ["morphology"]}}
CONFIG = {"name": "fake", "data": {"dataset": "synthetic"}, "model": "xecgarch",
          "pretraining": list(STRATEGIES), "freezing": ["none"], "attributions": ["dtd"],
          "metrics": ["accuracy"], "primary_metric": "accuracy"}
RUN = RunInfo(run_id="r", suite="fake", config_hash="h", config=CONFIG, provenance={},
              started=0.0, status="ok")


def _row(pretraining: str, seed: int, branch: str, metric: str, value: float) -> dict:
    return {"dataset": "d", "seed": seed, "pretraining": pretraining, "freezing": "none",
            "attribution": None, "branch": branch, "metric": metric, "category": "accuracy",
            "region": "", "sample": -1, "record_id": None, "value": value, "label": None,
            "chance": None}


def _results(baseline_balanced: list[float], morphology_accuracy: float) -> RunResults:
    rows = []
    for seed, balanced in enumerate(baseline_balanced):
        rows += [_row("none", seed, "ensemble", "balanced_accuracy", balanced),
                 _row("p_wave", seed, "ensemble", "balanced_accuracy", 0.92),
                 _row("p_wave", seed, "ensemble", "f1_af", 0.80)]
        for pretraining in STRATEGIES:
            rows += [_row(pretraining, seed, TRIVIAL, "accuracy", 0.79),
                     _row(pretraining, seed, "morphology", "accuracy", morphology_accuracy),
                     _row(pretraining, seed, "rhythm", "accuracy", 0.90)]
    reports = [{"pretraining": "p_wave", "seed": s, "p_wave_f1": 0.7 + s / 10} for s in range(2)]
    return RunResults(pd.DataFrame(rows), RUN, Suite.model_validate(CONFIG), {}, reports,
                      STRATEGIES,
                      flags=[{"pretraining": "none", "freezing": "none", "seed": 0,
                              "branch": "morphology", "attribution": None,
                              "flag": "constant output"}])


def test_targets_are_judged_per_metric_and_per_seed() -> None:
    text = "\n".join(model_checks(_results([0.86, 0.84, 0.90], 0.95), TARGETS))
    assert "f1_af 0.800 (target ≥ 0.85: not met)" in text
    assert "balanced_accuracy 0.920 (target ≥ 0.90: met)" in text
    assert "per seed 0.860, 0.840, 0.900; 2 of 3 seeds reach" in text
    assert "predictor, accuracy** (0.790–0.790): 12 of 12 models beat " \
        "it (morphology 6/6, rhythm 6/6)." in text
    assert "1 flagged (constant output: 1)" in text
    assert "p_wave_f1 0.75 (seeds 0.7–0.8, n = 2)" in text


def test_a_branch_at_the_majority_rate_is_named() -> None:
    text = "\n".join(model_checks(_results([0.9, 0.9], 0.79), TARGETS))
    assert "4 of 8 models beat it (morphology 0/4, rhythm 4/4); not: morphology (none, none, " \
        "seed 0: 0.790)" in text


def test_a_malformed_targets_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "targets.yaml"
    bad.write_text("rank_by: balanced_accuracy\nbest_cell: {}\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"(?s)targets\.yaml: not a model-targets file.*best_cell"):
        load_targets(bad)
