"""Strict checks of a WFDB header's text, before ``wfdb`` reads it.

``wfdb.rdheader`` is lenient where a benchmark must not be: a sampling frequency of ``abc``
or ``-300`` silently becomes 250 Hz, a gain of ``0`` or ``abc`` silently becomes 200, a
missing length becomes None (a ``TypeError`` later) and ``fs 0`` divides by zero in the
windowing. Each of these is now a :class:`BadRecordError` naming the record and the field,
handled by the dataset's bad-record policy like any other unusable record.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from xecgbench_builtin.data.ecg_windows import BadRecordError
from xecgbench_builtin.data.files import HEADER_LIMIT, UnreadableFile, read_bounded

#: Storage formats ``wfdb`` reads.
WFDB_FORMATS: frozenset[str] = frozenset(
    {"8", "16", "24", "32", "61", "80", "160", "212", "310", "311", "508", "516", "524"}
)
#: Highest sampling frequency accepted (Hz); anything above is a typo, not an ECG.
MAX_FS = 100_000.0
_LEADING_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _number(text: str) -> float | None:
    """The number a WFDB field starts with (``300/1(0)`` -> 300.0), None if it has none."""
    match = _LEADING_NUMBER.match(text)
    return float(match.group(0)) if match else None


def _fault(record: str, header: Path, field: str, problem: str) -> BadRecordError:
    return BadRecordError(record, f"corrupt header {header.name}: field '{field}' {problem}")


def check_header(record: str, header: Path, *, uncalibrated_ok: bool = False) -> None:
    """Refuse a header whose record line or signal lines are unparseable or out of range.

    ``uncalibrated_ok`` accepts a gain of ``0``, which the WFDB format defines as
    "uncalibrated" and ``wfdb`` reads at its default 200 adu/mV: PhysioNet ships eight QT
    Database records so, where only the shape of the waves matters (windows are rescaled).
    """
    try:
        text = read_bounded(header, HEADER_LIMIT).decode("ascii")
    except UnicodeDecodeError:
        raise BadRecordError(record, f"corrupt header {header.name}: not ASCII text") from None
    except UnreadableFile as exc:
        raise BadRecordError(record, f"header {header} {exc}") from None
    lines = [ln.split("#", 1)[0].split() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise BadRecordError(record, f"corrupt header {header.name}: empty")
    fields = lines[0]
    name = fields[0].split("/", 1)[0]
    if name != header.stem:
        raise _fault(record, header, "record name",
                     f"is {name!r} but the file is {header.name} (header of another record?)")
    n_sig_text = fields[1] if len(fields) > 1 else ""
    if not n_sig_text.isdigit() or int(n_sig_text) < 1:
        raise _fault(record, header, "number of signals",
                     f"{n_sig_text!r} is not a positive integer")
    n_sig = int(n_sig_text)
    if len(fields) > 2:
        fs = _number(fields[2])
        if fs is None or not math.isfinite(fs) or not 0 < fs <= MAX_FS:
            raise _fault(record, header, "sampling frequency",
                         f"{fields[2]!r} is not a number in (0, {MAX_FS:g}] Hz")
    length = fields[3] if len(fields) > 3 else ""
    if not length.isdigit() or int(length) < 1:
        raise _fault(record, header, "length", f"{length or '(missing)'!r} is not a positive "
                     "number of samples")
    signals = lines[1:]
    if len(signals) < n_sig:
        raise _fault(record, header, "signals",
                     f"the record line announces {n_sig}, the header describes {len(signals)}")
    for index, line in enumerate(signals[:n_sig]):
        _check_signal(record, header, index, line, uncalibrated_ok)


def _check_signal(
    record: str, header: Path, index: int, line: list[str], uncalibrated_ok: bool
) -> None:
    file_name = line[0]
    if "/" in file_name or "\\" in file_name or file_name in (".", ".."):
        raise _fault(record, header, f"file name (signal {index})",
                     f"{file_name!r} points outside the record's directory")
    fmt = re.split(r"[x:+]", line[1], maxsplit=1)[0] if len(line) > 1 else ""
    if fmt not in WFDB_FORMATS:
        raise _fault(record, header, f"format (signal {index})",
                     f"{fmt or '(missing)'!r} is not a WFDB storage format "
                     f"({', '.join(sorted(WFDB_FORMATS, key=int))})")
    if len(line) > 2:
        gain = _number(line[2])
        if gain is None or not math.isfinite(gain) or (gain == 0 and not uncalibrated_ok):
            raise _fault(record, header, f"gain (signal {index})",
                         f"{line[2]!r} is not a non-zero number (0 means uncalibrated)")
