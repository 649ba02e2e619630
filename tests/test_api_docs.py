"""docs/api.md's examples run as printed: a model that is not a plugin scored on synthetic
windows, and a suite run from Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_the_two_examples() -> None:
    blocks = _python_blocks()
    assert any("score_model(" in b for b in blocks)
    assert any("run_suite(" in b for b in blocks)


def test_the_scoring_example_runs_verbatim() -> None:
    block = next(b for b in _python_blocks() if "score_model(" in b)
    namespace: dict = {}
    exec(compile(block, str(PAGE), "exec"), namespace)
    report, model = namespace["report"], namespace["model"]
    assert not hasattr(model, "explainable")  # a plain module, not a plugin's BranchedModel
    summary = report.statistics["summary"]
    scored = summary[summary["metric"] == "relevance_mass_accuracy"]
    assert set(scored["region"]) == {"p_wave", "qrs", "r_peak", "t_wave"}
    assert scored["mean"].between(0, 1).all() and scored["chance"].between(0, 1).all()
    assert (summary["metric"] == "accuracy").sum() == 1


def test_the_suite_example_runs_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    block = next(b for b in _python_blocks() if "run_suite(" in b)
    namespace: dict = {}
    exec(compile(block, str(PAGE), "exec"), namespace)
    result = namespace["result"]
    assert result.ok
    assert result.leaderboard == Path("smoke-results") / "leaderboard.md"
    assert (tmp_path / result.leaderboard).is_file()
    assert set(result.scores["seed"]) == {0}
    assert set(result.scores["attribution"].dropna()) == {"saliency"}
