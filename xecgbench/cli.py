"""The ``xecgbench`` command line."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import click

from xecgbench import __version__
from xecgbench.errors import PREFIX, XecgbenchError, show_click_error
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.plugins.plain_text import summary
from xecgbench.plugins.registry import KINDS, KindRegistry, Registration
from xecgbench.report.cli import leaderboard
from xecgbench.run.config import builtin_suites, load_suite
from xecgbench.run.device import resolve_device
from xecgbench.run.faults import DEBUG_ENV, debugging, from_os_error
from xecgbench.run.show_cli import show
from xecgbench.run.status_cli import status_command


def _system(ctx: click.Context, *, check: bool = True) -> PluginSystem:
    """The loaded plugins; ``check`` refuses to go on past a plugin's registration problem."""
    system = ctx.find_root().obj
    assert isinstance(system, PluginSystem)
    if check:
        system.check()
    return system


def _set_data_root(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """``--data-dir`` sets the root every real-data loader resolves its default path under."""
    if value is not None:
        os.environ["XECGBENCH_DATA"] = str(value.resolve())


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_set_data_root,
    expose_value=False,
    is_eager=True,
    help="Root of local PhysioNet data (sets XECGBENCH_DATA).",
)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ[DEBUG_ENV] = "1"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xecgbench")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
              help=f"Show tracebacks of errors (also {DEBUG_ENV}=1).")
