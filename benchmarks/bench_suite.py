"""Wall time and peak memory of ``xecgbench run quick``, and of re-running the finished suite.

The suite runs as a child process exactly as a user types it (``xecgbench run quick --out DIR
--quiet``); ``os.wait4`` gives that child's own resource usage: peak RSS (``ru_maxrss``) and CPU
seconds (user + system). CPU seconds are what the run costs on a machine shared with others:
wall time under a load average of L on C cores stretches by up to L / C, CPU time does not.
The re-run (same command, same ``--out``: every stage is cached) is repeated and its median
is reported as a fraction of the first run, both measured here, in the same process.

Targets (2 CPU cores): first run ≤ 5 min and ≤ 2 GiB peak RSS; re-run ≤ 5 % of the first run.

Usage: ``python benchmarks/bench_suite.py [--suite quick] [--reruns 3] [--json FILE]``;
``--quick`` runs the ``smoke`` suite instead (seconds).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import load_average, median, report, stamp

MAX_WALL_S = 300.0
MAX_RSS_GIB = 2.0
MAX_RERUN_FRACTION = 0.05


def xecgbench_command() -> list[str]:
    """The ``xecgbench`` script next to this interpreter, else ``python -m xecgbench.cli``."""
    script = Path(sys.executable).with_name("xecgbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "xecgbench.cli"]


def run_child(command: list[str]) -> dict[str, float]:
    """Run ``command``; its wall seconds, CPU seconds and peak RSS (MiB) from ``wait4``."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    if child.returncode != 0:
        tail = output.decode(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command)} exited with {child.returncode}:\n{tail}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # Linux reports KiB
    }


def run(suite: str = "quick", reruns: int = 3, out: Path | None = None) -> dict[str, Any]:
    """First run and ``reruns`` cached re-runs of ``suite`` into ``out`` (default: a temp dir)."""
    if out is None:
        with tempfile.TemporaryDirectory(prefix="xecgbench-bench-") as tmp:
            return run(suite, reruns, Path(tmp))
    command = [*xecgbench_command(), "run", suite, "--out", str(out), "--quiet"]
    load_before = load_average()
    first = run_child(command)
    again = [run_child(command) for _ in range(reruns)]
    rerun_wall = median([r["wall_s"] for r in again])
    fraction = rerun_wall / first["wall_s"]
    rows = [
        {"figure": f"`run {suite}` wall", "value": first["wall_s"], "unit": "s",
         "target": f"≤ {MAX_WALL_S:.0f} s", "met": first["wall_s"] <= MAX_WALL_S},
        {"figure": f"`run {suite}` CPU (user+sys)", "value": first["cpu_s"], "unit": "s",
         "target": f"≤ {MAX_WALL_S:.0f} s unloaded", "met": first["cpu_s"] <= MAX_WALL_S},
        {"figure": f"`run {suite}` peak RSS", "value": first["peak_rss_mib"], "unit": "MiB",
         "target": f"≤ {MAX_RSS_GIB * 1024:.0f} MiB",
         "met": first["peak_rss_mib"] <= MAX_RSS_GIB * 1024},
        {"figure": f"re-run `{suite}` / first run (wall, median of {reruns})", "value": fraction,
         "unit": "×", "target": f"≤ {MAX_RERUN_FRACTION}", "met": fraction <= MAX_RERUN_FRACTION},
    ]
    return stamp({
        "benchmark": "suite",
        "suite": suite,
        "command": " ".join(command),
        "first": first,
        "reruns": again,
        "load_average_before": load_before,
        "rows": rows,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Results dir (default: temp).")
    parser.add_argument("--quick", action="store_true", help="The smoke suite, one re-run.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    suite, reruns = ("smoke", 1) if args.quick else (args.suite, args.reruns)
    result = run(suite, reruns, args.out)
    report(result, args.json)


if __name__ == "__main__":
    main()
