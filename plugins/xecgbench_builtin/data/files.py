"""Dataset files are read only when they are regular files of bounded size.

A WFDB header that was a FIFO made ``data check`` and ``run`` block forever (``run`` holding
``run.lock`` all the while), and one linked to ``/dev/zero`` was read until a MemoryError.
Every file a WFDB dataset reads (headers, signal and annotation files, label tables) is now
checked here first: a link is followed, but what it leads to must be a regular file no
larger than the limit of its kind, else the caller's one-line error names the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Upper sizes (bytes): a header is a few lines, a label table a few MB, a signal file one
#: record (the 30-minute CinC maximum at 300 Hz is ~1 MB); anything beyond is not a dataset.
HEADER_LIMIT = 1 << 20
TABLE_LIMIT = 256 << 20
SIGNAL_LIMIT = 2 << 30


def file_problem(path: Path | str, limit: int) -> str | None:
    """Why ``path`` must not be read (missing, not a regular file, too large), or None."""
    try:
        info = os.stat(path)  # follows a link: what it leads to must be a regular file
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return _kind_problem(info, limit)


def _kind_problem(info: os.stat_result, limit: int) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a pipe, device or directory)"
    if info.st_size > limit:
        return f"is {info.st_size} bytes, over the {limit} byte limit for such a file"
    return None


class UnreadableFile(OSError):
    """A file :func:`read_bounded` refused; the message says why."""


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, never blocking and never over ``limit``.

    Opened non-blocking (opening a FIFO without a writer would block), then checked on the
    open descriptor, so a file swapped after a check cannot slip through.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror or exc})") from None
    problem = _kind_problem(os.fstat(descriptor), limit)
    if problem:
        os.close(descriptor)
        raise UnreadableFile(problem)
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew since the check
        raise UnreadableFile(f"is over the {limit} byte limit for such a file")
    return data
