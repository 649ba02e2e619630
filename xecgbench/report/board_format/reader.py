"""The one guarded reader of a board directory: a submitted board is untrusted input.

Every reader of a leaderboard directory (``validate``, ``rebuild``, ``build --results``,
``verify``, the results page) gets its bytes from :func:`read_raw`, which

* opens only the fixed file names of :data:`RAW_FILES` directly inside the directory, never
  through a symlink (``O_NOFOLLOW`` on the file, the directory itself refused when a link) and
  never a FIFO, device or directory (``O_NONBLOCK`` then ``fstat``: nothing blocks);
* checks the size against :data:`LIMITS` before reading, and reads at most that much;
* checks the SHA-256 of what it read against the board's ``checksums.json``;
* refuses a board whose tree (``models/``, ``submissions/`` and theirs included) holds a
  symlink anywhere (:func:`refuse_links`): ``site`` once followed a ``submissions/`` link to
  a folder outside the board.

Parsing then checks row, column and unpacked-size limits before building a frame
(:mod:`~.board_scores`). Every problem is a :class:`ResultsFileError` whose one line names the
file and the field.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from xecgbench.errors import XecgbenchError

RUN_FILE = "run.json"
SCORES_FILE = "scores.parquet"
#: A large table continues, in order, in numbered parts (``scores.parquet``, then
#: ``scores-2.parquet`` …) so no committed file passes 5 MB (a paper board holds millions of
#: score rows); at most this many parts.
MAX_PARTS = 8


def numbered_parts(first: str) -> tuple[str, ...]:
    """``first`` and the names of its further parts: ``x.parquet``, ``x-2.parquet`` …"""
    stem, dot, suffix = first.partition(".")
    return (first, *(f"{stem}-{i}{dot}{suffix}" for i in range(2, MAX_PARTS + 1)))


SCORE_PARTS = numbered_parts(SCORES_FILE)
#: The format before Parquet; still read, never written.
LEGACY_SCORES_FILE = "scores.csv.gz"
EXAMPLES_FILE = "examples.npz"
#: Per-window AF probabilities (optional; :mod:`~.probability_files`).
PROBABILITIES_FILE = "probabilities.parquet"
PROBABILITY_PARTS = numbered_parts(PROBABILITIES_FILE)
#: What a board publishes for re-scoring (:mod:`~.published`): model index, windows, licence.
MODELS_INDEX = "models.json"
WINDOWS_FILE = "windows.npz"
LICENCE_FILE = "DATA_LICENCE"
CHECKSUMS_FILE = "checksums.json"
#: Raw files a board may hold (all covered by its checksums) and the largest size of each.
RAW_FILES = (RUN_FILE, *SCORE_PARTS, LEGACY_SCORES_FILE, EXAMPLES_FILE, *PROBABILITY_PARTS,
             MODELS_INDEX, WINDOWS_FILE, LICENCE_FILE)
#: All parts of one table together, on disk (each part also has its own limit).
MAX_PARTS_BYTES = 128 << 20
LIMITS = {
    RUN_FILE: 8 << 20,
    **dict.fromkeys(SCORE_PARTS, 64 << 20),
    LEGACY_SCORES_FILE: 64 << 20,
    EXAMPLES_FILE: 64 << 20,
    **dict.fromkeys(PROBABILITY_PARTS, 64 << 20),
    MODELS_INDEX: 4 << 20,
    WINDOWS_FILE: 256 << 20,
    LICENCE_FILE: 64 << 10,
    CHECKSUMS_FILE: 64 << 10,
}
#: Entries a board's tree may hold (its files, models and submissions together).
MAX_TREE_ENTRIES = 100_000
#: Pointer to scores kept outside the board (retired): raw scores must be inside the board.
RETIRED_POINTER = "scores.external.json"


class ResultsFileError(XecgbenchError):
    """A results directory or file that cannot be used; the message names the file."""


def _directory_fd(directory: Path) -> int:
    if directory.is_symlink():
        raise ResultsFileError(f"{directory}: refusing a board directory that is a symlink")
    try:
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise ResultsFileError(f"{directory}: cannot open the board directory: "
                               f"{exc.strerror}") from None


def read_raw(directory: Path, name: str, required: bool = True) -> bytes | None:
    """The bytes of ``directory/name`` (one of :data:`RAW_FILES` or the checksums file).

    Refuses a symlink, anything but a regular file and a file over its :data:`LIMITS`
    entry; returns None for a missing optional file.
    """
    if name not in LIMITS:
        raise ResultsFileError(f"{directory / name}: not a file a board may hold")
    return _read_guarded(Path(directory), name, LIMITS[name], required)


def read_nested(directory: Path, folder: str, name: str, limit: int) -> bytes:
    """``directory/folder/name`` under the same guards as :func:`read_raw` (no link at either
    level, a regular file, at most ``limit`` bytes): a published model file."""
    if "/" in name or name in ("", ".", ".."):
        raise ResultsFileError(f"{Path(directory) / folder / name}: not a file name inside "
                               f"{folder}/")
    data = _read_guarded(Path(directory) / folder, name, limit, required=True)
    assert data is not None
    return data


def _read_guarded(directory: Path, name: str, limit: int, required: bool) -> bytes | None:
    """Open ``name`` inside ``directory`` without following links or blocking; a regular file
    of at most ``limit`` bytes, else one :class:`ResultsFileError` naming it."""
    path = directory / name
    dir_fd = _directory_fd(directory)
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ENOENT and not required:
                return None
            reasons = {errno.ELOOP: "it is a symlink", errno.ENOENT: "it does not exist",
                       errno.ENXIO: "it is not a regular file"}
            reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
            raise ResultsFileError(f"{path}: cannot read: {reason}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ResultsFileError(f"{path}: cannot read: it is not a regular file")
        with os.fdopen(fd, "rb") as handle:
            if info.st_size > limit:
                raise ResultsFileError(
                    f"{path}: {info.st_size:,} bytes, over the limit of {limit:,}")
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ResultsFileError(f"{path}: grew past the limit of {limit:,} bytes")
        return data
    finally:
        os.close(dir_fd)


def refuse_links(directory: Path) -> None:
    """No symlink anywhere under ``directory``, one line naming the first found (a board is
    regular files and folders only), and at most :data:`MAX_TREE_ENTRIES` entries."""
    folders, seen = [Path(directory)], 0
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    seen += 1
                    if seen > MAX_TREE_ENTRIES:
                        raise ResultsFileError(f"{directory}: holds more than "
                                               f"{MAX_TREE_ENTRIES:,} files and folders")
                    if entry.is_symlink():
                        raise ResultsFileError(f"{entry.path}: refusing a symlink inside the "
                                               f"board {directory}")
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
        except OSError as exc:
            raise ResultsFileError(f"{folder}: cannot list: {exc.strerror}") from None


def present(directory: Path) -> list[str]:
    """The raw file names that exist (as any kind of entry) in ``directory``."""
    return [name for name in RAW_FILES if os.path.lexists(Path(directory) / name)]


def json_object(data: bytes, path: Path) -> dict[str, Any]:
    """``data`` parsed as a JSON object; anything else is one line naming ``path``."""
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultsFileError(f"{path}: not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ResultsFileError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ResultsFileError(f"{path}: must hold a JSON object, not {type(value).__name__}")
    return value


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checksums(directory: Path) -> dict[str, str]:
    """The board's manifest: raw file name -> SHA-256, matching the raw files present."""
    directory = Path(directory)
    path = directory / CHECKSUMS_FILE
    data = read_raw(directory, CHECKSUMS_FILE, required=False)
    if data is None:
        raise ResultsFileError(f"{path} does not exist (`xecgbench leaderboard export` writes "
                               "it; `xecgbench leaderboard checksum DIR` for raw files you trust)")
    manifest = json_object(data, path).get("sha256")
    if not isinstance(manifest, dict):
        raise ResultsFileError(f"{path}: field 'sha256' must be an object of file -> SHA-256")
    for name, digest in manifest.items():
        if name not in RAW_FILES:
            raise ResultsFileError(f"{path}: field 'sha256.{name}': not a raw file of a board")
        if not (isinstance(digest, str) and len(digest) == 64
                and all(c in "0123456789abcdef" for c in digest)):
            raise ResultsFileError(f"{path}: field 'sha256.{name}': not a SHA-256 hex digest")
    unlisted = sorted(set(present(directory)) - set(manifest))
    if unlisted:
        raise ResultsFileError(f"{path}: field 'sha256': {', '.join(unlisted)} not listed")
    return manifest


