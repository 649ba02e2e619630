"""The results store: one SQLite file (WAL) holding runs, stages, scores and failures.

Long because it holds every SQL statement of the project: no SQL lives anywhere else.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xecgbench.errors import XecgbenchError
from xecgbench.run.faults import (
    GuardedConnection,
    StorageError,
    from_os_error,
    from_sqlite_error,
    sqlite_faults,
)

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
    label INTEGER, chance REAL, model_state TEXT,
    PRIMARY KEY (stage_key, branch, metric, region, sample)
);
CREATE TABLE IF NOT EXISTS probabilities (
    stage_key TEXT NOT NULL, dataset TEXT, seed INTEGER, pretraining TEXT, freezing TEXT,
    branch TEXT NOT NULL, split TEXT NOT NULL, sample INTEGER NOT NULL, record_id TEXT,
    label INTEGER, probability REAL,
    PRIMARY KEY (stage_key, branch, split, sample)
);
CREATE TABLE IF NOT EXISTS failures (
    run_id TEXT NOT NULL, stage_key TEXT NOT NULL, stage TEXT NOT NULL, labels_json TEXT,
    component TEXT, plugin TEXT, error TEXT NOT NULL, traceback TEXT, at REAL NOT NULL,
    PRIMARY KEY (run_id, stage_key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
#: Columns added after the first release: (table, column, type); stores are migrated on open.
MIGRATIONS: tuple[tuple[str, str, str], ...] = (
    ("stages", "scores_checksum", "TEXT"),
    ("runs", "heartbeat", "REAL"),
    ("scores", "label", "INTEGER"),
    ("scores", "chance", "REAL"),
    ("stages", "probabilities_checksum", "TEXT"),
    ("scores", "model_state", "TEXT"),
)
#: The order a stage's score rows are checksummed in (its primary key).
_BLOCK_ORDER = "branch, metric, region, sample"

SCORE_COLUMNS = (
    "stage_key", "dataset", "seed", "pretraining", "freezing", "attribution",
    "branch", "metric", "category", "region", "sample", "record_id", "value", "label", "chance",
    "model_state",
)

#: One row per evaluated window (test and validation split) and branch: its AF probability.
PROBABILITY_COLUMNS = (
    "stage_key", "dataset", "seed", "pretraining", "freezing", "branch", "split", "sample",
    "record_id", "label", "probability",
)
_PROBABILITY_ORDER = "stage_key, branch, split, sample"


class StoreLockedError(XecgbenchError):
    """Another process holds the store's write lock for longer than the timeout."""


class CorruptScoresError(StorageError):
    """Stored score rows no longer match the checksum written with them."""


def scores_digest(rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 of score rows as SQLite returns them (``repr`` keeps every float bit)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row)).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def score_block_digest(rows: Iterable[Sequence[Any]]) -> str:
    """:func:`scores_digest` of :data:`SCORE_COLUMNS` rows; a row whose ``model_state`` (the
    last column) is NULL was written before that column existed and is digested without it,
    so the checksums stored then still match."""
    return scores_digest(row[:-1] if row[-1] is None else row for row in map(tuple, rows))


@dataclass(frozen=True)
class StageRecord:
    """A finished or failed stage as recorded in the store."""

    key: str
    stage: str
    status: str
    artifact: str | None
    checksum: str | None
    report: dict[str, Any]
    labels: dict[str, Any] = field(default_factory=dict)


def connect_read_only(path: Path, timeout_s: float) -> sqlite3.Connection:
    """A connection that cannot write ``path``: no schema set-up, no WAL switch, no migration.

    A WAL store whose directory is read-only (a read-only mount) has no ``-shm`` file to map,
    and SQLite then refuses even ``mode=ro``; nothing can write such a store, so it is opened
    ``immutable`` instead.
    """
    uri = path.resolve().as_uri()
    with sqlite_faults(path):
        try:
            return _probed(f"{uri}?mode=ro", timeout_s)
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc):
                raise
        return _probed(f"{uri}?mode=ro&immutable=1", timeout_s)


