"""The layout's promises, checked on the source: no import loops, no SQL outside the store, no
bundled plugin's name in the core, small modules, a public API that keeps importing, and bundled
plugins that use nothing of the core but that API."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import os
import re
import typing
from pathlib import Path

import pytest

import xecgbench.api
from xecgbench.plugins.components import METRIC_CATEGORIES
from xecgbench.plugins.manager import load_plugins

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {
    "xecgbench": REPO / "xecgbench",
    "xecgbench_builtin": REPO / "plugins" / "xecgbench_builtin",
}
MAX_LINES = 350
#: A module past MAX_LINES says why in its docstring, in a sentence starting with this.
LONG_REASON = "Long because"


def _modules() -> dict[str, Path]:
    found = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` outside ``if TYPE_CHECKING:`` blocks (their ``else`` kept)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if (isinstance(node, ast.If)
                and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every in-house module ``module`` imports when it runs, at any depth of the file.

    Imports under ``if TYPE_CHECKING:`` do not count: they never run, so they can make no
    import loop and load nothing; they let a contract name the types it passes (the hook
    specifications name the runner's ``Suite`` and ``RunSummary``), as import-linter's
    ``exclude_type_checking_imports`` does. The bundled plugins' rule below counts them.
    """
    targets = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        targets |= {n for n in names if n in known and n != module}
    return targets


def test_no_import_loops() -> None:
    modules = _modules()
    graph = {m: _imports(m, p, set(modules)) for m, p in modules.items()}
    # a package's __init__ importing its own submodules is not a loop of the design
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    visiting, done, loops = set(), set(), []

    def visit(node: str, trail: list[str]) -> None:
        visiting.add(node)
        for nxt in sorted(graph[node]):
            if nxt in visiting:
                loops.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in done:
                visit(nxt, [*trail, nxt])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert not loops, "import loops:\n" + "\n".join(loops)


def test_no_sql_outside_the_store() -> None:
    offenders = [
        str(path.relative_to(REPO)) for module, path in _modules().items()
        if module != "xecgbench.run.store"
        and any(word in path.read_text(encoding="utf-8")
                for word in ("sqlite3.connect", "SELECT ", "INSERT ", "UPDATE ", "DELETE FROM"))
    ]
    assert offenders == []


