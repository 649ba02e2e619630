"""Where stage functions run: in-process, in a process pool, or as Ray tasks.

Workers get the suite as JSON and build their own plugin system and cache, so the stage
functions stay the same everywhere; only the parent process writes the results store.

Every executor runs stages with :data:`STAGE_THREADS` torch threads. Float reductions in
torch's CPU kernels depend on the thread count (measured: 2 threads vs 1 moved smoke's
scores by up to 0.1 after training), so a fixed count is what makes ``local``, ``--workers N``
and ``ray`` give identical scores on any machine; parallelism comes from workers instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from xecgbench.plugins.data_root import explicit_data_root, set_data_root
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import Suite
from xecgbench.run.reaper import die_with_parent, start_reaper, stop_reaper
from xecgbench.run.stage_types import (
    STAGE_KIND,
    StageContext,
    StageFailure,
    StageOutcome,
    StageTask,
)
from xecgbench.run.stages import execute

Result = StageOutcome | StageFailure

#: Torch intra-op threads per stage, in every executor (see the module docstring).
STAGE_THREADS = 1


class Executor(Protocol):
    """Runs a batch of independent tasks and yields results as they finish."""

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]: ...

    def close(self, abort: bool = False) -> None: ...


@contextmanager
def stage_threads() -> Iterator[None]:
    """Run the block with :data:`STAGE_THREADS` torch threads, then restore the caller's."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(STAGE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def lost_worker(task: StageTask, error: BaseException) -> StageFailure:
    """A task whose worker died or could not start: a failure of that task, not of the run."""
    spec = task.component
    return StageFailure(
        key=task.key,
        component=f"{STAGE_KIND[task.stage]}:{spec.display}",
        plugin="?",
        error=f"worker could not run {task.stage}: {type(error).__name__}: {error}",
    )


def dead_worker(task: StageTask) -> StageFailure:
    """A task whose worker process ended while running it, alone: the component ended it."""
    spec = task.component
    return StageFailure(
        key=task.key,
        component=f"{STAGE_KIND[task.stage]}:{spec.display}",
        plugin="?",
        error=f"the worker process running {task.stage} ended abruptly (os._exit, a crash "
              "or a kill): the component ended its process",
    )


@dataclass
class LocalExecutor:
    """Sequential, in this process (the default; what tests and debugging use)."""

    context: StageContext

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]:
        """Run ``tasks`` one after another."""
        for task in tasks:
            with stage_threads():
                result = execute(self.context, task)
            yield task, result

    def close(self, abort: bool = False) -> None:
        """Nothing to release."""


_WORKER_CONTEXTS: dict[tuple[str, str], StageContext] = {}


def run_in_worker(suite_json: str, cache_root: str, data_root: str | None,
                  task: StageTask) -> Result:
    """Entry point of pool and Ray workers: build (once per process) a context, run ``task``.

    ``data_root`` is the driver's ``--data-dir`` (None: the worker's own ``$XECGBENCH_DATA``).
    """
    import torch

    from xecgbench.plugins.manager import load_plugins

    torch.set_num_threads(STAGE_THREADS)
    set_data_root(Path(data_root) if data_root is not None else None)
    key = (suite_json, cache_root)
    if key not in _WORKER_CONTEXTS:
        # quietly: the driver has shown every plugin warning once (a clash, a broken plugin)
        with contextlib.redirect_stderr(io.StringIO()):
            system = load_plugins()
        for kind in system.registry.kinds.values():
            kind.warns = False
        _WORKER_CONTEXTS[key] = StageContext(
            Suite.model_validate_json(suite_json), system, ArtifactCache(cache_root)
        )
    return execute(_WORKER_CONTEXTS[key], task)


def _worker_args(suite: Suite, cache: ArtifactCache) -> tuple[str, str, str | None]:
    root = explicit_data_root()
    return (suite.model_dump_json(), str(Path(cache.root).resolve()),
            str(root) if root is not None else None)


