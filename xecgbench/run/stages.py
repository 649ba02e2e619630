"""The stage functions of a cell: pretrain → fine-tune → evaluate → attribute → score.

Each takes a :class:`StageTask` whose upstream artifacts are resolved, does its work, and
returns a :class:`StageOutcome`; it never touches the results store, so the same function
runs in-process, in a process pool or as a Ray task.
"""

from __future__ import annotations

import dataclasses
import time
import traceback

from xecgbench.plugins.components import DatasetError
from xecgbench.run.explanation_stages import run_attribute, run_score
from xecgbench.run.faults import StorageError
from xecgbench.run.model_stages import run_evaluate, run_finetune, run_pretrain
from xecgbench.run.stage_types import (
    STAGE_KIND,
    StageContext,
    StageFailure,
    StageOutcome,
    StageTask,
)
from xecgbench.run.time_limit import StageTimeLimit, time_limit

RUNNERS = {
    "pretrain": run_pretrain,
    "finetune": run_finetune,
    "evaluate": run_evaluate,
    "attribute": run_attribute,
    "score": run_score,
}


def execute(context: StageContext, task: StageTask) -> StageOutcome | StageFailure:
    """Run ``task`` within the suite's ``stage_time_limit_s``; any exception, and running past
    the limit, becomes a :class:`StageFailure` naming the component."""
    started = time.perf_counter()
    try:
        with time_limit(context.suite.stage_time_limit_s):
            outcome = RUNNERS[task.stage](context, task)
    except StorageError as exc:  # the disk, not a plugin: never blamed on the component
        return StageFailure(key=task.key, component="storage", plugin="xecgbench",
                            error=str(exc), traceback=traceback.format_exc(),
                            infrastructure=True)
    except (Exception, SystemExit, StageTimeLimit) as exc:
        # A component calling sys.exit() would otherwise end the whole run with its exit
        # code (0: a run that "succeeded" with nothing written); it fails its stage instead.
        kind, spec = STAGE_KIND[task.stage], task.component
        if isinstance(exc, DatasetError):  # the data, not the stage's component, is to blame
            kind, spec = "datasets", context.suite.data.dataset
        error = (f"SystemExit({exc.code!r}): the component tried to end the process"
                 if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}")
        return StageFailure(
            key=task.key,
            component=f"{kind}:{spec.display}",
            plugin=context.plugin_of(kind, spec.name),
            error=error,
            traceback=traceback.format_exc(),
        )
    return dataclasses.replace(outcome, seconds=time.perf_counter() - started)

