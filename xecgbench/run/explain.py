"""Explain one record with a fine-tuned model from a finished run (``xecgbench explain``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xecgbench.plugins.components import DatasetError, ECGSet, record_of
from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import Suite
from xecgbench.run.layout import RunLayout
from xecgbench.run.stage_types import StageContext, build_model
from xecgbench.run.store import ResultsStore
from xecgbench.run.windows import evaluation_source, evaluation_windows, training_windows


@dataclass(frozen=True)
class Explanation:
    """One window, its masks and the relevance of one method on one branch."""

    record_id: str
    label: int
    signal: np.ndarray
    relevance: np.ndarray
    masks: dict[str, np.ndarray]
    fs: float
    title: str


def _finetuned_state(
    store: ResultsStore, run_id: str, labels: dict[str, Any]
) -> tuple[int, tuple[str, str]]:
    """Seed and (artifact, checksum) of the run's fine-tuned model whose stored labels match."""
    for record in store.finished_stages(run_id, "finetune"):
        if record.artifact and all(record.labels.get(k) == v for k, v in labels.items()):
            return int(record.labels["seed"]), (record.artifact, record.checksum or "")
    wanted = ", ".join(f"{k}={v}" for k, v in labels.items())
    raise DatasetError(f"no finished fine-tuned model with {wanted} in this run")


def _candidate_windows(suite: Suite, system: PluginSystem, dataset: str) -> Iterator[ECGSet]:
    """Windows of ``dataset`` to search: the run's evaluation windows first, then training."""
    spec, _ = evaluation_source(suite)
    if spec.name == dataset:
        yield evaluation_windows(suite, system)
    if suite.data.dataset.name == dataset:
        yield training_windows(suite, system)
    if dataset not in (spec.name, suite.data.dataset.name):
        source = system.registry["datasets"].get(dataset)()
        for split in ("test", "train"):
            yield source.load(split, fs=suite.data.fs, duration_s=suite.data.duration_s)


def _locate(suite: Suite, system: PluginSystem, dataset: str, record: str) -> tuple[ECGSet, int]:
    """The windows holding ``record`` (a window id, or a record name for its first window)."""
    examples: list[str] = []
    for windows in _candidate_windows(suite, system, dataset):
        for index, record_id in enumerate(windows.record_ids):
            if record in (record_id, record_of(record_id)):
                return windows, index
        examples += list(windows.record_ids[:2])
    raise DatasetError(f"record {record!r} not found in {dataset!r} (e.g. {', '.join(examples)})")


def explain_record(
    results_dir: Path,
    system: PluginSystem,
    *,
    dataset: str,
    record: str,
    method: str,
    branch: str,
    pretraining: str | None = None,
    freezing: str | None = None,
    seed: int | None = None,
) -> Explanation:
    """Relevance of ``method`` on ``branch`` for ``record``, with the run's fine-tuned model.

    The model is the latest run's fine-tuned checkpoint for (pretraining, freezing, seed), each
    defaulting to the suite's first; the record comes from ``dataset`` loaded at the run's rate.
    """
    import torch

    from xecgbench.plugins.attribution_checks import call_attribution, make_attribution

    layout = RunLayout(results_dir)
    if not layout.store.is_file():
        raise DatasetError(
            f"{layout.store} not found: run `xecgbench run --out {results_dir}` first"
        )
    with ResultsStore(layout.store, read_only=True) as store:
        run = store.runs()[-1]
        suite = Suite.model_validate(run["config"])
        labels = {
            "pretraining": pretraining or suite.pretraining[0].display,
            "freezing": freezing or suite.freezing[0].display,
            "seed": suite.seeds[0] if seed is None else seed,
        }
        model_seed, state = _finetuned_state(store, run["run_id"], labels)
    context = StageContext(suite, system, ArtifactCache(layout.cache))
    windows, index = _locate(suite, system, dataset, record)
    model = build_model(context, model_seed, windows.signals.shape[-1])
    model.load_state_dict(context.cache.load_state(*state))
    model.eval()
    registration = system.registry["attributions"].registration(method)
    explainer = make_attribution(
        registration.component, model.explainable(branch), fs=windows.fs, seed=model_seed
    )
    x = torch.from_numpy(windows.signals[index : index + 1])
    if suite.explain.target == "predicted":  # the run's rule: the branch's own decision
        from xecgbench.run.training import predict

        explained = int(predict(model, windows.signals[index : index + 1])[branch][0] >= 0.5)
    else:
        explained = int(windows.labels[index])
    target = torch.tensor([explained])
    masks = {k: v[index : index + 1] for k, v in windows.masks.items()}
    relevance = call_attribution(method, registration.plugin, explainer, x, target, masks)
    title = (
        f"{windows.record_ids[index]} ({'AF' if windows.labels[index] else 'non-AF'}, "
        f"explained as {'AF' if explained else 'non-AF'}) — "
        f"{method} on the {branch} branch; pretraining {labels['pretraining']}, "
        f"freezing {labels['freezing']}, seed {labels['seed']}"
    )
    return Explanation(
        windows.record_ids[index],
        int(windows.labels[index]),
        windows.signals[index, 0],
        relevance.numpy()[0, 0],
        {k: v[index, 0] for k, v in windows.masks.items()},
        windows.fs,
        title,
    )
