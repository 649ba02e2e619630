"""Array steps shared by the WFDB loaders: signal checks, resampling, windows, splits.

Everything here works on one record's samples or on record ids, so the loaders differ only in
how they read a record. A record that fails a check raises :class:`BadRecordError`, naming the
record and the fault; the loader's ``on_bad_record`` policy decides whether that stops the load.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from xecgbench.api import DatasetError as CoreDatasetError

WINDOWINGS: tuple[str, ...] = ("first", "all", "crops")
NORMALISATIONS: tuple[str, ...] = ("minmax", "zscore", "none")
#: A window whose peak-to-peak amplitude is below this (in mV) is a flat line.
FLAT_PEAK_TO_PEAK_MV = 0.01
#: Without an explicit ``min_duration_s``, records shorter than this share of the window are
#: "too short"; records between it and the window length are edge-padded.
DEFAULT_MIN_WINDOW_SHARE = 0.9


class DatasetError(CoreDatasetError):
    """A dataset directory or configuration a user must fix (missing file, unknown lead)."""


class BadRecordError(DatasetError):
    """One record is unusable; ``record`` names it and ``fault`` says what is wrong."""

    def __init__(self, record: str, fault: str) -> None:
        super().__init__(f"record {record}: {fault}")
        self.record = record
        self.fault = fault


def check_finite(record: str, signal: np.ndarray) -> None:
    """Refuse empty signals and signals with NaN/Inf samples (e.g. WFDB's invalid-sample code)."""
    if signal.size == 0:
        raise BadRecordError(record, "signal has no samples")
    bad = ~np.isfinite(signal)
    if bad.any():
        kinds = [
            name
            for name, hit in (("NaN", np.isnan(signal).any()), ("Inf", np.isinf(signal).any()))
            if hit
        ]
        first = int(np.flatnonzero(bad)[0])
        raise BadRecordError(
            record, f"{int(bad.sum())} non-finite samples ({'/'.join(kinds)}), first at {first}"
        )


def check_duration(record: str, n_samples: int, fs: float, min_duration_s: float) -> None:
    """Refuse records shorter than ``min_duration_s``."""
    duration = n_samples / fs
    if duration < min_duration_s:
        raise BadRecordError(
            record, f"too short: {duration:.2f} s < minimum {min_duration_s:.2f} s"
        )


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling of a 1D signal (identity when the rates are equal).

    ``scipy.signal`` is imported here, not at module level: it takes 0.6–1.2 s to import,
    which every ``xecgbench`` command would pay through plugin loading.
    """
    from scipy.signal import resample_poly

    if fs_in == fs_out:
        return np.asarray(signal, dtype=np.float64)
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(signal, ratio.numerator, ratio.denominator)


def window_starts(
    n_samples: int, window: int, windowing: str, step: int | None = None
) -> list[int]:
    """First sample of each window: ``first`` one window at 0; ``all`` every full window;
    ``crops`` every ``step`` samples plus one flush with the record's end.

    ``all`` tiles the record with non-overlapping windows and drops a shorter tail; ``crops``
    covers the whole record with overlapping windows (the candidates training draws a random
    crop from each epoch). A record shorter than one window still yields its single (padded)
    window.
    """
    if windowing == "first" or n_samples <= window:
        return [0]
    if windowing == "all":
        return list(range(0, n_samples - window + 1, window))
    if windowing == "crops":
        step = max(1, step or window // 2)
        starts = list(range(0, n_samples - window + 1, step))
        return starts if starts[-1] == n_samples - window else [*starts, n_samples - window]
    raise DatasetError(f"unknown windowing {windowing!r}; valid: {', '.join(WINDOWINGS)}")


def cut_window(array: np.ndarray, start: int, window: int, *, pad: str) -> np.ndarray:
    """``array[start:start + window]``, padded at the end to ``window`` samples.

    ``pad="edge"`` repeats the last sample (signals: no artificial step);
    ``pad="zeros"`` appends False/0 (masks: no wave in the padding).
    """
    piece = array[start : start + window]
    missing = window - len(piece)
    if missing <= 0:
        return piece
    if pad == "edge":
        return np.pad(piece, (0, missing), mode="edge")
    return np.pad(piece, (0, missing), mode="constant")


def check_not_flat(record: str, windows: np.ndarray, starts: Sequence[int], fs: float) -> None:
    """Refuse a record with a window that is a flat line (nothing to normalise or explain)."""
    ptp = np.ptp(windows, axis=-1)
    flat = np.flatnonzero(ptp < FLAT_PEAK_TO_PEAK_MV)
    if len(flat):
        i = int(flat[0])
        raise BadRecordError(
            record,
            f"flat line: window {i} (from {starts[i] / fs:.1f} s) has peak-to-peak "
            f"{ptp[i]:.4f} mV < {FLAT_PEAK_TO_PEAK_MV} mV",
        )


def normalise(windows: np.ndarray, method: str) -> np.ndarray:
    """Per-window scaling along the last axis: ``minmax`` to [0, 1] (xECGArch), ``zscore``,
    or ``none`` (millivolts). Flat windows must be refused before (see :func:`check_not_flat`).
    """
    if method == "none":
        return windows
    if method == "minmax":
        low = windows.min(axis=-1, keepdims=True)
        return (windows - low) / (windows.max(axis=-1, keepdims=True) - low)
    if method == "zscore":
        return (windows - windows.mean(axis=-1, keepdims=True)) / windows.std(
            axis=-1, keepdims=True
        )
    raise DatasetError(f"unknown normalise {method!r}; valid: {', '.join(NORMALISATIONS)}")


def _by_stratum(ids: Sequence[str], strata: Sequence[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for record, stratum in sorted(zip(ids, strata, strict=True)):
        groups.setdefault(stratum, []).append(record)
    return groups


def stratified_subset(
    ids: Sequence[str], strata: Sequence[str], limit: int, seed: int
) -> list[str]:
    """``limit`` records drawn per stratum in proportion to its size (largest remainder).

    Every stratum keeps at least one record when ``limit`` allows, so a small subset still has
    both classes. Deterministic for a seed and independent of the input order.
    """
    if limit >= len(ids):
        return sorted(ids)
    groups = _by_stratum(ids, strata)
    names = sorted(groups)
    sizes = np.array([len(groups[n]) for n in names], dtype=float)
    quota = sizes / sizes.sum() * limit
    counts = np.floor(quota).astype(int)
    if limit >= len(names):
        counts = np.maximum(counts, 1)
    order = np.argsort(-(quota - np.floor(quota)), kind="stable")
    for i in order:
        if counts.sum() >= limit:
            break
        if counts[i] < sizes[i]:
            counts[i] += 1
    while counts.sum() > limit:  # the at-least-one rule overshot: trim the largest
        counts[int(np.argmax(counts))] -= 1
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for name, count in zip(names, counts, strict=True):
        chosen += [str(r) for r in rng.choice(groups[name], size=int(count), replace=False)]
    return sorted(chosen)


def split_records(
    ids: Sequence[str], strata: Sequence[str], test_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Split record ids into (train, test), ``test_fraction`` of each stratum in test.

    A stratum with at least two records contributes at least one to each side.
    """
    rng = np.random.default_rng(seed)
    train: list[str] = []
    test: list[str] = []
    for _, members in sorted(_by_stratum(ids, strata).items()):
        shuffled = [str(r) for r in rng.permutation(members)]
        n_test = round(len(shuffled) * test_fraction)
        if len(shuffled) >= 2 and 0 < test_fraction < 1:
            n_test = min(max(n_test, 1), len(shuffled) - 1)
        test += shuffled[:n_test]
        train += shuffled[n_test:]
    return sorted(train), sorted(test)
