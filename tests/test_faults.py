"""Faults and bad input (issue 14): each numbered failure of the issue, reproduced and refused.

1 writes through symlinks, 2 Ray from the checkout's parent, 3 dead runs, 4 orphans,
5 storage faults, 6 silent corruption, 7 concurrent runs, 8 WFDB and label files,
9 late validation. Kill tests are bounded in time; Ray tests are marked slow.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from score_checks import count_score_rows

from xecgbench.cli import main
from xecgbench.run.store import SCHEMA, ResultsStore

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),
       "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}

MICRO = """\
description: tiny run for fault tests
seeds: [0]
data:
  dataset: {dataset}
  fs: {fs}
  duration_s: {duration}
model: {{name: xecgarch, params: {{width: 2}}}}
pretraining: [none]
pretraining_budget: {{epochs: 1, batch_size: 16, lr: 0.01, patience: 1}}
freezing: {freezing}
training: {{epochs: {epochs}, batch_size: 16, lr: 0.01, patience: 1}}
attributions: [saliency]
metrics: {metrics}
explain: {{n_samples: 4, n_costly: 1, batch_size: 4, branches: [morphology]}}
primary_metric: {primary}
"""
SYNTHETIC = "{name: synthetic, params: {n_train: 32, n_test: 8, seed: 0}}"


def micro_suite(path: Path, **fields: str) -> Path:
    """A one-cell suite (five stages and the untrained model's two, a few seconds);
    ``fields`` replace its defaults."""
    values = {"dataset": SYNTHETIC, "fs": "50", "duration": "4", "freezing": "[none]",
              "epochs": "1", "metrics": "[accuracy, relevance_mass_accuracy]",
              "primary": "relevance_mass_accuracy", **fields}
    path.write_text(MICRO.format(**values))
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (monkeypatches apply); exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def spawn(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
          ) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "xecgbench.cli", *args], cwd=cwd,
                            env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xecgbench.cli", *args], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(code: int, err: str, *names: str) -> None:
    """Exit 2, no traceback, and every culprit in ``names`` named."""
    assert code == 2, err
    assert "Traceback" not in err, err
    for name in names:
        assert name in err, (name, err)


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(tree: dict[int, str]) -> list[int]:
    from xecgbench.run.reaper import _table

    table = _table()
    return [pid for pid, start in tree.items() if table.get(pid, (0, None))[1] == start]


# -- 1: no write through a symlink or outside the directory ------------------------------------
def _submission(root: Path) -> Path:
    source = REPO / "leaderboards" / "synthetic-shortcut"
    target = root / "evil"
    target.mkdir(parents=True)
    for name in ("run.json", "scores.parquet", "checksums.json"):
        shutil.copy(source / name, target / name)
    return target


def test_rebuild_refuses_a_symlinked_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    submission = _submission(tmp_path / "root")
    (submission / "leaderboard.md").symlink_to(victim)
    code, _, err = cli(capsys, "leaderboard", "rebuild", str(tmp_path / "root"))
    one_line_error(code, err, str(submission / "leaderboard.md"), "symlink")
    assert len(err.strip().splitlines()) == 1
    assert victim.read_text() == "precious\n"


def test_rebuild_refuses_a_symlinked_directory(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    outside = _submission(tmp_path / "elsewhere")
    root = tmp_path / "root"
    root.mkdir()
    (root / "evil").symlink_to(outside, target_is_directory=True)
    code, _, err = cli(capsys, "leaderboard", "rebuild", str(root))
    one_line_error(code, err, str(root / "evil"), "symlink")
    assert not (outside / "leaderboard.md").exists()


def test_export_refuses_a_symlinked_raw_file(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out),
               "--quiet")[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    export = tmp_path / "export"
    export.mkdir()
    (export / "run.json").symlink_to(victim)
    code, _, err = cli(capsys, "leaderboard", "export", "--store", str(out / "results.sqlite"),
                       "--out", str(export), "--examples", "0")
    one_line_error(code, err, "run.json", "symlink")
    assert victim.read_text() == "precious\n"


# -- 2: Ray workers import the installed package from any working directory -----------------
@pytest.mark.slow
def test_ray_from_the_checkouts_parent(tmp_path: Path) -> None:
    """Workers see the driver's cwd: a folder ``xecgbench/`` there must not shadow the package.

    The driver finds the package through ``sys.path`` (as an editable install's finder does),
    not ``PYTHONPATH``, so workers can only import it if the executor tells them where it is.
    """
    parent = tmp_path / "parent"
    (parent / "xecgbench").mkdir(parents=True)  # the checkout folder, seen from its parent
    suite = micro_suite(tmp_path / "s.yaml")
    driver = (f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'plugins')!r}]; "
              "from xecgbench.cli import main; "
              f"main(['run', {str(suite)!r}, '--executor', 'ray', '--workers', '1', "
              f"'--out', {str(tmp_path / 'out')!r}, '--quiet'])")
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", driver], cwd=parent, env=env,
                            capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "7 stages computed" in result.stdout and "0 failed" in result.stdout


# -- 3: dead runs ---------------------------------------------------------------------------
def _running_run(store: Path) -> bool:
    if not store.is_file():
        return False
    try:
        with sqlite3.connect(store, timeout=1) as db:
            return bool(db.execute("SELECT 1 FROM runs WHERE status = 'running'").fetchone())
    except sqlite3.Error:
        return False


def test_a_killed_run_is_dead_not_running(tmp_path: Path) -> None:
    out = tmp_path / "out"
    suite = micro_suite(tmp_path / "s.yaml", epochs="30")
    process = spawn("run", str(suite), "--out", str(out), "--quiet")
    try:
        wait_for(lambda: _running_run(out / "results.sqlite"), 60, "the run to start")
    finally:
        process.kill()
        process.wait(timeout=10)
    status = run_cli("status", "--store", str(out / "results.sqlite"))
    assert status.returncode == 0, status.stderr
    assert ": dead (last seen " in status.stdout and f"pid {process.pid}" in status.stdout
    with ResultsStore(out / "results.sqlite") as store:
        assert [r["status"] for r in store.runs()] == ["dead"]


def test_the_next_run_marks_a_dead_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    suite = micro_suite(tmp_path / "s.yaml")
    with ResultsStore(out / "results.sqlite") as store:
        store.start_run("ghost", "micro", {}, "h", {"execution": {"host": os.uname().nodename,
                                                                   "pid": 2**22 + 7}})
    result = run_cli("run", str(suite), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    with ResultsStore(out / "results.sqlite") as store:
        assert {r["run_id"]: r["status"] for r in store.runs()}["ghost"] == "dead"


def test_a_silent_run_on_another_host_is_dead() -> None:
    from xecgbench.run.liveness import STALE_AFTER_S, run_state

    run = {"status": "running", "started": 1000.0,
           "provenance": {"execution": {"host": "elsewhere", "pid": 1}}}
    assert run_state(run, last_seen=1000.0, now=1000.0 + STALE_AFTER_S / 2) == "running"
    assert run_state(run, last_seen=1000.0, now=1000.0 + STALE_AFTER_S * 2) == "dead"


# -- 4: children die with the parent --------------------------------------------------------
def _kill_and_count(tmp_path: Path, *extra: str, ready: int, timeout: float) -> None:
    from xecgbench.run.reaper import _table, descendants

    out = tmp_path / "out"
    suite = micro_suite(tmp_path / "s.yaml", epochs="200",
                        freezing="[none, {name: freeze_first_k, params: {k: 1}}]")
    process = spawn("run", str(suite), "--out", str(out), "--quiet", *extra)
    tree: dict[int, str] = {}

    def grown() -> bool:
        tree.update(descendants({process.pid}, _table()))
        return len(tree) >= ready and _running_run(out / "results.sqlite")

    try:
        wait_for(grown, timeout, f"{ready} child processes")
        time.sleep(1.0)
        tree.update(descendants({process.pid}, _table()))
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    wait_for(lambda: not alive(tree), 15, f"children {alive(tree)} to exit")


def test_pool_workers_die_with_the_parent(tmp_path: Path) -> None:
    # reaper + resource tracker + 2 workers
    _kill_and_count(tmp_path, "--workers", "2", ready=4, timeout=90)


@pytest.mark.slow
def test_ray_processes_die_with_the_parent(tmp_path: Path) -> None:
    _kill_and_count(tmp_path, "--executor", "ray", "--workers", "2", ready=5, timeout=120)


# -- 5: storage faults are one line, exit 2 ---------------------------------------------------
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


# -- 8 and 9: fuzzed WFDB records, label files and suites --------------------------------------
RECORDS = {"A00001": "N", "A00002": "N", "A00004": "A", "A00005": "A", "A00008": "O"}
BAD = "A00004"


def _header(path: Path, old: str, new: str) -> None:
    header = path / f"{BAD}.hea"
    text = header.read_text()
    assert old in text, (old, text)
    header.write_text(text.replace(old, new, 1))


def _signal(path: Path, data: bytes) -> None:
    (path / f"{BAD}.mat").write_bytes(data)


def _reference(path: Path, text: str) -> None:
    (path / "REFERENCE.csv").write_text(text)


def _body(path: Path) -> bytes:
    return (path / f"{BAD}.mat").read_bytes()


#: name -> (damage, culprit the output must name)
WFDB_CASES = {
    "fs 0": (lambda p: _header(p, " 300 ", " 0 "), BAD),
    "fs text": (lambda p: _header(p, " 300 ", " abc "), BAD),
    "fs negative": (lambda p: _header(p, " 300 ", " -300 "), BAD),
    "fs inf": (lambda p: _header(p, " 300 ", " inf "), BAD),
    "fs huge": (lambda p: _header(p, " 300 ", " 1e9 "), BAD),
    "length 0": (lambda p: _header(p, " 300 9000", " 300 0"), BAD),
    "length text": (lambda p: _header(p, " 300 9000", " 300 many"), BAD),
    "length missing": (lambda p: (p / f"{BAD}.hea").write_text(
        f"{BAD} 1 300\n{BAD}.mat 16+24 1000/mV 16 0 0 0 0 ECG\n"), BAD),
    "length huge": (lambda p: _header(p, " 300 9000", " 300 99999999"), BAD),
    "gain 0": (lambda p: _header(p, "1000/mV", "0/mV"), BAD),
    "gain text": (lambda p: _header(p, "1000/mV", "abc/mV"), BAD),
    "format text": (lambda p: _header(p, "16+24", "xx+24"), BAD),
    "format unknown": (lambda p: _header(p, "16+24", "999+24"), BAD),
    "format missing": (lambda p: (p / f"{BAD}.hea").write_text(
        f"{BAD} 1 300 9000\n{BAD}.mat\n"), BAD),
    "name mismatch": (lambda p: _header(p, f"{BAD} 1", "A00001 1"), BAD),
    "signals 0": (lambda p: _header(p, f"{BAD} 1 ", f"{BAD} 0 "), BAD),
    "signals text": (lambda p: _header(p, f"{BAD} 1 ", f"{BAD} x "), BAD),
    "signals missing": (lambda p: _header(p, f"{BAD} 1 ", f"{BAD} 2 "), BAD),
    "header empty": (lambda p: (p / f"{BAD}.hea").write_text(""), BAD),
    "header binary": (lambda p: (p / f"{BAD}.hea").write_bytes(b"\x00\xff\x10garbage"), BAD),
    "header not ascii": (lambda p: (p / f"{BAD}.hea").write_bytes("A00004 1 300 éé\n".encode()),
                         BAD),
    "header missing": (lambda p: (p / f"{BAD}.hea").unlink(), BAD),
    "header is a directory": (lambda p: ((p / f"{BAD}.hea").unlink(),
                                         (p / f"{BAD}.hea").mkdir()), BAD),
    "file outside": (lambda p: _header(p, f"{BAD}.mat", "../A00001.mat"), BAD),
    "signal missing": (lambda p: (p / f"{BAD}.mat").unlink(), BAD),
    "signal empty": (lambda p: _signal(p, b""), BAD),
    "signal truncated": (lambda p: _signal(p, _body(p)[:5000]), BAD),
    "signal NaN": (lambda p: _signal(p, _body(p)[:224] + b"\x00\x80" * 50 + _body(p)[324:]),
                   BAD),
    "signal flat": (lambda p: _signal(p, _body(p)[:24] + b"\x05\x00" * (
        (len(_body(p)) - 24) // 2)), BAD),
    "signal is a directory": (lambda p: ((p / f"{BAD}.mat").unlink(),
                                         (p / f"{BAD}.mat").mkdir()), BAD),
    "label conflicting": (lambda p: _reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + f"{BAD},N\n"), BAD),
    "label duplicated": (lambda p: _reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + f"{BAD},A\n"), BAD),
    "label unknown": (lambda p: _reference(p, "".join(
        f"{r},{'X' if r == BAD else c}\n" for r, c in RECORDS.items())), BAD),
    "label empty": (lambda p: _reference(p, "".join(
        f"{r},{'' if r == BAD else c}\n" for r, c in RECORDS.items())), BAD),
    "label path traversal": (lambda p: _reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + "../../etc/passwd,N\n"),
        "../../etc/passwd"),
    "label record absent": (lambda p: _reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + "A09999,N\n"), "A09999"),
    "labels not utf-8": (lambda p: (p / "REFERENCE.csv").write_bytes(b"\xff\xfe\x00A\x00,"),
                         "REFERENCE.csv"),
    "labels missing": (lambda p: (p / "REFERENCE.csv").unlink(), "REFERENCE.csv"),
    "labels empty": (lambda p: _reference(p, ""), "REFERENCE.csv"),
}


@pytest.fixture(scope="module")
def delineation_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("delineation")


def _cinc(shared_data: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for record, _ in RECORDS.items():
        for suffix in (".hea", ".mat"):
            shutil.copy(shared_data / "cinc2017" / f"{record}{suffix}", target)
    _reference(target, "".join(f"{r},{c}\n" for r, c in RECORDS.items()))
    header = (target / f"{BAD}.hea").read_text()
    assert " 300 9000" in header and "16+24 1000/mV" in header, header
    return target


@pytest.mark.data
@pytest.mark.parametrize("case", sorted(WFDB_CASES))
def test_malformed_wfdb_through_data_check_and_run(
        case: str, shared_data: Path, tmp_path: Path, delineation_cache: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XECGBENCH_CACHE", str(delineation_cache))
    damage, culprit = WFDB_CASES[case]
    data = _cinc(shared_data, tmp_path / "cinc2017")
    damage(data)
    code, out, err = cli(capsys, "data", "check", "cinc2017", "--path", str(data), "--json")
    assert "Traceback" not in out + err
    if code == 0:  # a counted skip that names the record
        report = json.loads(out)
        assert culprit in report["skipped"], report
    else:
        one_line_error(code, err, culprit)
    # run with the error policy: it stops before the first stage, naming the culprit
    dataset = f"{{name: cinc2017, params: {{path: '{data}', on_bad_record: error}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    code, out, err = cli(capsys, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, culprit)
    assert not (tmp_path / "out" / "results.sqlite").exists()


@pytest.mark.data
def test_skipped_records_are_counted_per_split_in_the_run(
        shared_data: Path, tmp_path: Path, delineation_cache: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Header faults and a record NeuroKit2 cannot delineate are in the run's provenance."""
    import numpy as np

    monkeypatch.setenv("XECGBENCH_CACHE", str(delineation_cache))
    records = {**RECORDS, "A00013": "O", "A00015": "A", "A00019": "N", "A00027": "A"}
    data = tmp_path / "cinc2017"
    data.mkdir()
    for record in records:
        for suffix in (".hea", ".mat"):
            shutil.copy(shared_data / "cinc2017" / f"{record}{suffix}", data)
    _reference(data, "".join(f"{r},{c}\n" for r, c in records.items()))
    _header(data, " 300 ", " 0 ")  # BAD: sampling frequency 0
    body = (data / "A00019.mat").read_bytes()  # a smooth, slow wave: nothing to delineate
    slow = (np.sin(np.linspace(0, 2 * np.pi, (len(body) - 24) // 2)) * 800).astype("<i2")
    (data / "A00019.mat").write_bytes(body[:24] + slow.tobytes())
    dataset = f"{{name: cinc2017, params: {{path: '{data}', test_fraction: 0.3}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    code, _, err = cli(capsys, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet")
    assert code == 0, err
    with ResultsStore(tmp_path / "out" / "results.sqlite") as store:
        record = store.runs()[-1]["provenance"]["data"]
    excluded = {**record["train"]["excluded_records"], **record["test"]["excluded_records"]}
    assert "field 'sampling frequency'" in excluded[BAD]
    assert "NeuroKit2" in excluded["A00019"] or "R peaks" in excluded["A00019"]
    total = record["train"]["excluded"] + record["test"]["excluded"]
    assert total == 2 and record["train"]["records"] + record["test"]["records"] == 7


#: name -> (suite text replacements or a raw file, culprit the error must name)
SUITE_CASES: dict[str, tuple[dict[str, str] | str, tuple[str, ...]]] = {
    "freezing parameter": ({"freezing": "[{name: freeze_first_k, params: {kk: 2}}]"},
                           ("freeze_first_k", "'kk'", "did you mean 'k'")),
    "model parameter": ({"dataset": SYNTHETIC}, ()),  # replaced below
    "dataset parameter": ({"dataset": "{name: synthetic, params: {n_trian: 32}}"},
                          ("synthetic", "'n_trian'", "did you mean 'n_train'")),
    "metric parameter": ({"metrics": "[accuracy, {name: relevance_mass_accuracy, params: "
                                     "{backnd: fast}}]"},
                         ("relevance_mass_accuracy", "'backnd'", "did you mean 'backend'")),
    "primary metric": ({"primary": "pointing_game"}, ("primary_metric", "pointing_game")),
    "primary metric typo": ({"primary": "relevance_mass_acuracy"},
                            ("did you mean 'relevance_mass_accuracy'",)),
    "missing data path": ({"dataset": "{name: cinc2017, params: {path: /nope/cinc2017}}"},
                          ("/nope/cinc2017",)),
    "unknown component": ({"freezing": "[frozen_solid]"}, ("frozen_solid",)),
    "unknown metric": ({"metrics": "[accuracy, relevance_mass_accuracy, nope_metric]"},
                       ("nope_metric",)),
    "bad yaml": ("seeds: [0\nmodel: {", ("s.yaml",)),
    "no seeds": ("seeds: []\n", ("seeds",)),
    "negative fs": ({"fs": "-1"}, ("fs",)),
    "dataset on_bad_record": ({"dataset": "{name: synthetic, params: {on_bad_record: skip}}"},
                              ("synthetic", "'on_bad_record'")),
}
SUITE_CASES["model parameter"] = ({"dataset": SYNTHETIC}, ("xecgarch", "'widht'",
                                                           "did you mean 'width'"))


@pytest.mark.parametrize("case", sorted(SUITE_CASES))
def test_malformed_suite_fails_before_the_first_stage(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fields, culprits = SUITE_CASES[case]
    path = tmp_path / "s.yaml"
    if isinstance(fields, str):
        path.write_text(fields)
    else:
        micro_suite(path, **fields)
        if case == "model parameter":
            path.write_text(path.read_text().replace("{width: 2}", "{widht: 2}"))
    code, _, err = cli(capsys, "run", str(path), "--out", str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, *culprits)
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out" / "results.sqlite").exists()


@pytest.mark.data
def test_unwritable_delineation_cache_is_not_a_bad_record(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the delineation cache should be")
    monkeypatch.setenv("XECGBENCH_CACHE", str(blocker))
    data = _cinc(shared_data, tmp_path / "cinc2017")
    dataset = f"{{name: cinc2017, params: {{path: '{data}'}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    code, _, err = cli(capsys, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, str(blocker))
    assert "A0000" not in err  # no record is blamed for the disk
    assert not list(tmp_path.rglob("*.tmp.npz"))


def test_parameter_check_follows_forwarded_keywords_and_runner_arguments() -> None:
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.config import SuiteError, load_suite
    from xecgbench.run.preflight import accepted_parameters, check_parameters
    from xecgbench_builtin.data.cinc2017 import CinC2017

    accepted = accepted_parameters(CinC2017)  # its **config goes to WFDBDataset.__init__
    assert accepted is not None and {"label_map", "on_bad_record", "path"} <= accepted
    system = load_plugins(autoload=False)
    # a seed given to an attribution overrides the runner's default: allowed
    check_parameters(load_suite("smoke", ["attributions=[{name: random, params: {seed: 3}}]"]),
                     system)
    with pytest.raises(SuiteError, match="'fs' is set by the runner"):
        check_parameters(load_suite("smoke", ["model.params={width: 4, fs: 100}"]), system)


@pytest.mark.data
def test_ludb_duplicate_listings_are_named(shared_data: Path, tmp_path: Path) -> None:
    from xecgbench_builtin.data.ludb import LUDB

    source, target = shared_data / "ludb", tmp_path / "ludb"
    (target / "data").mkdir(parents=True)
    for record in ("1", "2"):
        for path in (source / "data").glob(f"{record}.*"):
            shutil.copy(path, target / "data")
    (target / "RECORDS").write_text("data/1\ndata/2\ndata/1\n")
    shutil.copy(source / "ludb.csv", target / "ludb.csv")
    report = LUDB(path=target).check()
    assert "listed more than once in RECORDS" in report.skipped["data/1"]
    assert "data/2" not in report.skipped
    import pandas as pd

    table = pd.read_csv(source / "ludb.csv", dtype={"ID": str})
    pd.concat([table, table[table["ID"] == "2"]]).to_csv(target / "ludb.csv", index=False)
    (target / "RECORDS").write_text("data/1\ndata/2\n")
    report = LUDB(path=target).check()
    assert "listed more than once in ludb.csv" in report.skipped["data/2"]
