"""The synthetic ECG: contract, determinism, exact masks and the variants' stated properties."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import ndimage, stats
from scipy import signal as sps

from xecgbench.plugins.components import MASK_NAMES, Dataset, ECGSet
from xecgbench.plugins.manager import load_plugins
from xecgbench_builtin.data import hooks as data_hooks
from xecgbench_builtin.data.synthetic import (
    CHUNK,
    SHORTCUT_MV,
    SyntheticECG,
    fibrillatory_waves,
    rr_statistics,
)

FS, SECONDS = 250.0, 10.0


@functools.cache
def load(split: str = "train", fs: float = FS, seconds: float = SECONDS, **params) -> ECGSet:
    """Cached generation: several tests measure the same seeded sets."""
    return SyntheticECG(**params).load(split, fs=fs, duration_s=seconds)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the True runs of a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def test_registered_as_synthetic_through_the_hook() -> None:
    system = load_plugins(defaults=False, autoload=False, extra=[data_hooks])
    component = system.registry["datasets"].get("synthetic")
    assert component is SyntheticECG
    assert isinstance(SyntheticECG(), Dataset)


@pytest.mark.parametrize("variant", ["both", "morphology_only", "rhythm_only", "shortcut"])
def test_shapes_dtypes_ids_and_class_balance(variant: str) -> None:
    data = load("test", fs=100.0, seconds=4.0, variant=variant, n_test=30, af_fraction=0.3)
    assert data.signals.shape == (30, 1, 400) and data.signals.dtype == np.float32
    assert data.labels.dtype == np.int64 and data.labels.sum() == 9
    assert set(MASK_NAMES) <= set(data.masks)
    assert all(m.dtype == bool and m.shape == data.signals.shape for m in data.masks.values())
    assert data.record_ids[12] == "synthetic-test-000012" and data.fs == 100.0
    assert data.annotated is None
    assert all(len(v) == 30 for v in data.extras.values())
    assert np.isfinite(data.signals).all()
    assert ("shortcut" in data.masks) == (variant == "shortcut")


@pytest.mark.parametrize("variant", ["both", "morphology_only", "rhythm_only"])
def test_rhythm_class_is_af_by_label_else_sinus_or_a_confounder(variant: str) -> None:
    data = load("test", fs=100.0, seconds=4.0, variant=variant, n_test=60, af_fraction=0.3)
    rhythm = data.rhythm_class
    assert ((rhythm == "AF") == (data.labels == 1)).all()
    non_af = data.labels == 0
    assert ((rhythm[non_af] == "N") == (data.extras["rhythm"][non_af] == "sinus")).all()
    assert set(rhythm[non_af].tolist()) == {"N", "O"}


def test_empty_split_and_many_chunks() -> None:
    empty = load(n_train=0, variant="shortcut")
    assert len(empty) == 0 and empty.signals.shape == (0, 1, 2500)
    assert set(empty.masks) == {*MASK_NAMES, "shortcut"} and "rhythm" in empty.extras
    assert empty.rhythm_class.shape == (0,)
    many = load(fs=50.0, seconds=2.0, n_train=CHUNK + 8, mains_hz=60)  # hum above Nyquist
    assert len({row.tobytes() for row in many.signals}) == CHUNK + 8
    assert not (many.masks["p_wave"] & many.masks["qrs"]).any()
    assert many.masks["qrs"][-8:].any(axis=2).all()


def test_same_parameters_give_bit_identical_sets_and_splits_differ() -> None:
    make = lambda **kw: SyntheticECG(n_train=40, n_test=40, **kw)  # noqa: E731
    first = make().load("train", fs=FS, duration_s=3.0)
    again = make().load("train", fs=FS, duration_s=3.0)
    assert first.signals.tobytes() == again.signals.tobytes()
    assert all(np.array_equal(first.masks[k], again.masks[k]) for k in first.masks)
    test = make().load("test", fs=FS, duration_s=3.0)
    other_seed = make(seed=1).load("train", fs=FS, duration_s=3.0)
    for data in (test, other_seed):
        assert not np.isclose(data.signals, first.signals).all(axis=(1, 2)).any()


def test_minmax_and_zscore_normalisation() -> None:
    minmax = load(n_train=20, seconds=3.0).signals
    np.testing.assert_allclose(minmax.min(axis=2), 0.0, atol=1e-6)
    np.testing.assert_allclose(minmax.max(axis=2), 1.0, atol=1e-6)
    z = load(n_train=20, seconds=3.0, normalise="zscore").signals
    np.testing.assert_allclose(z.mean(axis=2), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=2), 1.0, atol=1e-4)


@pytest.mark.parametrize("variant", ["both", "rhythm_only"])
def test_masks_are_consistent(variant: str) -> None:
    data = load(n_train=64, variant=variant)
    p, qrs, r = (data.masks[k][:, 0] for k in ("p_wave", "qrs", "r_peak"))
    assert not (r & ~qrs).any(), "r_peak must lie inside qrs"
    assert not (p & qrs).any(), "p_wave must not overlap qrs"
    assert p.any(axis=1).all() and qrs.any(axis=1).all() and data.masks["t_wave"].any()
    horizon = int(0.3 * FS)
    for i in range(len(data)):
        p_stop = runs(p[i])[1]
        qrs_start = runs(qrs[i])[0]
        for stop in p_stop[p_stop < p.shape[1] - horizon]:
            gap = qrs_start[qrs_start >= stop] - stop
            assert gap.size and gap[0] <= horizon, f"{data.record_ids[i]}: P without QRS"


def test_r_peak_mask_is_centred_on_the_r_wave_and_as_wide_as_configured() -> None:
    data = load(n_train=32, noise=0.0, normalise="none", r_peak_width_ms=40.0)
    half = round(0.02 * FS)
    for i in range(len(data)):
        x = data.signals[i, 0]
        starts, stops = runs(data.masks["r_peak"][i, 0])
        full = (starts > 0) & (stops < x.size)
        assert np.all(stops[full] - starts[full] == 2 * half + 1)
        for start, stop in zip(starts[full], stops[full], strict=True):
            assert np.argmax(x[start:stop]) == half


def test_extras_are_the_rr_statistics_of_the_r_peaks_in_the_window() -> None:
    data = load(n_train=32, variant="rhythm_only")
    half = round(0.02 * FS)
    for i in range(len(data)):
        starts, stops = runs(data.masks["r_peak"][i, 0])
        if starts[0] == 0 or stops[-1] == data.signals.shape[2]:
            continue  # an R peak within half a mask of the edge: its centre is not recoverable
        r_index = (starts + half)[None, :]
        expected = rr_statistics(r_index, FS, data.signals.shape[2])
        for key, value in expected.items():
            np.testing.assert_allclose(data.extras[key][i], value[0], rtol=1e-9, err_msg=key)


def test_noise_level_leaves_ground_truth_and_rhythm_unchanged() -> None:
    clean, noisy = load(n_train=24, noise=0.0), load(n_train=24, noise=0.2)
    assert all(np.array_equal(clean.masks[k], noisy.masks[k]) for k in clean.masks)
    np.testing.assert_array_equal(clean.extras["rr_cv"], noisy.extras["rr_cv"])
    assert not np.allclose(clean.signals, noisy.signals)


@pytest.mark.parametrize("variant", ["both", "rhythm_only"])
def test_af_rr_is_far_more_irregular(variant: str) -> None:
    data = load(n_train=200, variant=variant)
    cv = data.extras["rr_cv"]
    af, sinus = cv[data.labels == 1], cv[data.labels == 0]
    assert np.median(af) > 2.5 * np.median(sinus)
    assert np.mean(af > 0.1) > 0.85 and np.mean(sinus < 0.1) > 0.6


def test_rhythm_only_keeps_the_mean_rate_of_both_classes() -> None:
    data = load(n_train=400, variant="rhythm_only")
    hr = data.extras["heart_rate_bpm"]
    assert stats.ks_2samp(hr[data.labels == 1], hr[data.labels == 0]).pvalue > 0.01


def test_morphology_only_rr_statistics_are_indistinguishable_across_classes() -> None:
    data = load(n_train=400, variant="morphology_only")
    af = data.labels == 1
    for key in ("rr_cv", "rr_rmssd_ms", "heart_rate_bpm"):
        values = data.extras[key]
        assert stats.ks_2samp(values[af], values[~af]).pvalue > 0.01, key


def p_wave_power(data: ECGSet) -> np.ndarray:
    """Mean squared signal (mV^2) inside each window's ``p_wave`` mask."""
    mask = data.masks["p_wave"]
    return (data.signals**2 * mask).sum(axis=(1, 2)) / mask.sum(axis=(1, 2))


