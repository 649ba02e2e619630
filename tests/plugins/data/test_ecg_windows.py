"""Array steps of the WFDB loaders: checks, resampling, windows, normalisation, splits."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from xecgbench_builtin.data.ecg_windows import (
    BadRecordError,
    DatasetError,
    check_duration,
    check_finite,
    check_not_flat,
    cut_window,
    normalise,
    resample,
    split_records,
    stratified_subset,
    window_starts,
)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_name_record_and_kind(bad: float) -> None:
    signal = np.zeros(100)
    signal[7] = bad
    with pytest.raises(BadRecordError, match=r"record R1: 1 non-finite samples \((NaN|Inf)\), "
                                             r"first at 7") as info:
        check_finite("R1", signal)
    assert info.value.record == "R1"


def test_empty_and_short_records_are_refused() -> None:
    with pytest.raises(BadRecordError, match="no samples"):
        check_finite("R", np.empty(0))
    with pytest.raises(BadRecordError, match=r"too short: 2.00 s < minimum 9.00 s"):
        check_duration("R", 600, 300.0, 9.0)
    check_duration("R", 2700, 300.0, 9.0)


def test_flat_window_is_refused_with_its_position() -> None:
    windows = np.stack([np.sin(np.arange(50)), np.full(50, 0.3)])
    with pytest.raises(BadRecordError, match=r"flat line: window 1 \(from 2.0 s\)"):
        check_not_flat("R", windows, [0, 50], fs=25.0)


def test_resample_keeps_duration_and_a_slow_sine() -> None:
    t = np.arange(3000) / 300.0
    signal = np.sin(2 * np.pi * 1.0 * t)
    out = resample(signal, 300.0, 500.0)
    assert len(out) == 5000
    expected = np.sin(2 * np.pi * 1.0 * np.arange(5000) / 500.0)
    assert np.abs(out[100:-100] - expected[100:-100]).max() < 1e-3
    assert resample(signal, 300.0, 300.0) is not None and len(resample(signal, 300, 300)) == 3000


def test_importing_the_module_leaves_scipy_signal_unloaded() -> None:
    # scipy.signal costs 0.6-1.2 s to import, which every xecgbench command would pay.
    code = "import sys, xecgbench_builtin.data.ecg_windows; print('scipy.signal' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_window_policies() -> None:
    assert window_starts(2500, 1000, "first") == [0]
    assert window_starts(2500, 1000, "all") == [0, 1000]  # tail of 500 dropped
    assert window_starts(900, 1000, "all") == [0]  # shorter record: one padded window
    with pytest.raises(DatasetError, match="unknown windowing 'middle'"):
        window_starts(2500, 1000, "middle")


def test_padding_repeats_signal_edge_and_leaves_masks_false() -> None:
    signal = np.arange(5.0)
    assert cut_window(signal, 0, 8, pad="edge").tolist() == [0, 1, 2, 3, 4, 4, 4, 4]
    mask = np.ones(5, dtype=bool)
    assert cut_window(mask, 0, 8, pad="zeros").tolist() == [True] * 5 + [False] * 3


def test_normalisations_per_window() -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(3, 200)) * np.array([[1.0], [5.0], [0.1]]) + 2.0
    mm = normalise(windows, "minmax")
    assert np.allclose(mm.min(axis=1), 0) and np.allclose(mm.max(axis=1), 1)
    z = normalise(windows, "zscore")
    assert np.allclose(z.mean(axis=1), 0) and np.allclose(z.std(axis=1), 1)
    assert normalise(windows, "none") is windows
    with pytest.raises(DatasetError, match="unknown normalise"):
        normalise(windows, "l2")


def test_split_records_is_disjoint_complete_proportional_and_seeded() -> None:
    ids = [f"r{i:03d}" for i in range(100)]
    strata = ["A"] * 20 + ["N"] * 50 + ["O"] * 30
    train, test = split_records(ids, strata, 0.2, seed=1)
    assert not set(train) & set(test) and sorted(train + test) == ids
    by_id = dict(zip(ids, strata, strict=True))
    assert sorted(by_id[i] for i in test).count("A") == 4
    assert [by_id[i] for i in test].count("N") == 10
    assert split_records(list(reversed(ids)), list(reversed(strata)), 0.2, seed=1) == (
        train, test)
    assert split_records(ids, strata, 0.2, seed=2) != (train, test)


def test_tiny_strata_get_a_record_on_each_side() -> None:
    ids, strata = ["a1", "a2", "n1", "n2", "n3"], ["A", "A", "N", "N", "N"]
    train, test = split_records(ids, strata, 0.1, seed=0)
    assert sorted(t[0] for t in test) == ["a", "n"] and len(train) == 3


def test_stratified_subset_keeps_every_stratum_and_the_limit() -> None:
    ids = [f"r{i:03d}" for i in range(100)]
    strata = ["A"] * 3 + ["N"] * 97
    subset = stratified_subset(ids, strata, 10, seed=0)
    assert len(subset) == 10 and set(subset) <= set(ids)
    assert any(i in subset for i in ids[:3])  # the rare class survives
    assert stratified_subset(ids, strata, 10, seed=0) == subset
    assert stratified_subset(ids, strata, 500, seed=0) == ids
