"""Speed of the synthetic generator: 10,000 ten-second records at 250 Hz (target ≤ 10 s).

Timed as the runner calls it, ``SyntheticECG(n_train=N).load("train", fs=250, duration_s=10)``
(signals plus the four fiducial masks and RR statistics), interleaved with a reference that
only draws white noise of the same shape (``rng.standard_normal((N, 1, T), dtype=float32)``):
the noise floor of any generator. Both are reported as the median of the repetitions, in wall
and in CPU seconds of this process (numpy here is single-threaded, so CPU seconds are what the
call costs on an idle core, whatever the neighbours do), and as their ratio.

Usage: ``python benchmarks/bench_generator.py [--n 10000] [--repeats 3] [--json FILE]``;
``--quick`` generates 500 records.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from measure import interleaved, load_average, median, spread, stamp, write_json

from xecgbench_builtin.data.synthetic import SyntheticECG

MAX_SECONDS_PER_10K = 10.0
FS, DURATION_S = 250.0, 10.0


def run(n: int = 10_000, repeats: int = 3) -> dict[str, Any]:
    """Median seconds to generate ``n`` records, and to draw the same amount of noise."""
    n_samples = round(FS * DURATION_S)
    rng = np.random.default_rng(0)
    cases = {
        "generator": lambda: SyntheticECG(n_train=n, n_test=0).load(
            "train", fs=FS, duration_s=DURATION_S
        ),
        "noise": lambda: rng.standard_normal((n, 1, n_samples), dtype=np.float32),
    }
    load_before = load_average()
    times = interleaved(cases, repeats=repeats, warmup=0)
    scale = 10_000 / n
    wall = median(times.wall["generator"]) * scale
    cpu = median(times.cpu["generator"]) * scale
    ratio = median(times.wall["generator"]) / median(times.wall["noise"])
    rows = [
        {"figure": "generator, 10k × 10 s @ 250 Hz (wall)", "value": wall, "unit": "s",
         "target": f"≤ {MAX_SECONDS_PER_10K:.0f} s", "met": wall <= MAX_SECONDS_PER_10K},
        {"figure": "generator, 10k × 10 s @ 250 Hz (CPU)", "value": cpu, "unit": "s",
         "target": f"≤ {MAX_SECONDS_PER_10K:.0f} s", "met": cpu <= MAX_SECONDS_PER_10K},
        {"figure": "generator / white-noise draw (wall)", "value": ratio, "unit": "×",
         "target": "", "met": None},
    ]
    return stamp({
        "benchmark": "generator",
        "n": n,
        "repeats": repeats,
        "wall_seconds": times.wall,
        "cpu_seconds": times.cpu,
        "spread_generator": spread(times.wall["generator"]),
        "load_average_before": load_before,
        "rows": rows,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 records, 2 repetitions.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    n, repeats = (500, 2) if args.quick else (args.n, args.repeats)
    result = run(n, repeats)
    for row in result["rows"]:
        print(f"{row['figure']}: {row['value']:.3g} {row['unit']} (target {row['target'] or '-'})")
    print(f"load average {result['load_average_before']} -> {result['load_average']}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
