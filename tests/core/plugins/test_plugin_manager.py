"""Plugin loading: bundled defaults, inline plugins, autoload switch, misspelt hooks."""

from __future__ import annotations

import pluggy
import pytest

from xecgbench import hookimpl
from xecgbench.plugins.manager import DEFAULT_PLUGINS, load_plugins
from xecgbench.plugins.registry import KINDS, DuplicateComponentError


class InlineAttribution:
    """A plugin defined inside a test."""

    @hookimpl
    def xecgbench_register_attributions(self, registry):  # type: ignore[no-untyped-def]
        registry.register("inline_method", object)


def test_bundled_plugins_fill_every_kind() -> None:
    system = load_plugins(autoload=False)
    for kind in KINDS:
        assert len(system.registry[kind]) > 0, kind
    names = {name for name, _ in system.pm.list_name_plugin()}
    assert {name for name, _ in DEFAULT_PLUGINS} <= names


def test_inline_plugin_registers_with_its_name() -> None:
    system = load_plugins(autoload=False, extra=[InlineAttribution()])
    registration = system.registry["attributions"].registration("inline_method")
    assert registration.plugin.startswith("InlineAttribution") or registration.plugin
    assert system.registry["attributions"].get("inline_method") is object


def test_a_bundled_name_registered_again_keeps_both() -> None:
    class Clash:
        @hookimpl
        def xecgbench_register_attributions(self, registry):  # type: ignore[no-untyped-def]
            registry.register("dtd", object)

    system = load_plugins(autoload=False, extra=[Clash()])
    attributions = system.registry["attributions"]
    assert attributions.registration("dtd").plugin == "builtin-attributions"
    assert attributions.registration("xecgbench:dtd").bundled
    (clash,) = system.clashes("builtin-attributions")
    other = clash["also"][0]
    assert attributions.get(other) is object
    assert clash == {"kind": "attributions", "name": "dtd", "qualified_name": "xecgbench:dtd",
                     "also": [other], "bare_name_means": "xecgbench:dtd"}
    assert not system.problems


def test_a_plugin_registering_a_name_twice_raises() -> None:
    class Twice:
        @hookimpl
        def xecgbench_register_attributions(self, registry):  # type: ignore[no-untyped-def]
            registry.register("mine", object)
            registry.register("mine", int)

    with pytest.raises(DuplicateComponentError, match="'mine' registered twice by plugin"):
        load_plugins(autoload=False, extra=[Twice()])


def test_misspelt_hook_is_caught_by_check_pending() -> None:
    class Misspelt:
        @hookimpl
        def xecgbench_register_atributions(self, registry):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(pluggy.PluginValidationError):
        load_plugins(autoload=False, extra=[Misspelt()])


def test_env_var_turns_entry_point_autoload_off(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        "xecgbench.plugins.manager._load_entry_points",
        lambda pm: calls.append("xecgbench") or {},
    )
    monkeypatch.setenv("XECGBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    load_plugins()
    assert calls == []
    monkeypatch.setenv("XECGBENCH_DISABLE_PLUGIN_AUTOLOAD", "0")
    load_plugins()
    assert calls == ["xecgbench"]


def test_describe_lists_hooks_and_registrations() -> None:
    rows = {row["name"]: row for row in load_plugins(autoload=False).describe()}
    attributions = rows["builtin-attributions"]
    assert "xecgbench_register_attributions" in attributions["hooks"]
    assert "dtd" in attributions["registered"]["attributions"]
