"""Wall time, CPU time and peak memory of joining a board: ``xecgbench leaderboard submit``.

A method author scores one attribution method on a board's published models and windows; the
command runs as a child process exactly as typed (``os.wait4`` gives its own CPU seconds and
peak RSS). The board is given (``--board``, one exported with its models) or, with
``--quick``, the ``smoke`` suite is run and exported first (not timed).

Target (2 CPU cores): a gradient method on the paper board in ≤ 10 min wall.

Usage: ``python benchmarks/bench_submit.py --board DIR [--attribution saliency] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench_suite import run_child, xecgbench_command
from measure import load_average, report, stamp

MAX_WALL_S = 600.0


def smoke_board(root: Path) -> Path:
    """Run the smoke suite into ``root`` and export it with its published models."""
    command = xecgbench_command()
    subprocess.run([*command, "run", "smoke", "--out", str(root / "run"), "--quiet"],
                   check=True, capture_output=True)
    subprocess.run([*command, "leaderboard", "export", "--store",
                    str(root / "run" / "results.sqlite"), "--out", str(root / "board"),
                    "--examples", "0"], check=True, capture_output=True)
    return root / "board"


def run(board: Path, attribution: str = "saliency") -> dict[str, Any]:
    """Time one submission of ``attribution`` to ``board`` (written to a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="xecgbench-submit-bench-") as tmp:
        command = [*xecgbench_command(), "leaderboard", "submit", "--board", str(board),
                   "--attribution", attribution, "--out", str(Path(tmp) / attribution)]
        load_before = load_average()
        child = run_child(command)
    rows = [
        {"figure": f"`submit {attribution}` on {board.name} wall", "value": child["wall_s"],
         "unit": "s", "target": f"≤ {MAX_WALL_S:.0f} s", "met": child["wall_s"] <= MAX_WALL_S},
        {"figure": f"`submit {attribution}` on {board.name} CPU (user+sys)",
         "value": child["cpu_s"], "unit": "s", "target": f"≤ {MAX_WALL_S:.0f} s unloaded",
         "met": child["cpu_s"] <= MAX_WALL_S},
        {"figure": f"`submit {attribution}` peak RSS", "value": child["peak_rss_mib"],
         "unit": "MiB", "target": "", "met": True},
    ]
    return stamp({"benchmark": "submit", "board": str(board), "attribution": attribution,
                  "command": " ".join(command), "child": child,
                  "load_average_before": load_before, "rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", type=Path, default=None)
    parser.add_argument("--attribution", default="saliency")
    parser.add_argument("--quick", action="store_true", help="Submit to a fresh smoke board.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    if args.board is None and not args.quick:
        parser.error("give --board DIR or --quick")
    with tempfile.TemporaryDirectory(prefix="xecgbench-board-") as tmp:
        board = args.board or smoke_board(Path(tmp))
        result = run(board, args.attribution)
    report(result, args.json)


if __name__ == "__main__":
    main()
