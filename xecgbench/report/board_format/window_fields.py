"""The optional fields of a board's ``windows.npz``: each window's rhythm class and the record
id and rhythm class of every evaluation window, so a reader can check the explained-window
draw. Boards exported before them hold none and stay valid; present, each is checked.
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
