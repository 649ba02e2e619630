"""SIGTERM handled as Ctrl-C: what a scheduler, ``timeout`` or ``kill`` sends must leave a run
as resumable as an interrupted one (finished stages kept, the run marked ``interrupted``,
workers stopped, temporary folders removed), not killed mid-write by the default action."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM stops the block as Ctrl-C does (a ``KeyboardInterrupt``); before, its default
    action killed ``verify`` and left an ``xecgbench-verify-*`` directory behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
