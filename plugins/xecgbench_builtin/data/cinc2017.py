"""PhysioNet/CinC Challenge 2017: single-lead AliveCor ECGs (300 Hz) with rhythm labels.

Layout as PhysioNet ships the training set: ``<path>/REFERENCE.csv`` (``record,class`` rows,
classes ``N`` normal, ``A`` AF, ``O`` other rhythm, ``~`` noisy) and ``<record>.hea`` +
``<record>.mat`` per record. Masks come from NeuroKit2 (:mod:`xecgbench_builtin.data.fiducials`).
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from xecgbench.api import RHYTHM_AF, RHYTHM_NORMAL, RHYTHM_OTHER
from xecgbench_builtin.data.ecg_windows import DatasetError
from xecgbench_builtin.data.fiducials import delineate, fiducials_from_delineation
from xecgbench_builtin.data.files import TABLE_LIMIT, file_problem
from xecgbench_builtin.data.wfdb_dataset import (
    CatalogueEntry,
    RawRecord,
    Waves,
    WFDBDataset,
    read_wfdb_lead,
)

#: The challenge's classes; a REFERENCE.csv label outside this set is a bad record.
CINC2017_CLASSES: tuple[str, ...] = ("N", "A", "O", "~")
#: AF (``A``) against everything else that is a rhythm; noisy ``~`` is left out.
DEFAULT_LABEL_MAP: Mapping[str, int] = {"A": 1, "N": 0, "O": 0}
#: Each challenge class as a window's rhythm class (``ECGSet.rhythm_labels``), whatever the
#: label map makes of it: a stratified sample draws N, O and AF windows by their own quotas.
RHYTHM_CLASSES: Mapping[str, str] = {"N": RHYTHM_NORMAL, "A": RHYTHM_AF, "O": RHYTHM_OTHER,
                                     "~": "noisy"}


class CinC2017(WFDBDataset):
    """CinC 2017 records as AF (1) / non-AF (0) windows with NeuroKit2 fiducial masks.

    Parameters (besides :class:`~xecgbench_builtin.data.wfdb_dataset.WFDBDataset`'s)
    ----------
    label_map : challenge class -> binary label; classes left out are excluded (counted by
        ``check``, not loaded). Default ``{"A": 1, "N": 0, "O": 0}``.
    """

    name: ClassVar[str] = "cinc2017"
    version: ClassVar[str] = "1"
    #: Written beside a board's published windows (they are CinC 2017 data, redistributed).
    data_licence: ClassVar[str] = (
        "Windows derived from the PhysioNet/Computing in Cardiology Challenge 2017 database\n"
        "(https://physionet.org/content/challenge-2017/1.0.0/), licensed under the Open Data\n"
        "Commons Attribution License v1.0 (ODC-By 1.0).\n\n"
        "Cite, as the PhysioNet page asks:\n"
        "- Clifford GD, Liu C, Moody B, Lehman L, Silva I, Li Q, Johnson AE, Mark RG. AF\n"
        "  Classification from a Short Single Lead ECG Recording: the PhysioNet Computing in\n"
        "  Cardiology Challenge 2017. Computing in Cardiology 44 (2017).\n"
        "  doi:10.22489/CinC.2017.065-469\n"
        "- Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet: Components of a new\n"
        "  research resource for complex physiologic signals. Circulation 101(23):e215-e220\n"
        "  (2000).\n"
    )

    def __init__(self, *, label_map: Mapping[str, int] | None = None, **config: Any) -> None:
        super().__init__(**config)
        self.label_map = dict(DEFAULT_LABEL_MAP if label_map is None else label_map)
        unknown = sorted(set(self.label_map) - set(CINC2017_CLASSES))
        if unknown or set(self.label_map.values()) - {0, 1}:
            raise DatasetError(
                f"cinc2017 label_map {self.label_map} must map classes of "
                f"{', '.join(CINC2017_CLASSES)} to 0/1 (unknown: {unknown})"
            )

    def _catalogue(self) -> list[CatalogueEntry]:
        reference = self.path / "REFERENCE.csv"
        if not reference.exists():
            raise DatasetError(
                f"cinc2017: {reference} is missing (it holds the labels; the challenge "
                f"ships it as REFERENCE-v3.csv)"
            )
        problem = file_problem(reference, TABLE_LIMIT)
        if problem:
            raise DatasetError(f"cinc2017: {reference} {problem}")
        rows: dict[str, list[tuple[int, str]]] = {}
        try:
            with reference.open(newline="", encoding="utf-8-sig") as handle:
                for line, row in enumerate(csv.reader(handle), start=1):
                    if row and row[0].strip():
                        raw = row[1].strip() if len(row) > 1 else ""
                        rows.setdefault(row[0].strip(), []).append((line, raw))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DatasetError(f"cinc2017: {reference} is not a readable CSV file: {exc}") from None
        entries = [self._entry(record, listed) for record, listed in rows.items()]
        if not entries:
            raise DatasetError(f"cinc2017: {reference} lists no records")
        return entries

    def _entry(self, record: str, listed: list[tuple[int, str]]) -> CatalogueEntry:
        """One catalogue entry; a bad, duplicated or conflicting label row makes it a fault."""
        line, raw = listed[0]
        fault = None
        if len(listed) > 1:
            lines = ", ".join(str(n) for n, _ in listed)
            labels = sorted({r for _, r in listed})
            kind = "conflicting labels " + ", ".join(map(repr, labels)) if len(labels) > 1 \
                else f"label {raw!r}"
            fault = f"REFERENCE.csv lists it {len(listed)} times (lines {lines}) with {kind}"
        elif not re.fullmatch(r"[A-Za-z0-9_.-]+", record) or record.startswith("."):
            fault = f"record name {record!r} (REFERENCE.csv line {line}) is not a file name"
        elif raw not in CINC2017_CLASSES:
            fault = (
                f"label {raw!r} (REFERENCE.csv line {line}) not in label set "
                f"{', '.join(CINC2017_CLASSES)}"
            )
        label = None if fault else self.label_map.get(raw)
        return CatalogueEntry(record, raw, label, stratum=raw, fault=fault)

    def _rhythm_class(self, entry: CatalogueEntry) -> str:
        """The REFERENCE.csv class: N, O or AF."""
        return RHYTHM_CLASSES[entry.raw_class]

    def _read(self, entry: CatalogueEntry) -> RawRecord:
        signal, fs = read_wfdb_lead(entry.record, str(self.path / entry.record))
        return RawRecord(entry.record, signal, fs)

    def _waves(self, entry: CatalogueEntry, raw: RawRecord) -> Waves:
        """NeuroKit2 delineation (cached); P detections are not trusted in AF records."""
        delineation = delineate(raw.record, raw.signal, raw.fs, cache_dir=self.cache_dir)
        return Waves(fiducials_from_delineation(delineation, raw.fs, trust_p=entry.label != 1))

    def delineate(
        self, signals: Any, fs: float, labels: Any
    ) -> tuple[dict[str, Any], dict[int, str]]:
        """Masks of windows from elsewhere, drawn as this loader draws its own (see
        :mod:`xecgbench_builtin.data.window_delineation`); with the windows it could not do."""
        from xecgbench_builtin.data.window_delineation import delineated_masks

        return delineated_masks(signals, fs, labels, r_peak_width_ms=self.r_peak_width_ms,
                                cache_dir=self.cache_dir)

    @staticmethod
    def download(path: str | os.PathLike[str]) -> None:
        """Fetch the 8,528 training records and the final (v3) labels from PhysioNet.

        PhysioNet ships the records as ``training2017.zip`` and the labels separately as
        ``REFERENCE-v3.csv``; both go through ``wfdb.dl_files``, the zip is unpacked flat
        into ``path`` and the labels saved as ``REFERENCE.csv`` (the layout this loader reads).
        """
        import wfdb

        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        wfdb.dl_files("challenge-2017", str(target), ["training2017.zip", "REFERENCE-v3.csv"])
        archive = target / "training2017.zip"
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                if member.is_dir():
                    continue
                (target / Path(member.filename).name).write_bytes(zipped.read(member))
        archive.unlink()
        os.replace(target / "REFERENCE-v3.csv", target / "REFERENCE.csv")
