"""Runs a suite: plans its stages, skips finished ones, executes the rest, records everything."""

from __future__ import annotations

import os
import platform
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as Bars

from xecgbench.plugins.components import record_of
from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import Suite
from xecgbench.run.eta import CostModel, EtaColumn
from xecgbench.run.executors import (
    STAGE_THREADS,
    Executor,
    LocalExecutor,
    PoolExecutor,
    RayExecutor,
)
from xecgbench.run.faults import StorageError
from xecgbench.run.layout import RunLayout
from xecgbench.run.liveness import Heartbeat, reap_dead_runs
from xecgbench.run.lock import run_lock
from xecgbench.run.plan import PlannedTask, plan
from xecgbench.run.preflight import check_classes, check_masks, preflight, validate_components
from xecgbench.run.provenance import provenance
from xecgbench.run.stage_types import STAGES, StageContext, StageFailure, StageTask, load_data
from xecgbench.run.store import ResultsStore
from xecgbench.run.windows import explained_windows

OUTCOMES = ("computed", "reused", "failed", "skipped")


@dataclass
class RunSummary:
    """What a run did: counts per stage, failures, where the results are."""

    run_id: str
    store_path: Path
    computed: dict[str, int] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)
    failed: list[StageFailure] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every stage finished."""
        return not self.failed and not self.skipped


class Progress:
    """Where a run reports progress: rich bars on a terminal, one line per stage otherwise.

    Progress goes to stderr so stdout keeps only the run's summary; ``quiet`` shows nothing.
    Without a terminal (logs, CI) live bars would print nothing useful, so each stage prints
    one line with its counts when its last task is done.
    """

    def __init__(self, quiet: bool, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=True)
        self._bars: Bars | None = None
        self._tasks: dict[str, TaskID] = {}
        self._totals: dict[str, int] = {}
        self._counts: dict[str, Counter[str]] = {}
        self._clock = time.perf_counter()

    @contextmanager
    def session(self, totals: dict[str, int]) -> Iterator[Progress]:
        """Report on the stages in ``totals`` while the block runs."""
        self._totals = dict(totals)
        self._clock = time.perf_counter()
        self._counts = {stage: Counter() for stage in totals}
        self._costs = CostModel(totals)
        if self.quiet or not self.console.is_terminal:
            yield self
            return
        columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("eta"), EtaColumn())
        with Bars(*columns, console=self.console) as bars:
            self._bars = bars
            self._tasks["all"] = bars.add_task("all", total=sum(totals.values()), eta_at=None)
            for stage, total in totals.items():
                self._tasks[stage] = bars.add_task(stage, total=total, start=False)
            try:
                yield self
            finally:
                self._bars = None

    def begin(self, stage: str) -> None:
        """``stage``'s tasks start now (its clock and ETA count from here)."""
        self._clock = time.perf_counter()
        self._costs.begin(stage)
        if self._bars is not None and stage in self._tasks:
            self._bars.start_task(self._tasks[stage])

    def advance(self, stage: str, outcome: str) -> None:
        """One more ``stage`` task done; ``outcome`` is computed, reused, failed or skipped."""
        counts = self._counts[stage]
        counts[outcome] += 1
        self._costs.advance(stage, outcome)
        if self._bars is not None:
            left = self._costs.remaining()  # weighted by each stage kind's cost
            self._bars.advance(self._tasks[stage])
            self._bars.update(self._tasks["all"], advance=1,
                              eta_at=None if left is None else time.perf_counter() + left)
        elif not self.quiet and counts.total() == self._totals[stage]:
            seconds = time.perf_counter() - self._clock
            detail = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o])
            left = self._costs.remaining()
            eta = "" if not left else f", about {time.strftime('%H:%M:%S', time.gmtime(left))} left"
            self.console.print(f"{stage:>10} {counts.total()}/{self._totals[stage]} ({detail}) "
                               f"{seconds:.1f} s{eta}", highlight=False)


def _make_executor(kind: str, context: StageContext, workers: int, address: str | None) -> Executor:
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if kind == "local":
        if workers == 1:
            return LocalExecutor(context)
        return PoolExecutor(context.suite, context.cache, workers)
    if kind == "ray":
        return RayExecutor(context.suite, context.cache, address, workers)
    raise ValueError(f"unknown executor {kind!r}; valid executors: local, ray")


@contextmanager
def _open_executor(kind: str, context: StageContext, workers: int,
                   address: str | None) -> Iterator[Executor]:
    """An executor that is closed on the way out, stopping its running stages on an error."""
    executor = _make_executor(kind, context, workers, address)
    try:
        yield executor
    except BaseException:
        executor.close(abort=True)
        raise
    executor.close()


def _cached(store: ResultsStore, cache: ArtifactCache, task: StageTask) -> bool:
    """Finished before and its artifact still verifies (a corrupt one is recomputed)."""
    record = store.stage(task.key)
    if record is None or record.status != "done":
        return False
    if not store.scores_intact(task.key):  # altered or damaged score rows: recompute them
        return False
    return record.artifact is None or cache.verify(record.artifact, record.checksum or "")


