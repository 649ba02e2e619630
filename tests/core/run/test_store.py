"""The SQLite results store: atomic stage records, no duplicate scores, failures, locking."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from score_checks import count_score_rows

from xecgbench.run.store import SCORE_COLUMNS, ResultsStore, StoreLockedError, load_scores

LABELS = {"dataset": "synthetic", "seed": 0, "pretraining": "none", "freezing": "none",
          "attribution": "dtd"}


def _scores(key: str, values: list[float]) -> list[dict[str, Any]]:
    return [{"stage_key": key, **LABELS, "branch": "morphology", "metric": "rma",
             "category": "localisation", "region": "p_wave", "sample": i, "record_id": f"r{i}",
             "value": v} for i, v in enumerate(values)]


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    with ResultsStore(tmp_path / "results.sqlite") as opened:
        opened.start_run("run1", "smoke", {"name": "smoke"}, "abc", {"python": "3", "seeds": [0]})
        yield opened


def test_uses_wal(store: ResultsStore) -> None:
    with closing(sqlite3.connect(store.path)) as db:
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_completing_a_stage_twice_keeps_one_set_of_scores(store: ResultsStore) -> None:
    store.complete_stage("run1", "k", "score", LABELS, artifact=None, checksum=None, seconds=1.0,
                         scores=_scores("k", [0.1, 0.2, 0.3]))
    store.complete_stage("run1", "k", "score", LABELS, artifact=None, checksum=None, seconds=1.0,
                         scores=_scores("k", [0.4, 0.5, 0.6]))
    frame = store.scores_frame("run1")
    assert count_score_rows(store.path) == 3
    assert list(frame["value"]) == [0.4, 0.5, 0.6]
    assert list(frame.columns) == list(SCORE_COLUMNS)
    assert store.stage("k").status == "done"


def test_a_failing_write_leaves_nothing_behind(store: ResultsStore) -> None:
    """Scores and the stage record commit together: a broken batch leaves the stage unrecorded."""
    bad = _scores("k", [0.1, 0.2]) + _scores("k", [0.3])  # sample 0 twice: primary key clash
    with pytest.raises(sqlite3.IntegrityError):
        store.complete_stage("run1", "k", "score", LABELS, artifact=None, checksum=None,
                             seconds=1.0, scores=bad)
    assert store.stage("k") is None
    assert count_score_rows(store.path) == 0


def test_failures_name_cell_component_and_plugin(store: ResultsStore) -> None:
    store.fail_stage("run1", "k", "attribute", LABELS, component="attributions:dtd",
                     plugin="builtin-attributions", error="AttributionError: NaN", traceback="tb")
    [failure] = store.failures()
    assert failure["labels"] == LABELS
    assert failure["component"] == "attributions:dtd"
    assert failure["plugin"] == "builtin-attributions"
    assert "NaN" in failure["error"]
    # A later success of the same stage in the same run clears its failure.
    store.complete_stage("run1", "k", "attribute", LABELS, artifact="a", checksum="c", seconds=0.1)
    assert store.failures("run1") == []


def test_runs_keep_config_and_provenance(store: ResultsStore) -> None:
    store.finish_run("run1", "ok")
    [run] = store.runs()
    assert run["status"] == "ok" and run["finished"] is not None
    assert run["provenance"] == {"python": "3", "seeds": [0]}
    assert run["config"] == {"name": "smoke"}


def test_scores_belong_to_the_runs_that_used_them(store: ResultsStore) -> None:
    store.complete_stage("run1", "k", "score", LABELS, artifact=None, checksum=None, seconds=1.0,
                         scores=_scores("k", [0.1]))
    store.start_run("run2", "smoke", {}, "abc", {})
    assert store.scores_frame("run2").empty
    store.link("run2", "k")
    store.link("run2", "k")
    assert len(store.scores_frame("run2")) == 1
    assert store.latest_run_id() == "run2"


def test_load_scores_returns_a_dataframe(store: ResultsStore) -> None:
    store.complete_stage("run1", "k", "score", LABELS, artifact=None, checksum=None, seconds=1.0,
                         scores=_scores("k", [0.5, 0.25]))
    frame = load_scores(store.path)
    assert frame["value"].tolist() == [0.5, 0.25]
    assert frame["attribution"].unique().tolist() == ["dtd"]


def test_load_scores_of_an_unknown_run_lists_the_runs(store: ResultsStore) -> None:
    with pytest.raises(KeyError, match=r"no run 'nope'.*runs: run1"):
        load_scores(store.path, "nope")


def test_load_scores_of_a_missing_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no results store at"):
        load_scores(tmp_path / "nothing.sqlite")
    assert not (tmp_path / "nothing.sqlite").exists()


def test_a_held_write_lock_gives_a_clear_error(store: ResultsStore) -> None:
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with (ResultsStore(store.path, timeout_s=0.2) as second,
              pytest.raises(StoreLockedError, match="locked by another process")):
            second.finish_run("run1", "ok")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
