"""The module paths that earlier docs and templates showed plugin authors keep importing, each
with its one DeprecationWarning naming the new path (``xecgbench/moved.py``); the repository's
own code and docs import none of them."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

from xecgbench.moved import MOVED

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_earlier_import_path_works_and_warns(old: str) -> None:
    new = importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=re.escape(f"{old} moved to {MOVED[old]};")
                      ) as caught:
        module = importlib.import_module(old)
    assert module is new
    assert module.__spec__ is not None and module.__spec__.name == MOVED[old]
    assert len([w for w in caught if issubclass(w.category, DeprecationWarning)]) == 1


def test_the_old_contract_names_import() -> None:
    with pytest.warns(DeprecationWarning, match="xecgbench.plugins.components"):
        sys.modules.pop("xecgbench.components", None)
        from xecgbench.components import ECGSet, FineTuneStage, MetricInfo, TrainingBudget
    from xecgbench import api

    assert (ECGSet, MetricInfo) == (api.ECGSet, api.MetricInfo)
    assert FineTuneStage and TrainingBudget


def _imported(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_repositorys_own_code_and_examples_import_no_moved_path() -> None:
    """Only outside code may meet the warning: the package, the bundled plugins, the templates,
    the benchmarks and the docs' Python blocks use the new paths."""
    sources = {p: p.read_text(encoding="utf-8") for folder in
               ("xecgbench", "plugins", "templates", "benchmarks")
               for p in sorted((REPO / folder).rglob("*.py"))}
    for page in sorted((REPO / "docs").rglob("*.md")):
        for number, block in enumerate(re.findall(r"```python\n(.*?)```",
                                                  page.read_text(encoding="utf-8"), re.S)):
            sources[Path(f"{page}#{number}")] = block
    assert len(sources) > 100
    found = {str(path.relative_to(REPO)): sorted(_imported(text) & set(MOVED))
             for path, text in sources.items()}
    assert {path: names for path, names in found.items() if names} == {}
