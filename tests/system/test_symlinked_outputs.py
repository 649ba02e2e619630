"""No write through a symlink or outside the directory: ``rebuild`` and ``export`` refuse a
symlinked table, board directory or raw file in one line, and the file it points at is
untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_runs import REPO, cli, micro_suite, one_line_error


def _submission(root: Path) -> Path:
    source = REPO / "leaderboards" / "synthetic-shortcut"
    target = root / "evil"
    target.mkdir(parents=True)
    for name in ("run.json", "scores.parquet", "checksums.json"):
        shutil.copy(source / name, target / name)
    return target


def test_rebuild_refuses_a_symlinked_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    submission = _submission(tmp_path / "root")
    (submission / "leaderboard.md").symlink_to(victim)
    code, _, err = cli(capsys, "leaderboard", "rebuild", str(tmp_path / "root"))
    one_line_error(code, err, str(submission / "leaderboard.md"), "symlink")
    assert len(err.strip().splitlines()) == 1
    assert victim.read_text() == "precious\n"


def test_rebuild_refuses_a_symlinked_directory(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    outside = _submission(tmp_path / "elsewhere")
    root = tmp_path / "root"
    root.mkdir()
    (root / "evil").symlink_to(outside, target_is_directory=True)
    code, _, err = cli(capsys, "leaderboard", "rebuild", str(root))
    one_line_error(code, err, str(root / "evil"), "symlink")
    assert not (outside / "leaderboard.md").exists()


def test_export_refuses_a_symlinked_raw_file(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out),
               "--quiet")[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    export = tmp_path / "export"
    export.mkdir()
    (export / "run.json").symlink_to(victim)
    code, _, err = cli(capsys, "leaderboard", "export", "--store", str(out / "results.sqlite"),
                       "--out", str(export), "--examples", "0")
    one_line_error(code, err, "run.json", "symlink")
    assert victim.read_text() == "precious\n"
