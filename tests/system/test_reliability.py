"""Reliability of real ``xecgbench run`` processes: kill -9, Ctrl-C, concurrent runs, exit codes.

Each test drives the command line in subprocesses on the ``smoke`` suite and compares the
per-sample scores with an uninterrupted in-process run of the same suite.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from score_checks import count_score_rows, sorted_scores

from xecgbench.plugins.manager import load_plugins
from xecgbench.run.config import load_suite
from xecgbench.run.layout import STORE_NAME
from xecgbench.run.runner import run_suite
from xecgbench.run.store import ResultsStore

# 2 pretrain + 3 finetune + 3 evaluate + 12 attribute + 12 score: 3 methods × (3 cells + the
# untrained model); the from-scratch strategy runs with nothing frozen only
SMOKE_TOTAL = 32
TIMEOUT_S = 120



@pytest.fixture(scope="module")
def reference(smoke_run) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Scores of an uninterrupted run (the session's in-process smoke run)."""
    return sorted_scores(smoke_run.store)


def _default_sigint() -> None:
    """A shell that starts jobs in the background without job control (``( cmd & )``) hands
    them SIGINT ignored, and an ignored signal stays ignored across exec: the run would never
    see the test's Ctrl-C. A terminal's foreground run has the default handler; so does ours."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(out: Path, *args: str) -> subprocess.Popen[str]:
    """``xecgbench run smoke --out OUT --quiet ARGS`` in its own process group."""
    command = [sys.executable, "-m", "xecgbench.cli", "run", "smoke", "--out", str(out), "--quiet",
               *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint,
                            env={**os.environ, "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"})


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=TIMEOUT_S)
    return process.returncode, out + err


def done_stages(store: Path) -> int:
    """Stages recorded as done, read the way any other process would read the store."""
    if not store.exists():
        return 0
    try:
        with closing(sqlite3.connect(store, timeout=5)) as db:
            row = db.execute("SELECT COUNT(*) FROM stages WHERE status = 'done'").fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(row[0])


def wait_for(process: subprocess.Popen[str], store: Path, n_done: int) -> None:
    """Poll until ``n_done`` stages are done (fails if the run ends first)."""
    deadline = time.monotonic() + TIMEOUT_S
    while done_stages(store) < n_done:
        assert process.poll() is None, f"run ended before {n_done} stages: {finish(process)}"
        assert time.monotonic() < deadline, "run made no progress"
        time.sleep(0.005)


def check_store(store: Path, reference: pd.DataFrame) -> None:
    """Intact database, every score once, equal to the uninterrupted run's."""
    with closing(sqlite3.connect(store)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert count_score_rows(store) == len(reference)
    pd.testing.assert_frame_equal(sorted_scores(store), reference)


@pytest.mark.slow
def test_kill_9_at_five_points_then_resume(tmp_path: Path, reference: pd.DataFrame) -> None:
    store = tmp_path / STORE_NAME
    killed_at = []
    for target in (1, 3, 6, 10, 15):
        process = start(tmp_path)
        wait_for(process, store, max(target, done_stages(store) + 1))
        process.send_signal(signal.SIGKILL)
        code, _ = finish(process)
        assert code == -signal.SIGKILL
        killed_at.append(done_stages(store))
    print("killed after", killed_at, "finished stages")
    assert len(set(killed_at)) == 5 and killed_at == sorted(killed_at), killed_at
    assert killed_at[-1] < SMOKE_TOTAL
    code, output = finish(start(tmp_path))
    assert code == 0, output
    assert f"{SMOKE_TOTAL - killed_at[-1]} stages computed, {killed_at[-1]} reused" in output
    check_store(store, reference)
    with ResultsStore(store) as results:
        statuses = [run["status"] for run in results.runs()]
    assert statuses == ["dead"] * 5 + ["ok"]  # killed runs are found dead by the next run


@pytest.mark.slow
def test_ctrl_c_exits_cleanly_and_the_next_run_resumes(tmp_path: Path,
                                                       reference: pd.DataFrame) -> None:
    store = tmp_path / STORE_NAME
    process = start(tmp_path)
    wait_for(process, store, 3)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
    code, output = finish(process)
    assert code == 130, output
    assert "aborted; finished stages are kept" in output
    assert "Traceback" not in output
    kept = done_stages(store)
    assert 3 <= kept < SMOKE_TOTAL
    with ResultsStore(store) as results:
        assert results.runs()[-1]["status"] == "interrupted"
    code, output = finish(start(tmp_path))
    assert code == 0, output
    assert f"{SMOKE_TOTAL - kept} stages computed, {kept} reused" in output
    check_store(store, reference)


def test_sigterm_is_a_clean_interrupt_and_the_next_run_resumes(tmp_path: Path,
                                                               reference: pd.DataFrame) -> None:
    """What `timeout`, a scheduler or `kill` sends: the run is marked interrupted, keeps its
    finished stages and exits 130, as on Ctrl-C (its default action killed it mid-run)."""
    store = tmp_path / STORE_NAME
    process = start(tmp_path)
    wait_for(process, store, 3)
    process.send_signal(signal.SIGTERM)
    code, output = finish(process)
    assert code == 130, output
    assert "Traceback" not in output
    with ResultsStore(store) as results:
        assert results.runs()[-1]["status"] == "interrupted"
    kept = done_stages(store)
    code, output = finish(start(tmp_path))
    assert code == 0, output
    assert f"{SMOKE_TOTAL - kept} stages computed, {kept} reused" in output
    check_store(store, reference)


@pytest.mark.slow
def test_ctrl_c_stops_a_process_pool(tmp_path: Path, reference: pd.DataFrame) -> None:
    store = tmp_path / STORE_NAME
    process = start(tmp_path, "--workers", "2")
    wait_for(process, store, 2)
    os.killpg(process.pid, signal.SIGINT)
    code, output = finish(process)
    assert code == 130, output
    assert "Traceback" not in output
    kept = done_stages(store)
    with ResultsStore(store) as results:
        assert results.runs()[-1]["status"] == "interrupted"
    # Resume in-process and sequentially: the executor does not change the scores.
    summary = run_suite(load_suite("smoke"), load_plugins(autoload=False), tmp_path, quiet=True)
    assert summary.ok
    assert sum(summary.reused.values()) == kept >= 2
    check_store(store, reference)


@pytest.mark.slow
def test_two_concurrent_runs_on_one_store(tmp_path: Path, reference: pd.DataFrame) -> None:
    """The second run queues on the run lock (``--wait``) and reuses every stage."""
    first, second = start(tmp_path, "--wait"), start(tmp_path, "--wait")
    results = [finish(first), finish(second)]
    for code, output in results:
        assert code == 0, output
    summaries = sorted(line for _, output in results for line in output.splitlines()
                       if " stages computed, " in line)
    assert [s.split(": ", 1)[1].split(", 0 failed")[0] for s in summaries] in (
        [f"{SMOKE_TOTAL} stages computed, 0 reused", f"0 stages computed, {SMOKE_TOTAL} reused"],
        [f"0 stages computed, {SMOKE_TOTAL} reused", f"{SMOKE_TOTAL} stages computed, 0 reused"],
    ), summaries
    store = tmp_path / STORE_NAME
    check_store(store, reference)
    with ResultsStore(store) as opened:
        runs = opened.runs()
    assert [run["status"] for run in runs] == ["ok", "ok"]
    for run in runs:
        pd.testing.assert_frame_equal(sorted_scores(store, run["run_id"]), reference)


def test_failed_cells_give_exit_code_1(tmp_path: Path) -> None:
    bad = "{name: saliency, label: bad, params: {chunk_size: 0}}"
    process = start(tmp_path, "--set", "pretraining=[none]",
                    "--set", f"attributions=[saliency, {bad}]")
    code, output = finish(process)
    assert code == 1, output
    # the one from-scratch cell (nothing frozen) and the seed's untrained model
    assert "2 failed, 2 skipped" in output
    assert "FAILED attributions:bad (plugin builtin-attributions) in 2 cells" in output
    assert f"details: xecgbench status --store {tmp_path / STORE_NAME}" in output
