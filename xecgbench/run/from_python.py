"""``xecgbench run`` from Python: the same steps as the command, returning the results instead
of printing them (no subprocess, so a notebook or a script keeps the DataFrames)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.config import Suite, load_suite

if TYPE_CHECKING:
    import pandas as pd

    from xecgbench.run.runner import RunSummary


@dataclass(frozen=True)
class SuiteRun:
    """A finished run: what it did, where it wrote, and its per-sample scores.

    ``ok`` is False when a cell failed (``summary.failed`` names each component and plugin);
    the other cells' scores are there all the same, as after ``xecgbench run``.
    """

    summary: RunSummary
    suite: Suite
    leaderboard: Path
    scores: pd.DataFrame

    @property
    def ok(self) -> bool:
        """True when every stage finished."""
        return self.summary.ok

    @property
    def store(self) -> Path:
        """The results store (``results.sqlite``) the run wrote."""
        return self.summary.store_path


def run_suite(
    suite_or_path: str | Path,
    out: str | Path = "xecgbench-results",
    *,
    overrides: Sequence[str] = (),
    seeds: Sequence[int] | None = None,
    device: str | None = None,
    quiet: bool = True,
    system: PluginSystem | None = None,
    **runner: Any,
) -> SuiteRun:
    """Run (or resume) a suite into ``out`` and return its results.

    Parameters
    ----------
    suite_or_path : a built-in suite name (``xecgbench list suites``) or a YAML file.
    overrides : ``key=value`` strings, as ``--set`` (e.g. ``"training.epochs=1"``).
    seeds : replaces the suite's seeds.
    device : ``auto``, ``cpu`` or ``cuda`` (default: the suite's).
    runner : ``executor``, ``workers``, ``address``, ``wait``, as ``xecgbench run``'s options.
    """
    from xecgbench.report.results_files import write_leaderboard
    from xecgbench.run.device import resolve_device
    from xecgbench.run.runner import run_suite as run_locally
    from xecgbench.run.store import load_scores

    extra = [*overrides, *([f"seeds={list(seeds)}"] if seeds is not None else []),
             *([f"device={device}"] if device else [])]
    config = load_suite(str(suite_or_path), extra)
    resolve_device(config.device)
    system = system or load_plugins()
    system.check()
    out = Path(out)
    summary = run_locally(config, system, out, quiet=quiet, **runner)
    board = write_leaderboard(summary.store_path, system, out / "leaderboard.md", summary.run_id)
    return SuiteRun(summary, config, board, load_scores(summary.store_path, summary.run_id))
