"""Where real-data loaders look for their datasets: one root for the whole process.

``--data-dir`` sets it with :func:`set_data_root` (restored when the command ends) and the
runner hands it to every pool or Ray worker beside the suite, so nothing writes ``os.environ``.
A user's own ``$XECGBENCH_DATA`` is the fallback, then ``./data``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable users may set themselves (``--data-dir`` wins over it).
DATA_ENV = "XECGBENCH_DATA"

_explicit: Path | None = None


def set_data_root(root: Path | None) -> Path | None:
    """Make ``root`` (None: back to ``$XECGBENCH_DATA``) the data root; returns the previous
    explicit root, so a caller can put it back."""
    global _explicit
    previous, _explicit = _explicit, (Path(root) if root is not None else None)
    return previous


def explicit_data_root() -> Path | None:
    """The root set by :func:`set_data_root`, if any (what workers are handed)."""
    return _explicit


def data_root() -> Path:
    """``--data-dir``, else ``$XECGBENCH_DATA``, else ``./data`` (relative, as given)."""
    if _explicit is not None:
        return _explicit
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path("data")
