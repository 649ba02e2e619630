"""Reference tables in the docs that are generated from the registry, never typed.

``python -m xecgbench.report.pages.reference_docs`` rewrites every generated block in ``docs/``; a
test fails when a committed page differs from what the installed plugins declare.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from xecgbench.plugins.components import ATTRIBUTION_FAMILIES
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.report.pages.mask_docs import mask_error_section

BEGIN = "<!-- BEGIN generated: {name} (python -m xecgbench.report.pages.reference_docs) -->"
END = "<!-- END generated: {name} -->"


def _first_line(obj: object) -> str:
    doc = (obj.__doc__ or "").strip()
    line = re.sub(r"``?([^`]+)``?", r"`\1`", doc.splitlines()[0]) if doc else ""
    return line.replace("|", "\\|")  # a pipe would end the Markdown cell


def metric_table(system: PluginSystem) -> str:
    """Every registered metric: category, our direction, needs, cost and sanity check."""
    lines = [
        "| name | category | higher is better | requires | costly | sanity check | what it is |",
        "|---|---|---|---|---|---|---|",
    ]
    for registration in system.registry["metrics"]:
        metric = registration.component
        info = metric.info
        costly = getattr(metric, "costly", None)
        sanity = f"FAIL above {info.sanity.fail_above:g}" if info.sanity else "–"
        lines.append(
            f"| `{info.name}` | {info.category} | {'yes' if info.higher_is_better else '**no**'} "
            f"| {', '.join(sorted(info.requires)) or '–'} "
            f"| {'–' if costly is None else ('yes' if costly else 'no')} | {sanity} "
            f"| {_first_line(metric)} |"
        )
    return "\n".join(lines)


def family_table(system: PluginSystem) -> str:
    """The attribution families registration accepts (the methods of each: attributions.md)."""
    lines = ["| family | what it computes |", "|---|---|"]
    lines += [f"| `{family}` | {text} |" for family, text in ATTRIBUTION_FAMILIES.items()]
    return "\n".join(lines)


def power_table(system: PluginSystem) -> str:
    """What each built-in suite's primary tests can detect at its committed number of seeds."""
    from xecgbench.report.stats.primary_tests import minimum_detectable_effect
    from xecgbench.run.config import builtin_suites, load_suite

    lines = ["| suite | primary test | seeds | alpha | 80 % power at (between-seed SDs) |",
             "|---|---|---|---|---|"]
    for name in sorted(builtin_suites()):
        suite = load_suite(name)
        for test in suite.primary_tests:
            mde = minimum_detectable_effect(len(suite.seeds), test.alpha)
            shown = f"{mde:.2f}" if mde < float("inf") else "not testable (1 seed)"
            lines.append(f"| `{name}` | {test.name} | {len(suite.seeds)} | {test.alpha:g} "
                         f"| {shown} |")
    return "\n".join(lines)


#: Generated block name -> (page under docs/, generator).
GENERATED: dict[str, tuple[str, Callable[[PluginSystem], str]]] = {
    "metric directions": ("metrics.md", metric_table),
    "attribution families": ("plugin-hooks.md", family_table),
    "primary test power": ("concepts.md", power_table),
    "mask error": ("metrics.md", mask_error_section),
}


def render_page(text: str, name: str, body: str) -> str:
    """``text`` with the block called ``name`` replaced by ``body``."""
    begin, end = BEGIN.format(name=name), END.format(name=name)
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"no generated block {name!r} in the page (add {begin} … {end})")
    return pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text)


def stale_pages(docs: Path, system: PluginSystem) -> list[str]:
    """Pages whose generated blocks differ from a fresh generation."""
    stale = []
    for name, (page, generate) in GENERATED.items():
        text = (docs / page).read_text(encoding="utf-8")
        if render_page(text, name, generate(system)) != text:
            stale.append(f"{page} ({name})")
    return stale


def write_pages(docs: Path, system: PluginSystem) -> None:
    """Regenerate every block in place."""
    for name, (page, generate) in GENERATED.items():
        path = docs / page
        path.write_text(render_page(path.read_text(encoding="utf-8"), name, generate(system)),
                        encoding="utf-8")


if __name__ == "__main__":
    write_pages(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"), load_plugins(autoload=False))
