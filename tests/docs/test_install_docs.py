"""One install line, the same in the README and the quickstart; documented outputs are ignored."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _install_lines(path: Path) -> list[str]:
    """Lines of fenced bash blocks that create the environment (``python3 -m venv``)."""
    blocks = re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if "-m venv" in line]


def test_readme_and_quickstart_share_one_install_line() -> None:
    readme, quickstart = _install_lines(REPO / "README.md"), _install_lines(
        REPO / "docs" / "quickstart.md")
    assert len(readme) == 1 and readme == quickstart
    pins = dict(re.findall(r"(torch|torchvision)==([\d.]+)", readme[0]))
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    upper = re.search(r'"torch>=[\d.]+,<([\d.]+)"', pyproject).group(1)
    assert tuple(map(int, pins["torch"].split("."))) < tuple(map(int, upper.split(".")))


def test_readme_states_test_time_and_disk_use() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(r"test suite takes\s+\*\*about \d+ minutes?\*\*", text)
    assert re.search(r"\*\*[\d.]+ GB\*\* of disk", text)


@pytest.mark.parametrize("path", ["results/quick/results.sqlite", "runs/smoke/leaderboard.md",
                                  "xecgbench-results/cache/x.pt", "smoke-results/leaderboard.md",
                                  "my-suite.yaml", "windows.npz", "explanation.png"])
def test_documented_output_paths_are_ignored_by_git(path: str) -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run([git, "check-ignore", "-q", path], cwd=REPO, check=False)
    assert ignored.returncode == 0, f"{path} is not ignored by .gitignore"


PAGES = ("README.md", "docs/quickstart.md")


def test_no_page_states_a_test_count_that_goes_stale() -> None:
    for page in PAGES:
        text = (REPO / page).read_text(encoding="utf-8")
        assert not re.search(r"\b\d[\d,]* tests\b", text), page


@pytest.mark.parametrize("page", PAGES)
def test_the_venv_is_activated_before_a_bare_xecgbench(page: str) -> None:
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / page).read_text(encoding="utf-8"),
                        re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines()]
    first_bare = next(i for i, line in enumerate(lines) if line.startswith("xecgbench "))
    assert lines[first_bare - 1].startswith(". .venv/bin/activate"), page


def test_load_scores_is_imported_from_the_public_api_only() -> None:
    for page in (*PAGES, *(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))):
        text = (REPO / page).read_text(encoding="utf-8")
        other_path = r"from xecgbench\.(?!api\b)[\w.]+ import [^\n]*load_scores"
        assert not re.search(other_path, text), page
