"""CPU and wall time of the HTML report of a committed board (default: the quick suite's).

A guard against the old per-panel figure path (16.9 s of CPU for the quick board); the fixed
path took about 9 s. Kept here, not in a test: a slower CPU (15.55 s on an AMD EPYC) must
not turn CI red, as the project's standard says.

Usage: ``python benchmarks/bench_report.py [--board DIR] [--repeats N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from measure import interleaved, load_average, median, report, stamp

QUICK = Path(__file__).resolve().parent.parent / "leaderboards" / "synthetic-both"
MAX_CPU_S = 15.0


def run(board: Path = QUICK, repeats: int = 1) -> dict[str, Any]:
    """Time ``render_report`` on ``board`` (its tables built once, untimed)."""
    from xecgbench.report.examples import load_examples
    from xecgbench.report.rendering.html import render_report
    from xecgbench.report.results_files import validate_directory
    from xecgbench.report.tables import build_leaderboard

    results = validate_directory(board)
    examples = load_examples(board / "examples.npz")
    tables = build_leaderboard(results)
    load_before = load_average()
    timings = interleaved({"report": lambda: render_report(tables, results, examples)},
                          repeats, warmup=0)
    cpu, wall = median(timings.cpu["report"]), median(timings.wall["report"])
    rows = [
        {"figure": f"HTML report of {board.name}, CPU", "value": cpu, "unit": "s",
         "target": f"≤ {MAX_CPU_S:.0f} s", "met": cpu <= MAX_CPU_S},
        {"figure": f"HTML report of {board.name}, wall", "value": wall, "unit": "s",
         "target": "", "met": True},
    ]
    return stamp({"benchmark": "report", "board": str(board), "repeats": repeats,
                  "cpu_seconds": timings.cpu["report"], "wall_seconds": timings.wall["report"],
                  "load_average_before": load_before, "rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", type=Path, default=QUICK)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    report(run(args.board, args.repeats), args.json)


if __name__ == "__main__":
    main()
