"""The model stages of a cell: pretrain, fine-tune, evaluate (accuracy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xecgbench.plugins.components import CONSTANT_OUTPUT_SPREAD, TRIVIAL_BRANCH, ECGSet
from xecgbench.plugins.operating_points import (
    ValidationScores,
    f1_threshold,
    specificity_threshold,
)
from xecgbench.run.stage_types import (
    StageContext,
    StageOutcome,
    StageTask,
    build_model,
    load_data,
    load_model,
    score_row,
)


def run_pretrain(context: StageContext, task: StageTask) -> StageOutcome:
    """Build a model from the seed and pre-train the branches the strategy declares."""
    train, _ = load_data(context)
    model = build_model(context, task.seed, train.signals.shape[-1]).to(context.device)
    spec = task.specs["pretraining"]
    strategy = context.component("pretraining", spec)(**spec.params)
    report = strategy.pretrain(
        model, train, seed=task.seed, budget=context.suite.pretraining_budget
    )
    artifact, checksum = context.cache.save_state("pretrain", task.key, model.state_dict())
    return StageOutcome(task.key, artifact, checksum, 0.0, report=dict(report))


def run_finetune(context: StageContext, task: StageTask) -> StageOutcome:
    """Fine-tune the pre-trained model on AF with the freezing schedule's stages."""
    from xecgbench.run.training import fine_tune

    train, _ = load_data(context)
    model = load_model(context, task, "pretrain")
    spec = task.specs["freezing"]
    schedule = context.component("freezing", spec)(**spec.params)
    n_blocks = min(len(branch.blocks) for branch in model.branches.values())
    budget = context.suite.training
    stages = schedule.stages(n_blocks, budget.epochs)
    # Blocks stay frozen only where pretraining put weights worth keeping; a strategy that
    # pre-trains nothing runs frozen only as the suite's labelled ``random_features``.
    pretrained = context.component("pretraining", task.specs["pretraining"]).branches
    histories = fine_tune(model, train, stages, budget, task.seed,
                          frozen_branches=pretrained or None)
    artifact, checksum = context.cache.save_state("finetune", task.key, model.state_dict())
    report = {
        "stages": [[s.frozen_blocks, s.epochs] for s in stages],
        "epochs_run": {b: sum(len(h.train_loss) for h in hs) for b, hs in histories.items()},
        "final_val_loss": {
            b: next((h.val_loss[h.best_epoch] for h in reversed(hs) if h.best_epoch >= 0), None)
            for b, hs in histories.items()
        },
    }
    return StageOutcome(task.key, artifact, checksum, 0.0, report=report)


def run_evaluate(context: StageContext, task: StageTask) -> StageOutcome:
    """Accuracy of every branch, the ensemble and the trivial majority-class predictor.

    Every test window's AF probability (and every validation window's, the records
    fine-tuning held out for early stopping) is returned for the store, so any operating point
    can be computed after the run. Thresholds are chosen on the validation windows only: they
    go into the report, and metrics that declare ``requires={"validation"}`` get the
    validation predictions. A branch whose AF probability is constant over the evaluation
    windows learnt nothing; it is reported (``constant_output``) so the tables flag it.
    """
    from xecgbench.run.training import predict, validation_split

    train, test = load_data(context)
    model = load_model(context, task, "finetune")
    probabilities = predict(model, test.signals)
    _, val_idx = validation_split(train, context.suite.training, task.seed)
    validation = predict(model, train.signals[val_idx])
    val_labels = train.labels[val_idx]
    majority = float(np.mean(train.labels) > 0.5)  # AF is label 1
    scored = {**probabilities, TRIVIAL_BRANCH: np.full(len(test.labels), majority)}
    checks = {**validation, TRIVIAL_BRANCH: np.full(len(val_idx), majority)}
    constant = sorted(b for b, p in probabilities.items()
                      if np.ptp(p) < CONSTANT_OUTPUT_SPREAD)
    scores = []
    for spec in context.suite.metrics:
        metric_cls = context.component("metrics", spec)
        if metric_cls.info.category != "accuracy":
            continue
        metric = metric_cls(**spec.params)
        for branch, prob in scored.items():
            extra = ({"validation": ValidationScores(val_labels, checks[branch])}
                     if "validation" in metric_cls.info.requires else {})
            value = metric.evaluate(test.labels, prob, **extra)
            scores.append(score_row(task, branch=branch, metric=spec.display,
                                    category="accuracy", region="", sample=-1,
                                    record_id=None, value=float(value)))
    artifact, checksum = context.cache.save_arrays(
        "evaluate", task.key, {f"prob_{b}": p for b, p in probabilities.items()}
    )
    report = {"constant_output": constant, "n_windows": len(test.labels),
              "n_af": int(test.labels.sum()), "n_validation": len(val_idx),
              "n_validation_af": int(val_labels.sum()),
              "thresholds": {b: {"f1": _finite(f1_threshold(val_labels, p)),
                                 "specificity_95": _finite(specificity_threshold(val_labels, p))}
                             for b, p in validation.items()}}
    rows = [*_probability_rows(task, "test", test, np.arange(len(test.labels)), probabilities),
            *_probability_rows(task, "validation", train, val_idx, validation)]
    return StageOutcome(task.key, artifact, checksum, 0.0, report=report, scores=scores,
                        probabilities=rows)


def _finite(value: float) -> float | None:
    """JSON has no NaN: an undefined threshold is stored as null."""
    return float(value) if np.isfinite(value) else None


def _probability_rows(task: StageTask, split: str, data: ECGSet, index: np.ndarray,
                      probabilities: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Store rows: each window's AF probability per branch, with its label and record.

    ``sample`` is the window's index in its split's window set (the test windows' index is
    the one explanation scores use).
    """
    cell = {k: task.labels.get(k) for k in ("dataset", "seed", "pretraining", "freezing")}
    return [
        {"stage_key": task.key, **cell, "branch": branch, "split": split,
         "sample": int(window), "record_id": str(data.record_ids[window]),
         "label": int(data.labels[window]), "probability": float(prob)}
        for branch, values in probabilities.items()
        for window, prob in zip(index, values, strict=True)
    ]
