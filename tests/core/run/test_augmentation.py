"""Fine-tuning's declared batch augmentation (ecg-augmentations): seeded, checked early,
invisible to every hash and key when unset."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from xecgbench.errors import UserError
from xecgbench.plugins.components import Augmentation, ECGSet, FineTuneStage, TrainingBudget
from xecgbench.plugins.manager import load_plugins
from xecgbench.run.augmentation import batch_augmentation, check_augmentation
from xecgbench.run.config import SuiteError, load_suite
from xecgbench.run.plan import plan
from xecgbench.run.training import fine_tune, seed_everything
from xecgbench_builtin.models.xecgarch import build_xecgarch

STEPS = (Augmentation("BaselineWander", {"amplitude": [0.05, 0.3], "p": 0.5}),
         Augmentation("AmplitudeScale", {"scale": [0.8, 1.25]}))
WANDER = "training.augment=[{name: BaselineWander, params: {amplitude: [0.05, 0.3]}}]"


def _data(n: int = 32, t: int = 400) -> ECGSet:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    signals = rng.standard_normal((n, 1, t)).astype(np.float32) + labels[:, None, None] * 0.5
    masks = {"p_wave": np.zeros((n, 1, t), dtype=bool)}
    return ECGSet(signals.astype(np.float32), labels.astype(np.int64), masks,
                  tuple(map(str, range(n))), 100.0)


def _trained(budget: TrainingBudget) -> list[torch.Tensor]:
    seed_everything(0)
    model = build_xecgarch(fs=100, n_samples=400, width=2)
    fine_tune(model, _data(), [FineTuneStage(0, 2)], budget, seed=1)
    return [p.detach().clone() for p in model.parameters()]


def _keys(*overrides: str) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for item in plan(load_suite("smoke", overrides), load_plugins(autoload=False)):
        keys.setdefault(item.task.stage, set()).add(item.task.key)
    return keys


def test_unset_augmentation_keeps_every_hash_and_key() -> None:
    assert load_suite("smoke", ["training.augment=[]"]).config_hash() == \
        load_suite("smoke").config_hash()
    assert _keys("training.augment=[]") == _keys()


def test_augmentation_retrains_but_reuses_pretraining() -> None:
    before, after = _keys(), _keys(WANDER)
    assert load_suite("smoke", [WANDER]).config_hash() != load_suite("smoke").config_hash()
    assert after["pretrain"] == before["pretrain"]
    assert after["finetune"].isdisjoint(before["finetune"])


def test_augmented_fine_tuning_repeats_and_differs_from_none() -> None:
    budget = TrainingBudget(epochs=2, batch_size=16, lr=1e-2, patience=5, val_fraction=0.25)
    augmented = dataclasses.replace(budget, augment=STEPS)
    first, again, plain = _trained(augmented), _trained(augmented), _trained(budget)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, plain, strict=True))


def test_a_batch_keeps_its_shape_and_the_draws_follow_the_seed() -> None:
    batch = torch.from_numpy(_data().signals[:8])
    one = batch_augmentation(STEPS, 100.0, 0, torch.device("cpu"))
    two = batch_augmentation(STEPS, 100.0, 0, torch.device("cpu"))
    assert one is not None and two is not None
    out = one(batch)
    assert out.shape == batch.shape and not torch.equal(out, batch)
    assert torch.equal(out, two(batch))
    assert batch_augmentation((), 100.0, 0, torch.device("cpu")) is None


@pytest.mark.parametrize(("step", "message"), [
    (Augmentation("BaselineWonder"), "'BaselineWonder' is not an ecg-augmentations transform"),
    (Augmentation("np"), "'np' is not an ecg-augmentations transform"),
    (Augmentation("GaussianNoise", {"snr": 20}), "GaussianNoise"),
    (Augmentation("AmplitudeScale", {"p": 2}), "p must be in"),
])
def test_a_bad_step_is_one_line_before_any_stage(step: Augmentation, message: str) -> None:
    with pytest.raises(UserError, match=message) as caught:
        check_augmentation([step], 250.0)
    assert "\n" not in str(caught.value)


def test_pretraining_is_not_augmented() -> None:
    with pytest.raises(SuiteError, match="augment and validate_on apply to fine-tuning"):
        load_suite("smoke", [WANDER.replace("training.", "pretraining_budget.")])
