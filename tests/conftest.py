"""Shared fixtures: isolated plugin loading and the PhysioNet fixtures in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_third_party_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the bundled plugins unless they install one on purpose."""
    monkeypatch.setenv("XECGBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    # one process per run unless a test asks for more (`--workers`' default is the cores)
    monkeypatch.setenv("XECGBENCH_WORKERS", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real PhysioNet subsets (CinC 2017, LUDB); skips where they are absent."""
    root = Path(os.environ.get("XECGBENCH_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not (root / "cinc2017").is_dir() or not (root / "ludb").is_dir():
        pytest.skip(f"PhysioNet fixtures not found at {root} (set XECGBENCH_TEST_DATA)")
    return root
