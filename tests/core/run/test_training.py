"""Fine-tuning: frozen blocks stay bit-identical, CPU determinism, stratified splits."""

from __future__ import annotations

import numpy as np
import torch

from xecgbench.plugins.components import ECGSet, FineTuneStage, TrainingBudget
from xecgbench.run.training import (
    fine_tune,
    freeze_first_blocks,
    seed_everything,
    stratified_holdout,
)
from xecgbench_builtin.models.xecgarch import build_xecgarch

BUDGET = TrainingBudget(epochs=2, batch_size=16, lr=1e-2, patience=5, val_fraction=0.25)


def _data(n: int = 32, t: int = 400) -> ECGSet:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    signals = (
        rng.random((n, 1, t), dtype=np.float32) + labels[:, None, None].astype(np.float32) * 0.3
    )
    mask = np.zeros((n, 1, t), dtype=bool)
    return ECGSet(
        signals, labels.astype(np.int64), {"p_wave": mask}, tuple(map(str, range(n))), 100.0
    )


def _model() -> torch.nn.Module:
    seed_everything(0)
    return build_xecgarch(fs=100, n_samples=400, width=2)


def test_frozen_blocks_are_bit_identical_after_training() -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fine_tune(model, _data(), [FineTuneStage(2, 2)], BUDGET, seed=0)
    after = model.state_dict()
    for name, value in before.items():
        frozen = any(f"blocks.block{i}." in name for i in (1, 2))
        if frozen:
            assert torch.equal(value, after[name]), name
    changed = [n for n in before if "block3" in n and not torch.equal(before[n], after[n])]
    assert changed, "unfrozen blocks must train"


def test_freeze_first_blocks_sets_grad_and_mode() -> None:
    model = _model()
    freeze_first_blocks(model, 3)
    for branch in model.branches.values():
        flags = [all(not p.requires_grad for p in b.parameters()) for b in branch.blocks]
        assert flags == [True, True, True, False]
        assert [b.training for b in branch.blocks] == [False, False, False, True]


def test_fine_tuning_is_deterministic_on_cpu() -> None:
    states = []
    for _ in range(2):
        model = _model()
        fine_tune(model, _data(), [FineTuneStage(0, 2)], BUDGET, seed=3)
        states.append(model.state_dict())
    for name in states[0]:
        assert torch.equal(states[0][name], states[1][name]), name


def test_stratified_holdout_holds_out_each_class() -> None:
    labels = np.array([0] * 30 + [1] * 10)
    keep, held = stratified_holdout(labels, 0.2, seed=0)
    assert set(keep).isdisjoint(held) and len(keep) + len(held) == 40
    assert np.sum(labels[held] == 0) == 6 and np.sum(labels[held] == 1) == 2


def test_branches_are_fine_tuned_independently() -> None:
    """Changing one branch's weights must not change the other's fine-tuned weights."""
    first, second = _model(), _model()
    with torch.no_grad():
        for parameter in second.branches["rhythm"].parameters():
            parameter.mul_(1.5)
    for model in (first, second):
        fine_tune(model, _data(), [FineTuneStage(0, 3)], BUDGET, seed=0)
    for name, value in first.branches["morphology"].state_dict().items():
        assert torch.equal(value, second.branches["morphology"].state_dict()[name]), name


def test_only_the_pretrained_branches_keep_blocks_frozen() -> None:
    """A branch no strategy pre-trained trains whole: frozen, it would keep random weights."""
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fine_tune(model, _data(), [FineTuneStage(2, 2)], BUDGET, seed=0,
              frozen_branches=("morphology",))
    after = model.state_dict()
    first_block = [n for n in before if "blocks.block1." in n]
    kept = [n for n in first_block if torch.equal(before[n], after[n])]
    assert kept and all(n.startswith("branches.morphology.") for n in kept)
    assert any(n.startswith("branches.rhythm.") and not torch.equal(before[n], after[n])
               for n in first_block)
