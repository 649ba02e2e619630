"""No process outlives a run, whatever dies first (issue 24, item 5): pool workers and Ray's
processes die with a killed driver, and pool workers notice a dead driver themselves, even
when the reaper that would kill them was killed before it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from cli_runs import alive, micro_suite, running_run, spawn, wait_for

from xecgbench.run.reaper import _table, descendants


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_workers_die_when_the_reaper_dies_before_the_driver(tmp_path: Path) -> None:
    out = tmp_path / "out"
    suite = micro_suite(tmp_path / "s.yaml", epochs="200",
                        freezing="[none, {name: freeze_first_k, params: {k: 1}}]")
    driver = spawn("run", str(suite), "--out", str(out), "--quiet", "--workers", "2")
    tree: dict[int, str] = {}

    def workers() -> list[int]:
        tree.update(descendants({driver.pid}, _table()))
        return [pid for pid in alive(tree) if "spawn_main" in _command(pid)]

    try:
        wait_for(lambda: len(workers()) >= 2 and running_run(out / "results.sqlite"), 90,
                 "two pool workers")
        time.sleep(1.0)
        reapers = [pid for pid in alive(tree) if "reaper.py" in _command(pid)]
        assert len(reapers) == 1, [_command(pid) for pid in alive(tree)]
        os.kill(reapers[0], signal.SIGKILL)
        time.sleep(0.5)
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
    wait_for(lambda: not alive(tree), 5, f"{[_command(p) for p in alive(tree)]} to exit")


def _kill_and_count(tmp_path: Path, *extra: str, ready: int, timeout: float) -> None:
    from xecgbench.run.reaper import _table, descendants

    out = tmp_path / "out"
    suite = micro_suite(tmp_path / "s.yaml", epochs="200",
                        freezing="[none, {name: freeze_first_k, params: {k: 1}}]")
    process = spawn("run", str(suite), "--out", str(out), "--quiet", *extra)
    tree: dict[int, str] = {}

    def grown() -> bool:
        tree.update(descendants({process.pid}, _table()))
        return len(tree) >= ready and running_run(out / "results.sqlite")

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
