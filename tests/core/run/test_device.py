"""The device option: resolved per run, never in a key, CPU scores bit-identical to the default.

No GPU is assumed: the device code path (``.to(device)``, ``.cpu()`` before saving, tensors
built on the run's device) runs on the CPU here, explicitly and through ``auto``.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from score_checks import sorted_scores

from xecgbench.cli import main
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import SuiteError, load_suite
from xecgbench.run.device import DeviceError, resolve_device, to_cpu
from xecgbench.run.layout import STORE_NAME
from xecgbench.run.plan import plan
from xecgbench.run.runner import run_suite

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
#: One cell of the smoke suite, with every batched quality metric on every explained window.
CELL = (
    "pretraining=[both]",
    "freezing=[none]",
    "attributions=[dtd, random]",
    "metrics=[accuracy, relevance_mass_accuracy, pixel_flipping, faithfulness_correlation,"
    " max_sensitivity, avg_sensitivity, mprt, random_logit]",
    "explain.n_costly=8",
)


@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory, system: PluginSystem) -> Path:
    out = tmp_path_factory.mktemp("default")
    assert run_suite(load_suite("smoke", CELL), system, out, quiet=True).ok
    return out


@no_gpu
def test_auto_is_the_cpu_without_a_gpu_and_cuda_is_a_clear_error() -> None:
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(DeviceError, match="device 'cuda' requested but torch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_suite_field_validates_and_stays_out_of_every_key(system: PluginSystem) -> None:
    default, cpu = load_suite("smoke"), load_suite("smoke", ["device=cpu"])
    assert default.device == "auto" and cpu.device == "cpu"
    assert default.config_hash() == cpu.config_hash()
    assert [t.task.key for t in plan(default, system)] == [t.task.key for t in plan(cpu, system)]
    with pytest.raises(SuiteError, match="field 'device'"):
        load_suite("smoke", ["device=gpu"])


def test_explicit_cpu_reuses_the_default_run_and_scores_identically(
    default_run: Path, system: PluginSystem, tmp_path: Path
) -> None:
    """Same keys: an explicit-CPU run over the default run's cache computes nothing; a fresh
    explicit-CPU run computes every stage again and gets bit-identical scores."""
    copy = Path(shutil.copytree(default_run, tmp_path / "copy"))
    summary = run_suite(load_suite("smoke", (*CELL, "device=cpu")), system, copy, quiet=True)
    assert summary.ok and summary.computed == {}
    fresh = tmp_path / "fresh"
    summary = run_suite(load_suite("smoke", (*CELL, "device=cpu")), system, fresh, quiet=True)
    assert summary.ok and not any(summary.reused.values())
    ours, reference = sorted_scores(fresh / STORE_NAME), sorted_scores(default_run / STORE_NAME)
    columns = ["stage_key", "branch", "metric", "region", "sample", "value"]
    pd.testing.assert_frame_equal(ours[columns], reference[columns])
    quality = reference[reference["metric"].isin(["pixel_flipping", "max_sensitivity", "mprt"])]
    assert quality["value"].notna().mean() > 0.9  # the batched metrics really scored
    assert (quality.groupby(["stage_key", "branch", "metric"]).size() == 8).all()


def test_saved_states_are_cpu_tensors_and_unchanged_bytes(tmp_path: Path) -> None:
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "step": 3}
    assert to_cpu(state)["w"].data_ptr() == state["w"].data_ptr()  # no copy on the CPU
    cache = ArtifactCache(tmp_path)
    path, checksum = cache.save_state("finetune", "k", state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    assert (tmp_path / path).read_bytes() == buffer.getvalue()
    loaded = cache.load_state(path, checksum)
    assert loaded["w"].device.type == "cpu" and torch.equal(loaded["w"], state["w"])


@no_gpu
def test_cli_device_cuda_without_gpu_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "smoke", "--device", "cuda", "--out", str(tmp_path), "--quiet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: device 'cuda' requested") and "\n" not in err
    assert not (tmp_path / STORE_NAME).exists()
