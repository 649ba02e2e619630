"""Provenance of a run: versions, plugins, git commit, config and seeds."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from xecgbench import __version__
from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.config import Suite

PACKAGES = ("torch", "numpy", "zennit", "captum", "quantus", "wfdb", "neurokit2", "pluggy")


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the xecgbench checkout, when it runs from one."""
    folder = path or Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None


def provenance(system: PluginSystem, suite: Suite) -> dict[str, Any]:
    """Everything needed to say what produced a result."""
    return {
        "xecgbench": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "plugins": {row["name"]: row["version"] for row in system.describe()},
        "git_commit": git_commit(),
        "config_hash": suite.config_hash(),
        "seeds": list(suite.seeds),
    }
