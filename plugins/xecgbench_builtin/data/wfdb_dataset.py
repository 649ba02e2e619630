"""The load pipeline the WFDB datasets share: catalogue -> split -> read -> windows -> ECGSet.

A subclass says how to list its records (:meth:`WFDBDataset._catalogue`) and read one
(:meth:`WFDBDataset._read`); this class does record selection, splits, resampling,
windowing, normalisation, masks and the bad-record policy, so every loader behaves alike.
Three optional hooks let a loader place and label its own windows (QTDB around its annotated
beats, CPSC 2021 inside or outside AF episodes) and split by patient instead of record.

Long because one pipeline keeps one bad-record policy for every PhysioNet loader.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from xecgbench.api import DATA_ENV, MASK_NAMES, RHYTHM_AF, RHYTHM_NON_AF, ECGSet, data_root
from xecgbench_builtin.data.ecg_windows import (
    DEFAULT_MIN_WINDOW_SHARE,
    NORMALISATIONS,
    WINDOWINGS,
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
from xecgbench_builtin.data.fiducials import Fiducials, interval_mask
from xecgbench_builtin.data.files import SIGNAL_LIMIT, TABLE_LIMIT, file_problem
from xecgbench_builtin.data.wfdb_checks import check_header

SPLITS: tuple[str, ...] = ("train", "test", "all")
BAD_RECORD_POLICIES: tuple[str, ...] = ("skip", "error")


def default_path(name: str) -> Path:
    """``<data root>/<name>``: under ``--data-dir``, else ``$XECGBENCH_DATA``, else ``./data``."""
    return data_root() / name


@dataclass(frozen=True)
class CatalogueEntry:
    """A listed record: its dataset class (``"A"``, ``"Sinus rhythm"``) and binary label.

    ``label`` is None when the label map excludes the class (e.g. CinC 2017's noisy ``~``) or
    when the row itself is unusable; ``fault`` then says why (e.g. a label outside the set).
    """

    record: str
    raw_class: str
    label: int | None
    stratum: str
    fault: str | None = None

    @property
    def usable(self) -> bool:
        """Listed with a label the benchmark uses."""
        return self.label is not None and self.fault is None


@dataclass(frozen=True)
class RawRecord:
    """One record as read: single-lead millivolts at its native ``fs``."""

    record: str
    signal: np.ndarray
    fs: float


@dataclass(frozen=True)
class Waves:
    """A record's fiducials and where they are valid: one inclusive ``(first, last)`` span
    (LUDB), an ``(k, 2)`` array of inclusive intervals (QTDB's annotated beats), or None (all).
    """

    fiducials: Fiducials
    annotated: tuple[int, int] | np.ndarray | None = None


#: Bytes per sample of the common WFDB storage formats (others are not size-checked).
_FORMAT_BYTES: dict[str, float] = {
    "8": 1,
    "80": 1,
    "16": 2,
    "61": 2,
    "160": 2,
    "212": 1.5,
    "24": 3,
    "32": 4,
}


def _expected_file_bytes(header: Any) -> dict[str, int]:
    """Minimum size of each signal file the header names (0 where the format is unknown)."""
    needed: dict[str, float] = {}
    offsets = header.byte_offset or [0] * header.n_sig
    for file_name, fmt, offset in zip(header.file_name, header.fmt, offsets, strict=True):
        per_sample = _FORMAT_BYTES.get(str(fmt), 0.0)
        needed[file_name] = needed.get(file_name, float(offset or 0)) + per_sample * header.sig_len
    return {name: int(np.ceil(size)) for name, size in needed.items()}


def listed_records(records_file: Path, dataset: str) -> list[str]:
    """The names a PhysioNet ``RECORDS`` file lists, each once, in order; a missing, unreadable
    or empty file is one line naming it (a dataset without its record list has no records)."""
    if not records_file.exists():
        raise DatasetError(f"{dataset}: {records_file} is missing (it lists the records)")
    problem = file_problem(records_file, TABLE_LIMIT)
    if problem:
        raise DatasetError(f"{dataset}: {records_file} {problem}")
    names = list(dict.fromkeys(records_file.read_text().split()))
    if not names:
        raise DatasetError(f"{dataset}: {records_file} lists no records")
    return names


def read_wfdb_lead(
    record: str, base: str, lead: int = 0, *, uncalibrated_ok: bool = False
) -> tuple[np.ndarray, float]:
    """Lead ``lead`` of the WFDB record at ``base`` in physical units, and its rate.

    Missing, corrupt or truncated files become :class:`BadRecordError` naming the file;
    ``uncalibrated_ok`` is :func:`~xecgbench_builtin.data.wfdb_checks.check_header`'s.
    """
    import wfdb

    if not os.path.exists(base + ".hea"):
        raise BadRecordError(record, f"missing header file {base}.hea")
    check_header(record, Path(base + ".hea"), uncalibrated_ok=uncalibrated_ok)
    try:
        header = wfdb.rdheader(base)
    except Exception as exc:
        raise BadRecordError(record, f"corrupt header {base}.hea: {exc}") from exc
    for file_name, needed in _expected_file_bytes(header).items():
        data_file = os.path.join(os.path.dirname(base), file_name)
        if not os.path.exists(data_file):
            raise BadRecordError(record, f"missing signal file {data_file}")
        problem = file_problem(data_file, SIGNAL_LIMIT)
        if problem:
            raise BadRecordError(record, f"signal file {data_file} {problem}")
        size = os.path.getsize(data_file)
        if size < needed:
            raise BadRecordError(
                record, f"truncated signal file {data_file}: {size} bytes, header needs {needed}"
            )
    try:
        rec = wfdb.rdrecord(base)
    except Exception as exc:
        raise BadRecordError(record, f"unreadable signal of {base}: {exc}") from exc
    if rec.p_signal is None or len(rec.p_signal) < header.sig_len:
        got = 0 if rec.p_signal is None else len(rec.p_signal)
        raise BadRecordError(
            record, f"truncated signal: {got} of {header.sig_len} samples in the header"
        )
    return np.asarray(rec.p_signal[:, lead], dtype=np.float64), float(rec.fs)


@dataclass(frozen=True)
class CheckReport:
    """What ``xecgbench data check`` prints: counts per class and refused records."""

    dataset: str
    path: Path
    class_counts: dict[str, int]
    label_counts: dict[int, int]
    excluded: dict[str, int]
    skipped: dict[str, str]

    @property
    def n_records(self) -> int:
        """Records listed by the dataset (usable, excluded and skipped)."""
        return sum(self.class_counts.values())


class WFDBDataset:
    """Base of the WFDB loaders. Constructor kwargs are the config shared by every loader.

    Parameters
    ----------
    path : dataset directory; default ``$XECGBENCH_DATA/<folder>`` else ``./data/<folder>``.
    folder : directory name under the data root (default: the dataset's name), so a suite can
        name a copy such as ``cinc2017_large`` without a machine-specific path.
    split_seed, test_fraction : the stratified record-level train/test split.
    limit : keep a stratified subset of this many records (before splitting); None = all.
    on_bad_record : ``"skip"`` (count and report in ``ECGSet.skipped``) or ``"error"`` (raise).
    normalise : per-window ``"minmax"`` to [0, 1] (xECGArch), ``"zscore"`` or ``"none"`` (mV).
    windowing : ``"first"`` (one window from the record start), ``"all"`` (non-overlapping
        windows, shorter tail dropped) or ``"crops"`` (windows every ``crop_step_s`` covering
        the record); a record shorter than the window is edge-padded.
    train_windowing : windowing of the ``train`` split (default: ``windowing``). The paper
        suite trains on ``"crops"`` (fine-tuning draws one random crop per record per epoch)
        and evaluates on the first window of each test record.
    crop_step_s : spacing of ``crops`` windows (default: half the window).
    min_duration_s : shorter records are bad ("too short"); default 0.9 x the window length.
    r_peak_width_ms : width of each ``r_peak`` mask run, centred on the R peak.
    cache_dir : where derived data (delineations) are cached; default ``$XECGBENCH_CACHE``.
    """

    name: ClassVar[str]
    version: ClassVar[str]

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        folder: str | None = None,
        split_seed: int = 2017,
        test_fraction: float = 0.2,
        limit: int | None = None,
        on_bad_record: str = "skip",
        normalise: str = "minmax",
        windowing: str = "first",
        train_windowing: str | None = None,
        crop_step_s: float | None = None,
        min_duration_s: float | None = None,
        r_peak_width_ms: float = 40.0,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_path(folder or self.name)
        _choice("on_bad_record", on_bad_record, BAD_RECORD_POLICIES)
        _choice("normalise", normalise, NORMALISATIONS)
        _choice("windowing", windowing, WINDOWINGS)
        if train_windowing is not None:
            _choice("train_windowing", train_windowing, WINDOWINGS)
        if crop_step_s is not None and crop_step_s <= 0:
            raise DatasetError(f"crop_step_s must be positive, got {crop_step_s}")
        if not 0 <= test_fraction < 1:
            raise DatasetError(f"test_fraction must be in [0, 1), got {test_fraction}")
        if limit is not None and limit < 1:
            raise DatasetError(f"limit must be a positive number of records, got {limit}")
        self.split_seed = split_seed
        self.test_fraction = test_fraction
        self.limit = limit
        self.on_bad_record = on_bad_record
        self.normalise = normalise
        self.windowing = windowing
        self.train_windowing = train_windowing or windowing
        self.crop_step_s = crop_step_s
        self.min_duration_s = min_duration_s
        self.r_peak_width_ms = r_peak_width_ms
        self.cache_dir = cache_dir

    # -- what a subclass provides -------------------------------------------------------------
    def _catalogue(self) -> list[CatalogueEntry]:
        """Every record with its class and label; dataset-level faults raise DatasetError."""
        raise NotImplementedError

    def _read(self, entry: CatalogueEntry) -> RawRecord:
        """Read one record's signal; any fault raises :class:`BadRecordError`."""
        raise NotImplementedError

    def _waves(self, entry: CatalogueEntry, raw: RawRecord) -> Waves:
        """The record's fiducials (called only on signals that passed the checks)."""
        raise NotImplementedError

    def _check_waves(self, entry: CatalogueEntry, raw: RawRecord) -> None:
        """Validate cheap wave sources in ``check`` (annotations); delineation is not run."""

    def _window_starts(
        self, raw: RawRecord, n_samples: int, fs: float, window: int, windowing: str,
        step: int | None,
    ) -> list[int]:
        """First sample (at ``fs``) of each window; a subclass may place or drop windows."""
        return window_starts(n_samples, window, windowing, step)

    def _window_labels(
        self, entry: CatalogueEntry, raw: RawRecord, starts: list[int], n_samples: int,
        fs: float, window: int,
    ) -> list[int]:
        """One label per window: the record's, unless a subclass labels windows itself."""
        return [int(entry.label)] * len(starts)  # type: ignore[arg-type]

    def _rhythm_class(self, entry: CatalogueEntry) -> str | None:
        """The record's rhythm class (``ECGSet.rhythm_labels``); None: AF / non-AF from each
        window's label (right for loaders that label windows themselves)."""
        return None

    def _split_unit(self, entry: CatalogueEntry) -> str:
        """What ``limit`` and the splits draw: the record, or e.g. its patient (CPSC 2021)."""
        return entry.record

    # -- the shared pipeline -------------------------------------------------------------------
    def _require_dir(self) -> None:
        if not self.path.is_dir():
            raise DatasetError(
                f"{self.name}: data directory {self.path} does not exist (set path=, "
                f"--data-dir or ${DATA_ENV}; `xecgbench data download {self.name}` fetches it)"
            )

    def records(self, split: str) -> tuple[list[CatalogueEntry], dict[str, str]]:
        """The usable catalogue entries of ``split`` and the records refused before reading."""
        _choice("split", split, SPLITS)
        catalogue = self._catalogue()
        usable = [e for e in catalogue if e.usable]
        stratum_of = {self._split_unit(e): e.stratum for e in usable}  # a unit's first stratum
        ids = list(stratum_of)
        if self.limit is not None:
            ids = stratified_subset(ids, [stratum_of[i] for i in ids], self.limit,
                                    self.split_seed)
        if split != "all":
            train, test = split_records(ids, [stratum_of[i] for i in ids], self.test_fraction,
                                        self.split_seed)
            ids = train if split == "train" else test
        chosen = set(ids)
        refused = {e.record: str(e.fault) for e in catalogue if e.fault is not None}
        return [e for e in usable if self._split_unit(e) in chosen], refused

    def load(self, split: str, *, fs: float, duration_s: float) -> ECGSet:
        """Windows of ``split`` (``train``/``test``/``all``) at ``fs`` Hz, ``duration_s`` long."""
        self._require_dir()
        entries, refused = self.records(split)
        if refused and self.on_bad_record == "error":
            record, fault = next(iter(refused.items()))
            raise BadRecordError(record, fault)
        window = round(duration_s * fs)
        min_duration = self._min_duration(duration_s)
        windowing = self.train_windowing if split == "train" else self.windowing
        step = round(self.crop_step_s * fs) if self.crop_step_s else None
        parts: list[dict[str, np.ndarray]] = []
        labels: list[int] = []
        record_ids: list[str] = []
        rhythms: list[str] = []
        skipped = dict(refused)
        for entry in entries:
            try:
                raw = self._read(entry)
                signal, starts, part = self._checked_windows(
                    raw, fs, window, min_duration, windowing, step
                )
                waves = self._waves(entry, raw)
                part.update(self._mask_windows(waves, raw.fs, fs, len(signal), starts, window))
            except BadRecordError as exc:
                if self.on_bad_record == "error":
                    raise
                skipped[exc.record] = exc.fault
                continue
            parts.append(part)
            own = self._window_labels(entry, raw, starts, len(signal), fs, window)
            rhythm = self._rhythm_class(entry)
            rhythms += [rhythm or (RHYTHM_AF if label else RHYTHM_NON_AF) for label in own]
            labels += own
            record_ids += [f"{entry.record}#{i}" for i in range(len(starts))]
        return _assemble(parts, labels, record_ids, rhythms, fs=fs, window=window,
                         skipped=skipped)

    def check(self, *, duration_s: float = 10.0) -> CheckReport:
        """Read and validate every listed record: counts and refusals.

        NeuroKit2 delineation is not run here (minutes for a full set), so ``load`` may still
        skip a record whose delineation fails; it reports that in ``ECGSet.skipped``.
        """
        self._require_dir()
        catalogue = self._catalogue()
        skipped = {e.record: str(e.fault) for e in catalogue if e.fault is not None}
        class_counts = Counter(e.raw_class for e in catalogue)
        excluded = Counter(e.raw_class for e in catalogue if e.label is None and e.fault is None)
        label_counts: Counter[int] = Counter()
        min_duration = self._min_duration(duration_s)
        for entry in catalogue:
            if not entry.usable:
                continue
            assert entry.label is not None  # usable implies labelled
            try:
                raw = self._read(entry)
                window = round(duration_s * raw.fs)
                self._checked_windows(raw, raw.fs, window, min_duration, self.windowing)
                self._check_waves(entry, raw)
            except BadRecordError as exc:
                skipped[exc.record] = exc.fault
                continue
            label_counts[entry.label] += 1
        return CheckReport(
            dataset=self.name,
            path=self.path,
            class_counts=dict(class_counts),
            label_counts=dict(sorted(label_counts.items())),
            excluded=dict(excluded),
            skipped=skipped,
        )

    def _min_duration(self, duration_s: float) -> float:
        if self.min_duration_s is not None:
            return self.min_duration_s
        return DEFAULT_MIN_WINDOW_SHARE * duration_s

    def _checked_windows(
        self, raw: RawRecord, fs: float, window: int, min_duration_s: float, windowing: str,
        step: int | None = None,
    ) -> tuple[np.ndarray, list[int], dict[str, np.ndarray]]:
        """Checked, resampled signal, window starts and ``{"signal": normalised (n, T)}``."""
        check_finite(raw.record, raw.signal)
        check_duration(raw.record, len(raw.signal), raw.fs, min_duration_s)
        signal = resample(raw.signal, raw.fs, fs)
        starts = self._window_starts(raw, len(signal), fs, window, windowing, step)
        windows = np.stack([cut_window(signal, s, window, pad="edge") for s in starts])
        check_not_flat(raw.record, windows, starts, fs)
        return signal, starts, {"signal": normalise(windows, self.normalise).astype(np.float32)}

    def _mask_windows(
        self,
        waves: Waves,
        fs_in: float,
        fs: float,
        n_samples: int,
        starts: list[int],
        window: int,
    ) -> dict[str, np.ndarray]:
        """Masks (and ``annotated``) cut into the same windows as the signal."""
        full = waves.fiducials.resampled(fs).masks(n_samples, r_peak_width_ms=self.r_peak_width_ms)
        if waves.annotated is not None:
            spans = np.rint(np.asarray(waves.annotated, dtype=float).reshape(-1, 2) * fs / fs_in)
            full["annotated"] = interval_mask(spans, n_samples)
        return {
            name: np.stack([cut_window(mask, s, window, pad="zeros") for s in starts])
            for name, mask in full.items()
        }


def _choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise DatasetError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")


def _assemble(
    parts: list[dict[str, np.ndarray]],
    labels: list[int],
    record_ids: list[str],
    rhythms: list[str],
    *,
    fs: float,
    window: int,
    skipped: dict[str, str],
) -> ECGSet:
    """Stack per-record windows into an :class:`ECGSet` of shape ``(N, 1, T)``."""

    def stacked(key: str, dtype: type) -> np.ndarray:
        if not parts:
            return np.zeros((0, 1, window), dtype=dtype)
        return np.concatenate([p[key] for p in parts])[:, None, :].astype(dtype)

    annotated = None
    if any("annotated" in p for p in parts):
        annotated = stacked("annotated", bool)
    return ECGSet(
        signals=stacked("signal", np.float32),
        labels=np.asarray(labels, dtype=np.int64),
        masks={name: stacked(name, bool) for name in MASK_NAMES},
        record_ids=tuple(record_ids),
        fs=float(fs),
        annotated=annotated,
        skipped=skipped,
        rhythm_labels=tuple(rhythms),
    )
