"""Which windows of the held-out records fine-tuning validates on (``training.validate_on``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xecgbench.plugins.components import ECGSet, TrainingBudget
from xecgbench.plugins.manager import load_plugins
from xecgbench.run.config import SuiteError, load_suite
from xecgbench.run.plan import plan
from xecgbench.run.training import record_groups, validation_split


def _crops(n_records: int = 20, per_record: int = 4) -> ECGSet:
    ids = tuple(f"r{r}#{c}" for r in range(n_records) for c in range(per_record))
    labels = np.repeat(np.arange(n_records) % 2, per_record).astype(np.int64)
    signals = np.zeros((len(ids), 1, 50), dtype=np.float32)
    return ECGSet(signals, labels, {"p_wave": np.zeros(signals.shape, bool)}, ids, 100.0)


def _keys(*overrides: str) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for item in plan(load_suite("smoke", overrides), load_plugins(autoload=False)):
        keys.setdefault(item.task.stage, set()).add(item.task.key)
    return keys


def test_the_default_keeps_every_hash_and_key() -> None:
    written = "training.validate_on=first"
    assert load_suite("smoke", [written]).config_hash() == load_suite("smoke").config_hash()
    assert _keys(written) == _keys()


def test_all_validates_on_every_crop_of_the_same_held_out_records() -> None:
    data, budget = _crops(), TrainingBudget(val_fraction=0.25)
    groups = record_groups(data.record_ids)
    train_first, first = validation_split(data, budget, seed=0)
    train_all, every = validation_split(data, dataclasses.replace(budget, validate_on="all"), 0)
    assert np.array_equal(train_first, train_all)
    assert set(groups[first]) == set(groups[every])
    assert len(first) == len(set(groups[first])) and len(every) == 4 * len(first)
    assert set(groups[every]).isdisjoint(groups[train_all])


def test_all_refits_the_models_only() -> None:
    before, after = _keys(), _keys("training.validate_on=all")
    assert after["pretrain"] == before["pretrain"]
    assert after["finetune"].isdisjoint(before["finetune"])


def test_pretraining_is_not_told_where_to_validate() -> None:
    with pytest.raises(SuiteError, match="validate_on apply to fine-tuning"):
        load_suite("smoke", ["pretraining_budget.validate_on=all"])
