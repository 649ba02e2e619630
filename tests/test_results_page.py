"""docs/results.md is generated from the committed leaderboards: every number on it is theirs."""

from __future__ import annotations

from pathlib import Path

from xecgbench.report.pages.results_page import render_page

REPO = Path(__file__).resolve().parent.parent


def test_results_page_is_generated_from_the_committed_leaderboards() -> None:
    committed = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    assert committed == render_page(REPO / "leaderboards"), (
        "docs/results.md is stale: run `python -m xecgbench.report.pages.results_page`"
    )
