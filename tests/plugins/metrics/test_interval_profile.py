"""Interval profile: interval boundaries from the masks and relevance density shares."""

from __future__ import annotations

import numpy as np
import pytest

from xecgbench.plugins.components import ExplanationBatch
from xecgbench_builtin.metrics.interval_profile import (
    INTERVALS,
    IntervalProfile,
    interval_labels,
    wave_codes,
)

T = 100
#: Two beats: P 10-19, QRS 25-29, T 40-54, then P 70-79, QRS 85-89 (no second T wave).
WAVES = {"p_wave": [(10, 20), (70, 80)], "qrs": [(25, 30), (85, 90)], "t_wave": [(40, 55)]}


def _masks(n: int = 1) -> dict[str, np.ndarray]:
    masks = {}
    for name, spans in WAVES.items():
        mask = np.zeros((n, 1, T), dtype=bool)
        for start, stop in spans:
            mask[:, 0, start:stop] = True
        masks[name] = mask
    masks["r_peak"] = np.zeros((n, 1, T), dtype=bool)
    return masks


def _batch(
    attributions: np.ndarray, masks: dict[str, np.ndarray] | None = None
) -> ExplanationBatch:
    n = len(attributions)
    return ExplanationBatch(
        x=np.zeros((n, 1, T)), y=np.zeros(n), target=np.zeros(n), attributions=attributions,
        fs=100.0, seed=0, masks=masks if masks is not None else _masks(n),
    )  # fmt: skip


def test_intervals_follow_the_beat() -> None:
    masks = _masks()
    labels = interval_labels(wave_codes(masks["p_wave"], masks["qrs"], masks["t_wave"]))
    where = {name: np.flatnonzero(labels[name][0]) for name in INTERVALS}
    assert where["PR"].tolist() == [*range(20, 25), *range(80, 85)]
    assert where["ST"].tolist() == list(range(30, 40))
    assert where["TP"].tolist() == list(range(55, 70))
    assert where["QRS"].tolist() == [*range(25, 30), *range(85, 90)]
    # before the first P wave and after the last QRS: no interval
    covered = np.zeros(T, dtype=bool)
    for name in INTERVALS:
        covered |= labels[name][0]
    assert not covered[:10].any() and not covered[90:].any()


def test_uniform_relevance_gives_equal_shares() -> None:
    shares = IntervalProfile().evaluate_batch(_batch(np.ones((1, 1, T))))
    assert set(shares) == set(INTERVALS)
    for name in INTERVALS:
        assert shares[name][0] == pytest.approx(1 / 6)


def test_relevance_on_p_waves_only_gives_p_share_one() -> None:
    a = np.where(_masks()["p_wave"], 2.0, -1.0)  # negatives elsewhere are ignored
    shares = IntervalProfile().evaluate_batch(_batch(a))
    assert shares["P"][0] == 1.0
    assert all(shares[name][0] == 0.0 for name in INTERVALS if name != "P")


def test_shares_are_densities_not_masses() -> None:
    """Doubling the relevance density in QRS doubles its share relative to the others,
    whatever the interval lengths."""
    a = np.ones((1, 1, T))
    a[_masks()["qrs"]] = 2.0
    shares = IntervalProfile().evaluate_batch(_batch(a))
    assert shares["QRS"][0] == pytest.approx(2 / 7)
    assert shares["TP"][0] == pytest.approx(1 / 7)
    assert sum(shares[name][0] for name in INTERVALS) == pytest.approx(1.0)


def test_absent_interval_and_bad_attributions_are_nan() -> None:
    masks = _masks(3)
    masks["t_wave"][:] = False  # no T wave: no ST, T or TP interval
    a = np.ones((3, 1, T))
    a[1] = 0.0
    a[2, 0, 0] = np.nan
    shares = IntervalProfile().evaluate_batch(_batch(a, masks))
    assert np.isnan([shares[name][0] for name in ("ST", "T", "TP")]).all()
    assert shares["P"][0] == pytest.approx(1 / 3)
    assert all(np.isnan(shares[name][1:]).all() for name in INTERVALS)


def test_missing_mask_is_a_clear_error() -> None:
    masks = _masks()
    del masks["t_wave"]
    with pytest.raises(ValueError, match=r"missing \['t_wave'\]"):
        IntervalProfile().evaluate_batch(_batch(np.ones((1, 1, T)), masks))
