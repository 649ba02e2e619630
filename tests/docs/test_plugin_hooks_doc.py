"""docs/plugin-hooks.md documents every field of the objects plugins receive, and cannot drift."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest

from xecgbench.plugins import components
from xecgbench.plugins.registration_checks import METRIC_CATEGORIES, METRIC_REQUIREMENTS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "plugin-hooks.md").read_text()
DOCUMENTED = ("ECGSet", "ExplanationBatch", "MetricInfo", "TrainingBudget", "FineTuneStage")


def _table_after(heading: str) -> list[list[str]]:
    """Rows (cells, header and rule excluded) of the first table after ``heading``."""
    start = DOC.index(heading)
    rows = []
    for line in DOC[start:].splitlines()[1:]:
        if line.startswith("#") and rows:
            break
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def _names(rows: list[list[str]]) -> list[str]:
    return [re.fullmatch(r"`([^`]+)`", row[0]).group(1) for row in rows]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_dataclass_field_is_documented_in_order(name: str) -> None:
    cls = getattr(components, name)
    fields = [f.name for f in dataclasses.fields(cls)]
    assert _names(_table_after(f"### `{name}`")) == fields
    assert f"`from xecgbench.api import {name}`" in DOC


def test_metric_categories_and_requirements_match_the_checks() -> None:
    assert _names(_table_after("Categories:")) == list(METRIC_CATEGORIES)
    assert set(_names(_table_after("`requires`:"))) == set(METRIC_REQUIREMENTS)


def test_every_import_path_named_in_the_doc_exists() -> None:
    paths = set(re.findall(r"`(xecgbench(?:\.\w+)+)`", DOC))
    assert "xecgbench.plugins.components.ExplanationMetric" in paths
    for path in paths:
        module, _, attribute = path.rpartition(".")
        try:
            importlib.import_module(path)
        except ModuleNotFoundError:
            assert hasattr(importlib.import_module(module), attribute), path


def test_every_register_hook_is_documented() -> None:
    from xecgbench.plugins import hookspecs

    hooks = [n for n in dir(hookspecs) if n.startswith("xecgbench_")]
    for hook in hooks:
        assert f"### `{hook}(" in DOC, hook
