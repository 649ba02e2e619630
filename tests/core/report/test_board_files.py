"""Board files: legacy csv.gz still read, rebuild needs a board, writes follow the umask and
never go through a symlink (``build --out``, ``run``)."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_runs import cli as main_cli
from cli_runs import micro_suite, one_line_error
from click.testing import CliRunner

from xecgbench.cli import cli
from xecgbench.report.board_format import score_parts as board_scores
from xecgbench.report.board_format.confined_write import write_inside
from xecgbench.report.board_format.reader import ResultsFileError
from xecgbench.report.board_format.score_parts import parse_scores
from xecgbench.report.rendering.text_formats import to_markdown
from xecgbench.report.results_files import (
    load_built,
    read_board,
    read_record,
    stale_tables,
    write_checksums,
    write_raw_results,
)

REPO = Path(__file__).resolve().parents[3]
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


def _split(board: Path, rows: int, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    """Rewrite ``board``'s scores as parts of ``rows`` rows; the frame before the split."""
    record, scores = read_board(board)
    monkeypatch.setattr(board_scores, "ROWS_PER_PART", rows)
    write_raw_results(read_record(board), scores, board)
    assert record == read_record(board)
    return scores


def test_a_large_board_splits_its_scores_into_parts_that_read_back_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over ROWS_PER_PART rows, scores go to scores.parquet, scores-2.parquet, …: the same
    frame and the same tables come back (a paper board would pass 5 MB in one file)."""
    board = _copy(tmp_path / "parts")
    rows = len(read_board(board)[1])
    scores = _split(board, rows // 3 + 1, monkeypatch)
    names = sorted(p.name for p in board.glob("scores*.parquet"))
    assert names == ["scores-2.parquet", "scores-3.parquet", "scores.parquet"]
    pd.testing.assert_frame_equal(read_board(board)[1], scores, check_exact=True)
    assert stale_tables(board) == []
    _split(board, rows, monkeypatch)  # fewer parts again: the stale ones are removed
    assert sorted(p.name for p in board.glob("scores*.parquet")) == ["scores.parquet"]


def test_a_board_is_built_once_per_content(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The same raw files (by their checksums) anywhere share one build; other files do not."""
    first, second = _copy(tmp_path / "a"), _copy(tmp_path / "b")
    board = load_built(first)[1]
    assert load_built(second)[1] is board
    _split(second, len(read_board(second)[1]) // 2 + 1, monkeypatch)
    rebuilt = load_built(second)[1]
    assert rebuilt is not board and to_markdown(rebuilt) == to_markdown(board)


@pytest.mark.parametrize("damage", ["gap", "duplicate across parts", "legacy beside parts"])
def test_damaged_score_parts_are_refused_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    board = _copy(tmp_path / "parts")
    scores = _split(board, len(read_board(board)[1]) // 3 + 1, monkeypatch)
    expected = {"gap": "scores-2.parquet: missing", "duplicate across parts": "duplicate score row",
                "legacy beside parts": "needs exactly one of"}[damage]
    if damage == "gap":
        (board / "scores-2.parquet").unlink()
    elif damage == "duplicate across parts":
        (board / "scores-3.parquet").write_bytes(board_scores.scores_bytes(scores.iloc[:5]))
    else:
        (board / "scores.csv.gz").write_bytes(gzip.compress(b"x"))
    write_checksums(board)
    with pytest.raises(ResultsFileError, match=expected):
        read_board(board)


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


def _dictionary_bomb(rows: int, text: str) -> bytes:
    """A score part whose ``record_id`` is one ``text`` shared by ``rows`` rows: one entry in
    its dictionary page, ``rows * len(text)`` bytes once decoded."""
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for name in board_scores.RAW_SCORE_COLUMNS:
        if name in board_scores.INTEGER_COLUMNS:
            columns[name] = pa.array(np.arange(rows) if name == "sample" else np.zeros(rows,
                                                                                     int))
        elif name in board_scores.FLOAT_COLUMNS:
            columns[name] = pa.array(np.full(rows, 0.5))
        else:
            value = text if name == "record_id" else "x"
            columns[name] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)),
                                                           pa.array([value]))
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer, compression="zstd")
    return buffer.getvalue()


def test_a_dictionary_bomb_is_refused_before_its_text_is_expanded() -> None:
    """1.2 M rows sharing one 4-KB record id: 2.3 MB on disk, 10.7 MB by its footer, 4.9 GB
    decoded (it used to be decoded)."""
    data = _dictionary_bomb(1_200_000, "r" * 4096)
    assert len(data) < 5 << 20
    with pytest.raises(ResultsFileError, match="decodes to over 1,073,741,824 bytes"):
        parse_scores(data, Path("scores.parquet"))


def test_text_within_the_budget_reads_as_plain_strings() -> None:
    scores = parse_scores(_dictionary_bomb(1000, "A00001#0"), Path("scores.parquet"))
    assert len(scores) == 1000 and set(scores["record_id"]) == {"A00001#0"}
    assert scores["metric"].dtype == object  # not a pandas Categorical


def test_a_reader_of_a_few_metrics_gets_exactly_their_rows() -> None:
    """The site reads only the metrics it shows: the same rows as a full read, nothing else."""
    from pathlib import Path

    import pandas as pd

    from xecgbench.report.results_files import validate_directory

    board = Path(__file__).resolve().parents[3] / "leaderboards" / "smoke-verify"
    full = validate_directory(board)
    wanted = {"relevance_mass_accuracy", "pixel_flipping"}
    part = validate_directory(board, wanted)
    for name in ("scores", "untrained"):
        mine, theirs = getattr(part, name), getattr(full, name)
        theirs = theirs[theirs["metric"].isin(wanted)].reset_index(drop=True)
        assert set(mine["metric"]) == wanted & set(theirs["metric"]) and len(mine) > 0
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs)
