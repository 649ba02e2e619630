"""Optimisation loops shared by pretraining and fine-tuning: seeded, early-stopped, CPU-exact."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from xecgbench.plugins.components import ECGSet, FineTuneStage, TrainingBudget, record_of
from xecgbench.run.augmentation import batch_augmentation
from xecgbench.run.device import model_device

#: Loss of the batch at these indices of the training arrays.
BatchLoss = Callable[[np.ndarray], torch.Tensor]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch, ask for deterministic kernels; return a data-order generator.

    ``warn_only``: an op without a deterministic kernel (some CUDA ones) warns instead of failing.
    """
    torch.use_deterministic_algorithms(True, warn_only=True)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def stratified_holdout(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out) with ``fraction`` of every class held out (at least one)."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_held = max(1, round(fraction * len(members))) if len(members) > 1 else 0
        held.append(members[:n_held])
    held_out = np.sort(np.concatenate(held)) if held else np.array([], dtype=int)
    keep = np.setdiff1d(np.arange(len(labels)), held_out)
    return keep, held_out


def record_groups(record_ids: Sequence[str]) -> np.ndarray:
    """Record index of every window (ids are ``<record>#<window>``), in order of appearance."""
    index: dict[str, int] = {}
    return np.array([index.setdefault(record_of(r), len(index)) for r in record_ids],
                    dtype=np.int64)