def read_checked(directory: Path, name: str, manifest: dict[str, str],
                 required: bool = True) -> bytes | None:
    """:func:`read_raw`, then the SHA-256 of the bytes read compared with ``manifest``."""
    data = read_raw(directory, name, required)
    if data is None:
        return None
    if name not in manifest:
        raise ResultsFileError(f"{Path(directory) / CHECKSUMS_FILE}: field 'sha256': {name} "
                               "not listed")
    if sha256(data) != manifest[name]:
        raise ResultsFileError(f"{Path(directory) / name}: SHA-256 differs from "
                               f"{CHECKSUMS_FILE}; the file changed after export")
    return data


def scores_names(directory: Path) -> list[str]:
    """The board's scores files, in order: the Parquet parts (``scores.parquet`` first, no
    gap) or the one legacy ``scores.csv.gz``."""
    directory = Path(directory)
    if os.path.lexists(directory / RETIRED_POINTER):
        raise ResultsFileError(f"{directory / RETIRED_POINTER}: raw scores must be inside the "
                               "board directory")
    parts = part_names(directory, SCORE_PARTS)
    legacy = os.path.lexists(directory / LEGACY_SCORES_FILE)
    if legacy == bool(parts):
        found = " and ".join([*parts[:1], *[LEGACY_SCORES_FILE] * legacy]) or "neither"
        raise ResultsFileError(f"{directory}: needs exactly one of {SCORES_FILE} or "
                               f"{LEGACY_SCORES_FILE} (found {found})")
    return [LEGACY_SCORES_FILE] if legacy else parts


def part_names(directory: Path, parts: tuple[str, ...]) -> list[str]:
    """The parts of one table present in ``directory``: a prefix of ``parts`` (numbered
    without a gap), their sizes together within :data:`MAX_PARTS_BYTES`; [] when none."""
    present = [n for n in parts if os.path.lexists(Path(directory) / n)]
    if present != list(parts[:len(present)]):
        missing = next(n for n in parts if n not in present)
        raise ResultsFileError(f"{Path(directory) / missing}: missing, but a later part "
                               "exists (parts are numbered without a gap)")
    total = sum(os.lstat(Path(directory) / n).st_size for n in present)
    if total > MAX_PARTS_BYTES:
        raise ResultsFileError(f"{directory}: {parts[0]} and its parts hold {total:,} bytes, "
                               f"over the limit of {MAX_PARTS_BYTES:,}")
    return present
