"""Wall-clock budget of the ``paper`` grid at the challenge's scale, from measured unit costs.

Stage counts come from the suite's plan (:func:`cost_model.stage_counts`); work per stage from
the data set's record counts (one crop per training record per epoch, so an epoch costs the
same per record as one 10-s window per record did). Unit costs are measurements, each cited:

- ``TRAIN_S``: seconds per record per branch-epoch of fine-tuning at width 8 without
  BatchNorm, validation included — ``benchmarks/recipe_search.py`` recipe ``base`` (one window
  per record for fit and validation, the per-epoch work of crops with first-window
  validation): 0.57 and 0.51 s per branch-epoch over 1,198 records at load 2.5 on 2 cores.
- BatchNorm multiplies it by ``BN_FACTOR`` (recipe ``crops-bn-z-lr3`` vs ``crops-z-lr3``,
  same data: 4.03 vs 1.88 s/branch-epoch, different load; an upper bound).
- Attribution: ms/sample per method from ``docs/attributions.md`` (LIME there uses 200
  samples, the suite 100: halved). Scoring, evaluation: the lead's paper store
  (docs/benchmarks.md: ≤ 0.01 s per score stage, 0.11 s per evaluate of 575 windows).
- Data: NeuroKit2 delineation 0.1 CPU-s per record (300 records in 36 s with loading,
  ``recipe_search.py --limit 300`` on an empty cache), once; loading with cached delineation
  per worker process.

Every epoch of the budget is counted (early stopping only lowers it). Usage:
``python benchmarks/paper_budget.py [--suite paper] [--records 7799] [--workers 2]``.
"""

from __future__ import annotations

import argparse
from typing import Any

import cost_model

TRAIN_S = (0.57 + 0.51) / 2 / 1198
BN_FACTOR = 4.03 / 1.88
#: Share of a full fine-tuning epoch a schedule's frozen stages cost (no weight gradients of
#: frozen blocks): k=2 freezes half the blocks; ``freeze_first_k(k=K)`` costs 1 - K/8.
FROZEN_SHARE = {"none": 1.0, "iterative": 0.8}
N_BLOCKS = 4


def frozen_share(component: str) -> float:
    """The share of a full epoch a freezing schedule's fine-tuning costs (see FROZEN_SHARE)."""
    if component.startswith("freeze_first_k(k="):
        return 1.0 - int(component[len("freeze_first_k(k="):-1]) / (2 * N_BLOCKS)
    return FROZEN_SHARE.get(component, 1.0)
#: ms per explained window and branch (docs/attributions.md, mean of the two branches).
ATTRIBUTION_MS = {
    "dtd": 8.0, "lrp_epsilon": 7.9, "saliency": 1.0, "input_x_gradient": 2.7,
    "gradient_shap": 28.7, "clinical_occlusion": 2.1, "lime(n_samples=100, segment_ms=200)": 94.0,
    "grad_cam": 1.9, "random": 0.2,
}
DELINEATE_S = 0.12
LOAD_S = 0.05
SCORE_S = 0.05
EVALUATE_S = 0.11 / 575


def budget(suite_name: str, n_records: int, workers: int, ludb: int = 160,
           reuse_models: bool = False) -> dict[str, Any]:
    """CPU seconds per stage type and the wall time on ``workers`` single-thread workers.

    ``reuse_models``: run into an ``--out`` where a suite with the same training config
    (``paper`` for ``paper-ludb``) finished: pretrain and fine-tune stages are reused.
    """
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.config import load_suite

    suite = load_suite(suite_name)
    system = load_plugins(autoload=False)
    counts = cost_model.stage_counts(suite, system)
    n_test = round(n_records * suite.data.dataset.params.get("test_fraction", 0.2))
    n_train = n_records - n_test
    bn = BN_FACTOR if suite.model.params.get("batch_norm") else 1.0
    per_epoch = TRAIN_S * n_train * bn  # one branch, fit + validation records
    seconds: dict[str, float] = {}
    for (stage, component), n in counts.items():
        if reuse_models and stage in ("pretrain", "finetune"):
            continue
        if stage == "pretrain":
            branches = {"none": 0, "rr_variability": 1}.get(component, 2 if "both" in component
                                                              else 1)
            cost = branches * per_epoch * suite.pretraining_budget.epochs
        elif stage == "finetune":
            cost = 2 * per_epoch * suite.training.epochs * frozen_share(component)
        elif stage == "evaluate":
            cost = EVALUATE_S * (ludb if suite.data.test else n_test)
        elif stage == "attribute":
            cost = ATTRIBUTION_MS.get(component, 10.0) / 1000 * suite.explain.n_samples * 2
        else:
            cost = SCORE_S
        seconds[stage] = seconds.get(stage, 0.0) + n * cost
    one_off = 0.0 if reuse_models else DELINEATE_S * n_records
    loading = LOAD_S * n_records * workers
    total = sum(seconds.values())
    return {
        "suite": suite_name, "records": n_records, "train": n_train, "test": n_test,
        "cells": sum(n for (s, _), n in counts.items() if s == "finetune"),
        "seconds_per_branch_epoch": per_epoch, "stage_cpu_s": seconds,
        "delineation_s": one_off, "loading_s": loading,
        "cpu_h": (total + one_off + loading) / 3600,
        "wall_h": (total / workers + one_off + LOAD_S * n_records) / 3600,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="paper")
    parser.add_argument("--records", type=int, default=7799, help="usable records (N, A, O)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse-models", action="store_true",
                        help="pretrain/fine-tune stages already in --out (paper-ludb after paper)")
    args = parser.parse_args()
    result = budget(args.suite, args.records, args.workers, reuse_models=args.reuse_models)
    print(f"{result['suite']}: {result['cells']} cells, {result['train']} training / "
          f"{result['test']} test records, {result['seconds_per_branch_epoch']:.1f} s per "
          "branch-epoch")
    for stage, seconds in result["stage_cpu_s"].items():
        print(f"  {stage:9s} {seconds / 3600:6.2f} CPU-h")
    print(f"  delineation (once) {result['delineation_s'] / 3600:.2f} h, loading "
          f"{result['loading_s'] / 3600:.2f} CPU-h")
    print(f"total {result['cpu_h']:.2f} CPU-h; wall on {args.workers} workers "
          f"{result['wall_h']:.2f} h")


if __name__ == "__main__":
    main()
