"""Exports write all their files or none (issue 32, item 6): a full disk while writing a
board's tables left ``leaderboard.md`` new and ``.csv`` and ``.tex`` old ("cannot write ?: the
disk is full" with half a board). Now every file is staged before the first is renamed.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from xecgbench.cli import main
from xecgbench.report.board_format import confined_write
from xecgbench.report.board_format.confined_write import write_all_inside

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "leaderboards" / "smoke-verify"
TABLES = ("leaderboard.md", "leaderboard.csv", "leaderboard.tex")


def _full_disk_after(monkeypatch: pytest.MonkeyPatch, staged: int) -> None:
    """The ``staged + 1``-th file staged finds the disk full."""
    real = confined_write._staged
    calls = {"n": 0}

    def staging(target: Path, data: bytes | str) -> Path:
        calls["n"] += 1
        if calls["n"] > staged:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(target, data)

    monkeypatch.setattr(confined_write, "_staged", staging)


@pytest.mark.parametrize("staged", [0, 1, 2])
def test_a_full_disk_leaves_every_old_file_and_no_temporary(
        staged: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.md", "b.csv", "c.tex"):
        (tmp_path / name).write_text("old\n")
    _full_disk_after(monkeypatch, staged)
    with pytest.raises(OSError):
        write_all_inside(tmp_path, {"a.md": "new", "b.csv": "new", "c.tex": "new"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.csv", "c.tex"]
    assert {p.read_text() for p in tmp_path.iterdir()} == {"old\n"}


def test_a_refused_name_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("precious\n")
    (tmp_path / "board").mkdir()
    (tmp_path / "board" / "c.tex").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(confined_write.UnsafePathError):
        write_all_inside(tmp_path / "board", {"a.md": "new", "c.tex": "new"})
    assert [p.name for p in (tmp_path / "board").iterdir()] == ["c.tex"]
    assert (tmp_path / "outside.txt").read_text() == "precious\n"


def test_rebuild_on_a_full_disk_is_one_line_and_leaves_the_old_tables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    board = tmp_path / "boards" / "smoke-verify"
    shutil.copytree(SOURCE, board)
    for name in TABLES:
        (board / name).write_text("stale\n")  # so rebuild must write all three
    _full_disk_after(monkeypatch, 1)
    with pytest.raises(SystemExit) as exit_:
        main(["leaderboard", "rebuild", str(tmp_path / "boards")])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 2 and len(err) == 1 and "full" in err[0], err
    assert {(board / name).read_text() for name in TABLES} == {"stale\n"}
    assert not [p for p in board.iterdir() if p.name.startswith(".")]
