"""Storage faults of a run are one line and exit 2 (read-only, malformed, full disk, an
unwritable cache); silent corruption is caught (an altered score, a lost write-ahead log, an
old store migrated); and one run holds an ``--out`` at a time."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import ENV, cli, micro_suite, one_line_error, run_cli, spawn
from score_checks import count_score_rows

from xecgbench.run.store import SCHEMA, ResultsStore


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody may write: chmod for users, a read-only tmpfs for root."""
    path = tmp_path / "readonly"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("running as root without mount: cannot make a read-only directory")
    yield path
    subprocess.run(["umount", str(path)], check=False)


def test_read_only_out(readonly_dir: Path, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    out = readonly_dir / "out"
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out))
    one_line_error(code, err, str(readonly_dir), "read-only")


def test_read_only_store(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    ResultsStore(out / "results.sqlite").close()
    connect = sqlite3.connect

    def read_only(path: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("xecgbench.run.store.sqlite3.connect", read_only)
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out))
    one_line_error(code, err, str(out / "results.sqlite"), "read-only")


def test_malformed_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.sqlite").write_bytes(b"definitely not sqlite" * 100)
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out))
    one_line_error(code, err, str(out / "results.sqlite"), "not a valid results store")
    code, _, err = cli(capsys, "status", "--store", str(out / "results.sqlite"))
    one_line_error(code, err, "not a valid results store")


_REAL_FDOPEN = os.fdopen


class _FullDisk:
    """A binary file opened for writing whose writes fail with ENOSPC, as on a full disk."""

    def __init__(self, handle: object) -> None:
        self.handle = handle

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()  # type: ignore[attr-defined]

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fdopen_on_full_disk(descriptor: int, mode: str = "r", *args: object,
                         **kwargs: object) -> object:
    handle = _REAL_FDOPEN(descriptor, mode, *args, **kwargs)  # type: ignore[call-overload]
    return _FullDisk(handle) if "w" in mode and "b" in mode else handle


def test_full_disk_is_one_line_and_leaves_no_temporary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr("xecgbench.run.cache.os.fdopen", _fdopen_on_full_disk)
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out))
    one_line_error(code, err, str(out / "cache" / "pretrain"), "disk is full")
    assert "builtin-" not in err  # not blamed on a plugin
    assert not [p for p in (out / "cache").rglob("*") if p.is_file()]
    with ResultsStore(out / "results.sqlite") as store:
        assert [r["status"] for r in store.runs()] == ["error"]
    monkeypatch.setenv("XECGBENCH_DEBUG", "1")
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out))
    assert code == 2 and "Traceback" in err and "disk is full" in err.splitlines()[-1]


def test_real_full_disk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 256 KiB tmpfs (root only): the run stops on the full disk with one line."""
    disk = tmp_path / "tiny"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
            capture_output=True, check=False).returncode != 0:
        pytest.skip("needs root and mount for a tiny tmpfs")
    try:
        code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")),
                           "--out", str(disk / "out"), "--quiet")
        one_line_error(code, err, str(disk / "out"), "full")
        assert not [p for p in disk.rglob(".*") if p.is_file()]  # no temporary file left
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_unwritable_cache_fails_before_any_stage(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "cache").write_text("a file where the cache directory should be")
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out))
    one_line_error(code, err, str(out / "cache"))
    assert "builtin-training" not in err
    assert not (out / "results.sqlite").exists()  # nothing ran


# -- 6: silent corruption -------------------------------------------------------------------
def test_altered_score_is_caught_and_recomputed(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    suite = str(micro_suite(tmp_path / "s.yaml"))
    assert cli(capsys, "run", suite, "--out", str(out), "--quiet")[0] == 0
    store = out / "results.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("UPDATE scores SET value = value + 0.5 WHERE rowid = (SELECT MIN(rowid) "
                   "FROM scores WHERE sample >= 0 AND value IS NOT NULL)")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    code, _, err = cli(capsys, "leaderboard", "build", "--store", str(store))
    one_line_error(code, err, "score stage", "checksum")
    code, out_text, err = cli(capsys, "run", suite, "--out", str(out), "--quiet")
    assert code == 0, err
    assert "1 stages computed, 6 reused" in out_text  # 5 cell stages + the untrained model's 2
    assert cli(capsys, "leaderboard", "build", "--store", str(store))[0] == 0


_KILLED_WRITER = """
import os, signal, sys
from xecgbench.run.store import ResultsStore
store = ResultsStore(sys.argv[1])
store.start_run("r", "s", {{}}, "h", {{}})
for i in range(5):
    store.complete_stage("r", f"k{{i}}", "score", {{}}, artifact=None, checksum=None,
                         seconds=0.0, scores=[{{"stage_key": f"k{{i}}", "branch": "b",
                         "metric": "m", "region": "", "sample": 0, "value": 0.5}}])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_lost_wal_is_reported_on_open(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "results.sqlite"
    result = subprocess.run([sys.executable, "-c", _KILLED_WRITER.format(), str(path)],
                            env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 0
    wal.unlink()
    with ResultsStore(path) as store:
        assert store.lost_commits == 6
    assert count_score_rows(path) == 0
    err = capsys.readouterr().err
    assert "lost its write-ahead log" in err and str(path) in err


def test_old_store_is_migrated(tmp_path: Path) -> None:
    """A store from before checksums opens, gains the columns and verifies its old scores."""
    path = tmp_path / "results.sqlite"
    with sqlite3.connect(path) as db:
        old_schema = SCHEMA.split("CREATE TABLE IF NOT EXISTS meta")[0]
        db.executescript(old_schema.replace(
            "    label INTEGER, chance REAL, model_state TEXT,\n", ""))
        db.execute("INSERT INTO runs VALUES ('r', 's', 'h', '{}', '{}', 1.0, 2.0, 'ok')")
        db.execute("INSERT INTO stages VALUES ('k', 'score', '{}', 'done', NULL, NULL, 0.1, "
                   "'{}', 2.0)")
        db.execute("INSERT INTO run_stages VALUES ('r', 'k')")
        db.execute("INSERT INTO scores VALUES ('k', 'd', 0, 'none', 'none', 'dtd', 'b', 'm', "
                   "'c', '', 0, 'x#0', 0.25)")
    db.close()
    with ResultsStore(path) as store:
        assert store.scores_frame("r")["value"].tolist() == [0.25]
        assert store.scores_intact("k")
        assert [r["status"] for r in store.runs()] == ["ok"]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE scores SET value = 0.75")
    db.close()
    with ResultsStore(path) as store:
        assert not store.scores_intact("k")


# -- 7: one run per --out -------------------------------------------------------------------
def test_second_run_names_the_holder_or_waits(tmp_path: Path) -> None:
    from xecgbench.run.lock import run_lock

    out = tmp_path / "out"
    out.mkdir()
    suite = str(micro_suite(tmp_path / "s.yaml"))
    with run_lock(out):
        refused = run_cli("run", suite, "--out", str(out), "--quiet")
        one_line_error(refused.returncode, refused.stderr, f"pid {os.getpid()}",
                       os.uname().nodename, "--wait")
        waiting = spawn("run", suite, "--out", str(out), "--quiet", "--wait")
        time.sleep(8)
        assert waiting.poll() is None  # still queued behind us
    stdout, stderr = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, stderr
    assert "waiting for the run holding" in stderr and "7 stages computed" in stdout
    with ResultsStore(out / "results.sqlite") as store:
        assert count_score_rows(store.path) == len(store.scores_frame())
