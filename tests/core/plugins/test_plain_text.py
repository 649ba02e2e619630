"""``xecgbench list`` shows plain text: no Sphinx roles or reST literals."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from xecgbench.cli import build_cli
from xecgbench.plugins.manager import load_plugins
from xecgbench.plugins.plain_text import plain, summary
from xecgbench.plugins.registry import KINDS


def test_plain_strips_roles_and_literals() -> None:
    assert plain("Builds :class:`~pkg.mod.XECGArch` via :func:`pkg.build`.") == (
        "Builds XECGArch via pkg.build.")
    assert plain("``info.category == \"accuracy\"`` and *emphasis*") == (
        "info.category == \"accuracy\" and emphasis")
    assert plain(":class:`the model <pkg.Model>`") == "the model"
    assert summary("First line\ncontinues.\n\nSecond paragraph.") == "First line continues."


@pytest.mark.parametrize("kind", KINDS)
def test_list_descriptions_are_plain_text(kind: str) -> None:
    system = load_plugins(autoload=False)
    result = CliRunner().invoke(build_cli(system), ["list", kind, "--json"], obj=system)
    assert result.exit_code == 0, result.output
    for row in json.loads(result.output):
        assert row["summary"], row["name"]
        assert not re.search(r":[a-z]+:`|``", row["summary"]), row
