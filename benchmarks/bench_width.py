"""What xECGArch's width costs: ``fine_tune`` seconds per epoch at widths 4, 8 and 16.

The quick suite's data size (384 synthetic training windows, 10 s at 100 Hz, batch 32, Adam),
the model rebuilt from seed 0 for every repetition, 1 torch thread. The widths run
interleaved after a warm-up round; medians are reported, with each width's time as a
multiple of width 8's (the suites' default) and its parameter count. This measures cost
only: what width the task needs is a question for the benchmark's results, not this script.

Usage: ``python benchmarks/bench_width.py [--widths 4 8 16] [--epochs 2] [--repeats 5]
[--threads 1] [--json FILE]``; ``--quick`` trains 64 windows for 1 epoch, 1 repetition.
"""

from __future__ import annotations

import argparse
from typing import Any

from measure import interleaved, load_average, median, spread, stamp, write_json

FS, DURATION_S, N_TRAIN, BATCH_SIZE, LR = 100.0, 10.0, 384, 32, 0.01
REFERENCE_WIDTH = 8


def run(
    widths: tuple[int, ...] = (4, 8, 16),
    n: int = N_TRAIN,
    epochs: int = 2,
    repeats: int = 5,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Median seconds per fine-tuning epoch for each width."""
    import torch

    from xecgbench.plugins.components import FineTuneStage, TrainingBudget
    from xecgbench.run.training import fine_tune
    from xecgbench_builtin.data.synthetic import SyntheticECG
    from xecgbench_builtin.models.xecgarch import build_xecgarch

    if threads:
        torch.set_num_threads(threads)
    data = SyntheticECG(n_train=n, n_test=0).load("train", fs=FS, duration_s=DURATION_S)
    budget = TrainingBudget(epochs=epochs, batch_size=BATCH_SIZE, lr=LR, patience=epochs + 1)
    n_samples = data.signals.shape[-1]

    def model(width: int) -> Any:
        torch.manual_seed(0)
        return build_xecgarch(fs=FS, n_samples=n_samples, width=width)

    def train(width: int) -> None:
        fine_tune(model(width), data, [FineTuneStage(frozen_blocks=0, epochs=epochs)], budget, 0)

    cases = {f"width {w}": lambda w=w: train(w) for w in widths}
    load_before = load_average()
    times = interleaved(cases, repeats=repeats)
    per_epoch = {k: median(v) / epochs for k, v in times.wall.items()}
    cpu_per_epoch = {k: median(v) / epochs for k, v in times.cpu.items()}
    reference = per_epoch.get(f"width {REFERENCE_WIDTH}")
    rows = [{"figure": f"fine_tune s/epoch, {name} ({n} windows)", "value": seconds,
             "unit": "s", "target": None, "met": None} for name, seconds in per_epoch.items()]
    return stamp({
        "benchmark": "width",
        "n_windows": n, "epochs": epochs, "fs": FS, "batch_size": BATCH_SIZE,
        "repeats": repeats, "threads": torch.get_num_threads(),
        "parameters": {
            f"width {w}": sum(p.numel() for p in model(w).parameters()) for w in widths
        },
        "seconds_per_epoch": per_epoch, "cpu_seconds_per_epoch": cpu_per_epoch,
        "relative_to_width_8": {k: v / reference for k, v in per_epoch.items()}
        if reference else {},
        "spread": {k: spread(v) for k, v in times.wall.items()},
        "load_average_before": load_before,
        "rows": rows,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--n", type=int, default=N_TRAIN, help="Windows (80 %% train, 20 %% val).")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default).")
    parser.add_argument("--quick", action="store_true", help="64 windows, 1 epoch, 1 repeat.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    if args.quick:
        args.n, args.epochs, args.repeats = 64, 1, 1
    result = run(tuple(args.widths), args.n, args.epochs, args.repeats, args.threads or None)
    print(f"fine_tune s/epoch, {result['n_windows']} windows, median of {result['repeats']}, "
          f"{result['threads']} torch threads")
    print("| width | parameters | s/epoch (wall) | s/epoch (CPU) | × width 8 |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in result["seconds_per_epoch"].items():
        relative = result["relative_to_width_8"].get(name, float("nan"))
        print(f"| {name.split()[1]} | {result['parameters'][name]:,} | {seconds:.3f} "
              f"| {result['cpu_seconds_per_epoch'][name]:.3f} | {relative:.2f} |")
    print(f"load average {result['load_average_before']} -> {result['load_average']}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
