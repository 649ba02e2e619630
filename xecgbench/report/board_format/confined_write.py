"""Writes that stay inside their directory: never through a symlink, never outside, atomic.

A submitted leaderboard directory is untrusted input: if ``leaderboard.md`` in it is a
symlink to ``~/.bashrc``, a plain ``write_text`` overwrites the user's file. Every writer of
a leaderboard directory goes through :func:`write_inside`, which refuses symlinks on the
way and writes a temporary file in the directory, then ``os.replace``-s it (a rename replaces
a link itself, never its target) and removes the temporary file on every failure path. The file
gets the mode a plain ``open`` would give (0666 less the umask), not ``mkstemp``'s 0600.

Files that belong together (a board's three tables; its raw files and their checksums) go
through :func:`write_all_inside`: every temporary file is written first, and only when all are
on disk are they renamed into place, so a full disk or a refused name leaves all the old files
or all the new ones, never half a board (".md written, .csv and .tex not").
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from xecgbench.errors import XecgbenchError


class UnsafePathError(XecgbenchError):
    """A path a writer refuses: a symlink, or a place outside the directory being built."""


def checked_target(directory: Path | str, name: str, root: Path | str | None = None) -> Path:
    """``directory/name`` after refusing symlinks and anything that escapes ``root``.

    ``root`` (default: ``directory``) is the tree the write must stay in; ``directory`` must
    itself be inside it and neither may be reached through a symlink.
    """
    directory = Path(directory)
    base = Path(root) if root is not None else directory
    for path in (base, directory):
        if path.is_symlink():
            raise UnsafePathError(f"refusing to write into {path}: it is a symlink")
    target = directory / name
    if target.is_symlink():
        raise UnsafePathError(f"refusing to write {target}: it is a symlink")
    resolved_base = base.resolve()
    resolved = target.parent.resolve() / target.name
    if resolved_base != resolved.parent and resolved_base not in resolved.parents:
        raise UnsafePathError(f"refusing to write {target}: it is outside {base}")
    if target.exists() and not target.is_file():
        raise UnsafePathError(f"refusing to write {target}: it is not a regular file")
    return target


def _umask() -> int:
    """The process umask (read by setting it and putting it back: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _staged(target: Path, data: bytes | str) -> Path:
    """``data`` in a temporary file beside ``target`` (removed again if writing fails)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def write_inside(directory: Path | str, name: str, data: bytes | str,
                 root: Path | str | None = None) -> Path:
    """Atomically write ``data`` to ``directory/name`` (see :func:`checked_target`)."""
    return write_all_inside(directory, {name: data}, root)[0]


def write_all_inside(directory: Path | str, files: Mapping[str, bytes | str],
                     root: Path | str | None = None) -> list[Path]:
    """Write every ``name: data`` of ``files`` into ``directory``, all or none: each target
    checked (:func:`checked_target`) and staged before the first is renamed into place."""
    targets = [checked_target(directory, name, root) for name in files]
    staged: list[Path] = []
    try:
        for target, data in zip(targets, files.values(), strict=True):
            staged.append(_staged(target, data))
        for temporary, target in zip(staged, targets, strict=True):
            os.replace(temporary, target)  # a rename within a directory: needs no space
    except BaseException:
        for temporary in staged:
            temporary.unlink(missing_ok=True)
        raise
    return targets
