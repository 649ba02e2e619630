"""Shared by the tests of bad input data: a copy of five real CinC 2017 records, and the
edits that damage one of them (``BAD``) or the label table."""

from __future__ import annotations

import shutil
from pathlib import Path

RECORDS = {"A00001": "N", "A00002": "N", "A00004": "A", "A00005": "A", "A00008": "O"}
BAD = "A00004"


def edit_header(path: Path, old: str, new: str) -> None:
    header = path / f"{BAD}.hea"
    text = header.read_text()
    assert old in text, (old, text)
    header.write_text(text.replace(old, new, 1))


def write_signal(path: Path, data: bytes) -> None:
    (path / f"{BAD}.mat").write_bytes(data)


def write_reference(path: Path, text: str) -> None:
    (path / "REFERENCE.csv").write_text(text)


def signal_bytes(path: Path) -> bytes:
    return (path / f"{BAD}.mat").read_bytes()


def cinc_copy(shared_data: Path, target: Path) -> Path:
    """:data:`RECORDS` copied from the real fixtures into ``target``, with their labels."""
    target.mkdir(parents=True)
    for record, _ in RECORDS.items():
        for suffix in (".hea", ".mat"):
            shutil.copy(shared_data / "cinc2017" / f"{record}{suffix}", target)
    write_reference(target, "".join(f"{r},{c}\n" for r, c in RECORDS.items()))
    header = (target / f"{BAD}.hea").read_text()
    assert " 300 9000" in header and "16+24 1000/mV" in header, header
    return target
