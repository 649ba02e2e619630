"""``xecgbench run``: the options of :func:`xecgbench.suite_run.run_suite`, and its summary
printed (the Python API returns the same run instead)."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from pathlib import Path

import click

from xecgbench.cli.context import data_dir_option, plugin_system

#: Sets ``--workers``' default (the test suite runs its many small runs in one process).
WORKERS_ENV = "XECGBENCH_WORKERS"


def default_workers() -> int:
    """``$XECGBENCH_WORKERS``, else the CPU cores this process may run on."""
    named = os.environ.get(WORKERS_ENV, "").strip()
    if named:
        if not named.isdigit() or int(named) < 1:
            raise click.BadParameter(f"${WORKERS_ENV} must be a whole number ≥ 1, got "
                                     f"{named!r}", param_hint="--workers")
        return int(named)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


@click.command("run")
@click.argument("suite", default="quick")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("xecgbench-results"),
    show_default=True,
    help="Results directory.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a suite field, e.g. --set training.epochs=2.",
)
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help=f"Parallel workers (default: ${WORKERS_ENV}, else the CPU cores this process "
                   "may use); the scores are the same for any number.")
@click.option("--address", default=None, help="Ray cluster address (default: start a local one).")
@data_dir_option
@click.option("--quiet", is_flag=True, help="No progress bars (for logs and CI).")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default=None,
    help="Where models, attributions and batched metrics run (default: the suite's, auto).",
)
@click.option("--wait", is_flag=True,
              help="If another run holds --out, wait for it instead of exiting.")
@click.pass_context
def run_command(
    ctx: click.Context,
    suite: str,
    out_dir: Path,
    overrides: tuple[str, ...],
    executor: str,
    workers: int | None,
    address: str | None,
    quiet: bool,
    device: str | None,
    wait: bool,
) -> None:
    """Run SUITE (a built-in name or a .yaml file; default: quick) into --out."""
    from xecgbench.run.interrupts import interrupt_on_sigterm
    from xecgbench.suite_run import run_suite

    with interrupt_on_sigterm():  # a scheduler's or `timeout`'s SIGTERM leaves it resumable
        run = run_suite(suite, out_dir, overrides=overrides, device=device, quiet=quiet,
                        system=plugin_system(ctx, check=False), executor=executor,
                        workers=workers or default_workers(),
                        address=address, wait=wait)
    summary = run.summary
    done = sum(summary.computed.values())
    reused = sum(summary.reused.values())
    click.echo(
        f"run {summary.run_id}: {done} stages computed, {reused} reused, "
        f"{len(summary.failed)} failed, {summary.skipped} skipped in {summary.seconds:.1f} s"
    )
    click.echo(f"results: {summary.store_path}\nleaderboard: {run.leaderboard}")
    if run.answer:
        click.echo("\n" + textwrap.fill(run.answer.replace("**", ""), width=100))
    if not run.ok:
        grouped = Counter((f.component, f.plugin, f.error) for f in summary.failed)
        for (component, plugin, error), count in grouped.items():
            cells = f" in {count} cells" if count > 1 else ""
            click.echo(f"FAILED {component} (plugin {plugin}){cells}: {error}", err=True)
        click.echo(f"details: xecgbench status --store {summary.store_path}", err=True)
        ctx.exit(1)
