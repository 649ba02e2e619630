"""No process outlives a run, whatever dies first (issue 24, item 5): pool workers notice a
dead driver themselves, even when the reaper that would kill them was killed before it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from test_faults import _running_run, alive, micro_suite, spawn, wait_for

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
        wait_for(lambda: len(workers()) >= 2 and _running_run(out / "results.sqlite"), 90,
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
