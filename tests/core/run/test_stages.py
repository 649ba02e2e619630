"""Stage functions: external test sources, explained windows, data errors blamed on the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xecgbench.plugins.components import DatasetError
from xecgbench.plugins.manager import load_plugins
from xecgbench.run.config import load_suite
from xecgbench.run.runner import run_suite
from xecgbench.run.store import load_scores
from xecgbench.run.windows import explained_indices

TINY = [
    "pretraining=[none]",
    "freezing=[none]",
    "attributions=[saliency]",
    "explain.n_samples=4",
    "metrics=[accuracy, relevance_mass_accuracy]",
]


def test_explained_indices_alternate_classes_and_are_stable() -> None:
    labels = np.array([0, 0, 0, 1, 1, 0, 1])
    index = explained_indices(labels, 4)
    assert list(labels[index]) == [0, 1, 0, 1]
    assert list(index) == list(explained_indices(labels, 4))
    assert len(explained_indices(labels, 100)) == len(labels)


def test_train_on_synthetic_test_on_ludb(shared_data: Path, tmp_path: Path) -> None:
    """External validation: a separate test source, every record of it by default."""
    suite = load_suite(
        "smoke",
        [
            *TINY,
            "data.fs=100",
            "data.duration_s=6",
            f"data.test={{name: ludb, params: {{path: '{shared_data / 'ludb'}', limit: 12}}}}",
        ],
    )
    summary = run_suite(suite, load_plugins(autoload=False), tmp_path, quiet=True)
    assert summary.ok, summary.failed
    scores = load_scores(summary.store_path)
    explained = scores[scores["attribution"].notna()]
    assert explained["record_id"].str.fullmatch(r"data/\d+#\d+").all(), "LUDB record names"
    accuracy = scores[(scores["metric"] == "accuracy") & (scores["branch"] == "ensemble")]
    assert len(accuracy) == 1 and 0 <= accuracy["value"].iloc[0] <= 1


def test_missing_data_directory_fails_naming_the_dataset(tmp_path: Path) -> None:
    suite = load_suite(
        "smoke",
        [*TINY, f"data.dataset={{name: cinc2017, params: {{path: '{tmp_path / 'nowhere'}'}}}}"],
    )
    # checked before the first stage: no stage runs, nothing is stored
    with pytest.raises(DatasetError, match=r"cinc2017: data directory .*nowhere"):
        run_suite(suite, load_plugins(autoload=False), tmp_path / "out", quiet=True)
    assert not (tmp_path / "out" / "results.sqlite").exists()


@pytest.mark.parametrize("split", ["test", None])
def test_test_split_defaults(split: str | None) -> None:
    overrides = [] if split is None else [f"data.test_split={split}"]
    assert load_suite("smoke", overrides).data.test_split == split