def test_p_waves_present_in_both_classes_in_rhythm_only() -> None:
    data = load(n_train=200, variant="rhythm_only", noise=0.0, normalise="none")
    power = p_wave_power(data)
    af, sinus = power[data.labels == 1], power[data.labels == 0]
    assert np.min(af) > 1e-3 and np.min(sinus) > 1e-3  # P of >= 0.05 mV everywhere
    assert stats.ks_2samp(af, sinus).pvalue > 0.01


def test_p_waves_absent_in_af_in_morphology_only() -> None:
    data = load(n_train=200, variant="morphology_only", noise=0.0, normalise="none")
    power = p_wave_power(data)
    af, sinus = power[data.labels == 1], power[data.labels == 0]
    assert np.median(af) < 0.02 * np.median(sinus)  # no f-waves: only QRS and T tails remain


def test_atrial_window_of_af_holds_no_more_than_the_f_waves_in_both() -> None:
    data = load(n_train=200, variant="both", noise=0.0, normalise="none")
    quiet = ~np.logical_or.reduce([data.masks[k] for k in MASK_NAMES])
    quiet_power = (data.signals**2 * quiet).sum(axis=(1, 2)) / quiet.sum(axis=(1, 2))
    ratio = p_wave_power(data) / quiet_power
    assert np.median(ratio[data.labels == 1]) < 3.0
    assert np.median(ratio[data.labels == 0]) > 10.0


