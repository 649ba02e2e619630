"""Run a suite and write its leaderboard: the one code path of ``xecgbench run`` and
:func:`xecgbench.api.run_suite` (the command prints the returned :class:`SuiteRun`; Python
keeps it, and its DataFrame, without a subprocess).

It sits above ``report/`` (it writes ``leaderboard.md``) and below the CLI and the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.config import Suite, load_suite
from xecgbench.run.preflight import validate_components

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
    #: The leaderboard's first paragraph: what the data can show and the answer in words.
    answer: str = ""

    @property
    def ok(self) -> bool:
        """True when every stage finished."""
        return self.summary.ok

    @property
    def store(self) -> Path:
        """The results store (``results.sqlite``) the run wrote."""
        return self.summary.store_path

    @cached_property
    def scores(self) -> pd.DataFrame:
        """The run's per-sample scores, read from the store on first use (the command, which
        only prints counts, never pays for them)."""
        from xecgbench.run.store import load_scores

        return load_scores(self.summary.store_path, self.summary.run_id)


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
    system : the plugins to run with (default: every installed one, refused if one is broken).
    runner : ``executor``, ``workers``, ``address``, ``wait``, as ``xecgbench run``'s options.
    """
    extra = [*overrides, *([f"seeds={list(seeds)}"] if seeds is not None else []),
             *([f"device={device}"] if device else [])]
    config = load_suite(str(suite_or_path), extra)
    system = system if system is not None else load_plugins()
    system.check()
    validate_components(config, system)
    # only now: a mistake in the suite (its file, a field, an unknown name) is reported before
    # torch, pandas and the report load
    from xecgbench.report.results_files import write_board
    from xecgbench.run.device import resolve_device
    from xecgbench.run.runner import run_suite as run_grid

    resolve_device(config.device)  # an unavailable GPU is a one-line error before any stage
    out = Path(out)
    summary = run_grid(config, system, out, quiet=quiet, **runner)
    path, board = write_board(summary.store_path, system, out / "leaderboard.md",
                              summary.run_id)
    return SuiteRun(summary, config, path, board.answer)
