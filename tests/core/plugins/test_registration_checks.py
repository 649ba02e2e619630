"""Registration refuses what would fail later, naming the plugin; a refusal spares the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from xecgbench import hookimpl
from xecgbench.cli import build_cli
from xecgbench.plugins.components import MetricInfo
from xecgbench.plugins.manager import load_plugins
from xecgbench.plugins.registration_checks import METRIC_CATEGORIES
from xecgbench.plugins.registry import RegistryError


def _metric(**info: Any) -> type:
    fields = {"name": "my_metric", "version": "1", "category": "localisation",
              "higher_is_better": True, "requires": frozenset({"mask"}), **info}

    class Metric:
        info = MetricInfo(**fields)

        def evaluate_batch(self, batch: Any) -> Any:
            return batch.attributions.mean(axis=(1, 2))

    return Metric


class Registers:
    """A plugin registering one component of ``kind``."""

    def __init__(self, kind: str, name: str, component: Any) -> None:
        self.kind, self.name, self.component = kind, name, component

    @hookimpl
    def xecgbench_register_metrics(self, registry):  # type: ignore[no-untyped-def]
        if self.kind == "metrics":
            registry.register(self.name, self.component)

    @hookimpl
    def xecgbench_register_attributions(self, registry):  # type: ignore[no-untyped-def]
        if self.kind == "attributions":
            registry.register(self.name, self.component)


def _load(*plugins: Registers, strict: bool = True) -> Any:
    return load_plugins(autoload=False, extra=plugins, strict=strict)


def test_a_valid_metric_registers() -> None:
    system = _load(Registers("metrics", "my_metric", _metric()))
    assert "my_metric" in system.registry["metrics"]


@pytest.mark.parametrize(
    ("component", "name", "message"),
    [
        (_metric(category="alignment"), "my_metric", "unknown category 'alignment'; valid"),
        (_metric(requires=frozenset({"masks"})), "my_metric", "unknown requires masks"),
        (_metric(higher_is_better="yes"), "my_metric", "higher_is_better must be True or False"),
        (_metric(), "my-metric", "name 'my-metric' is not an identifier"),
        (type("NoInfo", (), {}), "my_metric", "has no class attribute 'info'"),
        (type("Partial", (), {"info": type("I", (), {"name": "x", "version": "1"})}),
         "my_metric", "info lacks category, higher_is_better, requires"),
        (type("NoMethod", (), {"info": MetricInfo("m", "1", "accuracy", True)}), "m",
         "of category 'accuracy' has no evaluate() method"),
    ],
)
def test_bad_metrics_are_refused_naming_the_plugin(component: Any, name: str,
                                                   message: str) -> None:
    with pytest.raises(RegistryError, match=r"^plugin '[^']+': ") as caught:
        _load(Registers("metrics", name, component))
    assert message in str(caught.value)


def test_an_attribution_of_an_unknown_family_is_refused() -> None:
    method = type("Lrp", (), {"family": "lrp"})  # the family an older page listed
    with pytest.raises(RegistryError, match=r"^plugin '[^']+': attribution 'my_lrp': unknown "
                       r"family 'lrp'; valid families: gradient, path, propagation"):
        _load(Registers("attributions", "my_lrp", method))
    assert "my_grad" in _load(Registers("attributions", "my_grad",
                                        type("G", (), {"family": "gradient"}))).registry[
        "attributions"]


def test_every_bundled_metric_uses_a_documented_category() -> None:
    system = load_plugins(autoload=False)
    used = {r.component.info.category for r in system.registry["metrics"]}
    assert used <= set(METRIC_CATEGORIES)


def test_a_refused_registration_leaves_plugins_help_and_version_working() -> None:
    refused_metric = Registers("metrics", "my_metric", _metric(category="alignment"))
    with pytest.raises(RegistryError, match="unknown category"):
        _load(refused_metric)
    system = _load(refused_metric, strict=False)
    culprit = next(iter(system.problems))
    assert "unknown category 'alignment'" in system.problems[culprit]
    assert "my_metric" not in system.registry["metrics"]
    cli = build_cli(system)
    runner = CliRunner()

    listing = runner.invoke(cli, ["plugins"], obj=system)
    assert listing.exit_code == 0, listing.output
    assert f"{culprit} 0.1.0  [BROKEN]" in listing.output
    assert "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD=1" in listing.output
    rows = {r["name"]: r for r in json.loads(runner.invoke(cli, ["plugins", "--json"],
                                                           obj=system).output)}
    assert "unknown category" in rows[culprit]["problem"]
    assert "problem" not in rows["builtin-metrics"]
    for args in (["--help"], ["--version"], ["run", "--help"]):
        assert runner.invoke(cli, args, obj=system).exit_code == 0, args

    refused = runner.invoke(cli, ["run", "smoke", "--out", "unused"], obj=system)
    assert isinstance(refused.exception, RegistryError)
    assert "unknown category" in str(refused.exception)
    assert "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD=1" in str(refused.exception)


def test_unknown_component_names_get_a_suggestion() -> None:
    system = load_plugins(autoload=False)
    with pytest.raises(RegistryError, match=r"valid names: .* \(did you mean 'saliency'\?\)"):
        system.registry["attributions"].registration("salincy")
