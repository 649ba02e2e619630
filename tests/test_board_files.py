"""Board files: legacy csv.gz still read, rebuild needs a board, writes follow the umask and
never go through a symlink (``build --out``, ``run``)."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_faults import cli as main_cli
from test_faults import micro_suite, one_line_error

from xecgbench.cli import cli
from xecgbench.report.board_scores import parse_scores
from xecgbench.report.results_files import (
    read_board,
    stale_tables,
    write_checksums,
)
from xecgbench.report.safe_write import write_inside

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "leaderboards" / "smoke-verify"


def _copy(target: Path) -> Path:
    shutil.copytree(SMOKE, target)
    return target


def test_a_legacy_csv_board_reads_to_the_same_frame_and_tables(tmp_path: Path) -> None:
    """Boards exported before Parquet (scores.csv.gz, %.9g) keep validating and rebuilding."""
    board = _copy(tmp_path / "legacy")
    _, scores = read_board(board)
    text = scores.to_csv(index=False, lineterminator="\n", float_format="%.9g")
    (board / "scores.csv.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    (board / "scores.parquet").unlink()
    write_checksums(board)
    _, legacy = read_board(board)
    pd.testing.assert_frame_equal(legacy, scores, check_exact=True)
    assert stale_tables(board) == []


def test_parquet_and_csv_readers_agree_on_dtypes(tmp_path: Path) -> None:
    board = _copy(tmp_path / "b")
    _, scores = read_board(board)
    csv = gzip.compress(scores.to_csv(index=False).encode())
    assert parse_scores(csv, tmp_path / "scores.csv.gz").dtypes.to_dict() == \
        scores.dtypes.to_dict()


@pytest.mark.parametrize("kind", ["empty", "no board inside"])
def test_rebuild_check_without_a_board_is_an_error(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    if kind == "no board inside":
        (root / "notes").mkdir()
    result = CliRunner().invoke(cli, ["leaderboard", "rebuild", "--check", str(root)])
    assert result.exit_code == 2, result.output
    assert "holds no leaderboard" in result.output and "0 leaderboards" not in result.output


def test_rebuild_check_accepts_one_board_as_itself(tmp_path: Path) -> None:
    board = _copy(tmp_path / "one")
    result = CliRunner().invoke(cli, ["leaderboard", "rebuild", "--check", str(board)])
    assert result.exit_code == 0, result.output
    assert "1 leaderboards, 0 stale tables" in result.output


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        assert write_inside(tmp_path, "a.md", "x").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert write_inside(tmp_path, "b.md", "x").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_build_out_refuses_a_symlinked_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "leaderboard.md").symlink_to(victim)
    result = CliRunner().invoke(cli, ["leaderboard", "build", "--results", str(SMOKE),
                                      "--out", str(tmp_path / "out" / "leaderboard.md")])
    assert result.exit_code == 2, result.output
    assert "symlink" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "precious\n"


def test_run_with_a_symlinked_leaderboard_is_one_line(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "run"
    out.mkdir()
    (out / "leaderboard.md").symlink_to(victim)
    code, _, err = main_cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out",
                            str(out), "--quiet")
    one_line_error(code, err, "leaderboard.md", "symlink")
    assert len(err.strip().splitlines()) == 1
    assert victim.read_text() == "precious\n"


def test_a_board_without_checksums_is_named_and_the_checksum_command_seals_it(
        tmp_path: Path) -> None:
    """A board exported before checksums: validate names the missing manifest; `leaderboard
    checksum` writes it for raw files the user trusts, and the board then validates."""
    board = _copy(tmp_path / "old")
    (board / "checksums.json").unlink()
    runner = CliRunner()
    refused = runner.invoke(cli, ["leaderboard", "validate", str(board)])
    assert refused.exit_code == 2 and "checksums.json does not exist" in refused.stderr
    sealed = runner.invoke(cli, ["leaderboard", "checksum", str(board)])
    assert sealed.exit_code == 0, sealed.output
    assert runner.invoke(cli, ["leaderboard", "validate", str(board)]).exit_code == 0
    assert (board / "checksums.json").read_bytes() == (SMOKE / "checksums.json").read_bytes()
