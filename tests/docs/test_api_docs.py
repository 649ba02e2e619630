"""docs/api.md's examples run as printed: a model that is not a plugin scored on synthetic
windows, and a suite run from Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_the_two_examples() -> None:
    blocks = _python_blocks()
    assert any("score_model(" in b for b in blocks)
    assert any("run_suite(" in b for b in blocks)
    assert any("load_board(" in b for b in blocks)


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
    listed = re.search(r'statistics\["summary"\]`: (.*?);', PAGE.read_text(encoding="utf-8"),
                       re.DOTALL)
    assert listed is not None
    named = set(re.findall(r"`(\w+)`", listed.group(1)))
    assert named <= set(summary.columns), named - set(summary.columns)
    assert {"mean", "ci_low", "ci_high", "n_seeds", "n_records", "coverage", "chance"} <= named


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


def test_the_board_example_runs_verbatim_and_reproduces_the_stored_probabilities(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PAGE.parent.parent)
    block = next(b for b in _python_blocks() if "load_board(" in b)
    namespace: dict = {}
    exec(compile(block, str(PAGE), "exec"), namespace)
    board, stored, mine = namespace["board"], namespace["stored"], namespace["mine"]
    assert abs(stored.loc[board.window_index].to_numpy() - mine).max() < 1e-5
    assert set(board.scores["model_state"]) == {"trained", "untrained"}


def test_every_column_the_page_names_exists() -> None:
    """The columns the page lists for a board's probabilities are the board's."""
    from xecgbench.api import load_board

    text = PAGE.read_text(encoding="utf-8")
    board = load_board(PAGE.parent.parent / "leaderboards" / "smoke-verify")
    listed = re.search(r"`board.probabilities`: .*?\((.*?)\), or None", text, re.DOTALL)
    assert listed is not None
    values = {"morphology", "rhythm", "ensemble", "test", "validation"}
    names = [n for n in re.findall(r"`(\w+)`", listed.group(1)) if n not in values]
    assert sorted(names) == sorted(board.probabilities.columns)
