"""The model stages of a cell: pretrain, fine-tune, evaluate (accuracy)."""

from __future__ import annotations

import numpy as np

from xecgbench.plugins.components import CONSTANT_OUTPUT_SPREAD, TRIVIAL_BRANCH
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
    histories = fine_tune(model, train, stages, budget, task.seed)
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

    A branch whose AF probability is constant over the evaluation windows learnt nothing; it
    is reported (``constant_output``) so the tables flag it instead of averaging it in.
    """
    from xecgbench.run.training import predict

    train, test = load_data(context)
    model = load_model(context, task, "finetune")
    probabilities = predict(model, test.signals)
    majority = float(np.mean(train.labels) > 0.5)  # AF is label 1
    scored = {**probabilities, TRIVIAL_BRANCH: np.full(len(test.labels), majority)}
    constant = sorted(b for b, p in probabilities.items()
                      if np.ptp(p) < CONSTANT_OUTPUT_SPREAD)
    scores = []
    for spec in context.suite.metrics:
        metric_cls = context.component("metrics", spec)
        if metric_cls.info.category != "accuracy":
            continue
        metric = metric_cls(**spec.params)
        for branch, prob in scored.items():
            value = metric.evaluate(test.labels, prob)
            scores.append(
                score_row(
                    task,
                    branch=branch,
                    metric=spec.display,
                    category="accuracy",
                    region="",
                    sample=-1,
                    record_id=None,
                    value=float(value),
                )
            )
    artifact, checksum = context.cache.save_arrays(
        "evaluate", task.key, {f"prob_{b}": p for b, p in probabilities.items()}
    )
    report = {"constant_output": constant, "n_windows": len(test.labels),
              "n_af": int(test.labels.sum())}
    return StageOutcome(task.key, artifact, checksum, 0.0, report=report, scores=scores)


