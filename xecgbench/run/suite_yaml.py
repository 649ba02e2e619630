"""Reading a suite's YAML as untrusted input: bounded before anything is built from it.

A suite file or a ``--set`` value is text a user (or a submitted ``run.json``'s author) chose.
PyYAML reads it faithfully, which is the problem: an alias bomb ("billion laughs", 9^10
leaves from a few hundred bytes) is a small node graph that every later copy expands; a
20,000-deep list exhausts the recursion limit with thousands of traceback lines; a duplicated
key keeps its later value without a word (``training: {epochs: 0}`` below the real one trains
nothing); a FIFO or ``/dev/zero`` never ends. Each of these is refused here in one line naming
the file (and line), before any value is constructed.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

#: Largest suite file read (built-in suites are under 5 KB).
MAX_BYTES = 1_000_000
#: Most nodes the document may have once every alias is expanded.
MAX_NODES = 100_000
#: Deepest nesting of mappings and lists (built-in suites nest 4 deep).
MAX_DEPTH = 64


class SuiteYAMLError(ValueError):
    """The text is not a suite this loader will build; the message is one line with its place."""


def read_suite_text(path: Path) -> str:
    """The file's text: a regular file of at most :data:`MAX_BYTES`, in UTF-8."""
    try:
        info = path.stat()
    except OSError as exc:
        raise SuiteYAMLError(f"suite file {path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SuiteYAMLError(f"suite file {path} is not a regular file")
    if info.st_size > MAX_BYTES:
        raise SuiteYAMLError(f"suite file {path} has {info.st_size:,} bytes; the limit is "
                             f"{MAX_BYTES:,}")
    data = path.read_bytes()[: MAX_BYTES + 1]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteYAMLError(f"suite file {path}: byte {exc.start} is not UTF-8 (save the file "
                             "as UTF-8)") from None


def _check(root: yaml.Node, where: str) -> None:
    """Refuse duplicate keys, nesting past :data:`MAX_DEPTH` and more than :data:`MAX_NODES`
    expanded nodes; iterative, with the expanded size of each shared (aliased) node memoised."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if depth > MAX_DEPTH:
            raise SuiteYAMLError(f"{where}:{node.start_mark.line + 1}: nested more than "
                                 f"{MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not children_done:
            if id(node) in sizes:
                continue
            if isinstance(node, yaml.MappingNode):
                seen: set[Any] = set()
                for key, _ in node.value:
                    if isinstance(key, yaml.ScalarNode):
                        if key.value in seen:
                            raise SuiteYAMLError(f"{where}:{key.start_mark.line + 1}: key "
                                                 f"{key.value!r} is given twice")
                        seen.add(key.value)
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in children
                         if id(child) not in sizes)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(child), 1) for child in children)
        if sizes[id(node)] > MAX_NODES:
            raise SuiteYAMLError(f"{where}:{node.start_mark.line + 1}: expands to more than "
                                 f"{MAX_NODES:,} values (aliases repeated inside aliases?)")


def compose_checked(text: str, where: str) -> yaml.Node | None:
    """The document's node graph, checked; ``None`` for an empty document."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise SuiteYAMLError(f"{where}: nested too deeply to read (limit {MAX_DEPTH} levels)"
                             ) from None
    if root is not None:
        _check(root, where)
    return root


def construct(root: yaml.Node | None) -> Any:
    """The Python value of a checked node graph (safe tags only)."""
    if root is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(root)
    finally:
        loader.dispose()


def safe_load_bounded(text: str, where: str) -> Any:
    """:func:`yaml.safe_load` with the bounds of this module."""
    return construct(compose_checked(text, where))
