"""ms/sample of every registered attribution method on 10-s xECGArch branches, and dtd/saliency.

For each branch (morphology, rhythm) of ``build_xecgarch(width=8)`` at the quick suite's rate
(100 Hz, T = 1000) and at 250 Hz (T = 2500), a batch of N windows is explained by every method
in the ``attributions`` registry, constructed as the runner does (``make_attribution``). All
methods of one case run round-robin (interleaved), after one untimed warm-up round, and the
median over the repetitions is reported. Two references are timed in the same rounds:

- ``fwd+bwd``: one bare forward and backward pass of the target logit to the input (what a
  gradient costs with no library around it);
- ``saliency``: captum's Saliency, the registered method the targets are stated against.

Target: ``dtd`` ≤ 1.5 × ``saliency`` per sample.

torch runs on one thread by default here (``--threads``): on a shared machine whose load
exceeds its cores, two intra-op threads made every method several times slower and its
repetitions several times noisier, while the ratios, which compare the same kinds of ops,
do not depend on the thread count.

Usage: ``python benchmarks/bench_attribution.py [--n 16] [--repeats 5] [--threads 1]
[--json FILE]``;
``--quick`` runs 2 windows, 2 repetitions, 100 Hz only.
"""

from __future__ import annotations

import argparse
import functools
import warnings
from collections.abc import Callable
from math import nan
from typing import Any

from measure import interleaved, load_average, median, spread, stamp, write_json

MAX_DTD_OVER_SALIENCY = 1.5
RATES = (100.0, 250.0)  # the quick suite's rate, and 250 Hz
DURATION_S = 10.0
WIDTH = 8  # the quick and paper suites' width
BRANCHES = ("morphology", "rhythm")


def forward_backward(model: Any) -> Callable[[Any, Any], Any]:
    """The bare reference: input gradient of the target logit, no attribution library."""
    import torch

    def gradient(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = x.detach().requires_grad_(True)
        logits = model(x)
        (grad,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
        return grad

    return gradient


def beat_masks(n: int, t: int, fs: float, bpm: float = 75.0) -> dict[str, Any]:
    """Regular fiducial masks ``(n, 1, t)`` (P 200-120 ms before R, QRS ±50 ms, T 150-350 ms
    after R) for the methods that take ``masks=`` (clinical occlusion, interval segments)."""
    import numpy as np

    masks = {k: np.zeros((n, 1, t), dtype=bool) for k in ("p_wave", "qrs", "r_peak", "t_wave")}
    spans = {"p_wave": (-0.2, -0.12), "qrs": (-0.05, 0.05), "r_peak": (-0.01, 0.01),
             "t_wave": (0.15, 0.35)}
    for r in np.arange(0.3 * fs, t, 60.0 / bpm * fs):
        for name, (start, end) in spans.items():
            lo, hi = max(0, round(r + start * fs)), min(t, round(r + end * fs) + 1)
            masks[name][:, 0, lo:hi] = True
    return masks


def _ratios(values: dict[str, float], reference: str) -> dict[str, float]:
    return {k: v / values[reference] for k, v in values.items()} if reference in values else {}


def run(n: int = 16, repeats: int = 5, rates: tuple[float, ...] = RATES,
        methods: tuple[str, ...] | None = None, threads: int | None = 1) -> dict[str, Any]:
    """Median ms/sample per (rate, branch, method); ratios to saliency and to fwd+bwd."""
    import torch

    from xecgbench.plugins.attribution_checks import accepts_masks, make_attribution
    from xecgbench.plugins.manager import load_plugins
    from xecgbench_builtin.models.xecgarch import build_xecgarch

    warnings.simplefilter("ignore")
    if threads:
        torch.set_num_threads(threads)
    registry = load_plugins(autoload=False).registry["attributions"]
    names = [r.name for r in registry if methods is None or r.name in methods]
    load_before = load_average()
    cases: dict[str, dict[str, Any]] = {}
    for fs in rates:
        t = round(fs * DURATION_S)
        torch.manual_seed(0)
        arch = build_xecgarch(fs=fs, n_samples=t, width=WIDTH).eval()
        x, target = torch.rand(n, 1, t), torch.randint(0, 2, (n,))
        masks = beat_masks(n, t, fs)
        for branch in BRANCHES:
            module = arch.explainable(branch)
            explainers = {"fwd+bwd": forward_backward(module)}
            for name in names:
                explainers[name] = make_attribution(registry.get(name), module, fs=fs, seed=0)
            times = interleaved(
                {
                    k: functools.partial(f, x, target, **({"masks": masks} if accepts_masks(f)
                                                          else {}))
                    for k, f in explainers.items()
                },
                repeats,
            )
            ms = {k: 1000 * median(v) / n for k, v in times.wall.items()}
            cpu_ms = {k: 1000 * median(v) / n for k, v in times.cpu.items()}
            cases[f"{fs:g} Hz {branch}"] = {
                "fs": fs, "T": t, "branch": branch, "ms_per_sample": ms,
                "cpu_ms_per_sample": cpu_ms,
                "spread": {k: spread(v) for k, v in times.wall.items()},
                "over_saliency": _ratios(ms, "saliency"),
                "cpu_over_saliency": _ratios(cpu_ms, "saliency"),
                "over_fwd_bwd": _ratios(ms, "fwd+bwd"),
            }
            print(f"  {fs:g} Hz {branch}: " + ", ".join(f"{k} {v:.2f}" for k, v in ms.items()),
                  flush=True)
    rows = []
    for label, case in cases.items():
        if "dtd" in case["over_saliency"]:
            ratio = case["over_saliency"]["dtd"]
            rows.append({"figure": f"dtd / saliency, {label}", "value": ratio, "unit": "×",
                         "target": f"≤ {MAX_DTD_OVER_SALIENCY}",
                         "met": ratio <= MAX_DTD_OVER_SALIENCY})
    return stamp({
        "benchmark": "attribution",
        "n": n,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "width": WIDTH,
        "cases": cases,
        "load_average_before": load_before,
        "rows": rows,
    })


def markdown(result: dict[str, Any]) -> str:
    """ms/sample table (methods × cases) with the ratio to saliency in brackets."""
    cases = result["cases"]
    methods = list(next(iter(cases.values()))["ms_per_sample"])
    lines = ["| method | " + " | ".join(cases) + " |", "|---|" + "---:|" * len(cases)]
    for method in methods:
        cells = [
            f"{c['ms_per_sample'][method]:.2f} ({c['over_saliency'].get(method, nan):.2f}×)"
            for c in cases.values()
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="Windows per call.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default).")
    parser.add_argument("--methods", nargs="*", default=None, help="Only these (default: all).")
    parser.add_argument("--quick", action="store_true", help="2 windows, 2 repeats, 100 Hz.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    methods = tuple(args.methods) if args.methods else None
    if args.quick:
        result = run(2, 2, (RATES[0],), methods, args.threads or None)
    else:
        result = run(args.n, args.repeats, RATES, methods, args.threads or None)
    print(f"ms/sample, median of {result['repeats']}, N = {result['n']}, "
          f"{result['threads']} torch threads (in brackets: × saliency)")
    print(markdown(result))
    for row in result["rows"]:
        print(f"{row['figure']}: {row['value']:.2f} (target {row['target']})")
    print(f"load average {result['load_average_before']} -> {result['load_average']}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
