"""A method's score split by whether its model classified the window right."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xecgbench.report.table_builders.correct_windows import (
    CORRECT,
    WRONG,
    decisions,
    split_grids,
)
from xecgbench.report.table_builders.method_grids import method_grids

BOARD = Path(__file__).resolve().parents[3] / "leaderboards" / "synthetic-planted"


def test_every_scored_window_is_either_correct_or_misclassified(committed_boards) -> None:  # type: ignore[no-untyped-def]
    """One configuration per seed here, so each defined cell lands in exactly one subset,
    with the method's own value."""
    results, _ = committed_boards(BOARD)
    found = method_grids(results, "morphology", "p_wave")
    decided = decisions(results, "morphology")
    assert decided is not None and decided["correct"].any() and not decided["correct"].all()
    split = split_grids(results, "morphology", "p_wave", "dtd", found.seeds, found.records,
                        decided)
    right, wrong = split[CORRECT].values, split[WRONG].values
    whole = found.trained["dtd"].values
    assert not (np.isfinite(right) & np.isfinite(wrong)).any()
    assert np.array_equal(np.isfinite(right) | np.isfinite(wrong), np.isfinite(whole))
    assert np.allclose(np.where(np.isfinite(right), right, wrong)[np.isfinite(whole)],
                       whole[np.isfinite(whole)])


def test_the_decision_is_the_branchs_own_probability_against_the_label(committed_boards) -> None:  # type: ignore[no-untyped-def]
    results, _ = committed_boards(BOARD)
    decided = decisions(results, "rhythm")
    p = results.probabilities
    mine = p[(p["branch"] == "rhythm") & (p["split"] == "test")]
    assert len(decided) == len(mine)
    expected = ((mine["probability"] >= 0.5) == (mine["label"] == 1)).to_numpy()
    assert np.array_equal(decided["correct"].to_numpy(), expected)


def test_the_method_table_shows_both_subsets(committed_boards) -> None:  # type: ignore[no-untyped-def]
    _, board = committed_boards(BOARD)  # the session's build_leaderboard of the board
    table = board.table("answer-methods")
    headers = [c.header for c in table.columns]
    assert "correct windows" in headers and "misclassified windows" in headers
