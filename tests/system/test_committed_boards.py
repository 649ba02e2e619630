"""Every committed leaderboard table must equal a rebuild from its committed raw results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fake_results import make_results

from xecgbench.report.results_files import (
    RunRecord,
    committed_directories,
    same_tidy_csv,
    stale_tables,
    validate_directory,
    write_raw_results,
    write_tables,
)

ROOT = Path(__file__).resolve().parents[2] / "leaderboards"
COMMITTED = committed_directories(ROOT)
#: The real-data boards (about a minute each to rebuild on 2 cores), checked in one test.
PAPER = [d for d in COMMITTED if d.name.startswith("cinc2017-paper")]
SMALL = [d for d in COMMITTED if d not in PAPER]


def _assert_current(directory: Path, committed_boards) -> None:  # type: ignore[no-untyped-def]
    """The session's one build of ``directory`` (it only reads the tree) renders its files."""
    _, board = committed_boards(directory)
    stale = stale_tables(directory, board)
    assert stale == [], (
        f"{', '.join(Path(p).name for p in stale)} in {directory} differ from a rebuild; "
        "regenerate with `xecgbench leaderboard rebuild` (tables are never edited by hand)"
    )


@pytest.mark.parametrize("directory", SMALL, ids=[d.name for d in SMALL])
def test_committed_tables_are_up_to_date(directory: Path, committed_boards) -> None:  # type: ignore[no-untyped-def]
    _assert_current(directory, committed_boards)


def test_the_paper_boards_tables_are_up_to_date(committed_boards) -> None:  # type: ignore[no-untyped-def]
    assert [d.name for d in PAPER] == ["cinc2017-paper", "cinc2017-paper-ludb"]
    for directory in PAPER:
        _assert_current(directory, committed_boards)


def test_committed_boards_are_parquet_checksummed_and_under_5_mb() -> None:
    """Every board's raw scores are inside it (issue 23): no pointer, a manifest, small files."""
    for directory in COMMITTED:
        names = {p.name for p in directory.iterdir()}
        assert {"run.json", "scores.parquet", "checksums.json"} <= names, directory
        assert "scores.external.json" not in names and "scores.csv.gz" not in names, directory
        for path in directory.iterdir():
            assert path.stat().st_size <= 5 << 20, path


def test_a_generated_leaderboard_round_trips(tmp_path: Path) -> None:
    """Holds even with no committed leaderboards: write raw files, build, rebuild, compare."""
    results = make_results()
    record = RunRecord(run=results.run, metrics=dict(results.metrics),
                       pretraining=list(results.pretraining))
    directory = write_raw_results(record, results.scores, tmp_path / "example")
    write_tables(validate_directory(directory), directory)
    assert stale_tables(directory) == []
    (directory / "leaderboard.md").write_text("edited by hand\n", encoding="utf-8")
    assert [Path(p).name for p in stale_tables(directory)] == ["leaderboard.md"]


def test_the_csv_may_move_in_its_last_digit_but_not_more(tmp_path: Path) -> None:
    """Another CPU's LAPACK moves a fitted p-value in the 10th digit; an edit moves more."""
    results = make_results()
    record = RunRecord(run=results.run, metrics=dict(results.metrics),
                       pretraining=list(results.pretraining))
    directory = write_raw_results(record, results.scores, tmp_path / "example")
    write_tables(validate_directory(directory), directory)
    csv = directory / "leaderboard.csv"
    frame = pd.read_csv(csv)
    closed = frame[frame["table"] != "interval-anova"]
    column = next(c for c in closed.columns if closed[c].dtype == float
                  and closed[c].abs().max() > 0)
    row = closed[column].abs().idxmax()
    original = csv.read_bytes()
    for factor, stale in ((1 + 2e-10, False), (1 + 1e-6, True)):
        moved = frame.copy()
        moved.loc[row, column] = moved.loc[row, column] * factor
        moved.to_csv(csv, index=False, lineterminator="\n", float_format="%.10g")
        assert (csv.read_bytes() != original) and bool(stale_tables(directory)) is stale, factor
    edited = frame.copy()
    edited.iloc[0, 0] = "edited"
    edited.to_csv(csv, index=False, lineterminator="\n", float_format="%.10g")
    assert [Path(p).name for p in stale_tables(directory)] == ["leaderboard.csv"]


def test_a_fitted_tables_numbers_may_move_with_the_optimiser_but_not_by_a_percent() -> None:
    head = b"table,metric,mean,p_value\n"
    committed = head + b"interval-anova,class,0.03586964527,2.355462153e-06\ndetail,x,0.5,0.1\n"
    optimiser = head + b"interval-anova,class,0.03586849608,2.357395765e-06\ndetail,x,0.5,0.1\n"
    edited = head + b"interval-anova,class,0.0370,2.355462153e-06\ndetail,x,0.5,0.1\n"
    closed = head + b"interval-anova,class,0.03586964527,2.355462153e-06\ndetail,x,0.50001,0.1\n"
    assert same_tidy_csv(committed, optimiser)
    assert not same_tidy_csv(committed, edited) and not same_tidy_csv(committed, closed)
