"""A run whose process died is ``dead``, not ``running``: on ``status``, when the next run
opens the store, and on another host once it has been silent too long."""

from __future__ import annotations

import os
from pathlib import Path

from cli_runs import micro_suite, run_cli, running_run, spawn, wait_for

from xecgbench.run.store import ResultsStore


def test_a_killed_run_is_dead_not_running(tmp_path: Path) -> None:
    out = tmp_path / "out"
    suite = micro_suite(tmp_path / "s.yaml", epochs="30")
    process = spawn("run", str(suite), "--out", str(out), "--quiet")
    try:
        wait_for(lambda: running_run(out / "results.sqlite"), 60, "the run to start")
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
