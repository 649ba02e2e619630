"""Module paths that earlier docs and templates showed plugin authors, kept importable.

A plugin written against an earlier layout (``from xecgbench.components import MetricInfo``)
must keep loading after a move, or one outdated plugin takes every command down. Each old
path is an alias of the module it moved to (the same module object, so classes compare
equal), and importing it warns once with a :class:`DeprecationWarning` naming the new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

#: old path -> where it lives now.
MOVED: dict[str, str] = {
    "xecgbench.components": "xecgbench.plugins.components",
    "xecgbench.hookspecs": "xecgbench.plugins.hookspecs",
    "xecgbench.registry": "xecgbench.plugins.registry",
    "xecgbench.plugin_manager": "xecgbench.plugins.manager",
    "xecgbench.receptive_field": "xecgbench.plugins.receptive_field",
    "xecgbench.registration_checks": "xecgbench.plugins.registration_checks",
    "xecgbench.attribution_checks": "xecgbench.plugins.attribution_checks",
    "xecgbench.store": "xecgbench.run.store",
    "xecgbench.training": "xecgbench.run.training",
    "xecgbench.device": "xecgbench.run.device",
    "xecgbench.config": "xecgbench.run.config",
    "xecgbench.reporting": "xecgbench.report.results_files",
    "xecgbench.stats": "xecgbench.report.stats",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path of :data:`MOVED` and hands back the module at its new path."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import from {new} (or xecgbench.api) "
                      "instead, the old path will be removed", DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to execute; give back the spec the import system overwrote with the alias's."""
        module.__spec__ = self._specs.pop(module.__spec__.name)


def install() -> None:
    """Put the finder first on ``sys.meta_path``: an old path is always the alias, even where a
    stale file of that name is still on disk (an editable install of an older checkout)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