def cli() -> None:
    """Benchmark whether transfer learning makes ECG explanations clinically meaningful."""


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List plugins, their versions, hooks and what each registered."""
    rows = _system(ctx, check=False).describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        marker = "  [BROKEN]" if "problem" in row else ""
        click.echo(f"{row['name']} {row['version']}{marker}")
        click.echo(f"  hooks: {', '.join(row['hooks'])}")
        for kind, names in row["registered"].items():
            click.echo(f"  {kind}: {', '.join(names)}")
        for clash in row.get("clashes", ()):
            click.echo(f"  clash: {_clash_line(clash)}")
        if "problem" in row:
            click.echo(f"  problem: {row['problem']}\n  fix: {row['remedy']}")


def _clash_line(clash: dict[str, Any]) -> str:
    """``attributions 'smoothgrad' also registered by …; bare 'smoothgrad' means …``."""
    name = clash["name"]
    meaning = clash["bare_name_means"]
    means = (f"bare {name!r} means {meaning}" if meaning
             else f"bare {name!r} is ambiguous, name one")
    return (f"{clash['kind']} {name!r} also registered as {', '.join(clash['also'])}; "
            f"this one is {clash['qualified_name']}, {means}")


def _describe_component(registration: Registration, registry: KindRegistry) -> dict[str, Any]:
    component = registration.component
    row = {
        "name": registry.reference(registration),
        "qualified_name": registration.qualified_name,
        "plugin": registration.plugin,
        "version": registration.version,
    }
    info = getattr(component, "info", None)
    if info is not None:
        row.update(
            category=info.category,
            higher_is_better=info.higher_is_better,
            requires=sorted(info.requires),
        )
    for attribute in ("family", "needs_baseline", "relative_cost", "mask_informed", "branches"):
        if hasattr(component, attribute):
            value = getattr(component, attribute)
            row[attribute] = list(value) if isinstance(value, tuple) else value
    row["summary"] = summary(component.__doc__)
    return row


@cli.command("list")
@click.argument("kind", type=click.Choice([*KINDS, "suites"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_command(ctx: click.Context, kind: str, as_json: bool) -> None:
    """List registered components of KIND (or the built-in suites)."""
    if kind == "suites":
        rows = [
            {"name": name, "path": str(path), "description": load_suite(name).description}
            for name, path in sorted(builtin_suites().items())
        ]
    else:
        registry = _system(ctx).registry[kind]
        rows = [_describe_component(r, registry) for r in registry]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        extra = row.get("summary") or row.get("description", "")
        click.echo(f"{row['name']:<28} {extra}")


@cli.command("run")
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
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Parallel workers.")
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
    workers: int,
    address: str | None,
    quiet: bool,
    device: str | None,
    wait: bool,
) -> None:
    """Run SUITE (a built-in name or a .yaml file; default: quick) into --out."""
    from xecgbench.report.results_files import write_leaderboard
    from xecgbench.run.runner import run_suite

    config = load_suite(suite, (*overrides, *([f"device={device}"] if device else [])))
    resolve_device(config.device)  # an unavailable GPU is a one-line error before any stage
    system = _system(ctx)
    summary = run_suite(
        config, system, out_dir, executor=executor, workers=workers, address=address, quiet=quiet,
        wait=wait,
    )
    board_path = write_leaderboard(
        summary.store_path, system, out_dir / "leaderboard.md", summary.run_id
    )
    done = sum(summary.computed.values())
    reused = sum(summary.reused.values())
    click.echo(
        f"run {summary.run_id}: {done} stages computed, {reused} reused, "
        f"{len(summary.failed)} failed, {summary.skipped} skipped in {summary.seconds:.1f} s"
    )
    click.echo(f"results: {summary.store_path}\nleaderboard: {board_path}")
    if not summary.ok:
        grouped = Counter((f.component, f.plugin, f.error) for f in summary.failed)
        for (component, plugin, error), count in grouped.items():
            cells = f" in {count} cells" if count > 1 else ""
            click.echo(f"FAILED {component} (plugin {plugin}){cells}: {error}", err=True)
        click.echo(f"details: xecgbench status --store {summary.store_path}", err=True)
        ctx.exit(1)


@cli.command("explain")
@click.option("--dataset", required=True, help="Dataset name, e.g. synthetic or cinc2017.")
@click.option(
    "--record", required=True, help="Record or window id, e.g. A00004 or synthetic-test-000003."
)
@click.option("--method", required=True, help="Attribution method, e.g. dtd.")
@click.option(
    "--branch",
    type=click.Choice(["morphology", "rhythm", "ensemble"]),
    default="morphology",
    show_default=True,
)
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("xecgbench-results"),
    show_default=True,
    help="Output directory of a finished `xecgbench run` (its fine-tuned models are used).",
)
@click.option(
    "--pretraining", default=None, help="Which cell's model (default: the suite's first)."
)
@click.option("--freezing", default=None, help="Which cell's model (default: the suite's first).")
@click.option("--seed", type=int, default=None, help="Which seed's model (default: the first).")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("explanation.png"),
    show_default=True,
)
@click.pass_context
def explain_command(
    ctx: click.Context,
    dataset: str,
    record: str,
    method: str,
    branch: str,
    results_dir: Path,
    pretraining: str | None,
    freezing: str | None,
    seed: int | None,
    out: Path,
) -> None:
    """Plot the relevance of one record over its ECG, with P/QRS/T shading."""
    from xecgbench.report.rendering.figures import save_relevance_figure
    from xecgbench.run.explain import explain_record

    system = _system(ctx)
    system.registry["attributions"].registration(method)
    result = explain_record(
        results_dir,
        system,
        dataset=dataset,
        record=record,
        method=method,
        branch=branch,
        pretraining=pretraining,
        freezing=freezing,
        seed=seed,
    )
    save_relevance_figure(
        out, result.signal, result.relevance, result.masks, result.fs, result.title
    )
    click.echo(f"wrote {out}")


cli.add_command(leaderboard)
cli.add_command(show)
cli.add_command(status_command)


def build_cli(system: PluginSystem) -> click.Group:
    """The command group with every plugin's commands added."""
    system.pm.hook.xecgbench_register_commands(cli=cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one line and exit 2, never a traceback."""
    try:
        system = load_plugins(strict=False)  # a broken plugin must not take `plugins` down
        group = build_cli(system)
        # Without standalone mode click returns ctx.exit's code instead of exiting with it.
        code = group.main(args=argv, prog_name="xecgbench", obj=system, standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except XecgbenchError as exc:  # every user error, UserError included: one "error:" line
        _fail(str(exc), exc.exit_code)
    except click.ClickException as exc:  # click's own usage errors, with the same prefix
        show_click_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted; finished stages are kept, run again to resume", err=True)
        sys.exit(130)
    except OSError as exc:  # an unwritable or full disk anywhere else: still one line
        _fail(str(from_os_error(exc)))


def _fail(message: str, code: int = 2) -> None:
    """Print a user error as one line (after its traceback under --debug) and exit ``code``."""
    if debugging():
        traceback.print_exc()
    click.echo(PREFIX + message, err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
