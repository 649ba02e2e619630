"""Localisation metrics: vectorised scores equal Quantus', edge cases, sanity cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import quantus

from xecgbench.plugins.components import ExplanationBatch
from xecgbench_builtin.metrics.localisation import (
    AUC,
    LOCALISATION_METRICS,
    AttributionLocalisation,
    LocalisationMetric,
    PointingGame,
    RelevanceMassAccuracy,
    RelevanceRankAccuracy,
    TopKIntersection,
)

T = 300


def _segments_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """Beat-like masks: a few random segments per sample."""
    mask = np.zeros((n, 1, T), dtype=bool)
    for i in range(n):
        for start in rng.choice(T - 20, size=4, replace=False):
            mask[i, 0, start : start + rng.integers(3, 20)] = True
    return mask


def _batch(attributions: np.ndarray, mask: np.ndarray) -> ExplanationBatch:
    n = len(attributions)
    return ExplanationBatch(
        x=np.zeros((n, 1, T), dtype=np.float32),
        y=np.zeros(n, dtype=np.int64),
        target=np.zeros(n, dtype=np.int64),
        attributions=attributions,
        fs=100.0,
        seed=0,
        mask=mask,
        mask_name="p_wave",
    )


@pytest.fixture(scope="module")
def hard_batch() -> ExplanationBatch:
    """Random attributions with signs, plus every edge case the metrics must survive."""
    rng = np.random.default_rng(3)
    n = 14
    a = rng.standard_normal((n, 1, T)).astype(np.float32)
    mask = _segments_mask(rng, n)
    a[0] = 0.0  # all zero
    a[1] = -np.abs(a[1])  # no positive relevance
    a[2, 0, 5] = np.nan  # non-finite
    mask[3] = False  # empty mask
    mask[4] = True  # mask covers the window
    a[5] = 0.7  # constant: Quantus refuses it
    a[6] = np.round(a[6], 0)  # many ties
    a[7] = np.where(a[7] > 0, 1.0, 0.0)  # ties at the maximum
    a[8] *= 1e-6  # tiny scale
    a[9] = np.where(mask[9], 2.0, -1.0)  # perfect up to sign
    return _batch(a, mask)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric_class", LOCALISATION_METRICS, ids=lambda c: c.info.name)
def test_vectorised_equals_quantus(
    metric_class: type[LocalisationMetric], dtype: type, hard_batch
) -> None:
    batch = _batch(hard_batch.attributions.astype(dtype), hard_batch.mask)
    ours = metric_class().evaluate_batch(batch)
    reference = metric_class(backend="quantus").evaluate_batch(batch)
    assert ours.shape == (len(batch.x),)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference))
    assert np.nanmax(np.abs(ours - reference)) <= 1e-6
    assert np.isfinite(ours[5:]).sum() >= 8  # the comparison covers real scores


@pytest.mark.parametrize("k", [1, 2, 15, 150, T - 1])
def test_top_k_equals_quantus_for_every_cut(k: int, hard_batch) -> None:
    """Cuts through tie groups (rows 5-7) and between distinct values, at both ends."""
    ours = TopKIntersection(k=k).evaluate_batch(hard_batch)
    reference = TopKIntersection(k=k, backend="quantus").evaluate_batch(hard_batch)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference))
    assert np.nanmax(np.abs(ours - reference)) <= 1e-6


def test_infinite_relevance_is_undefined_and_minus_infinity_clips_to_zero(hard_batch) -> None:
    a = hard_batch.attributions[10:13].copy()
    a[0, 0, 7] = np.inf
    a[1, 0, 7] = -np.inf
    clipped = a.copy()
    clipped[1, 0, 7] = 0.0
    batch, mask = _batch(a, hard_batch.mask[10:13]), hard_batch.mask[10:13]
    for metric_class in LOCALISATION_METRICS:
        metric = metric_class()
        scores = metric.evaluate_batch(batch)
        assert metric.undefined_reasons(batch)[0] == "attribution has NaN or infinite values"
        np.testing.assert_array_equal(scores[1:], metric.evaluate_batch(_batch(clipped, mask))[1:])
        assert np.isnan(scores[0]) and np.isfinite(scores[1:]).all()


@pytest.mark.parametrize("metric_class", LOCALISATION_METRICS, ids=lambda c: c.info.name)
def test_undefined_samples_are_nan_with_reason(metric_class, hard_batch) -> None:
    metric = metric_class()
    scores = metric.evaluate_batch(hard_batch)
    reasons = metric.undefined_reasons(hard_batch)
    assert [r is not None for r in reasons] == list(np.isnan(scores))
    assert reasons[0] == reasons[1] == "attribution has no positive relevance"
    assert reasons[2] == "attribution has NaN or infinite values"
    assert reasons[3] == "mask is empty"
    assert (reasons[4] == "mask covers the whole window") == (metric_class is AUC)


@pytest.mark.parametrize("metric_class", LOCALISATION_METRICS, ids=lambda c: c.info.name)
def test_scores_do_not_depend_on_batch_mates(metric_class, hard_batch) -> None:
    metric = metric_class()
    full = metric.evaluate_batch(hard_batch)
    for i in (6, 8, 11):
        alone = _batch(hard_batch.attributions[i : i + 1], hard_batch.mask[i : i + 1])
        np.testing.assert_array_equal(metric.evaluate_batch(alone), full[i : i + 1])


@pytest.mark.filterwarnings("ignore")
def test_quantus_batch_normalisation_makes_scores_depend_on_batch_mates() -> None:
    """Why we normalise per sample: Quantus' default couples samples through the batch max."""
    rng = np.random.default_rng(0)
    a = np.abs(rng.standard_normal((2, 1, T)))
    a[0] *= 1e-9
    a[1] *= 1e3
    mask = _segments_mask(rng, 2)
    quantus_batch = quantus.AttributionLocalisation(disable_warnings=True)(
        model=None, x_batch=np.zeros_like(a), y_batch=np.zeros(2), a_batch=a, s_batch=mask
    )
    ours = AttributionLocalisation().evaluate_batch(_batch(a, mask))
    assert abs(quantus_batch[0] - ours[0]) > 0.01
    alone = AttributionLocalisation().evaluate_batch(_batch(a[:1], mask[:1]))
    assert ours[0] == alone[0]


