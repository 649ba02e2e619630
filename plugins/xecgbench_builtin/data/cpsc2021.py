"""CPSC 2021: two-lead (I, II) 200 Hz Holter ECGs with AF episodes, several records a patient.

Layout as PhysioNet ships it (flattened): ``<path>/RECORDS`` and ``data_<patient>_<n>.hea/.dat
/.atr`` per record; AF episodes are the ``.atr`` rhythm notes (``(AFIB`` ... ``(N``). A window
is AF only when it lies wholly inside an episode and non-AF only when wholly outside every
episode; windows across a boundary are dropped. The patient is the unit: splits and ``limit``
draw patients, and :func:`patient_of` recovers a window's patient from its record id. Masks
come from NeuroKit2 (:mod:`xecgbench_builtin.data.fiducials`), as for CinC 2017.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from xecgbench.api import record_of
from xecgbench_builtin.data.af_episodes import AF, STRADDLES, af_episodes, window_rhythms
from xecgbench_builtin.data.ecg_windows import BadRecordError, DatasetError
from xecgbench_builtin.data.fiducials import Fiducials, delineate, fiducials_from_delineation
from xecgbench_builtin.data.files import SIGNAL_LIMIT, file_problem
from xecgbench_builtin.data.wfdb_dataset import (
    CatalogueEntry,
    RawRecord,
    Waves,
    WFDBDataset,
    listed_records,
    read_wfdb_lead,
)

CPSC2021_LEADS: tuple[str, ...] = ("I", "II")
#: Rhythm notes that start AF; any other rhythm note ends it.
DEFAULT_AF_NOTES: tuple[str, ...] = ("(AFIB",)
_RECORD_NAME = re.compile(r"data_(\d+)_(\d+)")
_AF_CLASSES = ("persistent AF", "paroxysmal AF")


def patient_of(window_or_record_id: str) -> str:
    """The patient of a CPSC 2021 window or record id: ``"data_5_1#3"`` -> ``"5"``.

    Score rows carry the window's record id, so a report groups by patient with
    ``rows["record_id"].map(patient_of)``.
    """
    record = record_of(window_or_record_id).rsplit("/", 1)[-1]
    match = _RECORD_NAME.fullmatch(record)
    if not match:
        raise ValueError(f"{window_or_record_id!r} is not a CPSC 2021 id (data_<patient>_<n>)")
    return match.group(1)


@dataclass(frozen=True)
class CPSCRecord(RawRecord):
    """A record as read, with its AF episodes (half-open native sample spans)."""

    episodes: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))


class CPSC2021(WFDBDataset):
    """CPSC 2021 records of one lead as AF / non-AF windows with NeuroKit2 fiducial masks.

    Parameters (besides :class:`~xecgbench_builtin.data.wfdb_dataset.WFDBDataset`'s)
    ----------
    lead : ``"I"`` (default, as CinC 2017's lead-I-like AliveCor lead) or ``"II"``.
    af_notes : rhythm notes that start AF (default ``("(AFIB",)``; atrial flutter is not AF,
        as for LUDB).
    windowing : default ``"all"`` (every non-overlapping window, then those across an
        episode boundary dropped); ``limit`` counts patients, not records.
    """

    name: ClassVar[str] = "cpsc2021"
    version: ClassVar[str] = "1"
    #: Written beside a board's published windows (they are CPSC 2021 data, redistributed).
    data_licence: ClassVar[str] = (
        "Windows derived from the China Physiological Signal Challenge 2021 database\n"
        "(https://physionet.org/content/cpsc2021/1.0.0/), open access on PhysioNet under the\n"
        "Creative Commons Attribution 4.0 International licence (CC BY 4.0).\n\n"
        "Cite, as the PhysioNet page asks:\n"
        "- Wang X, Ma C, Zhang X, Gao H, Clifford GD, Liu C. Paroxysmal Atrial Fibrillation\n"
        "  Events Detection from Dynamic ECG Recordings: The 4th China Physiological Signal\n"
        "  Challenge 2021 (version 1.0.0). PhysioNet (2021). doi:10.13026/ksya-qw89\n"
        "- Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet: Components of a new\n"
        "  research resource for complex physiologic signals. Circulation 101(23):e215-e220\n"
        "  (2000).\n"
    )

    def __init__(
        self, *, lead: str = "I", af_notes: Sequence[str] = DEFAULT_AF_NOTES, **config: Any
    ) -> None:
        config.setdefault("windowing", "all")
        super().__init__(**config)
        if not isinstance(lead, str) or lead.upper() not in CPSC2021_LEADS:
            raise DatasetError(f"cpsc2021: unknown lead {lead!r}; leads: "
                               f"{', '.join(CPSC2021_LEADS)}")
        self.lead = lead.upper()
        self.af_notes = tuple(af_notes)

    def _catalogue(self) -> list[CatalogueEntry]:
        entries = []
        for record in listed_records(self.path / "RECORDS", "cpsc2021"):
            if not _RECORD_NAME.fullmatch(record):
                fault = f"record name {record!r} (RECORDS) is not data_<patient>_<n>"
                entries.append(CatalogueEntry(record, "(bad name)", None, "", fault=fault))
                continue
            rhythm = self._episode_class(record)
            entries.append(CatalogueEntry(record, rhythm, int(rhythm in _AF_CLASSES), rhythm))
        return entries

    def _episode_class(self, record: str) -> str:
        """``non-AF``, ``persistent AF`` or ``paroxysmal AF`` (``(unread)``: ``_read`` says why)."""
        import wfdb

        base = str(self.path / record)
        try:
            n_samples = int(wfdb.rdheader(base).sig_len)
            episodes = self._episodes(record, base, n_samples)
        except Exception:
            return "(unread)"
        if len(episodes) == 0:
            return "non-AF"
        whole = len(episodes) == 1 and episodes[0, 0] == 0 and episodes[0, 1] >= n_samples - 1
        return "persistent AF" if whole else "paroxysmal AF"

    def _split_unit(self, entry: CatalogueEntry) -> str:
        return patient_of(entry.record)

    def _episodes(self, record: str, base: str, n_samples: int) -> np.ndarray:
        import wfdb

        path = f"{base}.atr"
        problem = file_problem(path, SIGNAL_LIMIT)
        if problem:
            raise BadRecordError(record, f"missing or unreadable annotation {path} (it holds "
                                 f"the AF episodes): it {problem}")
        try:
            annotation = wfdb.rdann(base, "atr")
        except Exception as exc:
            raise BadRecordError(record, f"corrupt annotation {path}: {exc}") from exc
        samples = np.asarray(annotation.sample, dtype=np.int64)
        outside = np.flatnonzero((samples < 0) | (samples > n_samples))  # n: the record's end
        if len(outside):
            raise BadRecordError(record, f"annotation {path} marks sample "
                                 f"{samples[outside[0]]}, outside the signal's {n_samples} samples")
        notes = [str(note) for note in annotation.aux_note]
        return af_episodes(samples.tolist(), notes, n_samples, self.af_notes)

    def _read(self, entry: CatalogueEntry) -> CPSCRecord:
        import wfdb

        base = str(self.path / entry.record)
        try:
            leads = [name.upper() for name in wfdb.rdheader(base).sig_name]
        except Exception:  # read_wfdb_lead names the fault
            leads = [self.lead]
        if self.lead not in leads:
            raise BadRecordError(entry.record, f"lead {self.lead!r} not in record; leads: "
                                 f"{', '.join(leads)}")
        signal, fs = read_wfdb_lead(entry.record, base, leads.index(self.lead))
        episodes = self._episodes(entry.record, base, len(signal))
        return CPSCRecord(entry.record, signal, fs, episodes=episodes)

    def _rhythms(self, raw: RawRecord, starts: list[int], n_samples: int, fs: float,
                 window: int) -> np.ndarray:
        assert isinstance(raw, CPSCRecord)
        episodes = np.rint(raw.episodes * (fs / raw.fs)).astype(np.int64)
        episodes[raw.episodes[:, 1] >= len(raw.signal), 1] = n_samples  # AF to the record's end
        return window_rhythms(starts, window, n_samples, episodes)

    def _window_starts(
        self, raw: RawRecord, n_samples: int, fs: float, window: int, windowing: str,
        step: int | None,
    ) -> list[int]:
        """The windowing's windows, less those across an AF episode boundary."""
        starts = super()._window_starts(raw, n_samples, fs, window, windowing, step)
        rhythms = self._rhythms(raw, starts, n_samples, fs, window)
        kept = [s for s, rhythm in zip(starts, rhythms, strict=True) if rhythm != STRADDLES]
        if not kept:
            raise BadRecordError(raw.record, f"no {window / fs:g}-s window lies wholly inside "
                                 "or wholly outside an AF episode")
        return kept

    def _window_labels(
        self, entry: CatalogueEntry, raw: RawRecord, starts: list[int], n_samples: int,
        fs: float, window: int,
    ) -> list[int]:
        """1 inside an AF episode, 0 outside (straddling windows were dropped)."""
        rhythms = self._rhythms(raw, starts, n_samples, fs, window)
        return [int(rhythm == AF) for rhythm in rhythms]

    def _waves(self, entry: CatalogueEntry, raw: RawRecord) -> Waves:
        """NeuroKit2 delineation (cached); P detections are not trusted inside AF episodes."""
        assert isinstance(raw, CPSCRecord)
        delineation = delineate(raw.record, raw.signal, raw.fs, cache_dir=self.cache_dir)
        r_peaks = delineation["ECG_R_Peaks"].astype(np.int64)
        in_af = window_rhythms(r_peaks.tolist(), 1, len(raw.signal), raw.episodes) == AF
        parts = [
            fiducials_from_delineation({k: v[beats] for k, v in delineation.items()}, raw.fs,
                                       trust_p=trust)
            for beats, trust in ((~in_af, True), (in_af, False))
            if beats.any()
        ]
        return Waves(_merged(parts, raw.fs))

    @staticmethod
    def download(path: str | os.PathLike[str]) -> None:
        """Fetch CPSC 2021's training sets I and II (1,436 records) from PhysioNet, flattened.

        PhysioNet keeps the records in two folders; ``wfdb.dl_database`` with
        ``keep_subdirs=False`` puts them side by side and ``RECORDS`` is written from the
        downloaded headers (the layout this loader reads).
        """
        import wfdb

        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        wfdb.dl_database("cpsc2021", str(target), annotators=["atr"], keep_subdirs=False)
        names = sorted(p.stem for p in target.glob("data_*_*.hea"))
        (target / "RECORDS").write_text("".join(f"{name}\n" for name in names))


def _merged(parts: list[Fiducials], fs: float) -> Fiducials:
    """One record's fiducials from per-beat groups, each wave array sorted by its start."""

    def joined(name: str) -> np.ndarray:
        arrays = [np.asarray(getattr(p, name), dtype=np.int64) for p in parts]
        if name == "r_peaks":
            return np.sort(np.concatenate(arrays))
        stacked = np.concatenate([a.reshape(-1, 2) for a in arrays])
        return stacked[np.argsort(stacked[:, 0], kind="stable")]

    return Fiducials(fs, *(joined(name) for name in ("r_peaks", "qrs", "p_wave", "t_wave")))
