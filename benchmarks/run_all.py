"""Run every benchmark, print one table of figures against their targets, write a JSON.

Each benchmark runs in its own process (its own torch thread setting, its own peak memory)
with ``--json``; ``metrics_vs_quantus.py`` and ``attribution_memory.py`` print tables, which
are parsed. The load average before and after every benchmark is kept with its results: the
machines are shared, so every figure is a ratio against a reference timed in the same
process, or a CPU time, with the load next to it.

Usage::

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--skip NAME ...]
                                 [--json benchmark-results.json] [--store results.sqlite]

``--quick`` runs every benchmark's smallest configuration (about a minute) to check that
they all still work; the figures it prints are not the documented ones.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import load_average, machine

HERE = Path(__file__).resolve().parent
#: name -> (script, arguments for the full run, arguments for --quick)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "metrics": (
        "metrics_vs_quantus.py",
        [],
        ["--n", "16", "--t", "500", "--repeats", "1", "--quality-n", "4", "--quality-t", "500"],
    ),
    "attribution": ("bench_attribution.py", [], ["--quick"]),
    "training": ("bench_training.py", [], ["--quick"]),
    "generator": ("bench_generator.py", [], ["--quick"]),
    "width": ("bench_width.py", [], ["--quick"]),
    "suite": ("bench_suite.py", [], ["--quick"]),
    "memory": ("attribution_memory.py", ["--memory"], None),
    "cost_model": ("cost_model.py", [], ["--quick"]),
    "report": ("bench_report.py", [], ["--repeats", "1"]),
    "cli_start": ("cli_start.py", [], ["--quick"]),
}
MIN_METRIC_SPEEDUP, MAX_METRIC_DIFF = 50.0, 1e-6
#: The batched quality metrics (issue 17): per-window speed-up over their Quantus backend.
MIN_QUALITY_SPEEDUP = 20.0
NUMBER = r"([-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf))"


def parse_metrics(stdout: str) -> dict[str, Any]:
    """Rows of ``metrics_vs_quantus.py``: speed-up over Quantus per sample, max |diff|."""
    rows, metrics = [], {}
    pattern = re.compile(r"^(\w+)" + rf"\s+{NUMBER}" * 6 + "$")
    for line in stdout.splitlines():
        match = pattern.match(line.strip())
        if not match:
            continue
        name = match.group(1)
        ours, q_sample, q_batch, speedup, speedup_batch, diff = map(float, match.groups()[1:])
        metrics[name] = {"vectorised_ms": ours, "quantus_sample_ms": q_sample,
                         "quantus_batch_ms": q_batch, "speedup": speedup,
                         "speedup_vs_batch": speedup_batch, "max_abs_diff": diff}
        rows.append({"figure": f"{name} vs Quantus (per sample), speed-up",
                     "value": speedup, "unit": "×", "target": f"≥ {MIN_METRIC_SPEEDUP:g}",
                     "met": speedup >= MIN_METRIC_SPEEDUP})
        rows.append({"figure": f"{name} vs Quantus, max |score diff|", "value": diff,
                     "unit": "", "target": f"≤ {MAX_METRIC_DIFF:g}",
                     "met": diff <= MAX_METRIC_DIFF})
    quality = re.compile(r"^(\w+)" + rf"\s+{NUMBER}" * 4 + "$")
    for line in stdout.splitlines():
        match = quality.match(line.strip())
        if not match:
            continue
        name = match.group(1)
        ours, reference, speedup, diff = map(float, match.groups()[1:])
        metrics[name] = {"batched_ms_per_window": ours, "quantus_ms_per_window": reference,
                         "speedup": speedup, "max_abs_diff": diff}
        rows.append({"figure": f"{name} vs Quantus (per window), speed-up", "value": speedup,
                     "unit": "×", "target": f"≥ {MIN_QUALITY_SPEEDUP:g}",
                     "met": speedup >= MIN_QUALITY_SPEEDUP})
        rows.append({"figure": f"{name} vs Quantus, max |score diff|", "value": diff,
                     "unit": "", "target": f"≤ {MAX_METRIC_DIFF:g}",
                     "met": diff <= MAX_METRIC_DIFF})
    header = next((ln for ln in stdout.splitlines() if ln.startswith("N=")), "")
    return {"benchmark": "metrics", "setting": header, "metrics": metrics, "rows": rows}


def parse_memory(stdout: str) -> dict[str, Any]:
    """Rows of ``attribution_memory.py --memory``: peak RSS of IG and occlusion."""
    rows, cases = [], []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not cells[1].replace(".", "").isdigit():
            continue
        name, fs, t, n, before, peak, ms = cells
        cases.append({"method": name, "fs": float(fs), "T": int(t), "samples": int(n),
                      "rss_before_mib": float(before), "peak_rss_mib": float(peak),
                      "ms_per_sample": float(ms)})
        rows.append({"figure": f"{name} peak RSS, {fs} Hz, {n} windows (ensemble)",
                     "value": float(peak), "unit": "MiB", "target": "", "met": None})
    return {"benchmark": "memory", "cases": cases, "rows": rows}


def run_one(name: str, quick: bool, store: Path | None) -> dict[str, Any]:
    """Run benchmark ``name`` in a child process; its result dict, with the load around it."""
    script, full_args, quick_args = BENCHMARKS[name]
    args = list(quick_args if quick else full_args)
    if name == "cost_model" and store is not None:
        args += ["--store", str(store)]
    before, started = load_average(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        parsed = name in ("metrics", "memory")
        command = [sys.executable, str(HERE / script), *args]
        if not parsed:
            command += ["--json", str(out)]
        done = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-2000:]
            return {"benchmark": name, "error": f"exit {done.returncode}: {tail}", "rows": []}
        if name == "metrics":
            result = parse_metrics(done.stdout)
        elif name == "memory":
            result = parse_memory(done.stdout)
        else:
            result = json.loads(out.read_text())
    result["stdout"] = done.stdout
    result["seconds"] = time.perf_counter() - started
    result["load_around"] = [before, load_average()]
    return result


def table(results: list[dict[str, Any]]) -> str:
    """One Markdown table of every figure, its target and whether it is met."""
    mark = {True: "yes", False: "**no**", None: "-"}
    lines = ["| benchmark | figure | value | target | met | load (1 min) before → after |",
             "|---|---|---:|---|---|---|"]
    for result in results:
        load = " → ".join(f"{pair[0]:.1f}" if pair else "?" for pair in result["load_around"])
        if "error" in result:
            lines.append(f"| {result['benchmark']} | failed | - | - | **no** | {load} |")
            continue
        for row in result["rows"]:
            value = f"{row['value']:.3g} {row['unit']}".strip()
            lines.append(f"| {result['benchmark']} | {row['figure']} | {value} | "
                         f"{row['target'] or '-'} | {mark[row['met']]} | {load} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smallest configuration of each.")
    parser.add_argument("--only", nargs="*", choices=list(BENCHMARKS), default=None)
    parser.add_argument("--skip", nargs="*", choices=list(BENCHMARKS), default=[])
    parser.add_argument("--store", type=Path, default=None,
                        help="Results store of the paper suite, for the cost model.")
    parser.add_argument("--json", type=Path, default=Path("benchmark-results.json"))
    args = parser.parse_args()
    names = [n for n in (args.only or BENCHMARKS) if n not in args.skip]
    if args.quick:
        names = [n for n in names if BENCHMARKS[n][2] is not None]
    results = []
    for name in names:
        print(f"running {name} …", file=sys.stderr, flush=True)
        results.append(run_one(name, args.quick, args.store))
        if "error" in results[-1]:
            print(results[-1]["error"], file=sys.stderr)
    import torch  # noqa: F401  (so machine() reports the torch version)

    summary = {"machine": machine(), "quick": args.quick, "results": results,
               "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(table(results))
    args.json.write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(f"results: {args.json}", file=sys.stderr)
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
