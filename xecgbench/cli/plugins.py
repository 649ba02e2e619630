"""``xecgbench plugins`` and ``xecgbench list``: what is installed, and what each registered."""

from __future__ import annotations

import json
from typing import Any

import click

from xecgbench.cli.context import plugin_system
from xecgbench.plugins.plain_text import summary
from xecgbench.plugins.registry import KINDS, KindRegistry, Registration


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List plugins, their versions, hooks and what each registered."""
    rows = plugin_system(ctx, check=False).describe()
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
    row: dict[str, Any] = {
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


@click.command("list")
@click.argument("kind", type=click.Choice([*KINDS, "suites"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_command(ctx: click.Context, kind: str, as_json: bool) -> None:
    """List registered components of KIND (or the built-in suites)."""
    from xecgbench.run.config import builtin_suites, load_suite

    if kind == "suites":
        rows = [
            {"name": name, "path": str(path), "description": load_suite(name).description}
            for name, path in sorted(builtin_suites().items())
        ]
    else:
        registry = plugin_system(ctx).registry[kind]
        rows = [_describe_component(r, registry) for r in registry]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        extra = row.get("summary") or row.get("description", "")
        click.echo(f"{row['name']:<28} {extra}")
