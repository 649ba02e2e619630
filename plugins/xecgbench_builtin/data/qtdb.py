"""QT Database: 15-minute two-lead Holter ECGs (250 Hz) with cardiologists' P/QRS/T marks.

Layout as PhysioNet ships v1.0.0: ``<path>/RECORDS`` and ``<rec>.hea/.dat`` per record, with
``<rec>.q1c`` (annotator 1, the ground truth) and, for some records, ``<rec>.q2c`` (annotator
2). Only the 30-50 marked beats of a record are ground truth, so windows are placed around
them and ``ECGSet.annotated`` marks the samples they cover
(:mod:`xecgbench_builtin.data.qtdb_beats`). No record is in AF: every window is non-AF.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from xecgbench_builtin.data.ecg_windows import BadRecordError, DatasetError
from xecgbench_builtin.data.fiducials import (
    AnnotatedWaves,
    fiducials_from_annotation,
    waves_from_annotation,
)
from xecgbench_builtin.data.files import SIGNAL_LIMIT, file_problem
from xecgbench_builtin.data.qtdb_beats import (
    annotated_intervals,
    beat_extents,
    beat_window_starts,
)
from xecgbench_builtin.data.wfdb_dataset import (
    CatalogueEntry,
    RawRecord,
    Waves,
    WFDBDataset,
    listed_records,
    read_wfdb_lead,
)

#: Annotation files: annotator 1 (every record) and annotator 2 (some records).
QTDB_ANNOTATORS: tuple[str, ...] = ("q1c", "q2c")
#: ``lead="auto"`` takes the first of these a header names (case-insensitive), else signal 0.
#: The model trains on CinC 2017's lead-I-like AliveCor lead: a limb lead first (MLII, the
#: usual QTDB choice), then bipolar chest leads with a leftward axis, then left precordial
#: leads, then the rest (docs/data.md gives the reasons).
LEAD_PREFERENCE: tuple[str, ...] = (
    "MLII", "CC5", "CM5", "CM4", "ML5", "V5", "V4-V5", "V4", "V3", "V2-V3", "V2", "V1-V2",
    "V1", "mod.V1", "D3", "D4",
)
#: Marks that are wave boundaries or P/T/U peaks; every other symbol is a beat (its QRS).
_WAVE_MARKS = frozenset({"(", ")", "p", "t", "u"})
_RECORD_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_SIGNAL_INDEX = re.compile(r"signal\s*(\d+)")


@dataclass(frozen=True)
class QTDBRecord(RawRecord):
    """A record as read, with the lead it came from and its expert marks (native samples).

    ``placement`` are annotator 1's beat extents (windows sit around them for either
    annotator, so both give the same windows); ``waves`` are the chosen annotator's marks.
    """

    lead: str = ""
    waves: AnnotatedWaves | None = None
    placement: np.ndarray | None = None


def choose_lead(names: Sequence[str], lead: str) -> int | None:
    """Index of ``lead`` among a header's signal ``names``, None if it has no such lead.

    ``"auto"``: the first of :data:`LEAD_PREFERENCE` present, else signal 0 (headers that say
    only "record 31, signal 0"); ``"signal 1"``: by position; otherwise by name.
    """
    lowered = [name.strip().lower() for name in names]
    if lead.lower() == "auto":
        for wanted in LEAD_PREFERENCE:
            if wanted.lower() in lowered:
                return lowered.index(wanted.lower())
        return 0
    by_index = _SIGNAL_INDEX.fullmatch(lead.strip().lower())
    if by_index:
        index = int(by_index.group(1))
        return index if index < len(names) else None
    return lowered.index(lead.strip().lower()) if lead.strip().lower() in lowered else None


class QTDB(WFDBDataset):
    """QTDB records of one lead as non-AF windows around the expert-marked beats.

    Parameters (besides :class:`~xecgbench_builtin.data.wfdb_dataset.WFDBDataset`'s)
    ----------
    lead : ``"auto"`` (default: :data:`LEAD_PREFERENCE`, else signal 0), a lead name as the
        headers spell it (``"MLII"``, ``"V5"``) or ``"signal 0"`` / ``"signal 1"``. A record
        without the lead is a bad record.
    annotator : ``"q1c"`` (default) or ``"q2c"``: whose marks make the masks and
        ``annotated``. Windows always sit around annotator 1's beats, so loading both gives
        the same windows for an agreement check; records without ``.q2c`` are excluded.
    windowing : ``"all"`` (default: every window needed to hold every marked beat) or
        ``"first"`` (the first of them); ``"crops"`` does not apply.
    """

    name: ClassVar[str] = "qtdb"
    version: ClassVar[str] = "1"
    #: Written beside a board's published windows (they are QTDB data, redistributed).
    data_licence: ClassVar[str] = (
        "Windows derived from the QT Database (https://physionet.org/content/qtdb/1.0.0/),\n"
        "open access on PhysioNet under the Open Data Commons Attribution License v1.0\n"
        "(ODC-By 1.0).\n\n"
        "Cite, as the PhysioNet page asks:\n"
        "- Laguna P, Mark RG, Goldberger A, Moody GB. A Database for Evaluation of Algorithms\n"
        "  for Measurement of QT and Other Waveform Intervals in the ECG. Computers in\n"
        "  Cardiology 24:673-676 (1997).\n"
        "- Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet: Components of a new\n"
        "  research resource for complex physiologic signals. Circulation 101(23):e215-e220\n"
        "  (2000).\n"
    )

    def __init__(self, *, lead: str = "auto", annotator: str = "q1c", **config: Any) -> None:
        config.setdefault("windowing", "all")
        for key in ("windowing", "train_windowing"):
            if config.get(key) == "crops":
                raise DatasetError(f"qtdb: {key} 'crops' does not apply; windows sit around "
                                   "the marked beats ('all' or 'first')")
        super().__init__(**config)
        if not isinstance(lead, str) or not lead.strip():
            raise DatasetError(f"qtdb: lead must be 'auto', a lead name or 'signal N', "
                               f"got {lead!r}")
        if annotator not in QTDB_ANNOTATORS:
            raise DatasetError(f"qtdb: unknown annotator {annotator!r}; valid: "
                               f"{', '.join(QTDB_ANNOTATORS)}")
        self.lead = lead
        self.annotator = annotator

    def _catalogue(self) -> list[CatalogueEntry]:
        entries = []
        for record in listed_records(self.path / "RECORDS", "qtdb"):
            if not _RECORD_NAME.fullmatch(record) or record.startswith("."):
                fault = f"record name {record!r} (RECORDS) is not a file name"
                entries.append(CatalogueEntry(record, "(bad name)", None, "", fault=fault))
            elif self.annotator != "q1c" and not self._has(record, self.annotator):
                entries.append(CatalogueEntry(record, f"no {self.annotator}", None, ""))
            else:
                entries.append(CatalogueEntry(record, "non-AF", 0, stratum="0"))
        return entries

    def _has(self, record: str, annotator: str) -> bool:
        return (self.path / f"{record}.{annotator}").exists()

    def _read(self, entry: CatalogueEntry) -> QTDBRecord:
        import wfdb

        base = str(self.path / entry.record)
        try:
            names = list(wfdb.rdheader(base).sig_name)
        except Exception:  # read_wfdb_lead names the fault
            names = []
        index = self._lead_index(entry.record, names) if names else 0
        signal, fs = read_wfdb_lead(entry.record, base, index, uncalibrated_ok=True)
        placement = beat_extents(self._marks(entry.record, base, "q1c", len(signal)), fs)
        waves = self._marks(entry.record, base, self.annotator, len(signal))
        return QTDBRecord(entry.record, signal, fs, lead=names[index] if names else "",
                          waves=waves, placement=placement)

    def _lead_index(self, record: str, names: list[str]) -> int:
        index = choose_lead(names, self.lead)
        if index is None:
            raise BadRecordError(record, f"lead {self.lead!r} not in record; leads: "
                                 f"{', '.join(names)}")
        return index

    @staticmethod
    def _marks(record: str, base: str, annotator: str, n_samples: int) -> AnnotatedWaves:
        """An annotator's waves, any beat symbol (``N``, ``A``, ``V`` ...) read as a QRS."""
        import wfdb

        path = f"{base}.{annotator}"
        problem = file_problem(path, SIGNAL_LIMIT)
        if problem:
            raise BadRecordError(record, f"missing or unreadable annotation {path}: it {problem}")
        try:
            annotation = wfdb.rdann(base, annotator)
        except Exception as exc:
            raise BadRecordError(record, f"corrupt annotation {path}: {exc}") from exc
        samples = np.asarray(annotation.sample, dtype=np.int64)
        outside = np.flatnonzero((samples < 0) | (samples >= n_samples))
        if len(outside):
            raise BadRecordError(record, f"annotation {path} marks sample "
                                 f"{samples[outside[0]]}, outside the signal's {n_samples} samples")
        symbols = [s if s in _WAVE_MARKS else "N" for s in annotation.symbol]
        if "N" not in symbols:
            raise BadRecordError(record, f"annotation {path} marks no beat (no QRS)")
        return waves_from_annotation(samples, symbols)

    def _window_starts(
        self, raw: RawRecord, n_samples: int, fs: float, window: int, windowing: str,
        step: int | None,
    ) -> list[int]:
        """Windows around annotator 1's beats (``first``: only the first of them)."""
        assert isinstance(raw, QTDBRecord) and raw.placement is not None
        extents = np.rint(raw.placement * (fs / raw.fs)).astype(np.int64)
        starts = beat_window_starts(extents, n_samples, window)
        return starts[:1] if windowing == "first" else starts

    def _waves(self, entry: CatalogueEntry, raw: RawRecord) -> Waves:
        """The chosen annotator's waves, valid on the samples its marked beats cover."""
        assert isinstance(raw, QTDBRecord) and raw.waves is not None
        fiducials = fiducials_from_annotation(raw.waves, raw.fs, atrial_fibrillation=False)
        return Waves(fiducials, annotated=annotated_intervals(raw.waves, raw.fs))

    def chosen_lead(self, record: str) -> str:
        """The header's name of the lead this configuration reads from ``record``."""
        import wfdb

        names = list(wfdb.rdheader(str(self.path / record)).sig_name)
        return names[self._lead_index(record, names)]

    @staticmethod
    def download(path: str | os.PathLike[str]) -> None:
        """Fetch the QT Database (105 records, every annotator's files) from PhysioNet."""
        import wfdb

        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        wfdb.dl_database("qtdb", str(target), annotators="all")
        wfdb.dl_files("qtdb", str(target), ["RECORDS", "ANNOTATORS"])
