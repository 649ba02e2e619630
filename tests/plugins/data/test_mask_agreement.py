"""NeuroKit2-vs-expert mask agreement: waves found, waves true, Dice and width on known masks."""

from __future__ import annotations

import numpy as np
import pytest

from xecgbench_builtin.data.mask_agreement import (
    WaveAgreement,
    masks_agreement,
    wave_agreement,
    wave_runs,
)


def _mask(n: int, *intervals: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for start, end in intervals:
        mask[start : end + 1] = True
    return mask


def test_runs_are_inclusive_intervals() -> None:
    runs = wave_runs(_mask(20, (0, 2), (5, 5), (17, 19)))
    assert runs.tolist() == [[0, 2], [5, 5], [17, 19]]
    assert wave_runs(np.zeros(5, dtype=bool)).shape == (0, 2)


def test_identical_masks_agree_perfectly() -> None:
    mask = _mask(100, (10, 19), (50, 59))
    a = wave_agreement(mask, mask)
    assert (a.sensitivity, a.ppv, a.dice, a.width_ratio) == (1.0, 1.0, 1.0, 1.0)


def test_a_mask_twice_as_wide_has_width_ratio_two() -> None:
    expert = _mask(100, (10, 19), (50, 59))
    wide = _mask(100, (5, 24), (45, 64))
    a = wave_agreement(expert, wide)
    assert a.width_ratio == pytest.approx(2.0)
    assert a.detected_share == pytest.approx(2 * a.expert_share)
    assert a.dice == pytest.approx(2 * 20 / (20 + 40))
    assert (a.sensitivity, a.ppv) == (1.0, 1.0)  # every wave still found and true


def test_a_missed_wave_lowers_sensitivity_and_a_false_one_ppv() -> None:
    expert = _mask(100, (10, 19), (50, 59))
    missed = wave_agreement(expert, _mask(100, (10, 19)))
    assert missed.sensitivity == 0.5 and missed.ppv == 1.0
    extra = wave_agreement(expert, _mask(100, (10, 19), (50, 59), (80, 89)))
    assert extra.sensitivity == 1.0 and extra.ppv == pytest.approx(2 / 3)


def test_one_shared_sample_detects_a_wave() -> None:
    a = wave_agreement(_mask(50, (10, 19)), _mask(50, (19, 30)))
    assert (a.sensitivity, a.ppv) == (1.0, 1.0)
    assert a.dice == pytest.approx(2 * 1 / (10 + 12))
    adjacent = wave_agreement(_mask(50, (10, 19)), _mask(50, (20, 30)))
    assert (adjacent.sensitivity, adjacent.ppv, adjacent.dice) == (0.0, 0.0, 0.0)


def test_only_valid_samples_count() -> None:
    expert = _mask(100, (10, 19))
    detected = _mask(100, (10, 19), (80, 89))  # a wave where the experts are silent
    valid = _mask(100, (0, 49))
    a = wave_agreement(expert, detected, valid)
    assert (a.ppv, a.width_ratio, a.valid_samples) == (1.0, 1.0, 50)
    assert wave_agreement(expert, detected).ppv == 0.5


def test_no_waves_give_nan_not_zero() -> None:
    empty = np.zeros(10, dtype=bool)
    a = wave_agreement(empty, empty)
    assert np.isnan(a.sensitivity) and np.isnan(a.ppv) and np.isnan(a.dice)


def test_counts_pool_over_windows() -> None:
    expert = {"p_wave": np.stack([_mask(40, (5, 9)), _mask(40, (5, 9), (25, 29))])[:, None]}
    detected = {"p_wave": np.stack([_mask(40, (5, 9)), _mask(40, (5, 9))])[:, None],
                "qrs": np.zeros((2, 1, 40), dtype=bool)}
    pooled = masks_agreement(expert, detected, None, np.array([0, 1]))
    assert set(pooled) == {"p_wave"}  # a wave kind only one side has is not compared
    assert pooled["p_wave"].sensitivity == pytest.approx(2 / 3)
    assert pooled["p_wave"].windows == 2
    only_first = masks_agreement(expert, detected, None, np.array([0]))["p_wave"]
    assert only_first.sensitivity == 1.0
    assert WaveAgreement() + only_first == only_first
