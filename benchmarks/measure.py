"""Timing helpers shared by the benchmarks: interleaved repetitions and the machine's state.

The machines these run on are shared, so an absolute time says more about the neighbours than
about the code. Every benchmark therefore times its subject and a reference *interleaved*
(A, B, A, B, …) and reports the ratio of the medians: load that comes and goes hits both
alike. The load average is recorded next to every result so a reader can judge the noise.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (``[]`` where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, torch threads, versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info


@dataclass
class Timings:
    """Per-case seconds of every repetition: wall clock and CPU time of this process."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]


def interleaved(
    cases: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> Timings:
    """Time every case, the cases run round-robin ``repeats`` times.

    ``warmup`` untimed rounds first absorb lazy imports, allocator growth and caches. CPU time
    (all threads of this process) is kept beside wall time: under a load average above the
    core count, wall time mostly measures the neighbours, CPU time much less so.
    """
    for _ in range(warmup):
        for run in cases.values():
            run()
    timings = Timings({name: [] for name in cases}, {name: [] for name in cases})
    for _ in range(repeats):
        for name, run in cases.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            timings.cpu[name].append(time.process_time() - cpu)
            timings.wall[name].append(time.perf_counter() - wall)
    return timings


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float]) -> float:
    """Relative spread (max − min) / median: how noisy the repetitions were."""
    mid = median(values)
    return float((max(values) - min(values)) / mid) if mid > 0 else float("nan")


def write_json(path: str | os.PathLike[str] | None, result: dict[str, Any]) -> None:
    """Write ``result`` (with load and machine added) to ``path`` if one was given."""
    if path is None:
        return
    Path(path).write_text(json.dumps(result, indent=2, default=float) + "\n")


def report(result: dict[str, Any], json_path: str | os.PathLike[str] | None) -> None:
    """Print a benchmark's rows and load averages, then write its JSON if asked."""
    for row in result["rows"]:
        print(f"{row['figure']}: {row['value']:.3g} {row['unit']} (target {row['target']})")
    print(f"load average {result['load_average_before']} -> {result['load_average']}")
    write_json(json_path, result)


def stamp(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with the load average at the end of the measurement and the machine."""
    return {**result, "load_average": load_average(), "machine": machine()}
