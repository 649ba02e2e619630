"""Every committed leaderboard table must equal a rebuild from its committed raw results."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from external_helpers import available_scores
from test_leaderboard import make_results

from xecgbench.report.external_scores import POINTER_FILE, SCORES_FILE, is_external
from xecgbench.report.results_files import (
    RunInfo,
    RunRecord,
    committed_directories,
    stale_tables,
    validate_directory,
    write_raw_results,
    write_tables,
)

ROOT = Path(__file__).resolve().parent.parent / "leaderboards"
COMMITTED = committed_directories(ROOT)


@pytest.mark.parametrize("directory", COMMITTED, ids=[d.name for d in COMMITTED])
def test_committed_tables_are_up_to_date(directory: Path, tmp_path: Path) -> None:
    copy = tmp_path / directory.name
    shutil.copytree(directory, copy)  # rebuild in a temporary copy, never in the tree
    if is_external(directory):  # bring the checked external scores into the copy
        shutil.copyfile(available_scores(directory), copy / SCORES_FILE)
        (copy / POINTER_FILE).unlink()
    stale = stale_tables(copy)
    assert stale == [], (
        f"{', '.join(Path(p).name for p in stale)} in {directory} differ from a rebuild; "
        "regenerate with `xecgbench leaderboard rebuild` (tables are never edited by hand)"
    )


def test_a_generated_leaderboard_round_trips(tmp_path: Path) -> None:
    """Holds even with no committed leaderboards: write raw files, build, rebuild, compare."""
    results = make_results()
    record = RunRecord(run=RunInfo(**results.run), metrics=dict(results.metrics),
                       pretraining=list(results.pretraining))
    directory = write_raw_results(record, results.scores, tmp_path / "example")
    write_tables(validate_directory(directory), directory)
    assert stale_tables(directory) == []
    (directory / "leaderboard.md").write_text("edited by hand\n", encoding="utf-8")
    assert [Path(p).name for p in stale_tables(directory)] == ["leaderboard.md"]
