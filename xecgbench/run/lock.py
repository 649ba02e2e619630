"""One run per results directory: an advisory ``flock`` on ``<out>/run.lock``.

Two runs on one ``--out`` were safe (stages commit atomically) but wasteful: both computed
the same stages. The lock makes the second run stop with the holder's pid and host, or wait
for it with ``--wait``. ``flock`` is released by the kernel when its holder dies, so a
kill -9 never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xecgbench.errors import XecgbenchError
from xecgbench.run.faults import from_os_error

LOCK_NAME = "run.lock"


class RunLockedError(XecgbenchError):
    """Another xecgbench run holds the results directory."""


def _holder(handle: Any) -> str:
    handle.seek(0)
    try:
        info = json.loads(handle.read() or "{}")
    except ValueError:
        info = {}
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, since {since}"


@contextmanager
def run_lock(out_dir: Path, wait: bool = False,
             notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``out_dir``'s run lock for the block; refuse (or, with ``wait``, queue) if taken."""
    path = Path(out_dir) / LOCK_NAME
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise from_os_error(exc, path) from exc
    with os.fdopen(descriptor, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            if not wait:
                raise RunLockedError(
                    f"{out_dir} is in use by another xecgbench run ({holder}); wait for it to "
                    "finish, pass --wait to queue, or choose another --out"
                ) from None
            if notify is not None:
                notify(f"waiting for the run holding {out_dir} ({holder}) to finish ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "host": platform.node(),
                                     "since": time.time()}))
            handle.flush()
        except OSError as exc:
            raise from_os_error(exc, path) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
