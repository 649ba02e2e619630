"""Every hook is documented with its exact signature and exercised by an inline plugin."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xecgbench import hookimpl
from xecgbench.cli import build_cli
from xecgbench.plugins import hookspecs
from xecgbench.plugins.components import MetricInfo
from xecgbench.plugins.manager import load_plugins
from xecgbench.plugins.registry import KINDS
from xecgbench.run.config import load_suite
from xecgbench.run.runner import run_suite

DOCS = Path(__file__).resolve().parents[3] / "docs" / "plugin-hooks.md"
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("xecgbench_"))


def _signature(name: str) -> str:
    function = getattr(hookspecs, name)
    return f"{name}{inspect.signature(function)}".replace("'", "")


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_signature(hook: str) -> None:
    assert _signature(hook) in DOCS.read_text(encoding="utf-8"), f"document {_signature(hook)}"


def test_every_register_kind_has_a_hook() -> None:
    assert {f"xecgbench_register_{kind}" for kind in KINDS} < set(HOOKS)


@pytest.mark.parametrize("kind", KINDS)
def test_xecgbench_register_kind_hooks_register_components(kind: str) -> None:
    """Covers xecgbench_register_{datasets,models,pretraining,freezing,attributions,metrics}."""
    marker: object = object()
    if kind == "metrics":  # metrics must declare a valid MetricInfo to register
        info = MetricInfo(f"inline_{kind}", "1", "complexity", higher_is_better=True)
        marker = type("InlineMetric", (), {"info": info, "evaluate_batch": lambda self, b: b})

    class Plugin:
        pass

    def register(registry):  # type: ignore[no-untyped-def]
        registry.register(f"inline_{kind}", marker)

    setattr(Plugin, f"xecgbench_register_{kind}", staticmethod(hookimpl(register)))
    system = load_plugins(autoload=False, extra=[Plugin()])
    assert system.registry[kind].get(f"inline_{kind}") is marker


def test_xecgbench_register_commands_adds_a_command() -> None:
    class Plugin:
        @hookimpl
        def xecgbench_register_commands(self, cli: click.Group) -> None:
            @cli.command("hello-inline")
            def hello() -> None:
                click.echo("hi from a plugin")

    system = load_plugins(autoload=False, extra=[Plugin()])
    result = CliRunner().invoke(build_cli(system), ["hello-inline"], obj=system)
    assert result.exit_code == 0 and "hi from a plugin" in result.output


def test_xecgbench_run_finished_receives_config_and_results(tmp_path: Path) -> None:
    seen = []

    class Plugin:
        @hookimpl
        def xecgbench_run_finished(self, config, results):  # type: ignore[no-untyped-def]
            seen.append((config, results))

    system = load_plugins(autoload=False, extra=[Plugin()])
    suite = load_suite(
        "smoke",
        ["pretraining=[none]", "freezing=[none]", "attributions=[saliency]", "explain.n_samples=2"],
    )
    summary = run_suite(suite, system, tmp_path, quiet=True)
    assert seen == [(suite, summary)]
    assert summary.ok
