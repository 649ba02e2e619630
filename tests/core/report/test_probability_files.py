"""Per-window probabilities: stored by a real run, exported, read back; old boards still read."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.plugins.operating_points import f1_threshold
from xecgbench.report.board_format import probability_parts as probability_files
from xecgbench.report.board_format.probability_parts import (
    PROBABILITIES_FILE,
    RAW_PROBABILITY_COLUMNS,
)
from xecgbench.report.results_files import (
    ResultsFileError,
    export_results,
    validate_directory,
    write_checksums,
)
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.config import load_suite
from xecgbench.run.layout import STORE_NAME
from xecgbench.run.runner import run_suite
from xecgbench.run.store import CorruptScoresError, ResultsStore


@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


@pytest.fixture(scope="module")
def one_cell(tmp_path_factory: pytest.TempPathFactory, system: PluginSystem) -> Path:
    out = tmp_path_factory.mktemp("one_cell")
    suite = load_suite("smoke", ("pretraining=[none]", "freezing=[none]"))
    assert run_suite(suite, system, out, quiet=True).ok
    return out


def test_a_run_stores_every_windows_probability(one_cell: Path) -> None:
    with ResultsStore(one_cell / STORE_NAME) as store:
        frame = store.probabilities_frame()
        report = store.stage_reports(stage="evaluate")[0]["report"]
        scores = store.scores_frame()
    assert set(frame["branch"]) == {"morphology", "rhythm", "ensemble"}
    test = frame[frame["split"] == "test"]
    validation = frame[frame["split"] == "validation"]
    assert len(test) == 3 * report["n_windows"] and len(validation) == 3 * report["n_validation"]
    assert int(test[test["branch"] == "ensemble"]["label"].sum()) == report["n_af"]
    # Validation windows are held-out training records, never test windows.
    assert not set(validation["record_id"]) & set(test["record_id"])
    for branch in ("morphology", "rhythm", "ensemble"):
        val = validation[validation["branch"] == branch]
        threshold = f1_threshold(val["label"].to_numpy(), val["probability"].to_numpy())
        assert report["thresholds"][branch]["f1"] == pytest.approx(threshold)
        mine = test[test["branch"] == branch]
        called = (mine["probability"] >= threshold).astype(int)
        stored = scores[(scores["metric"] == "f1_af_val") & (scores["branch"] == branch)]
        assert stored["value"].item() == pytest.approx(
            skm.f1_score(mine["label"], called, zero_division=0.0))


def test_probabilities_round_trip_store_export_read(one_cell: Path, system: PluginSystem,
                                                    tmp_path: Path) -> None:
    out = export_results(one_cell / STORE_NAME, system, tmp_path / "board", n_examples=0)
    assert (out / PROBABILITIES_FILE).is_file()
    read = validate_directory(out).probabilities
    with ResultsStore(one_cell / STORE_NAME) as store:
        stored = store.probabilities_frame()[list(RAW_PROBABILITY_COLUMNS)]
    assert list(read.columns) == list(RAW_PROBABILITY_COLUMNS) and len(read) == len(stored)
    for column in ("seed", "sample", "label"):
        assert (read[column].to_numpy() == stored[column].to_numpy()).all()
    assert (read["record_id"].astype(str).to_numpy() == stored["record_id"].to_numpy()).all()
    assert np.array_equal(read["probability"].to_numpy(np.float32),
                          stored["probability"].to_numpy(np.float32))
    board = build_leaderboard(validate_directory(out))
    assert len(board.table("operating-points").rows) == 3
    assert "not stored" not in board.table("answer-accuracy").caption


def test_a_board_without_probabilities_says_not_stored(one_cell: Path, system: PluginSystem,
                                                       tmp_path: Path) -> None:
    out = export_results(one_cell / STORE_NAME, system, tmp_path / "old", n_examples=0)
    (out / PROBABILITIES_FILE).unlink()
    results = validate_directory(out)
    assert results.probabilities is None
    board = build_leaderboard(results)
    assert "not stored" in board.table("answer-accuracy").caption
    with pytest.raises(KeyError):
        board.table("operating-points")


def test_an_altered_probability_is_refused(one_cell: Path, tmp_path: Path) -> None:
    store_path = Path(shutil.copytree(one_cell, tmp_path / "copy")) / STORE_NAME
    with closing(sqlite3.connect(store_path)) as db, db:
        db.execute("UPDATE probabilities SET probability = 0.5 WHERE sample = 0")
    with ResultsStore(store_path) as store, pytest.raises(CorruptScoresError, match="probab"):
        store.probabilities_frame()


def test_many_probabilities_go_to_parts_that_read_back_whole(
        one_cell: Path, system: PluginSystem, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ROWS_PER_PART rows (a 10-seed paper board has about a million), probabilities
    continue in probabilities-2.parquet …: the same frame comes back, and a gap is refused."""
    out = export_results(one_cell / STORE_NAME, system, tmp_path / "board", n_examples=0)
    whole = validate_directory(out).probabilities
    monkeypatch.setattr(probability_files, "ROWS_PER_PART", len(whole) // 3 + 1)
    probability_files.write_probabilities(whole, out)
    write_checksums(out)
    assert sorted(p.name for p in out.glob("probabilities*")) == [
        "probabilities-2.parquet", "probabilities-3.parquet", PROBABILITIES_FILE]
    pd.testing.assert_frame_equal(validate_directory(out).probabilities, whole)
    (out / "probabilities-2.parquet").unlink()
    write_checksums(out)
    with pytest.raises(ResultsFileError, match=r"probabilities-2\.parquet: missing"):
        validate_directory(out)
