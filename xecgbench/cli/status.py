"""``xecgbench status``: a run's state (dead runs detected and recorded) and its failed cells."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import click

from xecgbench.errors import UserError
from xecgbench.run.faults import StorageError


@click.command("status")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="A results.sqlite file.",
)
@click.option("--run", "run_id", default=None, help="Run id (default: the latest).")
@click.option("--traceback", "show_traceback", is_flag=True,
              help="Print each failed stage's stored traceback.")
def status_command(store_path: Path, run_id: str | None, show_traceback: bool) -> None:
    """Show a run's status and list its failed cells (--traceback: with their tracebacks)."""
    from xecgbench.run.liveness import describe_dead, run_state
    from xecgbench.run.store import ResultsStore

    with ResultsStore(store_path, read_only=True) as store:
        runs = store.runs()
        if not runs:
            raise UserError(f"{store_path} holds no runs")
        run = next((r for r in runs if r["run_id"] == (run_id or store.latest_run_id())), None)
        if run is None:
            raise UserError(
                f"no run {run_id!r} in {store_path}; runs: {', '.join(r['run_id'] for r in runs)}"
            )
        failures = store.failures(run["run_id"], with_traceback=show_traceback)
        seen = store.last_seen(run["run_id"])
        state = run_state(run, seen)
    if state == "dead" and run["status"] == "running":
        # recorded where the store is writable; a read-only one is still reported
        with contextlib.suppress(StorageError), ResultsStore(store_path) as writer:
            writer.mark_dead(run["run_id"], seen or run["started"])
    shown = describe_dead(run, seen) if state == "dead" else state
    click.echo(f"run {run['run_id']} ({run['suite']}): {shown}, {len(failures)} failed stages")
    for failure in failures:
        cell = " ".join(f"{k}={v}" for k, v in failure["labels"].items() if v is not None)
        click.echo(
            f"  {failure['stage']:<9} {failure['component']} (plugin {failure['plugin']}) "
            f"[{cell}]: {failure['error']}"
        )
        if show_traceback:
            stored = (failure.get("traceback") or "").rstrip()
            click.echo(textwrap.indent(stored or "(no traceback stored)", "    "))
