"""Which windows a run trains on and which it evaluates: one routine for every reader.

Scoring, the HTML report's heatmaps and ``xecgbench explain`` all index the same evaluation
windows, so a sample number in the store means the same window everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from xecgbench.run.sample_rule import stratified_indices

if TYPE_CHECKING:
    from xecgbench.plugins.components import ECGSet
    from xecgbench.plugins.manager import PluginSystem
    from xecgbench.run.config import ComponentSpec, ExplainConfig, Suite


def evaluation_source(suite: Suite) -> tuple[ComponentSpec, str]:
    """The dataset and split a suite evaluates on.

    A separate ``data.test`` source is used whole (``"all"``) unless ``data.test_split`` names
    a split; otherwise the training dataset's held-back ``"test"`` split.
    """
    data = suite.data
    spec = data.test or data.dataset
    return spec, data.test_split or ("all" if data.test else "test")


def _load(system: PluginSystem, spec: ComponentSpec, split: str, suite: Suite) -> ECGSet:
    dataset = system.registry["datasets"].get(spec.name)(**spec.params)
    windows = dataset.load(split, fs=suite.data.fs, duration_s=suite.data.duration_s)
    check_loaded(windows, f"dataset {spec.display!r} ({split} split)")
    return windows


def check_loaded(windows: ECGSet, source: str) -> None:
    """A dataset's windows as every stage expects them: finite samples, labels 0 or 1.

    Refused here, naming the dataset, the window and the value: an infinite sample used to
    surface as an attribution's error ("attributions 'input_x_gradient' failed")."""
    from xecgbench.plugins.components import DatasetError

    signals = np.asarray(windows.signals)  # an empty set is refused later, by its own rule
    finite = np.isfinite(signals).all(axis=tuple(range(1, signals.ndim)))
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise DatasetError(f"{source}: window {bad} (record {windows.record_ids[bad]!r}) "
                           "holds a non-finite sample (inf or NaN)")
    labels = np.asarray(windows.labels)
    wrong = ~np.isin(labels, (0, 1))
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        raise DatasetError(f"{source}: window {bad} has label {labels[bad].item()!r}, not 0 or 1")


def training_windows(suite: Suite, system: PluginSystem) -> ECGSet:
    """The windows pretraining and fine-tuning learn from."""
    return _load(system, suite.data.dataset, "train", suite)


def evaluation_windows(suite: Suite, system: PluginSystem) -> ECGSet:
    """The windows every accuracy, attribution and explanation score refers to."""
    spec, split = evaluation_source(suite)
    return _load(system, spec, split, suite)


def explained_indices(labels: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` evaluation windows in a fixed class-alternating order (seed-free)."""
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    order = [i for group in zip(*by_class, strict=False) for i in group]
    rest = sorted(set(range(len(labels))) - set(order))
    return np.array((order + rest)[:n], dtype=np.int64)


def explained_windows(suite: Suite, test: ECGSet) -> np.ndarray:
    """The evaluation windows ``suite.explain.sample`` picks: the alternating first
    ``n_samples`` or the stratified draw (see :mod:`~xecgbench.run.sample_rule`)."""
    explain = suite.explain
    if explain.sample.rule == "alternating":
        return explained_indices(test.labels, explain.n_samples)
    spec, split = evaluation_source(suite)
    where = f"dataset {spec.display!r} split {split!r}"
    return stratified_indices(test, explain.sample, explain.n_samples, where)


def explained_subset(explain: ExplainConfig, method: type) -> int | None:
    """How many of the explained windows ``method`` explains when it is costly (its
    ``relative_cost`` at or above ``explain.costly_attribution``: the first ``n_costly``), or
    None when it explains them all."""
    cutoff = explain.costly_attribution
    if cutoff is None or getattr(method, "relative_cost", 0.0) < cutoff:
        return None
    return explain.n_costly
