"""A wall-clock limit on one stage: a component that hangs fails its stage, not the run.

An attribution that sleeps, or training asked for 1e9 epochs, held a run (and ``verify``)
until it was killed. ``signal.setitimer`` raises :class:`StageTimeLimit` into the thread
that runs the stage, which is the main thread of its process in every executor (in-process,
pool workers, Ray workers): Python code stops at its next bytecode and a blocking call such as
``time.sleep`` returns early; one long C call (a single huge torch op) finishes first. Where
there is no main thread to interrupt (a stage run from another thread) or no ``SIGALRM``
(Windows), no limit applies.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StageTimeLimit(BaseException):
    """A stage ran past its limit. Not an ``Exception``, so a component's ``except Exception``
    cannot swallow it; ``stages.execute`` turns it into that stage's failure."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"stopped after its time limit of {seconds:g} s "
                         "(stage_time_limit_s)")
        self.seconds = seconds


def can_limit() -> bool:
    """A limit can be enforced here: ``SIGALRM`` exists and this is the main thread."""
    return (hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread())


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`StageTimeLimit` in the block after ``seconds`` (None: no limit)."""
    if seconds is None or not can_limit():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise StageTimeLimit(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
