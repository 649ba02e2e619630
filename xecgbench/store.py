"""The results store: one SQLite file (WAL) holding runs, stages, scores and failures."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, suite TEXT NOT NULL, config_hash TEXT NOT NULL,
    config_json TEXT NOT NULL, provenance_json TEXT NOT NULL,
    started REAL NOT NULL, finished REAL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
    key TEXT PRIMARY KEY, stage TEXT NOT NULL, labels_json TEXT NOT NULL,
    status TEXT NOT NULL, artifact TEXT, checksum TEXT, seconds REAL,
    report_json TEXT, finished REAL
);
CREATE TABLE IF NOT EXISTS run_stages (
    run_id TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS scores (
    stage_key TEXT NOT NULL, dataset TEXT, seed INTEGER, pretraining TEXT, freezing TEXT,
    attribution TEXT, branch TEXT NOT NULL, metric TEXT NOT NULL, category TEXT,
    region TEXT NOT NULL, sample INTEGER NOT NULL, record_id TEXT, value REAL,
    PRIMARY KEY (stage_key, branch, metric, region, sample)
);
CREATE TABLE IF NOT EXISTS failures (
    run_id TEXT NOT NULL, stage_key TEXT NOT NULL, stage TEXT NOT NULL, labels_json TEXT,
    component TEXT, plugin TEXT, error TEXT NOT NULL, traceback TEXT, at REAL NOT NULL,
    PRIMARY KEY (run_id, stage_key)
);
"""

SCORE_COLUMNS = (
    "stage_key", "dataset", "seed", "pretraining", "freezing", "attribution",
    "branch", "metric", "category", "region", "sample", "record_id", "value",
)


class StoreLockedError(Exception):
    """Another process holds the store's write lock for longer than the timeout."""


@dataclass(frozen=True)
class StageRecord:
    """A finished or failed stage as recorded in the store."""

    key: str
    stage: str
    status: str
    artifact: str | None
    checksum: str | None
    report: dict[str, Any]


