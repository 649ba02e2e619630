"""Cost per sample of every registered attribution method, for docs/attributions.md.

Runs :func:`bench_attribution.run` (every method in the registry, both branches of a width-8
xECGArch, interleaved rounds, median of ``--repeats``) at the paper suite's rate (250 Hz,
10-s windows, T = 2500) on one torch thread, with regular beat masks for the methods that take
``masks=``, and writes the numbers the docs table is generated from to
``benchmarks/results/attribution_costs.json`` (committed). Milliseconds depend on the machine
and its load (kept in the file); the ratio to ``saliency``, timed in the same rounds, is the
portable figure.

Usage: ``python benchmarks/attribution_costs.py [--n 4] [--repeats 3] [--out FILE]``, then
``python benchmarks/attribution_docs.py`` to regenerate the page.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import bench_attribution

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "attribution_costs.json"
FS = 250.0


def run(n: int = 4, repeats: int = 3, methods: tuple[str, ...] | None = None) -> dict[str, Any]:
    """ms/sample and × saliency per method and branch at 250 Hz."""
    result = bench_attribution.run(n=n, repeats=repeats, rates=(FS,), methods=methods, threads=1)
    per_method: dict[str, dict[str, Any]] = {}
    for case in result["cases"].values():
        for method, ms in case["ms_per_sample"].items():
            if method == "fwd+bwd":
                continue
            entry = per_method.setdefault(method, {"ms_per_sample": {}, "over_saliency": {}})
            entry["ms_per_sample"][case["branch"]] = round(ms, 3)
            entry["over_saliency"][case["branch"]] = round(case["over_saliency"][method], 2)
    return {
        "benchmark": "attribution_costs",
        "fs": FS,
        "T": round(FS * bench_attribution.DURATION_S),
        "width": bench_attribution.WIDTH,
        "n": n,
        "repeats": repeats,
        "threads": result["threads"],
        "machine": result["machine"],
        "load_average_before": result["load_average_before"],
        "load_average": result["load_average"],
        "methods": dict(sorted(per_method.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="Windows per call.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="*", default=None, help="Only these (default: all).")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = run(args.n, args.repeats, tuple(args.methods) if args.methods else None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
