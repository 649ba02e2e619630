"""Storage faults as one line that names the path and the remedy.

A read-only ``--out``, a full disk or a damaged ``results.sqlite`` is the machine's problem,
not a plugin's and not a bug: the CLI prints :class:`StorageError`'s message and exits 2; the
traceback is shown only with ``--debug`` or ``XECGBENCH_DEBUG=1``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

DEBUG_ENV = "XECGBENCH_DEBUG"


class StorageError(Exception):
    """The disk, a directory or the results store cannot be used; the message says why."""


def debugging() -> bool:
    """True when tracebacks should be shown (``--debug`` or ``XECGBENCH_DEBUG=1``)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


_REMEDIES = {
    errno.ENOSPC: "the disk is full; free space or choose another --out",
    errno.EDQUOT: "the disk quota is exhausted; free space or choose another --out",
    errno.EROFS: "the filesystem is read-only; choose a writable --out",
    errno.EACCES: "permission denied; fix its permissions or choose another --out",
    errno.EPERM: "operation not permitted; fix its permissions or choose another --out",
}


def from_os_error(exc: OSError, path: Path | str | None = None) -> StorageError:
    """A :class:`StorageError` for ``exc`` naming ``path`` (default: the error's file)."""
    where = path if path is not None else (exc.filename or "?")
    remedy = _REMEDIES.get(exc.errno or 0, f"{exc.strerror or exc}; check the path and the disk")
    return StorageError(f"cannot write {where}: {remedy}")


def from_sqlite_error(exc: sqlite3.Error, path: Path | str) -> StorageError:
    """A :class:`StorageError` for a failing SQLite operation on the store at ``path``."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        remedy = "it is read-only; make it writable or choose another --out"
    elif "full" in text:
        remedy = "the disk is full; free space or choose another --out"
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        remedy = ("it is not a valid results store (damaged or another file); move it away "
                  "(finished stages will be recomputed) or choose another --out")
    elif "unable to open" in text:
        remedy = "it cannot be opened; check that its directory exists and is writable"
    elif "disk i/o" in text:
        remedy = "the disk reported an I/O error; check the disk or choose another --out"
    else:
        remedy = f"SQLite error: {exc}"
    return StorageError(f"results store {path}: {remedy}")