def _init_worker(driver: int) -> None:
    """Pool workers leave Ctrl-C to the parent, which stops them and keeps finished stages,
    and die with the driver on their own (the reaper may have died before it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(driver)


class PoolExecutor:
    """A local process pool (``--workers N``), spawned so torch threads stay sane."""

    def __init__(self, suite: Suite, cache: ArtifactCache, workers: int,
                 target: Callable[..., Result] = run_in_worker) -> None:
        self.args = _worker_args(suite, cache)
        self.workers = workers
        self.target = target  # what a worker runs: run_in_worker (a test's stand-in)
        self.reaper = start_reaper()  # kills the workers and the resource tracker if we die
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                   initializer=_init_worker, initargs=(os.getpid(),))

    def _restart(self) -> None:
        """A fresh pool for one whose worker died (a broken pool takes no more tasks)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self._new_pool()

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]:
        """Submit every task; yield each as it completes.

        A worker that dies (a component calling ``os._exit``, a crash, a kill) breaks the whole
        pool and every unfinished task with it, without saying whose task it was. Those tasks
        then run again one at a time in a fresh pool, so a death there is its own task's: that
        task fails (:func:`dead_worker`), the others finish, and the grid goes on.
        """
        try:
            futures = {self.pool.submit(self.target, *self.args, task): task
                       for task in tasks}
        except BrokenProcessPool:
            futures = {}
        suspects = [task for task in tasks if task not in futures.values()]
        for future in as_completed(futures):
            task = futures[future]
            error = future.exception()
            if isinstance(error, BrokenProcessPool):
                suspects.append(task)
                continue
            yield task, lost_worker(task, error) if error is not None else future.result()
        if suspects:
            self._restart()
        for task in suspects:
            try:
                result: Result = self.pool.submit(self.target, *self.args, task).result()
            except BrokenProcessPool:
                result = dead_worker(task)
                self._restart()
            except Exception as error:  # the task could not be sent or its result returned
                result = lost_worker(task, error)
            yield task, result

    def close(self, abort: bool = False) -> None:
        """Shut the pool down; on ``abort`` stop running stages instead of waiting for them."""
        if abort:
            # ProcessPoolExecutor has no public way to stop busy workers before Python 3.14.
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        stop_reaper(self.reaper)


class RayExecutor:
    """The same stage functions as Ray tasks on a cluster (``ray.init(address)``).

    Without ``address`` a local Ray is started (``workers`` CPUs, default all) and shut down
    on :meth:`close`; a cluster this process did not start is left running. The cache
    directory must be on a filesystem every node sees.
    """

    def __init__(self, suite: Suite, cache: ArtifactCache, address: str | None,
                 workers: int) -> None:
        import ray

        self.ray = ray
        self.started = not ray.is_initialized()
        self.reaper = None
        if self.started:
            num_cpus = workers if workers > 1 and address is None else None
            if address is None:  # the local Ray's processes die with us, even on kill -9
                self.reaper = start_reaper()
            ray.init(address=address, num_cpus=num_cpus, include_dashboard=False,
                     log_to_driver=False, runtime_env=package_runtime_env())
        self.args = _worker_args(suite, cache)
        self.remote: Any = ray.remote(num_cpus=1)(run_in_worker)
        self.pending: dict[Any, StageTask] = {}

    def run(self, tasks: Sequence[StageTask]) -> Iterator[tuple[StageTask, Result]]:
        """Submit every task to the cluster; yield each as it completes."""
        self.pending = {self.remote.remote(*self.args, task): task for task in tasks}
        while self.pending:
            done, _ = self.ray.wait(list(self.pending), num_returns=1)
            for ref in done:
                task = self.pending.pop(ref)
                try:
                    result = self.ray.get(ref)
                except self.ray.exceptions.RayError as error:
                    result = lost_worker(task, error)
                yield task, result

    def close(self, abort: bool = False) -> None:
        """Cancel unfinished tasks on ``abort``; shut down the local Ray this executor started."""
        if abort:
            for ref in self.pending:
                self.ray.cancel(ref, force=True)
        if self.started:
            self.ray.shutdown()
        stop_reaper(self.reaper)


def package_roots() -> list[str]:
    """Directories this process imported xecgbench and its loaded plugins' packages from."""
    import sys

    roots: list[str] = []
    for name, module in list(sys.modules.items()):
        top = name.split(".", 1)[0]
        if name != top or not (top.startswith("xecgbench") or top in _plugin_packages()):
            continue
        for folder in getattr(module, "__path__", ()):
            root = str(Path(folder).resolve().parent)
            if root not in roots:
                roots.append(root)
    return roots


def _plugin_packages() -> set[str]:
    from importlib import metadata

    from xecgbench.plugins.manager import ENTRY_POINT_GROUP

    return {ep.module.split(".", 1)[0] for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def package_runtime_env() -> dict[str, Any]:
    """Ray workers import the packages this driver imported, whatever its working directory.

    Ray puts the driver's cwd on every worker's ``sys.path``; started from the directory
    above a checkout, the checkout folder ``xecgbench/`` (no ``__init__``) became a namespace
    package that shadowed an editable install, and every stage failed with an ImportError.
    Listing the real package roots first on ``PYTHONPATH`` makes the import system find the
    regular packages before any namespace portion.
    """
    import os

    paths = package_roots() + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}
