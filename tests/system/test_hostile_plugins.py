"""A hostile or broken plugin costs only itself (issue 32, items 2 and 6).

A register hook that raises, or calls ``sys.exit``, marks its plugin broken like a failed
import: its components are forgotten, every other plugin's stay, ``--version``, ``plugins`` and
``list`` still answer, and one warning names it. A pool worker that a component ends
(``os._exit``, a kill) fails that task alone; the rest of the batch finishes and the pool takes
more. Each case is in-process (the worker case spawns two bare workers, no torch).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xecgbench import hookimpl
from xecgbench.cli import build_cli
from xecgbench.plugins.manager import PluginLoadError, load_plugins
from xecgbench.run.config import ComponentSpec, load_suite
from xecgbench.run.stage_types import StageFailure, StageOutcome, StageTask

SALIENCY_LIKE = "hostile_method"


class _Method:
    description = "a method a hostile plugin registers before its hook fails"

    def __init__(self, model: Any, **params: Any) -> None:
        self.model = model

    def __call__(self, x: Any, target: Any) -> Any:
        return x


def _plugin(failure: BaseException, kind: str = "attributions") -> object:
    """A third-party plugin whose ``kind`` hook registers one method, then raises."""

    class Hostile:
        __name__ = "hostile-plugin"

        @hookimpl
        def xecgbench_register_attributions(self, registry: Any) -> None:
            registry.register(SALIENCY_LIKE, _Method)
            if kind == "attributions":
                raise failure

        @hookimpl
        def xecgbench_register_metrics(self, registry: Any) -> None:
            if kind == "metrics":
                raise failure

    return Hostile()


FAILURES = {
    "RuntimeError": RuntimeError("boom in register"),
    "TypeError": TypeError("register() got an unexpected keyword argument 'description'"),
    "sys.exit(0)": SystemExit(0),
    "sys.exit(3)": SystemExit(3),
    "KeyError": KeyError("missing"),
    "RecursionError": RecursionError("maximum recursion depth exceeded"),
    "MemoryError": MemoryError(),
    "in a later hook": RuntimeError("the metrics hook fails after attributions registered"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failing_register_hook_marks_only_its_plugin_broken(
        case: str, capsys: pytest.CaptureFixture[str]) -> None:
    kind = "metrics" if case == "in a later hook" else "attributions"
    start = time.perf_counter()
    system = load_plugins(autoload=False, extra=[_plugin(FAILURES[case], kind)])
    warned = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(warned) == 1 and "hostile-plugin" in warned[0], warned
    assert f"xecgbench_register_{kind}" in warned[0], warned[0]
    assert "hostile-plugin" in system.broken
    assert SALIENCY_LIKE not in system.registry["attributions"]  # forgotten, not half-there
    assert "saliency" in system.registry["attributions"]
    assert "accuracy" in system.registry["metrics"]
    runner = CliRunner()
    for args in (["--version"], ["plugins"], ["list", "attributions"]):
        result = runner.invoke(build_cli(system), args, obj=system)
        assert result.exit_code == 0 and result.exception is None, (args, result.output)
        assert "Traceback" not in result.output
    listed = runner.invoke(build_cli(system), ["plugins"], obj=system).stdout
    assert "[BROKEN]" in listed and "hostile-plugin" in listed
    assert time.perf_counter() - start < 20


def test_a_bundled_plugin_that_fails_to_register_still_stops_everything() -> None:
    """Ours failing is a broken install, not a third-party problem: it must not pass unseen."""
    from xecgbench.plugins import manager

    failing = _plugin(RuntimeError("bundled boom"))
    original = manager._BUNDLED
    manager._BUNDLED = frozenset({*original, "hostile-plugin"})
    try:
        with pytest.raises(PluginLoadError, match="bundled boom"):
            load_plugins(autoload=False, extra=[failing])
    finally:
        manager._BUNDLED = original


# -- a pool worker that a component ends ----------------------------------------------------
def stand_in_worker(suite_json: str, cache_root: str, data_root: str | None,
                    task: StageTask) -> StageOutcome:
    """What a spawned worker runs instead of the stage: tasks keyed ``exit*`` end the process
    as a hostile component would, the others finish at once."""
    if task.key.startswith("exit"):
        os._exit(0)
    if task.key.startswith("kill"):
        os.kill(os.getpid(), 9)
    return StageOutcome(key=task.key, artifact=None, checksum=None, seconds=0.0)


def _task(key: str) -> StageTask:
    return StageTask("attribute", key, 0, {"attributions": ComponentSpec(name="hostile")},
                     {"seed": 0})


def test_a_worker_a_component_ends_fails_its_task_and_the_grid_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It used to end ``xecgbench run --workers 2`` in a BrokenProcessPool traceback."""
    keys = ("kill-1", "ok-1", "exit-2", "ok-2")
    from xecgbench.run.cache import ArtifactCache
    from xecgbench.run.executors import PoolExecutor

    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # spawned workers import us
    executor = PoolExecutor(load_suite("smoke"), ArtifactCache(tmp_path), workers=2,
                            target=sys.modules[__name__].stand_in_worker)
    try:
        first = dict((task.key, result) for task, result in executor.run([_task(k) for k in keys]))
        after = dict((task.key, result) for task, result in executor.run([_task("ok-after")]))
    finally:
        executor.close()
    assert set(first) == set(keys)
    for key, result in first.items():
        if key.startswith("ok"):
            assert isinstance(result, StageOutcome), (key, result)
        else:
            assert isinstance(result, StageFailure), (key, result)
            assert "ended abruptly" in result.error and "attributions:hostile" in result.component
    assert isinstance(after["ok-after"], StageOutcome)  # the pool takes more work


# -- a dataset plugin whose windows no stage can use ----------------------------------------
def _windows(signals: Any, labels: Any) -> Any:
    import numpy as np

    from xecgbench.api import ECGSet

    signals = np.asarray(signals, dtype=np.float32).reshape(len(labels), 1, -1)
    return ECGSet(signals, np.asarray(labels), {}, tuple(f"r{i}" for i in range(len(labels))),
                  50.0)


@pytest.mark.parametrize("signals, labels, named", [
    ([[0.0, 1.0], [float("inf"), 0.0]], [0, 1], "window 1 (record 'r1') holds a non-finite"),
    ([[float("nan"), 1.0], [0.0, 0.0]], [0, 1], "window 0 (record 'r0') holds a non-finite"),
    ([[0.0, 1.0], [0.0, 0.0]], [0, 7.5], "window 1 has label 7.5"),
    ([[0.0, 1.0], [0.0, 0.0]], [-1, 0], "window 0 has label -1"),
])
def test_a_datasets_absurd_windows_are_its_own_error(signals: Any, labels: Any,
                                                     named: str) -> None:
    """An inf sample used to fail as "attributions 'input_x_gradient' failed"."""
    from xecgbench.api import DatasetError
    from xecgbench.run.windows import check_loaded

    with pytest.raises(DatasetError, match="dataset 'hostile'") as error:
        check_loaded(_windows(signals, labels), "dataset 'hostile' (train split)")
    assert named in str(error.value) and "\n" not in str(error.value)
    check_loaded(_windows([[0.0, 1.0], [0.5, 0.0]], [0, 1]), "fine")