def test_quantus_pointing_game_scores_empty_masks_as_hits() -> None:
    """Quantus 0.6 writes NaN into a bool array (-> True); we return NaN."""
    a = np.random.default_rng(1).random((1, 1, T))
    empty = np.zeros((1, 1, T), dtype=bool)
    raw = quantus.PointingGame(disable_warnings=True)(
        model=None, x_batch=np.zeros_like(a), y_batch=np.zeros(1), a_batch=a, s_batch=empty
    )
    assert raw[0] == 1
    assert math.isnan(PointingGame().evaluate_batch(_batch(a, empty))[0])


def test_perfect_attribution_scores_one() -> None:
    mask = _segments_mask(np.random.default_rng(2), 4)
    perfect = _batch(mask.astype(np.float32) * 3.0, mask)
    for metric in (RelevanceMassAccuracy(), RelevanceRankAccuracy(), PointingGame(), AUC()):
        np.testing.assert_allclose(metric.evaluate_batch(perfect), 1.0)
    np.testing.assert_allclose(AttributionLocalisation().evaluate_batch(perfect), 1.0, atol=1e-9)


def test_uniform_attribution_scores_the_mask_fraction() -> None:
    mask = _segments_mask(np.random.default_rng(4), 5)
    uniform = _batch(np.ones((5, 1, T)), mask)
    fraction = mask.reshape(5, -1).mean(-1)
    np.testing.assert_allclose(RelevanceMassAccuracy().evaluate_batch(uniform), fraction)
    np.testing.assert_allclose(AUC().evaluate_batch(uniform), 0.5)


def test_negative_relevance_is_ignored() -> None:
    mask = _segments_mask(np.random.default_rng(5), 3)
    positive = np.where(mask, 1.0, 0.0)
    with_negatives = np.where(mask, 1.0, -5.0)
    metric = RelevanceMassAccuracy()
    np.testing.assert_array_equal(
        metric.evaluate_batch(_batch(positive, mask)),
        metric.evaluate_batch(_batch(with_negatives, mask)),
    )


def test_top_k_default_is_a_fraction_of_the_window() -> None:
    assert TopKIntersection().resolved_k(2500) == 125
    assert TopKIntersection(k=10).resolved_k(2500) == 10
    with pytest.raises(ValueError, match="k=300"):
        TopKIntersection(k=T).resolved_k(T)


def test_bad_configuration_and_input_name_the_problem(hard_batch) -> None:
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        RelevanceMassAccuracy(backend="torch")
    no_mask = _batch(hard_batch.attributions, hard_batch.mask)
    no_mask = ExplanationBatch(**{**no_mask.__dict__, "mask": None})
    with pytest.raises(ValueError, match=r"needs batch\.mask"):
        RelevanceMassAccuracy().evaluate_batch(no_mask)
    with pytest.raises(ValueError, match="mask 'p_wave' has shape"):
        RelevanceMassAccuracy().evaluate_batch(_batch(hard_batch.attributions, np.ones((1, 1, 5))))
