"""Wave boundaries of a record and the boolean masks drawn from them.

Two sources fill :class:`Fiducials`: expert annotations (LUDB, exact) and NeuroKit2's
delineation (CinC 2017). NeuroKit2's ``dwt`` delineator reports a P wave in most AF beats, so
its P detections are never trusted in AF records: there, and in any beat where it finds no
plausible P wave, ``p_wave`` marks the *expected atrial window* before the QRS onset (see
:func:`atrial_windows`). Delineation costs ~0.1 s per 30 s record, so its raw output is cached
on disk, keyed by record name, a checksum of the signal and the delineation parameters.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xecgbench.api import from_os_error
from xecgbench_builtin.data.ecg_windows import BadRecordError

CACHE_ENV = "XECGBENCH_CACHE"
#: Bump when the cached delineation's content or computation changes.
DELINEATION_VERSION = "1"
#: Expected P wave before the QRS onset, in ms (start, end): covers the P onset of 90 % and
#: the P offset of ~88 % of LUDB's expert-annotated lead-II P waves (see docs/data.md).
ATRIAL_WINDOW_MS: tuple[float, float] = (200.0, 30.0)
#: QRS onset lies this far before the R peak (ms, earliest and latest): LUDB's expert 5th-95th
#: percentile (lead II); NeuroKit2's onset is clipped into it.
QRS_ONSET_BEFORE_R_MS: tuple[float, float] = (60.0, 28.0)
#: QRS onset (before R) and offset (after R) used where the delineator gives none: LUDB medians.
FALLBACK_QRS_ONSET_MS = 44.0
FALLBACK_QRS_HALF_MS = 50.0
#: A delineated QRS offset further than this after its R peak is implausible and replaced.
MAX_QRS_HALF_MS = 150.0
MAX_PR_MS = 400.0
MAX_RT_MS = 700.0

_NK_KEYS: tuple[str, ...] = (
    "ECG_P_Onsets",
    "ECG_P_Peaks",
    "ECG_P_Offsets",
    "ECG_R_Onsets",
    "ECG_R_Offsets",
    "ECG_T_Onsets",
    "ECG_T_Peaks",
    "ECG_T_Offsets",
)


@dataclass(frozen=True)
class Fiducials:
    """Waves of one record as inclusive ``(start, end)`` sample intervals at ``fs``.

    ``r_peaks`` are single samples (the ``r_peak`` mask widens them); ``p_wave`` holds real P
    waves and, in AF or where none was found, expected atrial windows.
    """

    fs: float
    r_peaks: np.ndarray
    qrs: np.ndarray
    p_wave: np.ndarray
    t_wave: np.ndarray

    def resampled(self, fs: float) -> Fiducials:
        """The same waves at another sampling rate (indices scaled and rounded)."""
        scale = fs / self.fs

        def at(a: np.ndarray) -> np.ndarray:
            return np.rint(np.asarray(a, dtype=float) * scale).astype(np.int64)

        return Fiducials(fs, at(self.r_peaks), at(self.qrs), at(self.p_wave), at(self.t_wave))

    def masks(self, n_samples: int, *, r_peak_width_ms: float) -> dict[str, np.ndarray]:
        """Boolean ``(n_samples,)`` masks ``p_wave``, ``qrs``, ``r_peak`` and ``t_wave``."""
        half = round(r_peak_width_ms / 2000.0 * self.fs)
        r = np.asarray(self.r_peaks, dtype=np.int64)
        return {
            "p_wave": interval_mask(self.p_wave, n_samples),
            "qrs": interval_mask(self.qrs, n_samples),
            "r_peak": interval_mask(np.stack([r - half, r + half], axis=-1), n_samples),
            "t_wave": interval_mask(self.t_wave, n_samples),
        }


def interval_mask(intervals: np.ndarray, n_samples: int) -> np.ndarray:
    """True on every inclusive ``(start, end)`` interval, clipped to ``[0, n_samples)``."""
    intervals = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    starts = np.clip(intervals[:, 0], 0, n_samples)
    ends = np.clip(intervals[:, 1] + 1, 0, n_samples)
    keep = ends > starts
    edges = np.zeros(n_samples + 1, dtype=np.int64)
    np.add.at(edges, starts[keep], 1)
    np.add.at(edges, ends[keep], -1)
    return np.cumsum(edges[:n_samples]) > 0


def atrial_windows(
    qrs_onsets: np.ndarray,
    not_before: np.ndarray,
    fs: float,
    window_ms: tuple[float, float] = ATRIAL_WINDOW_MS,
) -> np.ndarray:
    """Where each beat's P wave would be: ``window_ms`` before its QRS onset.

    A window never starts before ``not_before`` (the previous beat's T-wave or QRS end), so it
    cannot swallow the previous beat at high heart rates; windows left empty are dropped.
    """
    onsets = np.asarray(qrs_onsets, dtype=np.int64)
    start = onsets - round(window_ms[0] / 1000.0 * fs)
    end = onsets - round(window_ms[1] / 1000.0 * fs)
    start = np.maximum(start, np.asarray(not_before, dtype=np.int64) + 1)
    keep = end >= start
    return np.stack([start[keep], end[keep]], axis=-1).reshape(-1, 2)


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir``, else ``$XECGBENCH_CACHE``, else ``~/.cache/xecgbench``."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "xecgbench"


def _cache_file(record: str, signal: np.ndarray, fs: float, cache_dir: Path) -> Path:
    import neurokit2 as nk

    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(signal, dtype=np.float64).tobytes())
    params = f"fs={fs};clean=neurokit;peaks=neurokit;delineate=dwt;nk={nk.__version__}"
    digest.update(f"{params};v={DELINEATION_VERSION}".encode())
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", record)
    return cache_dir / "delineation" / f"{safe}-{digest.hexdigest()[:24]}.npz"


def delineate(
    record: str, signal: np.ndarray, fs: float, *, cache_dir: str | os.PathLike[str] | None = None
) -> dict[str, np.ndarray]:
    """NeuroKit2's R peaks and dwt delineation of a whole record, cached on disk.

    Returns ``"ECG_R_Peaks"`` and the ``ECG_*`` arrays of :data:`_NK_KEYS`, one float entry
    per beat (NaN where nothing was found), in samples at ``fs``.
    """
    path = _cache_file(record, signal, fs, cache_root(cache_dir))
    if path.exists():
        try:
            with np.load(path) as cached:
                return {key: cached[key] for key in cached.files}
        except (OSError, ValueError, EOFError):  # a damaged cache entry is recomputed
            pass
    result = _run_neurokit(record, signal, fs)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    try:  # an unwritable or full cache is the disk's fault, not the record's
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, allow_pickle=True, **result)  # numpy's default, named for mypy
        os.replace(tmp, path)  # atomic: concurrent loaders never read half a file
    except OSError as exc:
        raise from_os_error(exc, path.parent) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return result


def _run_neurokit(record: str, signal: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    import neurokit2 as nk

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = nk.ecg_clean(signal, sampling_rate=fs, method="neurokit")
            _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method="neurokit")
            r_peaks = np.asarray(info["ECG_R_Peaks"], dtype=float)
            if len(r_peaks) < 3:
                raise BadRecordError(record, f"NeuroKit2 found {len(r_peaks)} R peaks (< 3)")
            _, waves = nk.ecg_delineate(
                cleaned, r_peaks.astype(int), sampling_rate=fs, method="dwt"
            )
    except BadRecordError:
        raise
    except Exception as exc:  # NeuroKit2 raises many types on odd signals
        raise BadRecordError(record, f"NeuroKit2 delineation failed: {exc}") from exc
    result = {"ECG_R_Peaks": r_peaks}
    for key in _NK_KEYS:
        result[key] = np.array(waves.get(key, [np.nan] * len(r_peaks)), dtype=float)
    return result


def fiducials_from_delineation(
    raw: dict[str, np.ndarray],
    fs: float,
    *,
    trust_p: bool,
    atrial_window_ms: tuple[float, float] = ATRIAL_WINDOW_MS,
) -> Fiducials:
    """Turn NeuroKit2's per-beat output into plausible waves.

    The rules follow the LUDB comparison in docs/data.md, where NeuroKit2's R peaks, P waves
    and QRS offsets are good but its QRS onsets run early (median 34 ms before the experts').
    QRS onset: NeuroKit2's, clipped to ``QRS_ONSET_BEFORE_R_MS`` before the R peak (LUDB's
    5th-95th percentile), ``FALLBACK_QRS_ONSET_MS`` where missing. QRS offset: NeuroKit2's
    where within ``MAX_QRS_HALF_MS`` after R, else R + ``FALLBACK_QRS_HALF_MS``. T: onset/offset
    where ordered and ending within ``MAX_RT_MS`` of R, else no T wave. P: with ``trust_p``
    (non-AF records), NeuroKit2's onset/offset where ordered, ending before the R peak, after
    the previous beat and within ``MAX_PR_MS`` of R (the QRS then starts after the P wave);
    every other beat, and every beat when ``trust_p`` is False (AF), gets its expected atrial
    window.
    """
    ms = fs / 1000.0
    r = raw["ECG_R_Peaks"]
    on, off = raw["ECG_R_Onsets"], raw["ECG_R_Offsets"]
    earliest, latest = (r - b * ms for b in QRS_ONSET_BEFORE_R_MS)
    fallback_on = r - FALLBACK_QRS_ONSET_MS * ms
    qrs_on = np.where(np.isfinite(on), np.clip(on, earliest, latest), fallback_on)
    with np.errstate(invalid="ignore"):
        off_ok = (off > r) & (off - r <= MAX_QRS_HALF_MS * ms)
    qrs_off = np.where(off_ok, off, r + FALLBACK_QRS_HALF_MS * ms)

    t_on, t_off = raw["ECG_T_Onsets"], raw["ECG_T_Offsets"]
    with np.errstate(invalid="ignore"):
        t_ok = (t_on > qrs_off) & (t_off > t_on) & (t_off - r <= MAX_RT_MS * ms)

    p_on, p_off = raw["ECG_P_Onsets"], raw["ECG_P_Offsets"]
    previous_end = np.concatenate([[-1.0], np.where(t_ok, t_off, qrs_off)[:-1]])
    with np.errstate(invalid="ignore"):
        p_ok = (
            (p_on < p_off) & (p_off < r - QRS_ONSET_BEFORE_R_MS[1] * ms)
            & (r - p_on <= MAX_PR_MS * ms) & (p_on > previous_end)
        )
    if not trust_p:
        p_ok = np.zeros_like(p_ok)
    qrs_on = np.where(p_ok, np.maximum(qrs_on, p_off + 1), qrs_on)
    expected = atrial_windows(
        np.rint(qrs_on[~p_ok]), np.rint(previous_end[~p_ok]), fs, atrial_window_ms
    )
    found = np.stack([p_on[p_ok], p_off[p_ok]], axis=-1)
    p_wave = np.concatenate([found, expected]).reshape(-1, 2)
    return Fiducials(
        fs=fs,
        r_peaks=r.astype(np.int64),
        qrs=np.rint(np.stack([qrs_on, qrs_off], axis=-1)).astype(np.int64),
        p_wave=np.rint(p_wave[np.argsort(p_wave[:, 0], kind="stable")]).astype(np.int64),
        t_wave=np.rint(np.stack([t_on[t_ok], t_off[t_ok]], axis=-1)).astype(np.int64),
    )


@dataclass(frozen=True)
class AnnotatedWaves:
    """Expert waves of one lead: inclusive intervals plus the peak sample of each wave."""

    p_wave: np.ndarray
    p_peaks: np.ndarray
    qrs: np.ndarray
    r_peaks: np.ndarray
    t_wave: np.ndarray
    span: tuple[int, int]


def waves_from_annotation(samples: np.ndarray, symbols: list[str]) -> AnnotatedWaves:
    """Parse WFDB wave annotations ``(`` onset, peak symbol (``p``/``N``/``t``), ``)`` offset.

    A wave whose onset (offset) is not annotated directly before (after) its peak runs from
    (to) the peak itself, so the mask covers exactly what the expert marked.
    """
    samples = np.asarray(samples, dtype=np.int64)
    symbols_arr = np.asarray(symbols, dtype=object)
    if len(samples) == 0:
        raise ValueError("no annotations")
    before = np.concatenate([[""], symbols_arr[:-1]])
    after = np.concatenate([symbols_arr[1:], [""]])
    prev_sample = np.concatenate([samples[:1], samples[:-1]])
    next_sample = np.concatenate([samples[1:], samples[-1:]])
    start = np.where(before == "(", prev_sample, samples)
    end = np.where(after == ")", next_sample, samples)

    def waves(symbol: str) -> tuple[np.ndarray, np.ndarray]:
        hit = symbols_arr == symbol
        return np.stack([start[hit], end[hit]], axis=-1).reshape(-1, 2), samples[hit]

    p_wave, p_peaks = waves("p")
    qrs, r_peaks = waves("N")
    t_wave, _ = waves("t")
    return AnnotatedWaves(
        p_wave, p_peaks, qrs, r_peaks, t_wave, (int(samples.min()), int(samples.max()))
    )


def fiducials_from_annotation(
    waves: AnnotatedWaves,
    fs: float,
    *,
    atrial_fibrillation: bool,
    atrial_window_ms: tuple[float, float] = ATRIAL_WINDOW_MS,
) -> Fiducials:
    """Expert waves as :class:`Fiducials`; AF records get atrial windows as ``p_wave``.

    Experts annotate no P waves in AF; the atrial window before each annotated QRS keeps
    ``p_wave``'s meaning the same across datasets (the region a P wave would occupy).
    """
    p_wave = waves.p_wave
    if atrial_fibrillation:
        qrs = waves.qrs
        previous_end = np.full(len(qrs), waves.span[0] - 1, dtype=np.int64)
        if len(qrs) > 1:
            t_ends = np.sort(waves.t_wave[:, 1]) if len(waves.t_wave) else np.empty(0, np.int64)
            for i in range(1, len(qrs)):  # previous T end before this QRS, else previous QRS
                earlier = t_ends[(t_ends < qrs[i, 0]) & (t_ends > qrs[i - 1, 1])]
                previous_end[i] = earlier[-1] if len(earlier) else qrs[i - 1, 1]
        p_wave = atrial_windows(qrs[:, 0], previous_end, fs, atrial_window_ms)
    return Fiducials(fs, waves.r_peaks, waves.qrs, p_wave, waves.t_wave)
