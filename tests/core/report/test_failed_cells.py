"""Failed cells are listed in every leaderboard format; ``status --traceback`` shows them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner
from fake_results import make_results

from xecgbench.cli import cli
from xecgbench.report.rendering.html import render_report
from xecgbench.report.rendering.text_formats import to_csv, to_latex, to_markdown
from xecgbench.report.table_builders.failed_cells import describe_cell, one_line
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.store import ResultsStore

TRACEBACK = 'Traceback (most recent call last):\n  File "m.py", line 3, in f\nValueError: boom\n'
FAILURE = {"stage": "attribute", "component": "attributions:broken", "plugin": "my-plugin",
           "error": "ValueError: boom\nsecond line", "stage_key": "k1",
           "labels": {"dataset": "synthetic", "seed": 1, "pretraining": "none",
                      "freezing": "none", "attribution": "broken"}}


def test_one_line_reason_and_cell() -> None:
    assert one_line("\n  ValueError: x  \nmore detail\n") == "ValueError: x"
    assert len(one_line("y" * 500)) == 160
    assert describe_cell({"metric": None, "seed": 0, "attribution": "dtd"}) == (
        "seed=0 attribution=dtd")


def test_a_failed_method_appears_in_every_format() -> None:
    results = dataclasses.replace(make_results(), failures=[FAILURE])
    board = build_leaderboard(results)
    table = board.table("failed")
    assert table.rows.to_dict("records") == [{
        "stage": "attribute", "method": "attributions:broken (plugin my-plugin)",
        "cell": "dataset=synthetic seed=1 pretraining=none freezing=none attribution=broken",
        "reason": "ValueError: boom"}]
    markdown = to_markdown(board)
    assert "## Failed cells" in markdown
    assert "| attributions:broken (plugin my-plugin) |" in markdown
    assert "Failed cells" in to_latex(board)
    assert "attributions:broken" in render_report(board, results)
    assert "broken" not in to_csv(board)  # the tidy CSV holds numbers only
    assert "failed" not in [t.name for t in build_leaderboard(make_results()).tables]


def test_status_traceback_prints_the_stored_tracebacks(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    with ResultsStore(path) as store:
        store.start_run("r1", "smoke", {}, "h", {})
        store.fail_stage("r1", "k1", "attribute", FAILURE["labels"], component="attributions:x",
                         plugin="my-plugin", error="ValueError: boom", traceback=TRACEBACK)
        store.finish_run("r1", "failed-cells")
        assert "traceback" not in store.failures("r1")[0]
    plain = CliRunner().invoke(cli, ["status", "--store", str(path)])
    assert plain.exit_code == 0 and "ValueError: boom" in plain.output
    assert "Traceback" not in plain.output
    full = CliRunner().invoke(cli, ["status", "--store", str(path), "--traceback"])
    assert full.exit_code == 0, full.output
    assert '    File "m.py", line 3, in f' in full.output
    assert full.output.count("ValueError: boom") == 2
