"""LUDB: 10 s, 12-lead, 500 Hz ECGs with expert P/QRS/T boundaries for every lead.

Layout as PhysioNet ships v1.0.1: ``<path>/RECORDS`` (``data/<n>`` per line), ``<path>/ludb.csv``
(diagnoses, ``Rhythms`` column) and ``data/<n>.hea/.dat`` with one annotation file per lead,
``data/<n>.<lead>``. Experts annotate only part of each record (about samples 640-4000), so
``ECGSet.annotated`` marks that span: outside it "no annotation" is not "no wave".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from xecgbench.api import RHYTHM_AF, RHYTHM_NORMAL, RHYTHM_OTHER
from xecgbench_builtin.data.ecg_windows import BadRecordError, DatasetError
from xecgbench_builtin.data.fiducials import fiducials_from_annotation, waves_from_annotation
from xecgbench_builtin.data.files import SIGNAL_LIMIT, TABLE_LIMIT, file_problem
from xecgbench_builtin.data.wfdb_dataset import (
    CatalogueEntry,
    RawRecord,
    Waves,
    WFDBDataset,
    read_wfdb_lead,
)

LUDB_LEADS: tuple[str, ...] = (
    "i",
    "ii",
    "iii",
    "avr",
    "avl",
    "avf",
    "v1",
    "v2",
    "v3",
    "v4",
    "v5",
    "v6",
)
#: ``Rhythms`` entries that make a record AF (label 1); atrial flutter is not AF.
DEFAULT_AF_RHYTHMS: tuple[str, ...] = ("Atrial fibrillation",)
#: A ``Rhythms`` entry naming this is of sinus origin (sinus rhythm, brady-, tachycardia,
#: arrhythmia, irregular sinus rhythm): normal P waves, rhythm class N as in CinC 2017.
SINUS = "sinus"


class LUDB(WFDBDataset):
    """LUDB records of one lead as AF / non-AF windows with exact expert masks.

    Parameters (besides :class:`~xecgbench_builtin.data.wfdb_dataset.WFDBDataset`'s)
    ----------
    lead : which of the 12 leads (default ``"ii"``, where P waves are clearest).
    af_rhythms : ``Rhythms`` values (first line) that count as AF.
    atrial_window_in_af : in AF records, where experts annotate no P waves, ``p_wave`` marks
        the expected atrial window before each QRS (as in every other dataset); False leaves
        it empty.
    """

    name: ClassVar[str] = "ludb"
    version: ClassVar[str] = "1"
    #: Written beside a board's published windows (they are LUDB data, redistributed).
    data_licence: ClassVar[str] = (
        "Windows derived from the Lobachevsky University Electrocardiography Database (LUDB,\n"
        "https://physionet.org/content/ludb/1.0.1/), licensed under the Open Data Commons\n"
        "Attribution License v1.0 (ODC-By 1.0).\n\n"
        "Cite, as the PhysioNet page asks:\n"
        "- Kalyakulina A, Yusipov I, Moskalenko V, Nikolskiy A, Kozlov A, Zolotykh N,\n"
        "  Ivanchenko M. Lobachevsky University Electrocardiography Database (version 1.0.1).\n"
        "  PhysioNet (2021). doi:10.13026/eegm-h675\n"
        "- Kalyakulina AI, et al. LUDB: A New Open-Access Validation Tool for\n"
        "  Electrocardiogram Delineation Algorithms. IEEE Access 8:186181-186190 (2020).\n"
        "- Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet: Components of a new\n"
        "  research resource for complex physiologic signals. Circulation 101(23):e215-e220\n"
        "  (2000).\n"
    )

    def __init__(
        self,
        *,
        lead: str = "ii",
        af_rhythms: Sequence[str] = DEFAULT_AF_RHYTHMS,
        atrial_window_in_af: bool = True,
        **config: Any,
    ) -> None:
        super().__init__(**config)
        if lead.lower() not in LUDB_LEADS:
            raise DatasetError(f"ludb: unknown lead {lead!r}; leads: {', '.join(LUDB_LEADS)}")
        self.lead = lead.lower()
        self.af_rhythms = tuple(r.lower() for r in af_rhythms)
        self.atrial_window_in_af = atrial_window_in_af

    def _catalogue(self) -> list[CatalogueEntry]:
        import pandas as pd

        records_file, table_file = self.path / "RECORDS", self.path / "ludb.csv"
        for required in (records_file, table_file):
            if not required.exists():
                raise DatasetError(f"ludb: {required} is missing")
            problem = file_problem(required, TABLE_LIMIT)
            if problem:
                raise DatasetError(f"ludb: {required} {problem}")
        try:
            table = pd.read_csv(table_file, dtype={"ID": str})
        except (ValueError, UnicodeDecodeError) as exc:
            raise DatasetError(f"ludb: {table_file} is not a readable CSV file: {exc}") from None
        missing = [c for c in ("ID", "Rhythms") if c not in table.columns]
        if missing:
            raise DatasetError(f"ludb: {table_file} lacks the column(s) {', '.join(missing)}")
        ids = [str(i).strip() for i in table["ID"]]
        repeated = {i for i in ids if ids.count(i) > 1}
        listed = records_file.read_text().split()
        twice = {r for r in listed if listed.count(r) > 1}
        rhythms = {
            str(i).strip(): str(r).strip().splitlines()[0]
            if isinstance(r, str) and r.strip()
            else ""
            for i, r in zip(table["ID"], table["Rhythms"], strict=True)
        }
        entries = []
        for record in dict.fromkeys(listed):
            rhythm = rhythms.get(record.rsplit("/", 1)[-1])
            if record in twice or record.rsplit("/", 1)[-1] in repeated:
                where = "RECORDS" if record in twice else "ludb.csv"
                fault = f"listed more than once in {where} (ambiguous label)"
                entries.append(CatalogueEntry(record, "(duplicate)", None, "", fault=fault))
                continue
            if not rhythm:
                fault = "no rhythm in ludb.csv" if rhythm == "" else "no row in ludb.csv"
                entries.append(CatalogueEntry(record, "(unknown)", None, "", fault=fault))
                continue
            label = int(rhythm.lower() in self.af_rhythms)
            entries.append(CatalogueEntry(record, rhythm, label, stratum=str(label)))
        if not entries:
            raise DatasetError(f"ludb: {records_file} lists no records")
        return entries

    def _rhythm_class(self, entry: CatalogueEntry) -> str:
        """From the ``Rhythms`` column: AF (``af_rhythms``), N (of sinus origin), else O (e.g.
        atrial flutter)."""
        if entry.label == 1:
            return RHYTHM_AF
        return RHYTHM_NORMAL if SINUS in entry.raw_class.lower() else RHYTHM_OTHER

    def _read(self, entry: CatalogueEntry) -> RawRecord:
        import wfdb

        base = str(self.path / entry.record)
        try:
            leads = [name.lower() for name in wfdb.rdheader(base).sig_name]
        except Exception:  # read_wfdb_lead names the fault
            leads = [self.lead]
        if self.lead not in leads:
            raise BadRecordError(
                entry.record, f"lead {self.lead!r} not in record; leads: {', '.join(leads)}"
            )
        signal, fs = read_wfdb_lead(entry.record, base, leads.index(self.lead))
        return RawRecord(entry.record, signal, fs)

    def _check_waves(self, entry: CatalogueEntry, raw: RawRecord) -> None:
        self._waves(entry, raw)

    def _waves(self, entry: CatalogueEntry, raw: RawRecord) -> Waves:
        """The experts' waves of the selected lead, valid between first and last annotation."""
        import wfdb

        base = str(self.path / entry.record)
        problem = file_problem(f"{base}.{self.lead}", SIGNAL_LIMIT)
        if problem:
            raise BadRecordError(
                entry.record, f"missing or corrupt annotation {base}.{self.lead}: it {problem}")
        try:
            annotation = wfdb.rdann(base, self.lead)
            waves = waves_from_annotation(annotation.sample, list(annotation.symbol))
        except Exception as exc:
            raise BadRecordError(
                entry.record, f"missing or corrupt annotation {base}.{self.lead}: {exc}"
            ) from exc
        fiducials = fiducials_from_annotation(
            waves, raw.fs, atrial_fibrillation=entry.label == 1 and self.atrial_window_in_af
        )
        return Waves(fiducials, annotated=waves.span)

    @staticmethod
    def download(path: str | os.PathLike[str]) -> None:
        """Fetch LUDB (records, per-lead annotations, ``RECORDS``, ``ludb.csv``) from PhysioNet."""
        import wfdb

        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        wfdb.dl_database("ludb", str(target), keep_subdirs=True)
        wfdb.dl_files("ludb", str(target), ["RECORDS", "ludb.csv", "LICENSE.txt"])
