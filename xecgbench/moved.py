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
    "xecgbench.stats": "xecgbench.report.stats.corrections",
    # report/ split by concern (issue 30): every old module path stays an alias
    "xecgbench.report.inference": "xecgbench.report.stats.inference",
    "xecgbench.report.interval_stats": "xecgbench.report.stats.intervals",
    "xecgbench.report.score_statistics": "xecgbench.report.stats.score_statistics",
    "xecgbench.report.primary": "xecgbench.report.stats.primary_tests",
    "xecgbench.report.board_reader": "xecgbench.report.board_format.reader",
    "xecgbench.report.board_scores": "xecgbench.report.board_format.score_parts",
    "xecgbench.report.probability_files": "xecgbench.report.board_format.probability_parts",
    "xecgbench.report.safe_write": "xecgbench.report.board_format.confined_write",
    "xecgbench.report.submission_record": "xecgbench.report.board_format.submission_record",
    "xecgbench.report.alignment": "xecgbench.report.table_builders.alignment",
    "xecgbench.report.detail_tables": "xecgbench.report.table_builders.detail_tables",
    "xecgbench.report.nulls": "xecgbench.report.table_builders.nulls",
    "xecgbench.report.operating_points": "xecgbench.report.table_builders.operating_points",
    "xecgbench.report.identical": "xecgbench.report.table_builders.identical_models",
    "xecgbench.report.failed_cells": "xecgbench.report.table_builders.failed_cells",
    "xecgbench.report.interval_anova_table": "xecgbench.report.table_builders.interval_anova",
    "xecgbench.report.answer": "xecgbench.report.answer_text.primary_answer",
    "xecgbench.report.headline": "xecgbench.report.answer_text.headline",
    "xecgbench.report.method_answer": "xecgbench.report.answer_text.method_answer",
    "xecgbench.report.accuracy_answer": "xecgbench.report.answer_text.accuracy_answer",
    "xecgbench.report.render": "xecgbench.report.rendering.text_formats",
    "xecgbench.report.html": "xecgbench.report.rendering.html",
    "xecgbench.report.figures": "xecgbench.report.rendering.figures",
    "xecgbench.report.site": "xecgbench.report.pages.site",
    "xecgbench.report.site_ranking": "xecgbench.report.pages.site_ranking",
    "xecgbench.report.results_page": "xecgbench.report.pages.results_page",
    "xecgbench.report.model_checks": "xecgbench.report.pages.model_checks",
    "xecgbench.report.reference_docs": "xecgbench.report.pages.reference_docs",
    "xecgbench.report.submit": "xecgbench.report.submission.submit",
    "xecgbench.report.verify": "xecgbench.report.submission.verify_board",
    "xecgbench.report.submission_verify": "xecgbench.report.submission.verify_submission",
    "xecgbench.report.explain": "xecgbench.run.explain",
    # one CLI package (issue 30, item 2)
    "xecgbench.report.cli": "xecgbench.cli.leaderboard",
    "xecgbench.run.show_cli": "xecgbench.cli.show",
    "xecgbench.run.status_cli": "xecgbench.cli.status",
    "xecgbench.run.from_python": "xecgbench.suite_run",
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
        alias = module.__spec__
        assert alias is not None  # the import system set it just before calling this
        module.__spec__ = self._specs.pop(alias.name)


def install() -> None:
    """Put the finder first on ``sys.meta_path``: an old path is always the alias, even where a
    stale file of that name is still on disk (an editable install of an older checkout)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
