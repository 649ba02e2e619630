"""Storage faults as one line that names the path and the remedy.

A read-only ``--out``, a full disk or a damaged ``results.sqlite`` is the machine's problem,
not a plugin's and not a bug: the CLI prints :class:`StorageError`'s message and exits 2; the
traceback is shown only with ``--debug`` or ``XECGBENCH_DEBUG=1``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xecgbench.errors import XecgbenchError

DEBUG_ENV = "XECGBENCH_DEBUG"


class StorageError(XecgbenchError):
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
        remedy = (f"it is not a valid results store, damaged or another file ({exc}); check it "
                  f"with `sqlite3 {path} 'PRAGMA integrity_check'`, restore it from a backup "
                  "or the raw export (`xecgbench leaderboard export`), or move it away and "
                  "run `xecgbench run` again, which resumes and recomputes the missing stages")
    elif "unable to open" in text:
        remedy = "it cannot be opened; check that it and its directory exist and are readable"
    elif "disk i/o" in text:
        remedy = "the disk reported an I/O error; check the disk or choose another --out"
    elif "locked" in text or "busy" in text:
        remedy = "it is locked by another process; wait for it or retry"
    elif "no such" in text:
        remedy = (f"it lacks part of the schema ({exc}): written by an older xecgbench (a "
                  "`xecgbench run` on it upgrades it) or damaged (`PRAGMA integrity_check`)")
    else:
        remedy = f"SQLite error: {exc}; check it with `PRAGMA integrity_check`"
    return StorageError(f"results store {path}: {remedy}")


#: SQLite errors that are bugs in the caller, not faults of the file: left as they are.
_BUGS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


@contextmanager
def sqlite_faults(path: Path | str) -> Iterator[None]:
    """Turn any SQLite error of the file (damaged page, full disk, ...) into a StorageError."""
    try:
        yield
    except _BUGS:
        raise
    except sqlite3.Error as exc:
        raise from_sqlite_error(exc, path) from exc


class GuardedCursor:
    """A cursor whose rows, fetched lazily, still fail as one-line :class:`StorageError`."""

    def __init__(self, cursor: sqlite3.Cursor, path: Path | str) -> None:
        self._cursor = cursor
        self._path = path

    def __iter__(self) -> Iterator[Any]:
        with sqlite_faults(self._path):
            yield from self._cursor

    def fetchone(self) -> Any:
        with sqlite_faults(self._path):
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with sqlite_faults(self._path):
            return self._cursor.fetchall()


class GuardedConnection:
    """The store's connection: a damaged page met by any statement or row is one line.

    A bit flip can surface in any query, not just on open ("database disk image is
    malformed" from the 100th row of a scan), so every call goes through one guard.
    """

    def __init__(self, db: sqlite3.Connection, path: Path | str) -> None:
        self._db = db
        self._path = path

    def execute(self, sql: str, parameters: Any = ()) -> GuardedCursor:
        with sqlite_faults(self._path):
            return GuardedCursor(self._db.execute(sql, parameters), self._path)

    def executemany(self, sql: str, rows: Any) -> None:
        with sqlite_faults(self._path):
            self._db.executemany(sql, rows)

    def executescript(self, script: str) -> None:
        with sqlite_faults(self._path):
            self._db.executescript(script)

    def close(self) -> None:
        self._db.close()
