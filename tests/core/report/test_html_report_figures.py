"""The quick suite's HTML report draws its figures in one axes each, and ``leaderboard build``
says what it does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from xecgbench.cli import cli
from xecgbench.report.examples import load_examples
from xecgbench.report.rendering.figures import heatmap_figure
from xecgbench.report.rendering.html import render_report

QUICK = Path(__file__).resolve().parents[3] / "leaderboards" / "synthetic-both"  # quick suite


def test_heatmaps_draw_every_panel_into_one_axes() -> None:
    """One matplotlib axes per panel cost ~50 ms each: hundreds of panels took minutes."""
    signals = np.random.default_rng(0).random((2, 300)).astype(np.float32)
    masks = {"p_wave": signals > 0.9, "qrs": signals < 0.1}
    panels = [(f"row {i}", f"col {j}", signals[j % 2]) for i in range(12) for j in range(4)]
    figure = heatmap_figure(signals, masks, 100.0, panels, [f"col {j}" for j in range(4)])
    assert len(figure.axes) == 1
    assert len(figure.axes[0].images) == 2 * len(panels)  # relevance and the P/QRS band


def test_the_quick_suite_report_draws_one_figure_per_branch_and_reports_its_steps(
        committed_boards) -> None:  # type: ignore[no-untyped-def]
    """Its speed is measured by ``benchmarks/bench_report.py``, not asserted here."""
    results, board = committed_boards(QUICK)
    examples = load_examples(QUICK / "examples.npz")
    steps: list[str] = []
    page = render_report(board, results, examples, progress=steps.append)
    assert page.count("<img") == 3 + len({key[2] for key in examples.relevance})  # 2 branches
    assert steps[0] == "figures: interval profile" and steps[-1].startswith("figures: relevance")


def test_leaderboard_build_reports_its_steps_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "board.md"
    result = CliRunner().invoke(cli, ["leaderboard", "build", "--results", str(QUICK),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "reading results" in result.stderr and "done in" in result.stderr
    assert result.stdout == f"wrote {out}\n"
    # to stdout: the same command on the smallest committed board (another full build of the
    # quick board would show nothing more)
    to_stdout = CliRunner().invoke(cli, ["leaderboard", "build", "--results",
                                         str(QUICK.parent / "smoke-verify")])
    assert to_stdout.stderr == "" and to_stdout.stdout.startswith("# xecgbench leaderboard")
