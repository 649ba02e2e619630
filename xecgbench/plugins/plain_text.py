"""Docstrings as plain text for the terminal: no Sphinx roles, no reST literals."""

from __future__ import annotations

import re

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``([^`]+)``")
_EMPHASIS = re.compile(r"(?<![\w*])\*{1,2}([^*\s][^*]*?)\*{1,2}(?![\w*])")


def plain(text: str) -> str:
    """``text`` without reST markup: ``:class:`~a.B``` -> ``B``, ````x```` -> ``x``."""

    def role(match: re.Match[str]) -> str:
        target = match.group(1).strip()
        tilde = match.group(0).split("`", 1)[1].startswith("~")
        return target.rsplit(".", 1)[-1] if tilde else target

    text = _ROLE.sub(role, text)
    text = _LITERAL.sub(r"\1", text)
    return _EMPHASIS.sub(r"\1", text)


def summary(doc: str | None) -> str:
    """The first paragraph of a docstring as one plain line."""
    paragraph = (doc or "").strip().split("\n\n", 1)[0]
    return plain(" ".join(line.strip() for line in paragraph.splitlines()))
