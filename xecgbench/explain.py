"""Explain one record with a fine-tuned model from a finished run (``xecgbench explain``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xecgbench.cache import ArtifactCache
from xecgbench.components import DatasetError, ECGSet
from xecgbench.config import ComponentSpec, Suite
from xecgbench.plan import plan
from xecgbench.plugin_manager import PluginSystem
from xecgbench.runner import CACHE_DIR, STORE_NAME
from xecgbench.stages import StageContext, build_model
from xecgbench.store import ResultsStore


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
    store: ResultsStore, suite: Suite, system: PluginSystem, labels: dict[str, Any]
) -> tuple[int, tuple[str, str]]:
    """Seed and (artifact, checksum) of the fine-tuned model whose labels match."""
    for item in plan(suite, system):
        task = item.task
        if task.stage != "finetune" or any(task.labels.get(k) != v for k, v in labels.items()):
            continue
        record = store.stage(task.key)
        if record is not None and record.status == "done" and record.artifact:
            return task.seed, (record.artifact, record.checksum or "")
    wanted = ", ".join(f"{k}={v}" for k, v in labels.items())
    raise DatasetError(f"no finished fine-tuned model with {wanted} in this run")


def _locate(source: Any, record: str, suite: Suite) -> tuple[ECGSet, int]:
    """The split holding ``record`` (a window id, or a record name for its first window)."""
    examples: list[str] = []
    for split in ("test", "train"):
        windows = source.load(split, fs=suite.data.fs, duration_s=suite.data.duration_s)
        for index, record_id in enumerate(windows.record_ids):
            if record in (record_id, record_id.split("#")[0]):
                return windows, index
        examples += list(windows.record_ids[:2])
    raise DatasetError(f"record {record!r} not found in either split (e.g. {', '.join(examples)})")


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

    from xecgbench.attribution_checks import call_attribution, make_attribution

    store_path = results_dir / STORE_NAME
    if not store_path.is_file():
        raise DatasetError(f"{store_path} not found: run `xecgbench run --out {results_dir}` first")
    with ResultsStore(store_path) as store:
        run = store.runs()[-1]
        suite = Suite.model_validate(run["config"])
        labels = {
            "pretraining": pretraining or suite.pretraining[0].display,
            "freezing": freezing or suite.freezing[0].display,
            "seed": suite.seeds[0] if seed is None else seed,
        }
        model_seed, state = _finetuned_state(store, suite, system, labels)
    context = StageContext(suite, system, ArtifactCache(results_dir / CACHE_DIR))
    spec = suite.data.dataset if suite.data.dataset.name == dataset else ComponentSpec(name=dataset)
    source = system.registry["datasets"].get(spec.name)(**spec.params)
    windows, index = _locate(source, record, suite)
    model = build_model(context, model_seed, windows.signals.shape[-1])
    model.load_state_dict(context.cache.load_state(*state))
    model.eval()
    registration = system.registry["attributions"].registration(method)
    explainer = make_attribution(
        registration.component, model.explainable(branch), fs=windows.fs, seed=model_seed
    )
    x = torch.from_numpy(windows.signals[index : index + 1])
    target = torch.tensor([int(windows.labels[index])])
    masks = {k: v[index : index + 1] for k, v in windows.masks.items()}
    relevance = call_attribution(method, registration.plugin, explainer, x, target, masks)
    title = (
        f"{windows.record_ids[index]} ({'AF' if windows.labels[index] else 'non-AF'}) — "
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
