"""``xecgbench data check|export|download`` on the real fixtures and on damaged copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from xecgbench.plugins.components import MASK_NAMES
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench_builtin.data.cli import data
from xecgbench_builtin.data.hooks import xecgbench_register_commands


@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


def invoke(system: PluginSystem, *args: str) -> click.testing.Result:
    return CliRunner().invoke(data, list(args), obj=system)


def test_datasets_and_command_are_registered(system: PluginSystem) -> None:
    assert {"cinc2017", "ludb", "qtdb", "cpsc2021"} <= set(system.registry["datasets"].names())
    group = click.Group("xecgbench")
    xecgbench_register_commands(cli=group)
    assert group.commands["data"] is data


def test_check_reports_the_cinc2017_class_counts(system: PluginSystem, shared_data: Path) -> None:
    result = invoke(system, "check", "cinc2017", "--path", str(shared_data / "cinc2017"))
    assert result.exit_code == 0, result.output
    assert "2999 records" in result.output
    assert "classes: N 1478, A 608, O 783, ~ 130" in result.output
    assert "usable: AF 608, non-AF 2261" in result.output
    assert "skipped: 0 records" in result.output


def test_check_lists_skipped_records_with_reasons(system: PluginSystem, shared_data: Path,
                                                  tmp_path: Path) -> None:
    for record in ("A00001", "A00004"):
        for suffix in (".hea", ".mat"):
            shutil.copy(shared_data / "cinc2017" / f"{record}{suffix}", tmp_path)
    (tmp_path / "REFERENCE.csv").write_text("A00001,N\nA00004,A\nA00099,N\n")
    result = invoke(system, "check", "cinc2017", "--path", str(tmp_path))
    assert result.exit_code == 0
    assert "skipped: 1 records" in result.output
    assert "A00099: missing header file" in result.output
    strict = invoke(system, "check", "cinc2017", "--path", str(tmp_path), "--strict", "--json")
    assert strict.exit_code == 1 and '"A00099": "missing header file' in strict.output


def test_export_writes_windows_labels_and_masks(system: PluginSystem, shared_data: Path,
                                                tmp_path: Path) -> None:
    out = tmp_path / "out" / "ludb.npz"
    result = invoke(system, "export", "ludb", "--path", str(shared_data / "ludb"),
                    "--out", str(out), "--limit", "5", "--fs", "250", "--split", "all")
    assert result.exit_code == 0, result.output
    with np.load(out) as arrays:
        assert arrays["signals"].shape == (5, 1, 2500) and float(arrays["fs"]) == 250.0
        assert arrays["labels"].shape == (5,) and len(set(arrays["record_ids"])) == 5
        for name in MASK_NAMES:
            assert arrays[f"mask_{name}"].shape == (5, 1, 2500)
        assert arrays["annotated"].any() and not arrays["annotated"].all()
        assert arrays["skipped_records"].shape == (0,)


def test_export_qtdb_keeps_its_annotated_mask(system: PluginSystem, shared_data: Path,
                                              tmp_path: Path) -> None:
    if not (shared_data / "qtdb").is_dir():
        pytest.skip(f"QT Database fixture not found at {shared_data / 'qtdb'}")
    out = tmp_path / "qtdb.npz"
    result = invoke(system, "export", "qtdb", "--path", str(shared_data / "qtdb"),
                    "--out", str(out), "--limit", "3")
    assert result.exit_code == 0, result.output
    with np.load(out) as arrays:
        assert (arrays["labels"] == 0).all() and arrays["annotated"].shape == arrays[
            "signals"].shape
        assert not (arrays["mask_qrs"] & ~arrays["annotated"]).any()


def test_user_errors_are_one_line(system: PluginSystem, tmp_path: Path) -> None:
    unknown = invoke(system, "check", "mitdb")
    assert unknown.exit_code == 2 and "unknown datasets 'mitdb'; valid names:" in unknown.output
    missing = invoke(system, "check", "ludb", "--path", str(tmp_path / "none"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert "Traceback" not in missing.output
    synthetic = invoke(system, "download", "synthetic")
    assert synthetic.exit_code == 2 and "does not support `data download`" in synthetic.output
