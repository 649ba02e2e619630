"""Is a ``running`` run still running? Heartbeats, pid + host + start time, and ``dead`` runs.

A run killed with -9 (or stopped by a full disk) never reaches ``finish_run``, so the store
said ``running`` forever. A run now records its pid and host (in its provenance) and beats
a heartbeat into the store; a run whose process is gone on this host, or whose heartbeat is
older than :data:`STALE_AFTER_S` on another host, is ``dead`` with its last-seen time.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xecgbench.run.store import ResultsStore, record_heartbeat

#: Seconds between heartbeats of a running run.
HEARTBEAT_S = 10.0
#: A run on another host whose heartbeat is older than this is presumed dead.
STALE_AFTER_S = 6 * HEARTBEAT_S


def _boot_time() -> float:
    with open("/proc/stat") as handle:
        for line in handle:
            if line.startswith("btime"):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def process_started(pid: int) -> float | None:
    """Start time (epoch s) of a live, non-zombie process ``pid``; None when there is none."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):  # zombie or dead: the process has exited
        return None
    ticks = int(fields[19])  # field 22 of stat, counted after the ")"
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")


def pid_alive(pid: int, not_after: float) -> bool:
    """True when ``pid`` is alive and started no later than ``not_after`` (not a reused pid)."""
    if os.path.isdir("/proc"):
        started = process_started(pid)
        return started is not None and started <= not_after + 2.0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_state(run: Mapping[str, Any], last_seen: float | None,
              now: float | None = None) -> str:
    """``run``'s real status: its recorded one, or ``dead`` for a ``running`` run that is gone."""
    if run["status"] != "running":
        return str(run["status"])
    execution = run.get("provenance", {}).get("execution", {})
    host, pid = execution.get("host"), execution.get("pid")
    if host == platform.node() and isinstance(pid, int):
        return "running" if pid_alive(pid, float(run["started"])) else "dead"
    seen = last_seen if last_seen is not None else float(run["started"])
    return "running" if (now or time.time()) - seen < STALE_AFTER_S else "dead"


def describe_dead(run: Mapping[str, Any], last_seen: float | None) -> str:
    """``dead (last seen …, pid … on …)`` for a run found dead."""
    execution = run.get("provenance", {}).get("execution", {})
    seen = last_seen if last_seen is not None else run["started"]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seen))
    return (f"dead (last seen {stamp}, pid {execution.get('pid', '?')} on "
            f"{execution.get('host', '?')})")


def reap_dead_runs(store: ResultsStore) -> list[str]:
    """Mark every ``running`` run of ``store`` whose process is gone as ``dead``."""
    dead = []
    for run in store.runs():
        if run["status"] == "running":
            seen = store.last_seen(run["run_id"])
            if run_state(run, seen) == "dead":
                store.mark_dead(run["run_id"], seen or run["started"])
                dead.append(run["run_id"])
    return dead


class Heartbeat:
    """A daemon thread that stamps ``runs.heartbeat`` every :data:`HEARTBEAT_S` seconds.

    It uses its own connection (SQLite connections are per thread) and never raises: a
    missed beat only makes the run look older to other hosts.
    """

    def __init__(self, store_path: Path, run_id: str, every_s: float = HEARTBEAT_S) -> None:
        self.store_path, self.run_id, self.every_s = store_path, run_id, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="xecgbench-heartbeat",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            record_heartbeat(self.store_path, self.run_id, time.time())
