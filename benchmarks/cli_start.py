"""Start-up of the ``xecgbench`` command: ``--help``, ``plugins`` and a one-line preflight error.

Each command runs as a child process exactly as a user types it (the ``xecgbench`` script next
to this interpreter); ``os.wait4`` gives the child's own CPU seconds and peak RSS. The commands
and a bare ``python -c pass`` are interleaved (A, B, C, D, A, …) after an untimed warm-up
round, and the median of the repetitions is reported, with its ratio to ``python -c pass``
from the same rounds. One more, untimed run of each command reports which of torch, captum,
zennit and quantus it imported.

Targets (2 CPU cores): ``--help``, ``plugins`` and the preflight error within 0.5 s wall and
150 MiB peak RSS, none importing torch, captum, zennit or quantus.

Usage: ``python benchmarks/cli_start.py [--repeats 7] [--json FILE]``; ``--record LABEL`` also
stores the result under LABEL in ``benchmarks/results/cli_start.json``, from which ``--docs``
writes the generated section of ``docs/benchmarks.md`` (``--docs --check``: exit 1 if stale).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_suite import xecgbench_command
from measure import load_average, median, report, stamp

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "cli_start.json"
PAGE = HERE.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- BEGIN generated: CLI start-up (python benchmarks/cli_start.py --docs) -->"
END = "<!-- END generated: CLI start-up -->"
MAX_WALL_S = 0.5
MAX_RSS_MIB = 150.0
HEAVY = ("torch", "captum", "zennit", "quantus")
#: What a user types that must answer at once (a suite with an unknown method: the preflight).
COMMANDS: dict[str, list[str]] = {
    "xecgbench --help": ["--help"],
    "xecgbench plugins": ["plugins"],
    "xecgbench run BAD.yaml (unknown method)": ["run", "{suite}", "--out", "{out}"],
}
REFERENCE = "python -c pass"
#: Prints which heavy modules the command imported, run after it (or its SystemExit).
_PROBE = (f"import runpy, sys\nHEAVY = {HEAVY!r}\n"
          "sys.argv = ['xecgbench', *sys.argv[1:]]\ntry:\n"
          "    runpy.run_module('xecgbench.cli', run_name='__main__')\nexcept SystemExit:\n"
          "    pass\nprint('HEAVY', *[m for m in HEAVY if m in sys.modules])\n")


def _child(command: list[str]) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one run of ``command`` (any exit code)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped by wait4, not by Popen
    return {"wall_s": time.perf_counter() - started, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024}


def _heavy_imports(args: list[str]) -> list[str]:
    probe = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True)
    line = next((ln for ln in probe.stdout.splitlines() if ln.startswith("HEAVY")), "HEAVY ?")
    return line.split()[1:]


def run(repeats: int = 7) -> dict[str, Any]:
    """Time every command of :data:`COMMANDS` and ``python -c pass``, interleaved."""
    with tempfile.TemporaryDirectory(prefix="xecgbench-start-") as tmp:
        suite = Path(tmp) / "bad.yaml"
        suite.write_text("attributions: [no_such_method]\n", encoding="utf-8")
        fill = {"suite": str(suite), "out": str(Path(tmp) / "out")}
        cases = {name: [a.format(**fill) for a in args] for name, args in COMMANDS.items()}
        commands = {REFERENCE: [sys.executable, "-c", "pass"],
                    **{name: [*xecgbench_command(), *args] for name, args in cases.items()}}
        load_before = load_average()
        for command in commands.values():  # warm-up: the page cache, .pyc files
            _child(command)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, command in commands.items():
                samples[name].append(_child(command))
        heavy = {name: _heavy_imports(args) for name, args in cases.items()}
    summary = {name: {key: median([s[key] for s in runs]) for key in runs[0]}
               for name, runs in samples.items()}
    reference = summary[REFERENCE]["wall_s"]
    rows = []
    for name in COMMANDS:
        wall, rss = summary[name]["wall_s"], summary[name]["peak_rss_mib"]
        rows += [
            {"figure": f"`{name}` wall (median of {repeats})", "value": wall, "unit": "s",
             "target": f"≤ {MAX_WALL_S} s", "met": wall <= MAX_WALL_S},
            {"figure": f"`{name}` / `{REFERENCE}` (wall)", "value": wall / reference,
             "unit": "×", "target": "", "met": True},
            {"figure": f"`{name}` CPU (user+sys)", "value": summary[name]["cpu_s"], "unit": "s",
             "target": "", "met": True},
            {"figure": f"`{name}` peak RSS", "value": rss, "unit": "MiB",
             "target": f"≤ {MAX_RSS_MIB:.0f} MiB", "met": rss <= MAX_RSS_MIB},
        ]
    return stamp({"benchmark": "cli_start", "repeats": repeats, "reference": REFERENCE,
                  "medians": summary, "heavy_imports": heavy, "samples": samples,
                  "load_average_before": load_before, "rows": rows})


def record(label: str, result: dict[str, Any], path: Path = RESULTS) -> None:
    """Keep ``result`` under ``label`` in the committed results (replacing an older one)."""
    runs = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    runs[label] = result
    path.write_text(json.dumps(runs, indent=2, default=float) + "\n", encoding="utf-8")


def render(runs: dict[str, Any]) -> str:
    """The docs table: one row per command and recorded run, from the committed results."""
    lines = [BEGIN, "",
             "| command | run | wall (median) | × `python -c pass` | CPU | peak RSS | "
             "heavy modules imported | load (1 min) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in [REFERENCE, *COMMANDS]:
        for label, result in runs.items():
            m = result["medians"][name]
            ratio = m["wall_s"] / result["medians"][REFERENCE]["wall_s"]
            heavy = ", ".join(result["heavy_imports"].get(name, [])) or "none"
            heavy = "—" if name == REFERENCE else heavy
            load = f"{result['load_average_before'][0]} → {result['load_average'][0]}"
            lines.append(f"| `{name}` | {label} | {m['wall_s']:.2f} s | {ratio:.1f} | "
                         f"{m['cpu_s']:.2f} s | {m['peak_rss_mib']:.0f} MiB | {heavy} | {load} |")
    first = next(iter(runs.values()))
    lines += ["", f"Medians of {first['repeats']} interleaved runs per command on "
              f"{first['machine']['cpu']} ({first['machine']['cores']} cores), Python "
              f"{first['machine']['python']}.", "", END]
    return "\n".join(lines)


def write_docs(check: bool = False) -> bool:
    """Replace the generated section of ``docs/benchmarks.md``; True if it was current."""
    text = PAGE.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = head + render(json.loads(RESULTS.read_text(encoding="utf-8"))) + tail
    if not check and new != text:
        PAGE.write_text(new, encoding="utf-8")
    return new == text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="One repetition (a smoke check).")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    parser.add_argument("--record", metavar="LABEL", default=None,
                        help=f"Store the result under LABEL in {RESULTS.relative_to(HERE.parent)}.")
    parser.add_argument("--docs", action="store_true", help="Write the docs section and exit.")
    parser.add_argument("--check", action="store_true", help="With --docs: exit 1 if stale.")
    args = parser.parse_args()
    if args.docs:
        sys.exit(0 if write_docs(args.check) or not args.check else 1)
    result = run(1 if args.quick else args.repeats)
    report(result, args.json)
    if args.record:
        record(args.record, result)


if __name__ == "__main__":
    main()
