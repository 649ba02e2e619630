"""Every plugin template installs, is discovered, is listed and runs in one smoke suite.

The templates (one per component kind) are pip-installed into a temporary folder (never into
the shared environment) that subprocesses put on ``PYTHONPATH``; ``docs/writing-plugins.md``
must show their files verbatim.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xecgbench.run.layout import RunLayout
from xecgbench.run.store import ResultsStore

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = REPO_ROOT / "templates"
TUTORIAL = REPO_ROOT / "docs" / "writing-plugins.md"
#: kind -> (template folder, module, plugin name, registered name)
KINDS = {
    "attributions": ("xecgbench-attribution-template", "xecgbench_gradient_x_sign.py",
                     "gradient-x-sign", "gradient_x_sign"),
    "metrics": ("xecgbench-metric-template", "xecgbench_top_relevance_hit.py",
                "top-relevance-hit", "top_relevance_hit"),
    "datasets": ("xecgbench-dataset-template", "xecgbench_npz_windows.py", "npz-windows",
                 "npz_windows"),
    "pretraining": ("xecgbench-pretraining-template", "xecgbench_noise_detection.py",
                    "noise-detection", "noise_detection"),
    "freezing": ("xecgbench-freezing-template", "xecgbench_head_first.py", "head-first",
                 "head_first"),
    "models": ("xecgbench-model-template", "xecgbench_tiny_cnn.py", "tiny-cnn", "tiny_cnn"),
}


def tutorial_files() -> dict[str, str]:
    """``File `folder/name`:`` followed by a fenced block, as the tutorial shows each file."""
    pattern = re.compile(r"^File `([^`]+)`:\n\n```[a-z]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return dict(pattern.findall(TUTORIAL.read_text()))


def test_tutorial_shows_every_template_file_verbatim() -> None:
    shown = tutorial_files()
    template_files = {
        f"{folder.name}/{p.name}"
        for folder in TEMPLATES.iterdir() if folder.is_dir()
        for p in folder.iterdir() if p.is_file()
    }
    expected = {f"{folder}/{name}" for folder, module, _, _ in KINDS.values()
                for name in ("pyproject.toml", module)}
    assert set(shown) == template_files == expected
    for name, text in shown.items():
        assert text == (TEMPLATES / name).read_text(), f"{name} differs from the template"


@pytest.mark.parametrize("kind", KINDS)
def test_template_module_is_at_most_40_lines_of_code(kind: str) -> None:
    folder, module, _, _ = KINDS[kind]
    lines = (TEMPLATES / folder / module).read_text().splitlines()
    assert len([line for line in lines if line.strip()]) <= 40


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment whose ``PYTHONPATH`` holds every installed template, autoloading enabled."""
    work = tmp_path_factory.mktemp("templates")
    site = work / "site"
    sources = []
    for folder, *_ in KINDS.values():  # building writes build/ and *.egg-info next to sources
        sources.append(str(shutil.copytree(TEMPLATES / folder, work / folder)))
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
            "--no-build-isolation", "--target", str(site), *sources,
        ],
        check=True,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_xecgbench_plugins_lists_every_installed_template(plugin_env) -> None:
    result = run(["-m", "xecgbench.cli", "plugins", "--json"], plugin_env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    for kind, (_, _, plugin, name) in KINDS.items():
        assert rows[plugin]["version"] == "0.1.0"
        assert list(rows[plugin]["registered"]) == [kind]
        assert name in rows[plugin]["registered"][kind]
        assert "problem" not in rows[plugin]
    text = run(["-m", "xecgbench.cli", "plugins"], plugin_env).stdout
    assert "gradient-x-sign 0.1.0\n  hooks: xecgbench_register_attributions\n" in text


def test_xecgbench_list_shows_each_template_with_its_summary(plugin_env) -> None:
    for kind, (_, _, plugin, name) in KINDS.items():
        result = run(["-m", "xecgbench.cli", "list", kind, "--json"], plugin_env)
        assert result.returncode == 0, result.stderr
        rows = {row["name"]: row for row in json.loads(result.stdout)}
        assert rows[name]["plugin"] == plugin and rows[name]["summary"], rows[name]


def test_template_passes_the_attribution_contract_tests(plugin_env) -> None:
    env = {**plugin_env, "XECGBENCH_TEST_THIRD_PARTY": "1"}
    args = ["-m", "pytest", "tests/plugins/attribution/test_attribution_contract.py", "-q",
            "-p", "no:cacheprovider"]
    result = run([*args, "-k", "gradient_x_sign"], env)
    assert result.returncode == 0, result.stdout[-3000:]
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= 10, result.stdout[-3000:]


def _windows_file(path: Path) -> Path:
    """The tutorial's ``windows.npz``: the smoke suite's synthetic windows in one file."""
    from xecgbench_builtin.data.synthetic import SyntheticECG

    parts = [SyntheticECG(n_train=96, n_test=32).load(s, fs=100, duration_s=6)
             for s in ("train", "test")]
    np.savez(path, fs=100.0, signals=np.concatenate([p.signals for p in parts]),
             labels=np.concatenate([p.labels for p in parts]),
             **{m: np.concatenate([p.masks[m] for p in parts]) for m in parts[0].masks})
    return path


def test_all_templates_run_together_in_the_smoke_suite(plugin_env, tmp_path) -> None:
    out = tmp_path / "smoke"
    windows = _windows_file(tmp_path / "windows.npz")
    overrides = [
        f"data.dataset={{name: npz_windows, params: {{path: '{windows}', test_every: 4}}}}",
        "model=tiny_cnn", "pretraining=[none, noise_detection]", "freezing=[head_first]",
        "attributions=[gradient_x_sign, saliency]",
        "metrics=[accuracy, top_relevance_hit, qrs_relevance_hit, relevance_mass_accuracy]",
    ]
    args = ["-m", "xecgbench.cli", "run", "smoke", "--quiet", "--out", str(out)]
    result = run([*args, *(f"--set={o}" for o in overrides)], plugin_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout, result.stdout
    board = (out / "leaderboard.md").read_text()
    assert "| gradient_x_sign |" in board and "| noise_detection | head_first |" in board
    assert "top_relevance_hit [p_wave] ↑" in board  # a localisation column, per paired mask
    assert "qrs_relevance_hit [qrs] ↑" in board  # its own region, shown where it is paired
    with ResultsStore(RunLayout(out).store) as store:
        scores = store.scores_frame()
    own = scores[scores["metric"] == "qrs_relevance_hit"]
    assert set(own["region"]) == {"qrs"} and set(own["branch"]) == {"morphology", "rhythm"}
    with ResultsStore(RunLayout(out).store) as store:
        catalogue = store.runs()[-1]["provenance"]["catalogue"]["metrics"]
    assert catalogue["qrs_relevance_hit"]["region"] == "qrs"  # frozen into the run record
    assert "region" not in catalogue["top_relevance_hit"]
    assert "- dataset: npz_windows(" in board and "tiny-cnn 0.1.0" in board
    assert re.search(r"\| noise_detection \| \d\.\d{3} \|", board)  # its pretraining number


def test_a_dataset_template_refuses_a_wrong_sampling_rate(plugin_env, tmp_path) -> None:
    """The data is loaded before the first stage, so a refusal stops the run in one line."""
    windows = _windows_file(tmp_path / "windows.npz")
    args = ["-m", "xecgbench.cli", "run", "smoke", "--quiet", "--out", str(tmp_path / "o"),
            f"--set=data.dataset={{name: npz_windows, params: {{path: '{windows}'}}}}",
            "--set=data.fs=250"]
    result = run(args, plugin_env)
    assert result.returncode == 2, result.stderr
    assert f"{windows}: sampled at 100.0 Hz, suite asks 250.0" in result.stderr
    assert "Traceback" not in result.stderr
