"""Training throughput: ``xecgbench.run.training.fine_tune`` against a bare torch loop (≥ 0.8×).

Same model (``build_xecgarch(width=8)``, rebuilt from seed 0 for every repetition), same
synthetic windows (the quick suite's 100 Hz, 10 s), same batch size, optimiser (Adam), loss
(class-weighted cross-entropy summed over both branches) and number of epochs. Throughput is
training samples per second (training windows × epochs / seconds). ``fine_tune`` is timed as
the runner calls it, so its extra work counts against it: a validation pass and a weight
snapshot every epoch. The bare loop trains on the same training indices and validates
nothing. The two run interleaved; medians are reported.

Usage: ``python benchmarks/bench_training.py [--n 640] [--epochs 4] [--repeats 7]
[--threads 1] [--json FILE]``; ``--quick`` trains 64 windows for 1 epoch, 2 repetitions.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from measure import interleaved, load_average, median, spread, stamp, write_json

MIN_RATIO = 0.8
FS, DURATION_S, WIDTH, BATCH_SIZE, LR = 100.0, 10.0, 8, 32, 0.01


def bare_loop(model: Any, x: Any, y: Any, train_idx: np.ndarray, epochs: int, seed: int) -> None:
    """The reference: shuffle, forward, summed weighted cross-entropy, backward, Adam step."""
    import torch
    from torch import nn

    from xecgbench.run.training import class_weights

    generator = torch.Generator().manual_seed(seed)
    criterion = nn.CrossEntropyLoss(weight=class_weights(y[train_idx].numpy()))
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _ in range(epochs):
        order = train_idx[torch.randperm(len(train_idx), generator=generator).numpy()]
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            logits = model(x[batch])
            loss = sum(criterion(out, y[batch]) for out in logits.values())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()


def run(
    n: int = 640, epochs: int = 4, repeats: int = 7, threads: int | None = 1
) -> dict[str, Any]:
    """Median samples/s of ``fine_tune`` and of the bare loop, and their ratio."""
    import torch

    from xecgbench.plugins.components import FineTuneStage, TrainingBudget
    from xecgbench.run.training import fine_tune, stratified_holdout
    from xecgbench_builtin.data.synthetic import SyntheticECG
    from xecgbench_builtin.models.xecgarch import build_xecgarch

    if threads:
        torch.set_num_threads(threads)
    data = SyntheticECG(n_train=n, n_test=0).load("train", fs=FS, duration_s=DURATION_S)
    budget = TrainingBudget(epochs=epochs, batch_size=BATCH_SIZE, lr=LR, patience=epochs + 1)
    train_idx, _ = stratified_holdout(data.labels, budget.val_fraction, seed=0)
    x = torch.from_numpy(data.signals)
    y = torch.from_numpy(data.labels.astype(np.int64))
    n_samples = data.signals.shape[-1]

    def model() -> Any:
        torch.manual_seed(0)
        return build_xecgarch(fs=FS, n_samples=n_samples, width=WIDTH)

    cases = {
        "fine_tune": lambda: fine_tune(
            model(), data, [FineTuneStage(frozen_blocks=0, epochs=epochs)], budget, seed=0
        ),
        "bare loop": lambda: bare_loop(model(), x, y, train_idx, epochs, seed=0),
    }
    load_before = load_average()
    times = interleaved(cases, repeats=repeats)
    trained = len(train_idx) * epochs
    per_s = {k: trained / median(v) for k, v in times.wall.items()}
    cpu_per_s = {k: trained / median(v) for k, v in times.cpu.items()}
    ratio = per_s["fine_tune"] / per_s["bare loop"]
    cpu_ratio = cpu_per_s["fine_tune"] / cpu_per_s["bare loop"]
    rows = [
        {"figure": "fine_tune / bare loop, samples/s (wall)", "value": ratio, "unit": "×",
         "target": f"≥ {MIN_RATIO}", "met": ratio >= MIN_RATIO},
        {"figure": "fine_tune / bare loop, samples/s (CPU)", "value": cpu_ratio, "unit": "×",
         "target": f"≥ {MIN_RATIO}", "met": cpu_ratio >= MIN_RATIO},
    ]
    return stamp({
        "benchmark": "training",
        "n_windows": n, "n_train": len(train_idx), "epochs": epochs, "batch_size": BATCH_SIZE,
        "fs": FS, "width": WIDTH, "repeats": repeats, "threads": torch.get_num_threads(),
        "samples_per_s": per_s, "cpu_samples_per_s": cpu_per_s,
        "wall_seconds": times.wall, "cpu_seconds": times.cpu,
        "spread": {k: spread(v) for k, v in times.wall.items()},
        "load_average_before": load_before,
        "rows": rows,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=640, help="Windows (80 %% train, 20 %% val).")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default).")
    parser.add_argument("--quick", action="store_true", help="64 windows, 1 epoch, 2 repeats.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    if args.quick:
        args.n, args.epochs, args.repeats = 64, 1, 2
    result = run(args.n, args.epochs, args.repeats, args.threads or None)
    print(f"samples/s (median of {result['repeats']}, {result['threads']} torch threads): "
          + ", ".join(f"{k} {v:.0f}" for k, v in result["samples_per_s"].items()))
    for row in result["rows"]:
        print(f"{row['figure']}: {row['value']:.3f} (target {row['target']})")
    print(f"load average {result['load_average_before']} -> {result['load_average']}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
