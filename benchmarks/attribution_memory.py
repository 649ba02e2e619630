"""Peak memory and time per sample of the attribution methods on 10-s ECG windows.

Peak resident memory (``ru_maxrss``) is measured for integrated gradients and occlusion, each
in a fresh subprocess, on the xECGArch ensemble (both branches, the heaviest explained module)
at 250 Hz (T = 2500) and 500 Hz (T = 5000). Batches are as large as one internal chunk, since
the methods process larger batches chunk by chunk and peak memory stops growing there.
Then ms/sample (best of 3) of every registered method on a tiny model and on each 10-s
xECGArch branch.

Usage: ``python benchmarks/attribution_memory.py [--memory] [--timing]`` (both by default).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

MEMORY_CASES = (("integrated_gradients", 32), ("occlusion", 64))  # method, samples = one chunk
RATES = ((250.0, 2500), (500.0, 5000))

CHILD = """
import json, resource, sys, torch
from xecgbench.plugins.attribution_checks import make_attribution
from xecgbench.plugins.manager import load_plugins
from xecgbench_builtin.models.xecgarch import build_xecgarch

name, n, fs, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
model = build_xecgarch(fs=fs, n_samples=t).eval().explainable("ensemble")
cls = load_plugins(autoload=False).registry["attributions"].get(name)
x, target = torch.rand(n, 1, t), torch.randint(0, 2, (n,))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
make_attribution(cls, model, fs=fs)(x, target)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before_mib": before, "peak_mib": peak, "ms_per_sample": 1000 * seconds / n}))
"""


def measure_memory() -> None:
    print("| method | fs (Hz) | T | samples | RSS before (MiB) | peak RSS (MiB) | ms/sample |")
    print("|---|---|---|---|---|---|---|")
    for name, n in MEMORY_CASES:
        for fs, t in RATES:
            args = [sys.executable, "-c", "import time\n" + CHILD, name, str(n), str(fs), str(t)]
            out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.splitlines()[-1])
            print(
                f"| {name} | {fs:g} | {t} | {n} | {r['before_mib']:.0f} | {r['peak_mib']:.0f} "
                f"| {r['ms_per_sample']:.0f} |",
                flush=True,
            )


def best_seconds(method: Any, x: Any, target: Any, repeats: int = 3) -> float:
    """Fastest of ``repeats`` runs: the least disturbed by other load on the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        method(x, target)
        times.append(time.perf_counter() - start)
    return min(times)


def measure_timing(n: int = 8) -> None:
    import torch
    from torch import nn

    from xecgbench.plugins.attribution_checks import make_attribution
    from xecgbench.plugins.manager import load_plugins
    from xecgbench_builtin.models.xecgarch import build_xecgarch

    torch.manual_seed(0)
    tiny = nn.Sequential(
        nn.Conv1d(1, 4, 7, padding=3), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(4, 6, 5, padding=4, dilation=2), nn.ReLU(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(6, 2),
    ).eval()  # fmt: skip
    arch = build_xecgarch(fs=500.0, n_samples=5000).eval()
    cases = {
        "tiny (T=256, 100 Hz)": (tiny, 100.0, 256),
        "morphology (T=5000, 500 Hz)": (arch.explainable("morphology"), 500.0, 5000),
        "rhythm (T=5000, 500 Hz)": (arch.explainable("rhythm"), 500.0, 5000),
    }
    registry = load_plugins(autoload=False).registry["attributions"]
    print("| method | " + " | ".join(cases) + " |")
    print("|---|" + "---|" * len(cases))
    for registration in registry:
        cells = []
        for model, fs, t in cases.values():
            x, target = torch.rand(n, 1, t), torch.randint(0, 2, (n,))
            method = make_attribution(registration.component, model, fs=fs)
            method(x[:1], target[:1])  # warm-up: lazy imports
            cells.append(f"{1000 * best_seconds(method, x, target) / n:.1f}")
        print(f"| {registration.name} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args()
    both = not (args.memory or args.timing)
    if args.memory or both:
        measure_memory()
    if args.timing or both:
        measure_timing()


if __name__ == "__main__":
    main()
