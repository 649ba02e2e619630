"""The explanation stages of a cell: attribute (relevance per branch) and score (metrics)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from xecgbench.plugins.components import ExplanationBatch
from xecgbench.plugins.metric_tables import metric_regions
from xecgbench.run.stage_types import (
    StageContext,
    StageOutcome,
    StageTask,
    load_data,
    load_model,
    score_row,
)
from xecgbench.run.windows import explained_subset, explained_windows


def _explainer(context: StageContext, task: StageTask, model: Any, branch: str) -> Any:
    from xecgbench.plugins.attribution_checks import make_attribution

    spec = task.specs["attributions"]
    cls = context.component("attributions", spec)
    return make_attribution(
        cls, model.explainable(branch), fs=context.suite.data.fs, seed=task.seed, **spec.params
    )


def _checked_explain(context: StageContext, task: StageTask, method: Any) -> Any:
    from xecgbench.plugins.attribution_checks import call_attribution

    spec = task.specs["attributions"]
    plugin = context.plugin_of("attributions", spec.name)
    return functools.partial(call_attribution, spec.display, plugin, method)


def _targets(context: StageContext, model: Any, x: np.ndarray, labels: np.ndarray) -> dict:
    """The class each branch explains per window (see ``ExplainConfig.target``)."""
    from xecgbench.run.training import predict

    branches = context.suite.explain.branches
    if context.suite.explain.target == "true":
        return {b: labels.astype(np.int64) for b in branches}
    probabilities = predict(model, x)
    return {b: (probabilities[b] >= 0.5).astype(np.int64) for b in branches}


def run_attribute(context: StageContext, task: StageTask) -> StageOutcome:
    """Relevance of the explained windows per branch, for the class the suite's rule picks.

    The artifact holds ``index``, each branch's relevance and ``target_<branch>``; the report
    counts windows whose relevance is all zero (a dead branch explains nothing). A method at
    or above ``explain.costly_attribution`` explains the first ``n_costly`` windows only.
    """
    import torch

    _, test = load_data(context)
    model = load_model(context, task, "finetune")
    explain_cfg = context.suite.explain
    index = explained_windows(context.suite, test)
    subset = explained_subset(explain_cfg,
                              context.component("attributions", task.specs["attributions"]))
    index = index if subset is None else index[:subset]
    x = torch.from_numpy(test.signals[index]).to(context.device)
    targets = _targets(context, model, test.signals[index], test.labels[index])
    arrays = {"index": index}
    zero: dict[str, float] = {}
    for branch in explain_cfg.branches:
        target = torch.from_numpy(targets[branch]).to(context.device)
        explain = _checked_explain(context, task, _explainer(context, task, model, branch))
        parts = [
            explain(
                x[s : s + explain_cfg.batch_size],
                target[s : s + explain_cfg.batch_size],
                masks={k: m[index[s : s + explain_cfg.batch_size]] for k, m in test.masks.items()},
            )
            .cpu()
            .numpy()
            for s in range(0, len(x), explain_cfg.batch_size)
        ]
        arrays[branch] = np.concatenate(parts).astype(np.float32)
        arrays[f"target_{branch}"] = targets[branch]
        zero[branch] = float(np.mean(~arrays[branch].reshape(len(index), -1).any(axis=1)))
    artifact, checksum = context.cache.save_arrays("attribute", task.key, arrays)
    return StageOutcome(task.key, artifact, checksum, 0.0, report={"zero_relevance": zero})


def re_explain(checked: Any, device: Any, masks: Mapping[str, np.ndarray], x: Any,
                target: Any) -> Any:
    """Re-explain for a metric; the windows' masks go along when the rows are the scored ones
    (a perturbed copy of the batch), not when a metric re-explains a different number."""
    import torch

    return checked(torch.as_tensor(x, device=device), torch.as_tensor(target, device=device),
                   masks if len(x) == len(next(iter(masks.values()), x)) else None)


def metric_values(
    metric: Any, display: str, batch: ExplanationBatch, region: str
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(region label, scores (N,), chance (N,))`` per sub-score of one metric on one batch.

    The label is ``region/sub-score`` (either part may be empty); chance is NaN for metrics
    that define none and for sub-scores. Shared by the score stage and the Python API, so both
    store the same rows.
    """
    n = len(batch.attributions)
    result = metric.evaluate_batch(batch)
    named = result if isinstance(result, Mapping) else {"": result}
    chance = (np.asarray(metric.chance(batch), dtype=np.float64)
              if hasattr(metric, "chance") and not isinstance(result, Mapping)
              else np.full(n, np.nan))
    for sub, values in named.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(
                f"metric {display!r} returned shape {values.shape}, expected ({n},)"
            )
        yield "/".join(p for p in (region, sub) if p), values, chance


def run_score(context: StageContext, task: StageTask) -> StageOutcome:
    """One explanation metric on every explained branch (and each of its paired masks)."""

    _, test = load_data(context)
    arrays = context.cache.load_arrays(*task.upstream["attribute"])
    spec = task.specs["metrics"]
    metric = context.component("metrics", spec)(**spec.params)
    explain_cfg = context.suite.explain
    index = arrays["index"]
    if getattr(metric, "costly", False):
        index = index[: explain_cfg.n_costly]
    model = (
        load_model(context, task, "finetune")
        if metric.info.requires & {"model", "explainer"}
        else None
    )
    scores: list[dict[str, Any]] = []
    for branch in explain_cfg.branches:
        module = model.explainable(branch) if model is not None else None
        explain = None
        if "explainer" in metric.info.requires:
            checked = _checked_explain(context, task, _explainer(context, task, model, branch))
            masks = {k: m[index] for k, m in test.masks.items()}
            explain = functools.partial(re_explain, checked, context.device, masks)
        for region in metric_regions(metric.info, explain_cfg.alignment.get(branch, ())):
            target = arrays.get(f"target_{branch}", test.labels[arrays["index"]])[: len(index)]
            batch = ExplanationBatch(
                x=test.signals[index],
                y=test.labels[index],
                target=target.astype(np.int64),
                attributions=arrays[branch][: len(index)],
                fs=test.fs,
                seed=task.seed,
                mask=test.masks[region][index] if region else None,
                mask_name=region or None,
                masks={name: m[index] for name, m in test.masks.items()},
                model=module,
                explain=explain,
            )
            for label, values, chance in metric_values(metric, spec.display, batch, region):
                scores.extend(
                    score_row(
                        task,
                        branch=branch,
                        metric=spec.display,
                        category=metric.info.category,
                        region=label,
                        sample=int(i),
                        record_id=test.record_ids[i],
                        value=float(v) if np.isfinite(v) else None,
                        label=int(test.labels[i]),
                        chance=float(c) if np.isfinite(c) else None,
                    )
                    for i, v, c in zip(index, values, chance, strict=True)
                )
    return StageOutcome(task.key, None, None, 0.0, scores=scores)