def data_record(context: StageContext) -> dict[str, dict[str, object]]:
    """Per split: windows, records kept and every record excluded with its reason.

    Loading here, in the driver and before the first stage, also validates the data (a
    missing directory or an ``on_bad_record: error`` fault stops the run before any work).
    """
    record: dict[str, dict[str, object]] = {}
    check_classes(context.suite, *load_data(context))
    check_masks(context.suite, context.system, load_data(context)[1])
    explained_windows(context.suite, load_data(context)[1])  # a quota the data cannot fill
    for split, part in zip(("train", "test"), load_data(context), strict=True):
        records = {record_of(rid) for rid in part.record_ids}
        record[split] = {"windows": len(part.record_ids), "records": len(records),
                         "excluded": len(part.skipped), "excluded_records": dict(part.skipped)}
    return record


def run_suite(
    suite: Suite,
    system: PluginSystem,
    out_dir: Path,
    *,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    quiet: bool = False,
    wait: bool = False,
) -> RunSummary:
    """Run (or resume) ``suite`` into ``out_dir``; finished stages are reused, never redone.

    Every finished stage is committed to the store as it completes, so a killed or
    interrupted run loses only the stages that were running. On Ctrl-C the run is marked
    ``interrupted`` and the ``KeyboardInterrupt`` propagates.
    """
    started = time.perf_counter()
    validate_components(suite, system)  # unknown names first, then their parameters
    layout = RunLayout(out_dir)
    cache = ArtifactCache(layout.cache)
    preflight(suite, system, out_dir, cache.root)  # parameters, primary metric, writable dirs
    planned = plan(suite, system)  # instantiates schedules: their parameters are checked
    context = StageContext(suite, system, cache)
    with run_lock(out_dir, wait, notify=lambda line: print(line, file=sys.stderr)):
        return _locked_run(suite, system, out_dir, planned, context, started, executor=executor,
                           workers=workers, address=address, quiet=quiet)


def _locked_run(suite: Suite, system: PluginSystem, out_dir: Path,
                planned: Sequence[PlannedTask], context: StageContext, started: float, *,
                executor: str, workers: int, address: str | None, quiet: bool) -> RunSummary:
    """:func:`run_suite` once it holds ``out_dir``'s run lock."""
    cache = context.cache
    data = data_record(context)
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary = RunSummary(run_id, RunLayout(out_dir).store)
    execution = {"executor": executor, "workers": workers, "address": address,
                 "stage_threads": STAGE_THREADS, "host": platform.node(), "pid": os.getpid()}
    totals = {s: sum(1 for p in planned if p.task.stage == s) for s in STAGES}
    with (ResultsStore(summary.store_path) as store,
          _open_executor(executor, context, workers, address) as runner):
        reap_dead_runs(store)  # earlier runs killed without a word are ``dead`` from now on
        store.start_run(run_id, suite.name, suite.model_dump(mode="json"), suite.config_hash(),
                        {**provenance(system, suite), "execution": execution, "data": data})
        try:
            with (Heartbeat(summary.store_path, run_id),
                  Progress(quiet).session({s: n for s, n in totals.items() if n}) as progress):
                for stage in STAGES:
                    _run_stage(stage, planned, store, cache, runner, summary, progress)
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
            with suppress(StorageError):  # the disk that failed the run may refuse this too
                store.finish_run(run_id, status)
            raise
        store.finish_run(run_id, "ok" if summary.ok else "failed-cells")
    summary.seconds = time.perf_counter() - started
    system.pm.hook.xecgbench_run_finished(config=suite, results=summary)
    return summary


def _run_stage(stage: str, planned: Sequence[PlannedTask], store: ResultsStore,
               cache: ArtifactCache, runner: Executor, summary: RunSummary,
               progress: Progress) -> None:
    progress.begin(stage)
    todo: list[StageTask] = []
    for item in (p for p in planned if p.task.stage == stage):
        upstream = {name: store.stage(key) for name, key in item.needs.items()}
        if any(record is None or record.status != "done" for record in upstream.values()):
            summary.skipped += 1  # an upstream stage failed: nothing to build on
            progress.advance(stage, "skipped")
            continue
        if _cached(store, cache, item.task):
            store.link(summary.run_id, item.task.key)
            summary.reused[stage] = summary.reused.get(stage, 0) + 1
            progress.advance(stage, "reused")
            continue
        resolved = {name: (r.artifact or "", r.checksum or "") for name, r in upstream.items() if r}
        todo.append(StageTask(item.task.stage, item.task.key, item.task.seed, item.task.specs,
                              item.task.labels, resolved))
    for task, result in runner.run(todo):
        if isinstance(result, StageFailure) and result.infrastructure:
            raise StorageError(result.error)  # the machine failed, not the component: stop
        if isinstance(result, StageFailure):
            store.fail_stage(summary.run_id, task.key, stage, dict(task.labels),
                             component=result.component, plugin=result.plugin,
                             error=result.error, traceback=result.traceback)
            summary.failed.append(result)
            progress.advance(stage, "failed")
        else:
            store.complete_stage(summary.run_id, task.key, stage, dict(task.labels),
                                 artifact=result.artifact, checksum=result.checksum,
                                 seconds=result.seconds, report=result.report, scores=result.scores,
                                 probabilities=result.probabilities)
            summary.computed[stage] = summary.computed.get(stage, 0) + 1
            progress.advance(stage, "computed")
