"""The typed registry: provenance of every name, a plugin's duplicates refused, another
plugin's kept beside them under a qualified name, unknown and ambiguous names listed."""

from __future__ import annotations

import pytest

from xecgbench.plugins.registry import (
    AmbiguousComponentError,
    DuplicateComponentError,
    Registry,
    UnknownComponentError,
)


def test_bound_registry_records_the_plugin_and_version() -> None:
    registry = Registry()
    registry["attributions"].bound("my-plugin", "1.2").register("mine", object)
    registration = registry["attributions"].registration("mine")
    assert (registration.plugin, registration.plugin_version) == ("my-plugin", "1.2")
    assert registry.by_plugin()["my-plugin"] == [registration]


def test_component_version_attribute_wins_over_plugin_version() -> None:
    class Method:
        version = "7"

    registry = Registry()
    registry["attributions"].bound("p", "1.0").register("m", Method)
    assert registry["attributions"].registration("m").version == "7"


def test_one_plugin_registering_a_name_twice_raises() -> None:
    registry = Registry()
    registry["datasets"].bound("first", "1").register("same", object)
    with pytest.raises(DuplicateComponentError, match=r"'same' registered twice by plugin 'first'"):
        registry["datasets"].bound("first", "1").register("same", int)


def _clash(*third_party: str, bundled: bool = True) -> Registry:
    """``same`` registered by the bundled distribution (if ``bundled``) and by each of
    ``third_party`` (distribution names; their plugins are named ``p-<distribution>``)."""
    registry = Registry()
    if bundled:
        registry["attributions"].bound("builtin", "1", distribution="xecgbench",
                                       bundled=True).register("same", object)
    for dist in third_party:
        registry["attributions"].bound(f"p-{dist}", "2", distribution=dist).register(
            "same", type(dist, (), {}))
    return registry


def test_the_bundled_component_wins_its_bare_name_with_one_warning(
        capsys: pytest.CaptureFixture[str]) -> None:
    attributions = _clash("xecgbench-same")["attributions"]
    assert attributions.get("same") is object
    assert attributions.get("same") is object
    warned = capsys.readouterr().err.splitlines()
    assert warned == ["warning: attributions 'same' is registered by xecgbench (builtin) and "
                      "xecgbench-same (p-xecgbench-same); 'same' means the bundled one, write "
                      "'xecgbench-same:same' for the other"]
    assert attributions.get("xecgbench-same:same").__name__ == "xecgbench-same"
    assert attributions.get("xecgbench:same") is object
    assert capsys.readouterr().err == ""  # a qualified name is never ambiguous: no warning


@pytest.mark.parametrize("qualifier", ["xecgbench-same", "Xecgbench_Same", "p-xecgbench-same"])
def test_a_qualified_name_takes_the_distribution_or_the_plugin(qualifier: str) -> None:
    attributions = _clash("xecgbench-same")["attributions"]
    assert f"{qualifier}:same" in attributions
    assert attributions.registration(f"{qualifier}:same").plugin == "p-xecgbench-same"


def test_between_third_party_components_the_bare_name_is_ambiguous() -> None:
    attributions = _clash("dist-a", "dist-b", bundled=False)["attributions"]
    assert "same" in attributions and len(attributions) == 2
    with pytest.raises(AmbiguousComponentError, match=r"^attributions 'same' is registered by "
                       r"2 plugins; name one: dist-a:same, dist-b:same$"):
        attributions.registration("same")
    assert [attributions.reference(r) for r in attributions] == ["dist-a:same", "dist-b:same"]
    assert attributions.bare_meaning("same") is None


def test_a_qualifier_naming_no_registering_plugin_lists_those_that_do() -> None:
    attributions = _clash("xecgbench-same")["attributions"]
    assert "elsewhere:same" not in attributions
    with pytest.raises(UnknownComponentError, match=r"'same' is registered as "
                       r"xecgbench-same:same, xecgbench:same$"):
        attributions.get("elsewhere:same")


def test_references_are_bare_where_they_reach_the_component() -> None:
    registry = _clash("xecgbench-same")
    registry["attributions"].bound("solo", "1").register("unique", int)
    attributions = registry["attributions"]
    assert [attributions.reference(r) for r in attributions] == [
        "same", "xecgbench-same:same", "unique"]
    assert list(attributions.clashes()) == ["same"]


def test_unknown_name_lists_valid_names() -> None:
    registry = Registry()
    registry["freezing"].bound("p", "1").register("none", object)
    with pytest.raises(UnknownComponentError, match="valid names: none"):
        registry["freezing"].get("nope")


def test_unknown_kind_lists_valid_kinds() -> None:
    with pytest.raises(UnknownComponentError, match="valid kinds"):
        Registry()["widgets"]
