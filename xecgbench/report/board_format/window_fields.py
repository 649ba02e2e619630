"""The fields of a board's ``windows.npz``, checked before any is used.

Required: ``signals`` (explained windows, ``(n, 1, T)`` finite floats), ``index`` (their
numbers in the evaluation set), ``all_labels`` (every evaluation window's label, 0 or 1),
``record_ids`` (``n`` names) and ``fs`` (a positive sampling rate); each ``mask_*`` a boolean
array of the signals' shape, ``labels`` (when present) ``n`` labels. Optional: each window's
rhythm class and the record id and rhythm class of every evaluation window, so a reader can
check the explained-window draw. Boards exported before them hold none and stay valid; present,
each is checked. The padded evaluation set a re-scoring builds (every window, every mask) is
held to the archive's unpacked-size budget before it is allocated.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from xecgbench.report.board_format.reader import ResultsFileError

#: Field -> the array whose length it must have (``index``: explained, ``all_labels``: all).
OPTIONAL_FIELDS = {"rhythm": "index", "all_rhythm": "all_labels", "all_record_ids": "all_labels"}
#: Longest rhythm class name or record id accepted.
MAX_NAME = 64


def _check_names(path: Path, name: str, values: np.ndarray, length: int) -> None:
    if values.dtype.kind != "U" or values.shape != (length,):
        raise ResultsFileError(f"{path}: field {name!r} must be a string array of shape "
                               f"({length},), got {values.dtype} {values.shape}")
    bad = next((v for v in values.tolist() if not v or len(v) > MAX_NAME
                or not v.isprintable()), None)
    if bad is not None:
        raise ResultsFileError(f"{path}: field {name!r} holds {bad[:MAX_NAME]!r}, not a "
                               f"printable name of 1 to {MAX_NAME} characters")


def _fail(path: Path, name: str, what: str, array: np.ndarray) -> ResultsFileError:
    return ResultsFileError(f"{path}: field {name!r} must be {what}, got {array.dtype} "
                            f"{array.shape}")


def _check_labels(path: Path, name: str, labels: np.ndarray, length: int | None) -> None:
    if labels.dtype.kind not in "iufb" or labels.ndim != 1 or (
            length is not None and len(labels) != length):
        raise _fail(path, name, f"a label array of shape ({length or 'N'},)", labels)
    if not np.isin(labels, (0, 1)).all():
        bad = labels[~np.isin(labels, (0, 1))][0]
        raise ResultsFileError(f"{path}: field {name!r}: {float(bad):g} is not a label "
                               "(0 or 1)")


def check_window_arrays(path: Path, arrays: Mapping[str, np.ndarray], budget: int) -> None:
    """The required arrays' shapes, types and values (see the module doc), then the optional
    fields (:func:`check_window_fields`)."""
    signals, fs = arrays["signals"], arrays["fs"]
    if signals.dtype.kind != "f" or signals.ndim != 3:
        raise _fail(path, "signals", "a float array of shape (n, 1, T)", signals)
    if not np.isfinite(signals).all():
        raise ResultsFileError(f"{path}: field 'signals': window "
                               f"{int(np.argwhere(~np.isfinite(signals))[0][0])} holds a "
                               "non-finite sample (inf or NaN)")
    n = len(signals)
    if fs.shape != () or fs.dtype.kind not in "iuf" or not (np.isfinite(fs) and fs > 0):
        raise ResultsFileError(f"{path}: field 'fs' must be one positive sampling rate")
    _check_labels(path, "all_labels", arrays["all_labels"], None)
    if "labels" in arrays:
        _check_labels(path, "labels", arrays["labels"], n)
    if arrays["index"].shape != (n,):
        raise _fail(path, "index", f"one window number per signal, shape ({n},)",
                    arrays["index"])
    if arrays["record_ids"].dtype.kind != "U" or arrays["record_ids"].shape != (n,):
        raise _fail(path, "record_ids", f"a string array of shape ({n},)", arrays["record_ids"])
    masks = [name for name in arrays if name.startswith("mask_")]
    for name in masks:
        if arrays[name].dtype != np.bool_ or arrays[name].shape != signals.shape:
            raise _fail(path, name, f"a boolean array of the signals' shape {signals.shape}",
                        arrays[name])
    padded = len(arrays["all_labels"]) * int(np.prod(signals.shape[1:])) * (4 + len(masks))
    if padded > budget:
        raise ResultsFileError(f"{path}: field 'all_labels': {len(arrays['all_labels']):,} "
                               f"evaluation windows of {signals.shape[1:]} samples would "
                               f"take {padded:,} bytes, over {budget:,}")
    check_window_fields(path, arrays)


def check_window_fields(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Shape, dtype and values of each optional field present, and that the explained
    windows' own fields agree with the all-window ones."""
    for name, like in OPTIONAL_FIELDS.items():
        if name in arrays:
            _check_names(path, name, arrays[name], len(arrays[like]))
    index = arrays["index"]
    if index.dtype.kind not in "iu" or index.ndim != 1 or (
            len(index) and not 0 <= index.min() <= index.max() < len(arrays["all_labels"])):
        raise ResultsFileError(f"{path}: field 'index' must be window numbers of the "
                               "evaluation set")
    for own, every in (("rhythm", "all_rhythm"), ("record_ids", "all_record_ids")):
        if own in arrays and every in arrays and not np.array_equal(arrays[every][index],
                                                                    arrays[own]):
            raise ResultsFileError(f"{path}: field {own!r} differs from {every!r} at the "
                                   "explained windows")
