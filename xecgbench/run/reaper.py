"""Children die with the parent: a watchdog process that kills a dead driver's descendants.

After a kill -9 of ``xecgbench run`` nothing in the driver runs any more, so its pool
workers, the multiprocessing resource tracker and a local Ray (raylet, GCS, workers, agents:
about 210 MB) lived on. :func:`start_reaper` spawns this file as a small stdlib-only
process: it keeps a snapshot of the driver's process tree, and when the driver is gone (the
reaper is re-parented) it kills every process of that tree still alive, then exits. A
normal shutdown stops it with SIGTERM first. Linux only (it reads ``/proc``); elsewhere it
is not started.

The reaper can die first (kill -9 of both, an OOM killer), so pool workers do not rely on
it: :func:`die_with_parent` makes each worker notice a dead driver itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

POLL_S = 0.25
#: ``prctl`` option: the signal the kernel sends this process when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def _table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start ticks) of every process, from ``/proc``."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in ("Z", "X"):
            table[int(name)] = (int(fields[1]), fields[19])
    return table


def descendants(roots: set[int], table: dict[int, tuple[int, str]]) -> dict[int, str]:
    """Every process below ``roots`` (pid -> start ticks, which tells a reused pid apart)."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, str] = {}
    stack = list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found and child != os.getpid():
                found[child] = table[child][1]
                stack.append(child)
    return found


def _kill(tree: dict[int, str]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        table = _table()
        alive = {p for p, start in tree.items() if table.get(p, (0, None))[1] == start}
        # processes started since the last snapshot, below ones still alive
        tree = {**tree, **descendants(alive, table)}
        alive |= {p for p, start in tree.items() if table.get(p, (0, None))[1] == start}
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        if sig == signal.SIGTERM and alive:
            time.sleep(1.0)


def watch(driver: int) -> None:
    """Snapshot ``driver``'s tree until it dies (we are re-parented), then kill the tree."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    tree: dict[int, str] = {}
    while os.getppid() == driver:
        tree.update(descendants({driver}, _table()))
        time.sleep(POLL_S)
    _kill(tree)


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` dies, whoever else is gone (the reaper included).

    Linux: the kernel's parent-death signal (SIGKILL; nothing of a stage is worth keeping
    once the driver that records it is gone). Elsewhere: a daemon thread that watches for
    re-parenting. A parent already dead before the signal was armed is caught by the check.
    """
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent:
        os._exit(1)
    if not armed:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    os._exit(1)


def start_reaper() -> subprocess.Popen[bytes] | None:
    """Start the watchdog for this process (None where ``/proc`` is missing)."""
    if not os.path.isdir("/proc"):
        return None
    return subprocess.Popen([sys.executable, "-S", os.path.abspath(__file__), str(os.getpid())],
                            stdin=subprocess.DEVNULL, close_fds=True)


def stop_reaper(process: subprocess.Popen[bytes] | None) -> None:
    """Stop the watchdog after a normal shutdown (its children are already gone)."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    watch(int(sys.argv[1]))
