"""Executors: a process pool and Ray give exactly the scores of the local executor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from score_checks import sorted_scores

from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.config import load_suite
from xecgbench.run.executors import STAGE_THREADS, lost_worker, stage_threads
from xecgbench.run.layout import STORE_NAME
from xecgbench.run.runner import run_suite
from xecgbench.run.stage_types import StageTask
from xecgbench.run.store import ResultsStore

#: 3 methods × (4 cells + the seed's untrained model)
# 3 cells: `none` × `freeze_first_k(k=2)` would freeze random weights and is not run
SMOKE_STAGES = {"pretrain": 2, "finetune": 3, "evaluate": 3, "attribute": 12, "score": 12}



@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


@pytest.fixture(scope="module")
def local_scores(smoke_run) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The session's in-process smoke run (the local executor)."""
    return sorted_scores(smoke_run.store)


def test_stage_threads_are_fixed_then_restored() -> None:
    import torch

    before = torch.get_num_threads()
    with stage_threads():
        assert torch.get_num_threads() == STAGE_THREADS
    assert torch.get_num_threads() == before


def test_lost_worker_blames_the_task_component() -> None:
    suite = load_suite("smoke")
    task = StageTask("attribute", "k", 0, {"attributions": suite.attributions[0]}, {})
    failure = lost_worker(task, RuntimeError("boom"))
    assert failure.key == "k"
    assert failure.component == "attributions:dtd"
    assert failure.error == "worker could not run attribute: RuntimeError: boom"


def test_local_executor_rejects_no_workers(tmp_path: Path, system: PluginSystem) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_suite(load_suite("smoke"), system, tmp_path, workers=0, quiet=True)


@pytest.mark.slow
def test_process_pool_gives_the_local_scores(tmp_path: Path, system: PluginSystem,
                                             local_scores: pd.DataFrame) -> None:
    summary = run_suite(load_suite("smoke"), system, tmp_path, workers=2, quiet=True)
    assert summary.ok and summary.computed == SMOKE_STAGES
    pd.testing.assert_frame_equal(sorted_scores(tmp_path / STORE_NAME), local_scores)
    with ResultsStore(tmp_path / STORE_NAME) as store:
        assert store.runs()[-1]["provenance"]["execution"]["workers"] == 2


@pytest.mark.slow
def test_ray_gives_the_local_scores(tmp_path: Path, system: PluginSystem,
                                    local_scores: pd.DataFrame) -> None:
    ray = pytest.importorskip("ray")
    try:
        summary = run_suite(load_suite("smoke"), system, tmp_path, executor="ray", workers=2,
                            quiet=True)
        assert not ray.is_initialized()  # the executor shuts down the Ray it started
    finally:
        ray.shutdown()
    assert summary.ok and summary.computed == SMOKE_STAGES
    pd.testing.assert_frame_equal(sorted_scores(tmp_path / STORE_NAME), local_scores)
    with ResultsStore(tmp_path / STORE_NAME) as store:
        assert store.runs()[-1]["provenance"]["execution"]["executor"] == "ray"
