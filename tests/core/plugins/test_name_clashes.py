"""A third-party component with a bundled component's name (issue 31, item 2): both stay
reachable by qualified name, the bare name means the bundled one, and only a run that asks for
an ambiguous name is refused. Each plugin is a real distribution, pip-installed into a
temporary folder that the subprocesses put on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runs import micro_suite, one_line_error

from xecgbench.run.layout import RunLayout
from xecgbench.run.store import ResultsStore

REPO = Path(__file__).resolve().parents[3]
PLUGIN = '''from xecgbench import hookimpl


class AbsoluteGradient:
    """|d logit / d x|: a gradient method with one pass, for the clash tests."""

    version = "1.0"
    family = "gradient"
    needs_baseline = False
    relative_cost = 1.0

    def __init__(self, model):
        self.model = model

    def __call__(self, x, target):
        import torch

        x = x.detach().float().requires_grad_(True)
        with torch.enable_grad():
            logits = self.model(x).gather(1, target.long()[:, None])
            (gradient,) = torch.autograd.grad(logits.sum(), x)
        return gradient.abs()


@hookimpl
def xecgbench_register_attributions(registry):
    for name in {names}:
        registry.register(name, AbsoluteGradient)
'''
PROJECT = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "1.0"

[project.entry-points.xecgbench]
{plugin} = "{module}"

[tool.setuptools]
py-modules = ["{module}"]
'''
#: distribution -> (its plugin name, the attributions it registers)
SMOOTHGRAD = ("xecgbench-smoothgrad", "smoothgrad", ("smoothgrad", "smooth_saliency"))
FORK = ("xecgbench-smoothgrad-fork", "smoothgrad-fork", ("smooth_saliency",))


def _install(site: Path, work: Path, *dists: tuple[str, str, tuple[str, ...]]) -> None:
    """Build and install each (distribution, plugin, attribution names) into ``site``."""
    sources = []
    for dist, plugin, names in dists:
        module = dist.replace("-", "_")
        source = work / dist
        source.mkdir(parents=True)
        (source / "pyproject.toml").write_text(PROJECT.format(dist=dist, plugin=plugin,
                                                              module=module))
        (source / f"{module}.py").write_text(PLUGIN.format(names=names))
        sources.append(str(source))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(site), *sources], check=True,
    )  # fmt: skip


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO), str(REPO / "plugins")])
    return env


@pytest.fixture(scope="module")
def smoothgrad_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``xecgbench-smoothgrad`` installed: its ``smoothgrad`` clashes with the bundled one."""
    work = tmp_path_factory.mktemp("clash")
    _install(work / "site", work, SMOOTHGRAD)
    return _env(work / "site")


def _xecgbench(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xecgbench.cli", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


def _suite(path: Path, attributions: str) -> Path:
    suite = micro_suite(path)
    suite.write_text(suite.read_text().replace("attributions: [saliency]",
                                               f"attributions: {attributions}"))
    return suite


def test_the_clash_is_listed_and_spares_the_plugins_other_components(
        smoothgrad_env: dict[str, str], tmp_path: Path) -> None:
    listing = _xecgbench(smoothgrad_env, "plugins")
    assert listing.returncode == 0, listing.stderr
    assert "[BROKEN]" not in listing.stdout
    assert ("  clash: attributions 'smoothgrad' also registered as xecgbench:smoothgrad; this one "
            "is xecgbench-smoothgrad:smoothgrad, bare 'smoothgrad' means xecgbench:smoothgrad"
            ) in listing.stdout
    described = _xecgbench(smoothgrad_env, "plugins", "--json")
    rows = {r["name"]: r for r in json.loads(described.stdout)}
    assert rows["smoothgrad"]["clashes"] == [{
        "kind": "attributions", "name": "smoothgrad",
        "qualified_name": "xecgbench-smoothgrad:smoothgrad", "also": ["xecgbench:smoothgrad"],
        "bare_name_means": "xecgbench:smoothgrad"}]
    assert rows["builtin-attributions"]["clashes"][0]["also"] == [
        "xecgbench-smoothgrad:smoothgrad"]
    listed = _xecgbench(smoothgrad_env, "list", "attributions", "--json")
    names = [r["name"] for r in json.loads(listed.stdout)]
    assert {"smoothgrad", "xecgbench-smoothgrad:smoothgrad", "smooth_saliency"} <= set(names)

    out = tmp_path / "out"
    run = _xecgbench(smoothgrad_env, "run", _suite(tmp_path / "s.yaml", "[smooth_saliency]"),
                     "--out", out, "--quiet")
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr, run.stderr  # the clashing name is not used
    (record,) = ResultsStore(RunLayout(out).store).runs()
    assert record["provenance"]["component_plugins"]["attributions"] == {
        "smooth_saliency": "smoothgrad"}


def test_both_components_run_side_by_side_under_their_names(
        smoothgrad_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    suite = _suite(tmp_path / "s.yaml", "[smoothgrad, 'xecgbench-smoothgrad:smoothgrad']")
    run = _xecgbench(smoothgrad_env, "run", suite, "--out", out, "--quiet")
    assert run.returncode == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if "smoothgrad" in line]
    assert warned == ["warning: attributions 'smoothgrad' is registered by xecgbench "
                      "(builtin-attributions) and xecgbench-smoothgrad (smoothgrad); "
                      "'smoothgrad' means the bundled one, write "
                      "'xecgbench-smoothgrad:smoothgrad' for the other"]
    with ResultsStore(RunLayout(out).store) as store:
        (record,) = store.runs()
        scores = store.scores_frame()
    assert record["provenance"]["component_plugins"]["attributions"] == {
        "smoothgrad": "builtin-attributions", "xecgbench-smoothgrad:smoothgrad": "smoothgrad"}
    assert "smoothgrad" in record["provenance"]["plugin_distributions"]
    by_method = scores[scores["metric"] == "relevance_mass_accuracy"].groupby("attribution")
    values = {name: list(group.sort_values("sample")["value"]) for name, group in by_method}
    assert set(values) == {"smoothgrad", "xecgbench-smoothgrad:smoothgrad"}
    assert values["smoothgrad"] != values["xecgbench-smoothgrad:smoothgrad"]  # distinct stages
    board = (out / "leaderboard.md").read_text()
    assert "xecgbench-smoothgrad:smoothgrad" in board


def test_an_ambiguous_name_is_refused_in_one_line_with_the_choices(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _install(site, tmp_path, SMOOTHGRAD, FORK)
    env = _env(site)
    out = tmp_path / "out"
    refused = _xecgbench(env, "run", _suite(tmp_path / "s.yaml", "[smooth_saliency]"),
                         "--out", out, "--quiet")
    one_line_error(refused.returncode, refused.stderr)
    assert refused.stderr.strip().splitlines() == [
        "error: attributions 'smooth_saliency' is registered by 2 plugins; name one: "
        "xecgbench-smoothgrad-fork:smooth_saliency, xecgbench-smoothgrad:smooth_saliency"]
    assert not out.exists()
    chosen = _xecgbench(env, "run", _suite(tmp_path / "s.yaml",
                                           "['xecgbench-smoothgrad-fork:smooth_saliency']"),
                        "--out", out, "--quiet")
    assert chosen.returncode == 0, chosen.stderr
