"""Wall time, CPU time and peak memory of ``xecgbench leaderboard site`` over every committed
board (issue 31: within 20 s and 1.5 GB on 2 cores).

Each round runs the command in a fresh process (so its peak RSS is its own) into a temporary
folder, interleaved with the start-up every command pays (``xecgbench --help``), and reports
the medians with the load average beside them.
Kept here, not in a test: a slower CPU must not turn CI red.

Usage: ``python benchmarks/bench_site.py [--repeats N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from measure import load_average, median, report, stamp

ROOT = Path(__file__).resolve().parent.parent
MAX_WALL_S, MAX_RSS_GB = 20.0, 1.5
WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run([sys.executable, "-m", "xecgbench.cli", *sys.argv[1:]], check=True,
               stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - started,
                  "cpu": usage.ru_utime + usage.ru_stime, "rss_gb": usage.ru_maxrss / 2**20}))
"""


def _command(*args: str) -> dict[str, float]:
    """Wall, CPU and peak RSS of one ``xecgbench`` command in a process of its own."""
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(repeats: int = 3) -> dict[str, Any]:
    """Site and ``--help`` rounds, interleaved."""
    load_before = load_average()
    site, start = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="xecgbench-site-") as out:
            site.append(_command("leaderboard", "site", "--boards",
                                 str(ROOT / "leaderboards"), "--out", out))
        start.append(_command("--help"))
    wall, cpu = median([r["wall"] for r in site]), median([r["cpu"] for r in site])
    rss = max(r["rss_gb"] for r in site)
    rows = [
        {"figure": "leaderboard site, every committed board, wall", "value": wall, "unit": "s",
         "target": f"≤ {MAX_WALL_S:.0f} s", "met": wall <= MAX_WALL_S},
        {"figure": "leaderboard site, CPU", "value": cpu, "unit": "s", "target": "",
         "met": True},
        {"figure": "leaderboard site, peak RSS", "value": rss, "unit": "GB",
         "target": f"≤ {MAX_RSS_GB} GB", "met": rss <= MAX_RSS_GB},
        {"figure": "of which the command's start (`xecgbench --help`, wall)",
         "value": median([r["wall"] for r in start]), "unit": "s", "target": "", "met": True},
    ]
    return stamp({"benchmark": "site", "repeats": repeats, "site": site, "import_only": start,
                  "load_average_before": load_before, "rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    report(run(args.repeats), args.json)


if __name__ == "__main__":
    main()