def _probed(uri: str, timeout_s: float) -> sqlite3.Connection:
    """Connect to ``uri`` and read its schema (SQLite opens lazily; this makes it open now)."""
    db = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        db.close()
        raise
    return db


class ResultsStore:
    """Append-mostly SQLite store; each write is one transaction, so a kill loses nothing done."""

    def __init__(self, path: Path | str, timeout_s: float = 30.0, *,
                 read_only: bool = False) -> None:
        """Open (creating and migrating) the store; ``read_only`` changes nothing on disk.

        Readers (``status``, leaderboards, ``load_scores``, ``explain``) open read-only, so a
        store on a read-only mount or a damaged one is read or refused without a write.
        """
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():  # SQLite blocks opening a FIFO
            raise StorageError(f"{self.path}: not a results store (not a regular file: a "
                               "FIFO, a device or a directory)")
        self.timeout_s = timeout_s
        #: Set when the store opened without commits it had made (its -wal file was lost).
        self.lost_commits = 0
        if read_only:
            self._raw = connect_read_only(self.path, timeout_s)
            self._db = GuardedConnection(self._raw, self.path)
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise from_os_error(exc, self.path.parent) from exc
            try:
                self._raw = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            except sqlite3.Error as exc:
                raise from_sqlite_error(exc, self.path) from exc
            self._db = GuardedConnection(self._raw, self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._migrate()
        self._check_commits()

    # -- schema migration and lost-WAL detection ------------------------------------------------
    def _migrate(self) -> None:
        """Add the columns of :data:`MIGRATIONS` to an older store; checksum its old scores."""
        added = False
        for table, column, kind in MIGRATIONS:
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                added = True
        if added:  # scores written before checksums existed are trusted once, then guarded
            keys = [k for (k,) in self._db.execute(
                "SELECT key FROM stages WHERE status = 'done' AND scores_checksum IS NULL")]
            for key in keys:
                self._db.execute("UPDATE stages SET scores_checksum = ? WHERE key = ?",
                                 (self._block_digest(self._db, key), key))

    @property
    def commits_file(self) -> Path:
        """Sidecar holding the store's commit count (outside the database and its WAL)."""
        return self.path.with_name(self.path.name + ".commits")

    def _commit_count(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'commits'").fetchone()
        return int(row[0]) if row else 0

    def _check_commits(self) -> None:
        """Report commits the sidecar counted but the database lacks (a deleted -wal file).

        WAL mode keeps recent commits in ``results.sqlite-wal`` until a checkpoint; a kill -9
        leaves them there and deleting that file loses them with no error from SQLite.
        """
        try:
            recorded = int(self.commits_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return
        self.lost_commits = max(0, recorded - self._commit_count())
        if self.lost_commits:
            print(f"warning: results store {self.path} lost its write-ahead log "
                  f"({self.path.name}-wal): {self.lost_commits} committed transactions are "
                  "gone; their stages will be recomputed", file=sys.stderr)

    def _write_commits(self) -> None:
        try:
            self.commits_file.write_text(f"{self._commit_count()}\n")
        except OSError as exc:
            raise from_os_error(exc, self.commits_file) from exc

    @staticmethod
    def _block_digest(db: GuardedConnection, key: str) -> str:
        cursor = db.execute(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE stage_key = ? "
            f"ORDER BY {_BLOCK_ORDER}", (key,))
        return score_block_digest(cursor)

    def scores_intact(self, key: str) -> bool:
        """True when stage ``key``'s score rows match their checksum (or predate checksums)."""
        row = self._db.execute("SELECT scores_checksum FROM stages WHERE key = ?",
                               (key,)).fetchone()
        return row is None or row[0] is None or row[0] == self._block_digest(self._db, key)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[GuardedConnection]:
        try:
            self._raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise StoreLockedError(
                    f"results store {self.path} is locked by another process for more than "
                    f"{self.timeout_s:g} s"
                ) from exc
            raise from_sqlite_error(exc, self.path) from exc
        try:
            yield self._db
            self._db.execute("INSERT INTO meta VALUES ('commits', 1) "
                             "ON CONFLICT(key) DO UPDATE SET value = value + 1")
            self._db.execute("COMMIT")
        except BaseException:
            if self._raw.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the error below says what failed
                    self._raw.execute("ROLLBACK")
            raise
        self._write_commits()

    def start_run(self, run_id: str, suite: str, config: Mapping[str, Any], config_hash: str,
                  provenance: Mapping[str, Any]) -> None:
        """Record a new run (a resumed run is a new run reusing finished stages)."""
        with self._transaction() as db:
            now = time.time()
            db.execute(
                "INSERT INTO runs (run_id, suite, config_hash, config_json, provenance_json, "
                "started, finished, status, heartbeat) VALUES (?, ?, ?, ?, ?, ?, NULL, "
                "'running', ?)",
                (run_id, suite, config_hash, json.dumps(config, sort_keys=True),
                 json.dumps(provenance, sort_keys=True), now, now),
            )

    def mark_dead(self, run_id: str, last_seen: float) -> None:
        """A ``running`` run whose process is gone: ``dead``, finished when last seen."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET status = 'dead', finished = ? "
                       "WHERE run_id = ? AND status = 'running'", (last_seen, run_id))

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
                       scores: Iterable[Mapping[str, Any]] = (),
                       probabilities: Iterable[Mapping[str, Any]] = ()) -> None:
        """Record a finished stage, its scores and its windows' AF probabilities atomically
        (replacing a previous attempt)."""
        rows = [tuple(score.get(c) for c in SCORE_COLUMNS) for score in scores]
        prob_rows = [tuple(p.get(c) for c in PROBABILITY_COLUMNS) for p in probabilities]
        with self._transaction() as db:
            db.execute("DELETE FROM scores WHERE stage_key = ?", (key,))
            db.execute("DELETE FROM probabilities WHERE stage_key = ?", (key,))
            db.executemany(
                f"INSERT INTO scores ({', '.join(SCORE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(SCORE_COLUMNS))})", rows
            )
            db.executemany(
                f"INSERT INTO probabilities ({', '.join(PROBABILITY_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(PROBABILITY_COLUMNS))})", prob_rows
            )
            db.execute(
                "INSERT OR REPLACE INTO stages (key, stage, labels_json, status, artifact, "
                "checksum, seconds, report_json, finished, scores_checksum, "
                "probabilities_checksum) VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?)",
                (key, stage, json.dumps(labels, sort_keys=True), artifact, checksum, seconds,
                 json.dumps(dict(report or {}), sort_keys=True), time.time(),
                 self._block_digest(db, key),
                 scores_digest(sorted(prob_rows, key=_probability_order)) if prob_rows
                 else None),
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

    def last_seen(self, run_id: str) -> float | None:
        """When ``run_id`` last showed it was alive (its heartbeat, else its start)."""
        row = self._db.execute("SELECT COALESCE(heartbeat, started) FROM runs WHERE run_id = ?",
                               (run_id,)).fetchone()
        return float(row[0]) if row and row[0] is not None else None

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

    def finished_stages(self, run_id: str, stage: str) -> list[StageRecord]:
        """The finished ``stage`` stages a run used (with labels and artifacts), in key order.

        How every reader finds a run's checkpoints and relevance arrays: by the labels stored
        when the stage finished, never by re-planning the suite (a plugin upgraded since the
        run would change the keys).
        """
        rows = self._db.execute(
            "SELECT s.key, s.stage, s.status, s.artifact, s.checksum, s.report_json, "
            "s.labels_json FROM stages s JOIN run_stages r ON r.key = s.key "
            "WHERE r.run_id = ? AND s.stage = ? AND s.status = 'done' ORDER BY s.key",
            (run_id, stage),
        ).fetchall()
        return [
            StageRecord(k, s, st, a, c, json.loads(rep or "{}"), json.loads(lab))
            for k, s, st, a, c, rep, lab in rows
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
        rows = self._db.execute(query, (run_id,)).fetchall()
        self._verify_blocks(rows)
        return pd.DataFrame.from_records(rows, columns=list(SCORE_COLUMNS), coerce_float=True)

    def probabilities_frame(self, run_id: str | None = None) -> Any:
        """Per-window AF probabilities of ``run_id`` (default: latest) as a DataFrame; empty
        for runs recorded before probabilities were stored. Each stage's block is checked
        against the checksum written with it."""
        import pandas as pd

        run_id = run_id or self.latest_run_id()
        rows = self._db.execute(
            f"SELECT {', '.join('p.' + c for c in PROBABILITY_COLUMNS)} FROM probabilities p "
            "JOIN run_stages r ON r.key = p.stage_key WHERE r.run_id = ? "
            f"ORDER BY {', '.join('p.' + c for c in _PROBABILITY_ORDER.split(', '))}",
            (run_id,)).fetchall()
        expected = dict(self._db.execute("SELECT key, probabilities_checksum FROM stages "
                                          "WHERE probabilities_checksum IS NOT NULL"))
        for key, block in itertools.groupby(rows, key=lambda row: row[0]):
            if key in expected and scores_digest(block) != expected[key]:
                raise CorruptScoresError(
                    f"results store {self.path}: the probabilities of stage {key[:12]} do not "
                    "match their checksum; run `xecgbench run` again on it to recompute it")
        return pd.DataFrame.from_records(rows, columns=list(PROBABILITY_COLUMNS),
                                         coerce_float=True)

    def _verify_blocks(self, rows: Sequence[Sequence[Any]]) -> None:
        """Refuse rows whose stage block does not match its checksum (a silent corruption)."""
        expected = dict(self._db.execute(
            "SELECT key, scores_checksum FROM stages WHERE scores_checksum IS NOT NULL"))
        for key, block in itertools.groupby(rows, key=lambda row: row[0]):
            if key in expected and score_block_digest(block) != expected[key]:
                stage = self._db.execute("SELECT stage, labels_json FROM stages WHERE key = ?",
                                         (key,)).fetchone()
                raise CorruptScoresError(
                    f"results store {self.path}: the scores of {stage[0]} stage {key[:12]} "
                    f"({stage[1]}) do not match their checksum (the file was altered or "
                    "damaged); run `xecgbench run` again on it to recompute that stage"
                )



def _probability_order(row: Sequence[Any]) -> tuple[Any, ...]:
    """A probability row's place in :data:`_PROBABILITY_ORDER` (its checksum order)."""
    names = _PROBABILITY_ORDER.split(", ")
    return tuple(row[PROBABILITY_COLUMNS.index(n)] for n in names)


def load_scores(path: Path | str, run_id: str | None = None) -> Any:
    """Python API: the per-sample scores of a run (default: the latest) as a pandas DataFrame.

    One row per (stage, branch, metric, region, sample) with the cell's labels; accuracy
    metrics have ``sample == -1``.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"no results store at {path} (xecgbench run writes results.sqlite)")
    with ResultsStore(path, read_only=True) as store:
        runs = [run["run_id"] for run in store.runs()]
        if run_id is not None and run_id not in runs:
            raise KeyError(f"no run {run_id!r} in {path}; runs: {', '.join(runs) or '(none)'}")
        return store.scores_frame(run_id)


def record_heartbeat(store_path: Path, run_id: str, when: float) -> None:
    """Stamp ``run_id`` as alive at ``when``, on a connection of the calling thread's own
    (SQLite connections are per thread). Never raises: a missed beat only makes the run look
    older to other hosts."""
    try:
        with contextlib.closing(sqlite3.connect(store_path, timeout=5)) as db, db:
            db.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ?", (when, run_id))
    except sqlite3.Error:
        return
