"""The documentation site builds with warnings as errors, and its nav covers every page."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _nav_files(nav: list) -> list[str]:
    files = []
    for entry in nav:
        for value in entry.values():
            files += _nav_files(value) if isinstance(value, list) else [value]
    return files


def test_every_page_is_in_the_nav_and_exists() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = _nav_files(config["nav"])
    pages = sorted(p.relative_to(REPO / "docs").as_posix()
                   for p in (REPO / "docs").rglob("*.md"))
    assert sorted(nav) == pages


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("mkdocs not installed (pip install -e '.[dev]')")
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "metrics" / "index.html").is_file()


def test_generated_reference_tables_are_current() -> None:
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.report.pages.reference_docs import stale_pages

    stale = stale_pages(REPO / "docs", load_plugins(autoload=False))
    assert stale == [], "regenerate with `python -m xecgbench.report.pages.reference_docs`"