def test_the_core_names_no_bundled_component() -> None:
    os.environ.setdefault("XECGBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    system = load_plugins(autoload=False)
    names = {r.name for kind in system.registry.kinds.values() for r in kind}
    names -= set(METRIC_CATEGORIES)  # categories are the contract's vocabulary
    found = []
    for module, path in _modules().items():
        if not module.startswith("xecgbench."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{module}:{node.lineno} {node.value!r}")
    assert found == []


@pytest.mark.parametrize("module", sorted(_modules()))
def test_modules_stay_small(module: str) -> None:
    text = _modules()[module].read_text(encoding="utf-8")
    lines = len(text.splitlines())
    reason = LONG_REASON in (ast.get_docstring(ast.parse(text)) or "")
    assert lines <= MAX_LINES or reason, f"{module}: {lines} lines and no reason in its docstring"


@pytest.mark.filterwarnings("ignore:xecgbench.:DeprecationWarning")  # asserted: test_moved_paths
def test_every_public_name_imports() -> None:
    for name in xecgbench.api.__all__:
        assert getattr(xecgbench.api, name) is not None
    # paths shown to plugin authors before the restructuring keep working
    assert importlib.import_module("xecgbench.store").load_scores is xecgbench.api.load_scores
    checks = importlib.import_module("xecgbench.attribution_checks")
    assert checks.validate_inputs is xecgbench.api.validate_inputs
    from xecgbench import hookimpl

    assert hookimpl is xecgbench.api.hookimpl


def test_the_bundled_plugins_import_only_the_public_api() -> None:
    """``xecgbench_builtin`` imports nothing of ``xecgbench`` but ``xecgbench.api``, type-only
    imports included: a bundled plugin is written as a third-party one must be, so whatever it
    needs of the core (device, training loop, seeding …) is public, documented and kept."""
    inside = []
    for module, path in _modules().items():
        if not module.startswith("xecgbench_builtin"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            inside += [f"{module}:{node.lineno} {name}" for name in names
                       if name.split(".")[0] == "xecgbench" and name != "xecgbench.api"]
    assert inside == [], "import these from xecgbench.api:\n" + "\n".join(inside)


def test_every_hook_is_typed_with_public_names() -> None:
    """A hook's parameters resolve to real types (no ``Any``) among ``xecgbench.api``'s names
    (and click's), so a plugin can annotate its implementation as the spec does."""
    import click

    from xecgbench.plugins import hookspecs

    public = {name: getattr(xecgbench.api, name) for name in xecgbench.api.__all__}
    hooks = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("xecgbench_")]
    assert hooks
    for hook in hooks:
        hints = typing.get_type_hints(hook, globalns={**public, "click": click})
        assert set(hints) == {*inspect.signature(hook).parameters, "return"}, hook.__name__
        assert typing.Any not in hints.values(), hook.__name__


def test_the_api_page_lists_every_public_name() -> None:
    page = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [name for name in xecgbench.api.__all__ if f"`{name}`" not in page]
    assert missing == []


ARCHITECTURE = REPO / "docs" / "architecture.md"
#: In the page's layout tree descriptions start here; a line indented this far or further
#: continues the description above it, any other line names a module or folder.
DESCRIPTION_COLUMN = 32


def _layout_tree() -> set[str]:
    """The paths the layout tree of ``docs/architecture.md`` names, folders ending in ``/``
    (two spaces of indentation a level)."""
    block = ARCHITECTURE.read_text(encoding="utf-8").split("## Layers", 1)[1].split("```")[1]
    named, folders = set(), []
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip() or indent >= DESCRIPTION_COLUMN:
            continue
        assert indent % 2 == 0, f"odd indentation in the layout tree: {line!r}"
        folders, name = folders[:indent // 2], line.split()[0]
        named.add("".join(folders) + name)
        if name.endswith("/"):
            folders.append(name)
    return named


def test_the_architecture_page_names_every_module_and_only_real_paths() -> None:
    """Every module of ``xecgbench/`` has its line in the layout tree (a package's folder
    stands for its ``__init__.py``), and every path the page names exists."""
    named = _layout_tree()
    modules = {path.relative_to(REPO).as_posix().removesuffix("__init__.py")
               for path in (REPO / "xecgbench").rglob("*.py")}
    assert sorted(modules - named) == [], "modules missing from docs/architecture.md"
    text = ARCHITECTURE.read_text(encoding="utf-8")
    mentioned = set(re.findall(r"[\w./-]*/[\w.-]+\.py\b", text)) | named
    roots = (REPO, REPO / "xecgbench", REPO / "plugins")
    gone = sorted(p for p in mentioned if not any((root / p).exists() for root in roots))
    assert gone == [], "docs/architecture.md names paths that do not exist"


#: ``report/`` from the bottom up: a part imports only parts before it (issue 30).
REPORT_LAYERS = ("board", "stats", "board_format", "table_builders", "answer_text", "tables",
                 "built_boards", "examples", "rendering", "results_files", "published",
                 "loaded_board", "submission", "pages")
#: The house from the bottom up; ``scoring`` (``score_model``) uses the report's statistics,
#: ``suite_run`` (run a suite, write its leaderboard) is the command's and the API's one code
#: path, and ``cli`` and ``api`` sit on top of everything.
HOUSE_LAYERS = ("errors", "moved", "suites", "plugins", "run", "report", "scoring", "suite_run",
                "cli", "api")
#: Known upward arrows, each to be removed by a named change, never added to.
UPWARD_ALLOWED: set[tuple[str, str]] = set()


def _part(module: str, prefix: str, layers: tuple[str, ...]) -> int | None:
    if not module.startswith(prefix + "."):
        return None
    head = module[len(prefix) + 1:].split(".")[0]
    return layers.index(head) if head in layers else None


@pytest.mark.parametrize(("prefix", "layers"), [("xecgbench.report", REPORT_LAYERS),
                                                ("xecgbench", HOUSE_LAYERS)])
def test_imports_only_run_downward(prefix: str, layers: tuple[str, ...]) -> None:
    modules = _modules()
    parts = {m: _part(m, prefix, layers) for m in modules}
    unplaced = sorted(m for m in modules if m.startswith(prefix + ".") and parts[m] is None)
    assert unplaced == [], f"modules in no layer of {prefix}: {unplaced}"
    upward = []
    for module, path in modules.items():
        for target in _imports(module, path, set(modules)):
            low, high = parts[module], parts.get(target)
            if (low is not None and high is not None and high > low
                    and (module, target) not in UPWARD_ALLOWED):
                upward.append(f"{module} -> {target}")
    assert upward == [], "imports that run upward:\n" + "\n".join(sorted(upward))


#: Exceptions that never reach the user as such: each is turned into something else first.
INTERNAL_ERRORS = {
    "CorruptArtifactError": "a damaged cache entry is recomputed",
    "AttributionError": "a broken method fails its stage, recorded in the store",
    "SuiteYAMLError": "re-raised as SuiteError with the suite's name",
    "StageTimeLimit": "a stage past its time limit fails, recorded in the store",
}


def test_every_user_error_has_the_one_base() -> None:
    """``main`` catches XecgbenchError once; an exception class that derives from a built-in
    exception directly must say why it never reaches the user."""
    from xecgbench.errors import UserError, XecgbenchError

    assert issubclass(UserError, XecgbenchError)
    builtin = {name for name in dir(builtins) if name.endswith(("Error", "Exception"))}
    loose = []
    for module, path in _modules().items():
        if not module.startswith("xecgbench."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name != "XecgbenchError":
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if (bases & builtin and not bases - builtin
                        and node.name not in INTERNAL_ERRORS):
                    loose.append(f"{module}.{node.name}")
    assert loose == [], f"derive these from XecgbenchError: {loose}"
