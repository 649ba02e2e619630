"""docs/results.md is generated from the committed leaderboards: every number on it is theirs."""

from __future__ import annotations

from pathlib import Path

from fake_results import null_results

from xecgbench.report.pages.results_page import _methods, render_page
from xecgbench.report.tables import build_leaderboard

REPO = Path(__file__).resolve().parents[2]


def test_results_page_is_generated_from_the_committed_leaderboards(committed_boards) -> None:  # type: ignore[no-untyped-def]
    committed = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    assert committed == render_page(REPO / "leaderboards", committed_boards), (
        "docs/results.md is stale: run `python -m xecgbench.report.pages.results_page`"
    )


def test_the_page_names_only_a_ranked_method_as_top() -> None:
    # "a" scores below its untrained model and below chance: it is no branch's top method
    gated = build_leaderboard(null_results({"a": 0.05}, {"a": 0.30})).table("answer-methods")
    assert _methods(gated) == ["- **morphology branch**: no method passes the ranking gates "
                               "(unranked: `a` (not above untrained; not above chance))."]
    both = build_leaderboard(null_results({"a": 0.05, "b": 0.50}, {"a": 0.30, "b": 0.10}))
    line = _methods(both.table("answer-methods"))[0]
    assert line.startswith("- **morphology branch**: top `b` (only ranked method)")
    assert "unranked: `a` (not above untrained; not above chance)" in line