def test_shortcut_marker_tracks_the_label_in_train_only() -> None:
    for split, expected in (("train", (0.75, 1.0)), ("test", (-0.15, 0.15))):
        data = load(split, n_train=400, n_test=400, variant="shortcut")
        present = data.extras["shortcut_present"]
        assert np.array_equal(present, data.masks["shortcut"].any(axis=(1, 2)))
        corr = np.corrcoef(present, data.labels)[0, 1]
        assert expected[0] <= corr <= expected[1], (split, corr)


def test_shortcut_marker_is_in_the_signal_where_its_mask_says() -> None:
    kw = dict(n_train=40, noise=0.0, normalise="none", seconds=4.0)
    with_marker = load(variant="shortcut", **kw)
    without = load(variant="both", **kw)
    diff = with_marker.signals - without.signals
    mask = with_marker.masks["shortcut"]
    np.testing.assert_allclose(np.abs(diff).max(axis=(1, 2))[mask.any(axis=(1, 2))], SHORTCUT_MV,
                               rtol=0.05)  # the peak falls between samples
    assert np.abs(diff[~mask]).max() < 0.01 * SHORTCUT_MV


def test_fibrillatory_waves_peak_between_4_and_9_hz() -> None:
    t = np.arange(int(20 * FS)) / FS
    waves = fibrillatory_waves(np.random.default_rng(0), 50, t)
    freq, power = sps.welch(waves, fs=FS, nperseg=1024, axis=1)
    peaks = freq[np.argmax(power, axis=1)]
    assert np.all((peaks >= 4.0) & (peaks <= 9.0))
    assert np.abs(waves).max(axis=1).min() > 0.02 and np.abs(waves).max() < 0.25


def test_af_has_fibrillatory_activity_between_beats_only_in_both() -> None:
    """Beyond every wave's Gaussian support a clean ECG is flat unless f-waves are there."""
    support = int(0.2 * FS)  # extents are +-2 sigma; +-4 sigma lies within 200 ms of them
    for variant in ("both", "morphology_only", "rhythm_only"):
        data = load(n_train=100, variant=variant, noise=0.0, normalise="none")
        busy = np.logical_or.reduce([data.masks[k][:, 0] for k in MASK_NAMES])
        quiet = ~ndimage.binary_dilation(busy, structure=np.ones((1, 2 * support + 1), bool))
        rms = np.sqrt((data.signals[:, 0] ** 2 * quiet).sum(1) / np.maximum(quiet.sum(1), 1))
        usable = quiet.sum(axis=1) >= 50
        af, sinus = rms[usable & (data.labels == 1)], rms[usable & (data.labels == 0)]
        assert af.size >= 10 and sinus.size >= 10
        assert sinus.max() < 0.015
        if variant == "both":
            assert af.min() > 0.015 and np.median(af) > 0.03
        else:
            assert af.max() < 0.015, variant


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"variant": "af_only"}, "variant 'af_only'; valid: both, morphology_only"),
        ({"normalise": "l2"}, "normalise 'l2'; valid: minmax, zscore, none"),
        ({"mains_hz": 55}, "mains_hz 55"),
        ({"af_fraction": 1.5}, "af_fraction"),
        ({"noise": -0.1}, "noise"),
        ({"n_train": -1}, "n_train"),
        ({"r_peak_width_ms": 0}, "r_peak_width_ms"),
    ],
)
def test_bad_parameters_raise_clear_errors(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyntheticECG(**params)


def test_bad_split_and_rate_raise() -> None:
    with pytest.raises(ValueError, match="split 'val'; valid: train, test"):
        SyntheticECG().load("val", fs=FS, duration_s=1.0)
    with pytest.raises(ValueError, match="= 0 samples; need at least one sample"):
        SyntheticECG().load("train", fs=0, duration_s=1.0)
    with pytest.raises(ValueError, match=r"50 Hz × 0\.001 s = 0\.05 samples"):  # issue 24
        SyntheticECG().load("train", fs=50, duration_s=0.001)
