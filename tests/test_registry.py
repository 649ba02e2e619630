"""The typed registry: provenance of every name, duplicates refused, unknown names listed."""

from __future__ import annotations

import pytest

from xecgbench.plugins.registry import DuplicateComponentError, Registry, UnknownComponentError


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


def test_duplicate_names_raise_naming_both_plugins() -> None:
    registry = Registry()
    registry["datasets"].bound("first", "1").register("same", object)
    with pytest.raises(DuplicateComponentError, match=r"'first'.*'second'"):
        registry["datasets"].bound("second", "1").register("same", object)


def test_unknown_name_lists_valid_names() -> None:
    registry = Registry()
    registry["freezing"].bound("p", "1").register("none", object)
    with pytest.raises(UnknownComponentError, match="valid names: none"):
        registry["freezing"].get("nope")


def test_unknown_kind_lists_valid_kinds() -> None:
    with pytest.raises(UnknownComponentError, match="valid kinds"):
        Registry()["widgets"]
