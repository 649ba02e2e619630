"""The guarded reading of what a board publishes for re-scoring: ``models.json``, the model
files under ``models/`` and ``windows.npz`` (written by :mod:`xecgbench.report.published`).

Every reader of them (``validate`` too, so a board that passes validation can be re-scored)
goes through here: the model index typed row by row and never empty; each model file inside
``models/``, unlinked, its SHA-256 as indexed, a torch zip archive whose unpacked size the zip
directory declares within :data:`MODEL_UNPACKED` before anything is inflated; the windows
archive's arrays and unpacked size from its zip directory, then every array's shape, type and
values (:func:`~.window_fields.check_window_arrays`) before any is used.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from xecgbench.report.board_format.reader import (
    MODELS_INDEX,
    WINDOWS_FILE,
    ResultsFileError,
    checksums,
    json_object,
    present,
    read_checked,
    read_nested,
    sha256,
)
from xecgbench.report.board_format.window_fields import check_window_arrays

MODELS_DIR = "models"
#: A published model file's size limit (a width-8 model is ~40 KB), and its unpacked size.
MODEL_LIMIT, MODEL_UNPACKED = 64 << 20, 256 << 20
#: Arrays a published windows archive may hold, and its unpacked size.
MAX_WINDOW_ARRAYS, MAX_WINDOWS_UNPACKED = 64, 1 << 30
WINDOW_KEYS = ("index", "all_labels", "signals", "record_ids", "fs")
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PublishedModel:
    """One fine-tuned model of a board: its cell, its fine-tune stage key and its file."""

    seed: int
    pretraining: str
    freezing: str
    stage_key: str
    file: str
    sha256: str


def _model_row(path: Path, number: int, row: object) -> PublishedModel:
    names = [f.name for f in fields(PublishedModel)]
    if not isinstance(row, dict) or sorted(row) != sorted(names):
        raise ResultsFileError(f"{path}: model {number}: must be an object with exactly the "
                               f"fields {', '.join(names)}")
    if type(row["seed"]) is not int or not 0 <= row["seed"] < 2**31:
        raise ResultsFileError(f"{path}: model {number}: field 'seed' must be an integer "
                               "in [0, 2^31)")
    for name in names[1:]:
        if not isinstance(row[name], str) or not 0 < len(row[name]) <= 512:
            raise ResultsFileError(f"{path}: model {number}: field {name!r} must be a "
                                   "non-empty string")
    if not _HEX.fullmatch(row["sha256"]):
        raise ResultsFileError(f"{path}: model {number}: field 'sha256' is not a SHA-256")
    return PublishedModel(**row)


def read_models(board: Path) -> list[PublishedModel]:
    """The board's model index (a board exported before publishing has none), read through
    the guarded loader and its checksums."""
    board = Path(board)
    path = board / MODELS_INDEX
    data = read_checked(board, MODELS_INDEX, checksums(board), required=False)
    if data is None:
        raise ResultsFileError(
            f"{path} does not exist: the board publishes no models (boards exported before "
            "publishing must be re-exported from their run with `xecgbench leaderboard export`)"
        )
    rows = json_object(b'{"models": ' + data + b"}", path)["models"]
    if not isinstance(rows, list):
        raise ResultsFileError(f"{path}: must hold a JSON list of models")
    if not rows:
        raise ResultsFileError(f"{path}: lists no models (a board publishes at least one)")
    return [_model_row(path, i, row) for i, row in enumerate(rows)]


def zip_members(data: bytes, path: Path, what: str, unpacked: int,
                members: int = 10_000) -> list[zipfile.ZipInfo]:
    """The zip directory of ``data``, refused when it lists over ``members`` entries or
    declares over ``unpacked`` bytes (read before anything is inflated; zipfile stops a
    member at its declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            listed = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ResultsFileError(f"{path}: not a {what} (zip) archive") from None
    if len(listed) > members or sum(m.file_size for m in listed) > unpacked:
        raise ResultsFileError(f"{path}: over {members} members or {unpacked:,} unpacked "
                               "bytes")
    return listed


def read_model(board: Path, model: PublishedModel) -> bytes:
    """A published model file's bytes: inside ``models/``, no link, its SHA-256 as indexed,
    a torch zip archive within :data:`MODEL_UNPACKED` unpacked."""
    folder, _, name = model.file.partition("/")
    if folder != MODELS_DIR:
        raise ResultsFileError(f"{Path(board) / MODELS_INDEX}: file {model.file!r} is not "
                               f"inside {MODELS_DIR}/")
    data = read_nested(Path(board), MODELS_DIR, name, MODEL_LIMIT)
    if sha256(data) != model.sha256:
        raise ResultsFileError(f"{Path(board) / model.file}: SHA-256 differs from "
                               f"{MODELS_INDEX}; the file changed after export")
    zip_members(data, Path(board) / model.file, "torch model", MODEL_UNPACKED)
    return data


def window_arrays(board: Path) -> dict[str, np.ndarray]:
    """The windows archive's arrays, its members and sizes checked before loading and every
    array's shape, type and values after."""
    path = board / WINDOWS_FILE
    data = read_checked(board, WINDOWS_FILE, checksums(board))
    assert data is not None
    zip_members(data, path, "numpy .npz", MAX_WINDOWS_UNPACKED, MAX_WINDOW_ARRAYS)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ResultsFileError(f"{path}: cannot read published windows: {exc}") from None
    missing = [k for k in WINDOW_KEYS if k not in arrays]
    if missing:
        raise ResultsFileError(f"{path}: field {missing[0]!r} missing")
    check_window_arrays(path, arrays, MAX_WINDOWS_UNPACKED)
    return arrays


def check_published(board: Path) -> None:
    """What a board publishes, when it publishes it: the index, every model file's bytes and
    archive directory, and the windows (``validate`` calls this; nothing is loaded as torch)."""
    board = Path(board)
    files = present(board)
    if MODELS_INDEX in files:
        for model in read_models(board):
            read_model(board, model)
    if WINDOWS_FILE in files:
        window_arrays(board)