class ResultsStore:
    """Append-mostly SQLite store; each write is one transaction, so a kill loses nothing done."""

    def __init__(self, path: Path | str, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise StoreLockedError(
                    f"results store {self.path} is locked by another process for more than "
                    f"{self.timeout_s:g} s"
                ) from exc
            raise
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def start_run(self, run_id: str, suite: str, config: Mapping[str, Any], config_hash: str,
                  provenance: Mapping[str, Any]) -> None:
        """Record a new run (a resumed run is a new run reusing finished stages)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, 'running')",
                (run_id, suite, config_hash, json.dumps(config, sort_keys=True),
                 json.dumps(provenance, sort_keys=True), time.time()),
            )

    def finish_run(self, run_id: str, status: str) -> None:
        """Mark a run finished with ``status`` (``ok`` or ``failed-cells``)."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET finished = ?, status = ? WHERE run_id = ?",
                       (time.time(), status, run_id))

    def stage(self, key: str) -> StageRecord | None:
        """The recorded stage with ``key``, if any."""
        row = self._db.execute(
            "SELECT key, stage, status, artifact, checksum, report_json FROM stages WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return StageRecord(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"))

    def link(self, run_id: str, key: str) -> None:
        """Attach an existing (cached) stage to ``run_id`` so the run's tables include it."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO run_stages VALUES (?, ?)", (run_id, key))

    def complete_stage(self, run_id: str, key: str, stage: str, labels: Mapping[str, Any], *,
                       artifact: str | None, checksum: str | None, seconds: float,
                       report: Mapping[str, Any] | None = None,
                       scores: Iterable[Mapping[str, Any]] = ()) -> None:
        """Record a finished stage and its scores atomically (replacing a previous attempt)."""
        rows = [tuple(score.get(c) for c in SCORE_COLUMNS) for score in scores]
        with self._transaction() as db:
            db.execute("DELETE FROM scores WHERE stage_key = ?", (key,))
            db.execute(
                "INSERT OR REPLACE INTO stages VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?)",
                (key, stage, json.dumps(labels, sort_keys=True), artifact, checksum, seconds,
                 json.dumps(dict(report or {}), sort_keys=True), time.time()),
            )
            db.executemany(
                f"INSERT INTO scores VALUES ({', '.join('?' * len(SCORE_COLUMNS))})", rows
            )
            db.execute("INSERT OR IGNORE INTO run_stages VALUES (?, ?)", (run_id, key))
            db.execute("DELETE FROM failures WHERE stage_key = ? AND run_id = ?", (key, run_id))

    def fail_stage(self, run_id: str, key: str, stage: str, labels: Mapping[str, Any], *,
                   component: str, plugin: str, error: str, traceback: str = "") -> None:
        """Record a failed stage of the cell ``labels``; the rest of the grid goes on."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, key, stage, json.dumps(labels, sort_keys=True), component, plugin, error,
                 traceback, time.time()),
            )

    def failures(self, run_id: str | None = None, *,
                 with_traceback: bool = False) -> list[dict[str, Any]]:
        """Failures of ``run_id`` (default: the latest run): stage, cell labels, blame, error.

        ``with_traceback`` adds each stored ``traceback`` (left out by default: exported
        ``run.json`` files keep only the one-line errors).
        """
        run_id = run_id or self.latest_run_id()
        names: tuple[str, ...] = ("stage", "labels", "component", "plugin", "error", "stage_key")
        extra = ", traceback" if with_traceback else ""
        names += ("traceback",) if with_traceback else ()
        cursor = self._db.execute(
            "SELECT stage, labels_json, component, plugin, error, stage_key"
            f"{extra} FROM failures WHERE run_id = ? ORDER BY at",
            (run_id,),
        )
        rows = [dict(zip(names, row, strict=True)) for row in cursor]
        for row in rows:
            row["labels"] = json.loads(row["labels"] or "{}")
        return rows

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first."""
        cursor = self._db.execute(
            "SELECT run_id, suite, config_hash, started, finished, status, provenance_json, "
            "config_json FROM runs ORDER BY started"
        )
        names = ("run_id", "suite", "config_hash", "started", "finished", "status", "provenance",
                 "config")
        rows = []
        for row in cursor:
            record = dict(zip(names, row, strict=True))
            record["provenance"] = json.loads(record["provenance"])
            record["config"] = json.loads(record["config"])
            rows.append(record)
        return rows

    def latest_run_id(self) -> str | None:
        """The most recently started run."""
        row = self._db.execute("SELECT run_id FROM runs ORDER BY started DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def stage_reports(self, run_id: str | None = None,
                      stage: str | None = None) -> list[dict[str, Any]]:
        """Labels and reports of the stages a run used (e.g. pretraining quality numbers)."""
        run_id = run_id or self.latest_run_id()
        query = (
            "SELECT s.stage, s.labels_json, s.report_json, s.seconds FROM stages s "
            "JOIN run_stages r ON r.key = s.key WHERE r.run_id = ?"
        )
        args: list[Any] = [run_id]
        if stage:
            query += " AND s.stage = ?"
            args.append(stage)
        return [
            {"stage": s, "labels": json.loads(lab), "report": json.loads(rep or "{}"),
             "seconds": sec}
            for s, lab, rep, sec in self._db.execute(query, args)
        ]

    def scores_frame(self, run_id: str | None = None) -> Any:
        """Per-sample scores of ``run_id`` (default: latest) as a pandas DataFrame."""
        import pandas as pd

        run_id = run_id or self.latest_run_id()
        query = (
            f"SELECT {', '.join('s.' + c for c in SCORE_COLUMNS)} FROM scores s "
            "JOIN run_stages r ON r.key = s.stage_key WHERE r.run_id = ? "
            "ORDER BY s.stage_key, s.branch, s.metric, s.region, s.sample"
        )
        return pd.read_sql_query(query, self._db, params=(run_id,))

    def count_scores(self) -> int:
        """Number of score rows (used by tests to catch duplicates)."""
        return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])


def load_scores(path: Path | str, run_id: str | None = None) -> Any:
    """Python API: the per-sample scores of a run (default: the latest) as a pandas DataFrame.

    One row per (stage, branch, metric, region, sample) with the cell's labels; accuracy
    metrics have ``sample == -1``.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"no results store at {path} (xecgbench run writes results.sqlite)")
    with ResultsStore(path) as store:
        runs = [run["run_id"] for run in store.runs()]
        if run_id is not None and run_id not in runs:
            raise KeyError(f"no run {run_id!r} in {path}; runs: {', '.join(runs) or '(none)'}")
        return store.scores_frame(run_id)