def grouped_holdout(
    labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stratified_holdout` over records: every window of a held-out record is held out.

    Overlapping crops of one record on both sides would leak into early stopping. With one
    window per record this equals :func:`stratified_holdout` of the windows.
    """
    if len(groups) == 0:
        return stratified_holdout(labels, fraction, seed)
    first = np.unique(groups, return_index=True)[1]
    _, held = stratified_holdout(labels[first], fraction, seed)
    held_windows = np.flatnonzero(np.isin(groups, held))
    return np.flatnonzero(~np.isin(groups, held)), held_windows


def crop_order(groups: np.ndarray) -> Callable[[torch.Generator], np.ndarray] | None:
    """An epoch order drawing one random window (crop) per record, records shuffled.

    ``groups``: record index of each training position. None when every record has one
    window: the plain shuffle then keeps earlier results (and committed leaderboards) intact.
    """
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if len(counts) == 0 or counts.max() <= 1:
        return None
    members = np.argsort(inverse, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])

    def order(generator: torch.Generator) -> np.ndarray:
        records = torch.randperm(len(counts), generator=generator).numpy()
        draw = torch.rand(len(counts), generator=generator, dtype=torch.float64).numpy()
        pick = np.minimum((draw * counts).astype(np.int64), counts - 1)
        return members[(offsets + pick)[records]]

    return order


def first_windows(groups: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The first window of each record among ``index`` (the test windows' rule)."""
    return index[np.unique(groups[index], return_index=True)[1]]


def freeze_first_blocks(model: Any, n_frozen: int) -> None:
    """Freeze the first ``n_frozen`` blocks of every branch: no gradient, eval mode.

    Eval mode keeps any normalisation statistics frozen too; the rest is made trainable.
    """
    for branch in model.branches.values():
        for index, block in enumerate(branch.blocks):
            frozen = index < n_frozen
            block.train(not frozen)
            for parameter in block.parameters():
                parameter.requires_grad_(not frozen)
        branch.head.train(True)
        for parameter in branch.head.parameters():
            parameter.requires_grad_(True)


@dataclass
class FitHistory:
    """Per-epoch losses and where early stopping restored the weights from."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1


def fit(
    modules: Sequence[nn.Module],
    batch_loss: BatchLoss,
    val_loss: Callable[[], float],
    n_train: int,
    budget: TrainingBudget,
    generator: torch.Generator,
    epochs: int | None = None,
    epoch_order: Callable[[torch.Generator], np.ndarray] | None = None,
) -> FitHistory:
    """Adam over the trainable parameters of ``modules``, early-stopped on ``val_loss``.

    The best weights (lowest validation loss) are restored at the end, so the result does not
    depend on how many patience epochs ran after the optimum. ``epoch_order`` draws each
    epoch's training positions (default: a shuffle of all ``n_train``; :func:`crop_order`
    draws one crop per record). Validation runs in eval mode (normalisation layers use
    their running statistics and are not updated by validation data). ``budget.schedule``
    ``"cosine"`` anneals the learning rate to 0 over the epoch budget.
    """
    parameters = [p for m in modules for p in m.parameters() if p.requires_grad]
    history = FitHistory()
    if not parameters:
        return history
    optimiser = torch.optim.Adam(parameters, lr=budget.lr)
    n_epochs = budget.epochs if epochs is None else epochs
    scheduler = None
    if budget.schedule == "cosine" and n_epochs > 0:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=n_epochs)
    best = (float("inf"), [copy.deepcopy(m.state_dict()) for m in modules])
    stale = 0
    for epoch in range(n_epochs):
        if epoch_order is None:
            order = torch.randperm(n_train, generator=generator).numpy()
        else:
            order = epoch_order(generator)
        losses = []
        for start in range(0, len(order), budget.batch_size):
            loss = batch_loss(order[start : start + budget.batch_size])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        history.train_loss.append(float(np.mean(losses)))
        if scheduler is not None:
            scheduler.step()
        modes = [(m, m.training) for module in modules for m in module.modules()]
        for m, _ in modes:
            m.eval()
        with torch.no_grad():
            current = val_loss()
        for m, mode in modes:
            m.train(mode)
        history.val_loss.append(current)
        if not np.isfinite(current) or current < best[0]:  # no val split: keep the latest
            best = (current, [copy.deepcopy(m.state_dict()) for m in modules])
            history.best_epoch = epoch
            stale = 0
        else:
            stale += 1
            if stale >= budget.patience:
                break
    for module, state in zip(modules, best[1], strict=True):
        module.load_state_dict(state)
    return history


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse-frequency weights for the two classes (imbalance without resampling)."""
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    counts[counts == 0] = 1.0
    return torch.tensor(len(labels) / (2.0 * counts), dtype=torch.float32)


def validation_split(data: ECGSet, budget: TrainingBudget, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (training windows, validation windows) of fine-tuning's early-stopping split.

    One function for fine-tuning and the evaluate stage, so operating points are chosen on
    exactly the records early stopping held out (never on the test split). With several
    windows per record, a held-out record contributes its first window, or every window with
    ``budget.validate_on == "all"``.
    """
    groups = record_groups(data.record_ids)
    train_idx, val_idx = grouped_holdout(data.labels, groups, budget.val_fraction, seed)
    if budget.validate_on == "first" and crop_order(groups[train_idx]) is not None:
        val_idx = first_windows(groups, val_idx)
    return train_idx, val_idx


#: Bump when the fine-tuning procedure changes, so cached fine-tuned models are not reused.
FINE_TUNING_VERSION = "3"  # 3: blocks frozen only on the branches the strategy pre-trained


def fine_tune(
    model: Any,
    data: ECGSet,
    stages: Sequence[FineTuneStage],
    budget: TrainingBudget,
    seed: int,
    frozen_branches: Collection[str] | None = None,
) -> dict[str, list[FitHistory]]:
    """Fine-tune each branch on binary AF, stage by stage, each stage freezing its blocks.

    Only ``frozen_branches`` (default: every branch) keep blocks frozen: freezing a branch
    no strategy pre-trained would keep its random initial weights, so the others train whole.

    The branches are independent CNNs (as in xECGArch), so each is trained and early-stopped on
    its own validation loss with the same data order; stopping them jointly would make one
    branch's weights depend on the other's training. Loss: class-weighted cross-entropy. The
    ensemble is the mean of the branch probabilities. A validation split of records is carved
    from ``data``; with several windows (crops) per record each epoch draws one per record and
    validation uses the first window of each held-out record (half the cost of all its crops;
    every crop with ``budget.validate_on == "all"``).
    """
    groups = record_groups(data.record_ids)
    train_idx, val_idx = validation_split(data, budget, seed)
    order = crop_order(groups[train_idx])
    device = model_device(model)  # the run's device (a no-op move on the CPU)
    x = torch.from_numpy(data.signals).to(device)
    y = torch.from_numpy(data.labels.astype(np.int64)).to(device)
    # Inverse class frequency over training records (each contributes one crop per epoch).
    train_records = np.unique(groups[train_idx], return_index=True)[1]
    weights = class_weights(data.labels[train_idx][train_records])
    if budget.class_weight != "inverse":
        weights = weights.sqrt() if budget.class_weight == "sqrt" else torch.ones_like(weights)
    criterion = nn.CrossEntropyLoss(weight=weights.to(device))

    def fit_branch(name: str, branch: nn.Module) -> list[FitHistory]:
        generator = seed_everything(seed)  # the same data order for every branch
        augment = batch_augmentation(budget.augment, data.fs, seed, device)

        def loss_on(index: np.ndarray) -> torch.Tensor:
            return criterion(branch(x[index]), y[index])

        def train_loss_on(index: np.ndarray) -> torch.Tensor:
            batch = x[index] if augment is None else augment(x[index])
            return criterion(branch(batch), y[index])

        def val_loss() -> float:
            return float(loss_on(val_idx)) if len(val_idx) else float("nan")

        histories = []
        for stage in stages:
            frozen = frozen_branches is None or name in frozen_branches
            freeze_first_blocks(model, stage.frozen_blocks if frozen else 0)
            histories.append(
                fit(
                    [branch],
                    lambda batch: train_loss_on(train_idx[batch]),
                    val_loss,
                    len(train_idx),
                    budget,
                    generator,
                    stage.epochs,
                    order,
                )
            )
        return histories

    histories = {name: fit_branch(name, branch) for name, branch in model.branches.items()}
    freeze_first_blocks(model, 0)
    model.eval()
    return histories


@torch.no_grad()
def predict(model: Any, signals: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:
    """AF probabilities per branch and for the ensemble, batched to bound memory."""
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(signals), batch_size):
        batch = torch.from_numpy(signals[start : start + batch_size]).to(model_device(model))
        for name, values in model.predict_proba(batch).items():
            chunks.setdefault(name, []).append(values.cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in chunks.items()}
