"""Where stage functions run: in-process, in a process pool, or as Ray tasks.

Workers get the suite as JSON and build their own plugin system and cache, so the stage
functions stay the same everywhere; only the parent process writes the results store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from xecgbench.cache import ArtifactCache
from xecgbench.config import Suite
from xecgbench.stages import StageContext, StageFailure, StageOutcome, StageTask, execute

Result = StageOutcome | StageFailure


class Executor(Protocol):
    """Runs a batch of independent tasks and yields results as they finish."""

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]: ...

    def close(self) -> None: ...


@dataclass
class LocalExecutor:
    """Sequential, in this process (the default; what tests and debugging use)."""

    context: StageContext

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]:
        """Run ``tasks`` one after another."""
        for task in tasks:
            yield task, execute(self.context, task)

    def close(self) -> None:
        """Nothing to release."""


_WORKER_CONTEXTS: dict[tuple[str, str], StageContext] = {}


def run_in_worker(suite_json: str, cache_root: str, threads: int, task: StageTask) -> Result:
    """Entry point of pool and Ray workers: build (once per process) a context, run ``task``."""
    import torch

    from xecgbench.plugin_manager import load_plugins

    torch.set_num_threads(threads)
    key = (suite_json, cache_root)
    if key not in _WORKER_CONTEXTS:
        _WORKER_CONTEXTS[key] = StageContext(
            Suite.model_validate_json(suite_json), load_plugins(), ArtifactCache(cache_root)
        )
    return execute(_WORKER_CONTEXTS[key], task)


def _worker_args(suite: Suite, cache: ArtifactCache, workers: int) -> tuple[str, str, int]:
    threads = max(1, (os.cpu_count() or 1) // workers)
    return suite.model_dump_json(), str(Path(cache.root).resolve()), threads


class PoolExecutor:
    """A local process pool (``--workers N``), spawned so torch threads stay sane."""

    def __init__(self, suite: Suite, cache: ArtifactCache, workers: int) -> None:
        self.args = _worker_args(suite, cache, workers)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]:
        """Submit every task; yield each as it completes."""
        futures = {self.pool.submit(run_in_worker, *self.args, task): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()

    def close(self) -> None:
        """Shut the pool down."""
        self.pool.shutdown(cancel_futures=True)


class RayExecutor:
    """The same stage functions as Ray tasks on a cluster (``ray.init(address)``)."""

    def __init__(self, suite: Suite, cache: ArtifactCache, address: str | None, workers: int) -> None:
        import ray

        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     **({} if address else {"num_cpus": max(1, workers)}))
        self.args = _worker_args(suite, cache, max(1, workers))
        self.remote: Callable[..., Any] = ray.remote(num_cpus=1)(run_in_worker)

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]:
        """Submit every task to the cluster; yield each as it completes."""
        pending = {self.remote.remote(*self.args, task): task for task in tasks}  # type: ignore[attr-defined]
        while pending:
            done, _ = self.ray.wait(list(pending), num_returns=1)
            for ref in done:
                yield pending.pop(ref), self.ray.get(ref)

    def close(self) -> None:
        """Leave the cluster running for the caller (tests shut it down)."""
