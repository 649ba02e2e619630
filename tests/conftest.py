"""Shared fixtures: isolated plugin loading, the PhysioNet fixtures in ../shared/data, and what
is expensive to make and read-only once made (committed boards, a finished smoke run), made
once per test session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LEADERBOARDS = REPO_ROOT / "leaderboards"


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


class CommittedBoards:
    """The committed boards under ``leaderboards/``, each validated and built at most once per
    session (a paper board takes about a minute to validate and build on 2 cores). Read only:
    callers that change a board's results copy them first (``dataclasses.replace``)."""

    def __init__(self) -> None:
        self._loaded: dict[Path, tuple[object, object]] = {}

    def __call__(self, directory: Path | str):  # type: ignore[no-untyped-def]
        """``load_built(directory)`` (results, tables), from the first call's read."""
        from xecgbench.report.results_files import load_built

        path = (LEADERBOARDS / directory).resolve()
        if path not in self._loaded:
            self._loaded[path] = load_built(path)
        return self._loaded[path]


@pytest.fixture(scope="session")
def committed_boards() -> CommittedBoards:
    return CommittedBoards()


@dataclass(frozen=True)
class SmokeRun:
    """A finished, uninterrupted run of the built-in ``smoke`` suite (defaults, in-process)."""

    out: Path
    computed: int

    @property
    def store(self) -> Path:
        from xecgbench.run.layout import STORE_NAME

        return self.out / STORE_NAME


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """The smoke suite run once per session. Read only: copy ``out`` before changing it."""
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.config import load_suite
    from xecgbench.run.runner import run_suite

    out = tmp_path_factory.mktemp("smoke-run")
    summary = run_suite(load_suite("smoke"), load_plugins(autoload=False), out, quiet=True)
    assert summary.ok, summary
    return SmokeRun(out, summary.computed)
