"""The artifact cache: round trips, content-addressed names, checksums that catch corruption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from xecgbench.run.cache import ArtifactCache, CorruptArtifactError


def _flip_byte(path: Path, offset: int = -10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_arrays_round_trip_and_verify(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path)
    arrays = {"index": np.arange(5), "morphology": np.random.default_rng(0).normal(size=(5, 1, 30))}
    relative, checksum = cache.save_arrays("attribute", "k1", arrays)
    loaded = cache.load_arrays(relative, checksum)
    assert set(loaded) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)
    assert cache.verify(relative, checksum)


def test_state_round_trip_with_weights_only(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path)
    state = torch.nn.Conv1d(1, 2, 3).state_dict()
    relative, checksum = cache.save_state("finetune", "k2", state)
    loaded = cache.load_state(relative, checksum)
    assert loaded.keys() == state.keys()
    for name in state:
        assert torch.equal(loaded[name], state[name])


def test_names_are_content_addressed(tmp_path: Path) -> None:
    """Other bytes for the same stage key never overwrite a file; equal bytes share a name."""
    cache = ArtifactCache(tmp_path)
    first = cache.save_arrays("attribute", "key", {"a": np.zeros(3)})
    second = cache.save_arrays("attribute", "key", {"a": np.ones(3)})
    again = cache.save_arrays("attribute", "key", {"a": np.zeros(3)})
    assert first != second
    assert again == first
    assert cache.verify(*first) and cache.verify(*second)


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path)
    relative, _ = cache.save_arrays("evaluate", "k", {"p": np.ones(4)})
    assert [p.name for p in (tmp_path / "evaluate").iterdir()] == [Path(relative).name]


def test_flipped_byte_fails_the_checksum_and_names_the_file(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path)
    relative, checksum = cache.save_arrays("attribute", "k", {"a": np.arange(100.0)})
    _flip_byte(tmp_path / relative)
    assert not cache.verify(relative, checksum)
    with pytest.raises(CorruptArtifactError, match=r"k-.*\.npz does not match its checksum"):
        cache.load_arrays(relative, checksum)


def test_missing_artifact_is_reported(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path)
    relative, checksum = cache.save_state("pretrain", "k", {"w": torch.ones(2)})
    (tmp_path / relative).unlink()
    assert not cache.verify(relative, checksum)
    with pytest.raises(CorruptArtifactError, match="is missing"):
        cache.load_state(relative, checksum)
