"""Strings from a board, a submission or a run record cannot become markup: names are
constrained by the board's schema, free text is escaped for the format it is written into."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fake_results import make_results

from xecgbench.report.pages.site import render_board
from xecgbench.report.rendering.text_formats import markdown_escape, to_latex
from xecgbench.report.results_files import ResultsFileError, validate_directory, write_checksums
from xecgbench.report.tables import build_leaderboard

BOARD = Path(__file__).resolve().parents[3] / "leaderboards" / "smoke-verify"
LATEX_ATTACK = "x\n\\immediate\\write18{touch /tmp/pwned}\\input{/etc/passwd}%"
SCRIPT = "<script>alert(document.cookie)</script>"


def _resealed(tmp_path: Path, edit: Any, name: str = "board") -> Path:
    """A copy of the smoke board with ``edit`` applied to its run record, checksums redone
    (as an attacker who controls every file of a board would)."""
    copy = Path(shutil.copytree(BOARD, tmp_path / name))
    record = json.loads((copy / "run.json").read_text())
    edit(record["run"])
    (copy / "run.json").write_text(json.dumps(record))
    write_checksums(copy)
    return copy


def _set_distribution(value: Any) -> Any:
    def edit(run: dict[str, Any]) -> None:
        run["provenance"]["plugin_distributions"]["builtin-data"] = value
    return edit


@pytest.mark.parametrize(("edit", "message"), [
    (lambda run: run.update(run_id=LATEX_ATTACK), "run_id"),
    (_set_distribution({"distribution": SCRIPT, "version": "1"}), "is not a package name"),
    (_set_distribution({"distribution": "x", "version": "1<img src=x>"}), "is not a package"),
    (_set_distribution("xecgbench"), "must be a mapping"),
    (lambda run: run["provenance"].update(component_plugins={"attributions": ["dtd"]}),
     "component_plugins"),
])
def test_a_resealed_board_with_markup_in_its_names_fails_validation(
        tmp_path: Path, edit: Any, message: str) -> None:
    board = _resealed(tmp_path, edit)
    with pytest.raises(ResultsFileError, match=message) as caught:
        validate_directory(board)
    assert "\n" not in str(caught.value)


def test_a_board_folder_named_as_markup_gets_no_page(tmp_path: Path) -> None:
    board = _resealed(tmp_path, lambda run: None, name="x`<img src=x onerror=alert(1)>")
    with pytest.raises(ResultsFileError, match="is not a board or submission name"):
        render_board(board)


def test_an_honest_board_still_renders(tmp_path: Path) -> None:
    page, _ = render_board(_resealed(tmp_path, lambda run: None, name="smoke-verify"))
    assert page.startswith("# Leaderboard: smoke-verify")


def test_a_footer_value_stays_inside_its_latex_comment() -> None:
    board = build_leaderboard(make_results())
    board = dataclasses.replace(board, footer={**board.footer, "run": LATEX_ATTACK})
    latex = to_latex(board)
    live = [line for line in latex.splitlines() if "write18" in line]
    assert live and all(line.startswith("% ") for line in live)


def test_markdown_escaping_leaves_no_html() -> None:
    escaped = markdown_escape(SCRIPT + " | a\nb")
    assert "<" not in escaped and ">" not in escaped and "\n" not in escaped
    assert "\\|" in escaped
