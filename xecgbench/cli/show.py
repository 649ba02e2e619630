"""``xecgbench show suite NAME``: a suite's YAML to copy and start your own from."""

from __future__ import annotations

import click


@click.group("show")
def show() -> None:
    """Print built-in definitions (suites) to copy and edit."""


@show.command("suite")
@click.argument("name")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a field first, as `xecgbench run` does (implies --resolved).")
@click.option("--resolved", is_flag=True,
              help="Print every field after defaults and --set, not the file as written.")
def suite_command(name: str, overrides: tuple[str, ...], resolved: bool) -> None:
    """Print suite NAME (built-in name or .yaml path): the file, or with --resolved every field.

    Save it, edit it and run it: `xecgbench show suite quick > my.yaml`,
    then `xecgbench run my.yaml`.
    """
    import yaml

    from xecgbench.run.config import load_suite, resolve_suite_path

    if not resolved and not overrides:
        click.echo(resolve_suite_path(name).read_text(encoding="utf-8"), nl=False)
        return
    suite = load_suite(name, overrides)
    text = yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False,
                          default_flow_style=None, allow_unicode=True)
    click.echo(f"# {name} resolved" + "".join(f" --set {o}" for o in overrides) + "\n" + text,
               nl=False)
