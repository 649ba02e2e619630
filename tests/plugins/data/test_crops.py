"""Training on full-length records: crop windows, record-level holdout, one crop per epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_cinc2017 import make_cinc

from xecgbench.plugins.components import TrainingBudget
from xecgbench.run.training import (
    crop_order,
    first_windows,
    fit,
    grouped_holdout,
    record_groups,
    stratified_holdout,
)
from xecgbench_builtin.data.cinc2017 import CinC2017
from xecgbench_builtin.data.ecg_windows import DatasetError, window_starts


def test_crop_starts_cover_the_record_to_its_end() -> None:
    assert window_starts(2500, 1000, "crops") == [0, 500, 1000, 1500]
    assert window_starts(2600, 1000, "crops") == [0, 500, 1000, 1500, 1600]  # flush end
    assert window_starts(2600, 1000, "crops", step=1000) == [0, 1000, 1600]
    assert window_starts(900, 1000, "crops") == [0]


def test_train_split_gets_crops_and_test_split_the_first_window(
    shared_data: Path, tmp_path: Path
) -> None:
    path = make_cinc(shared_data / "cinc2017", tmp_path / "c",
                     {"A00001": "N", "A00002": "N", "A00004": "A", "A00005": "A"})
    dataset = CinC2017(path=path, cache_dir=tmp_path / "cache", train_windowing="crops",
                       crop_step_s=5.0, test_fraction=0.5, split_seed=0)
    train = dataset.load("train", fs=100.0, duration_s=10.0)
    test = dataset.load("test", fs=100.0, duration_s=10.0)
    train_records = {r.split("#")[0] for r in train.record_ids}
    assert len(train.record_ids) > len(train_records) == 2  # several crops per record
    assert all(r.endswith("#0") for r in test.record_ids) and len(test.record_ids) == 2
    assert not train_records & {r.split("#")[0] for r in test.record_ids}
    with pytest.raises(DatasetError, match="train_windowing"):
        CinC2017(path=path, train_windowing="middle")


def test_grouped_holdout_keeps_records_whole_and_reduces_to_the_plain_one() -> None:
    groups = np.repeat(np.arange(20), 3)
    labels = np.repeat(np.arange(20) % 2, 3)
    keep, held = grouped_holdout(labels, groups, 0.25, seed=1)
    assert not set(groups[keep]) & set(groups[held])
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(60))
    assert {int(labels[i]) for i in held} == {0, 1}
    singles = np.arange(30)
    plain = stratified_holdout(singles % 3, 0.2, 4)
    grouped = grouped_holdout(singles % 3, singles, 0.2, 4)
    assert all(np.array_equal(a, b) for a, b in zip(plain, grouped, strict=True))


def test_record_groups_from_window_ids() -> None:
    ids = ("b#0", "b#1", "a#0", "c", "a#1")
    assert record_groups(ids).tolist() == [0, 0, 1, 2, 1]


def test_crop_order_draws_one_crop_per_record_seeded_and_varied() -> None:
    groups = np.array([0, 0, 0, 1, 2, 2])
    order = crop_order(groups)
    assert order is not None and crop_order(np.arange(5)) is None
    epochs = [order(torch.Generator().manual_seed(3)) for _ in range(2)]
    assert np.array_equal(*epochs)  # same seed, same draw
    generator = torch.Generator().manual_seed(3)
    draws = [order(generator) for _ in range(30)]
    for draw in draws:
        assert sorted(groups[draw].tolist()) == [0, 1, 2]
    assert {int(d[groups[d] == 0][0]) for d in draws} == {0, 1, 2}  # every crop gets drawn


def test_fit_uses_the_epoch_order_and_validates_in_eval_mode() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    seen: list[int] = []
    modes: list[bool] = []

    def batch_loss(index: np.ndarray) -> torch.Tensor:
        seen.extend(index.tolist())
        return model(torch.ones(len(index), 3) * torch.arange(len(index))[:, None]).pow(2).mean()

    def val_loss() -> float:
        modes.append(model.training)
        return 1.0

    budget = TrainingBudget(epochs=2, batch_size=2, lr=0.01, schedule="cosine")
    fit([model], batch_loss, val_loss, 10, budget, torch.Generator().manual_seed(0),
        epoch_order=lambda g: np.array([4, 1, 7, 2]))
    assert seen == [4, 1, 7, 2] * 2 and modes == [False, False] and model.training


def test_validation_uses_the_first_window_of_each_held_out_record() -> None:
    ids = tuple(f"r{r}#{k}" for r in range(12) for k in range(3))
    groups = record_groups(ids)
    _, held = grouped_holdout(np.repeat(np.arange(12) % 2, 3), groups, 0.25, 0)
    first = first_windows(groups, held)
    assert [ids[i] for i in first] == sorted({ids[i].split("#")[0] + "#0" for i in held},
                                             key=lambda r: int(r[1:].split("#")[0]))


def test_every_grouping_by_record_cuts_the_window_id_at_its_last_hash() -> None:
    """A record name may hold a '#': the window number is what follows the last one."""
    from xecgbench.api import record_of
    from xecgbench.report.stats.intervals import long_frame

    assert record_of("a#b#3") == "a#b" and record_of("A00004#0") == "A00004"
    assert record_of("c") == "c"
    assert record_groups(("a#b#0", "a#b#1", "a#c#0")).tolist() == [0, 0, 1]
    scores = pd.DataFrame({"seed": [0, 0], "record_id": ["a#b#0", "a#b#1"],
                           "region": ["AF/QRS", "AF/T"], "value": [0.5, 0.5]})
    assert long_frame(scores)["record"].tolist() == ["a#b", "a#b"]
