"""Tests of the single-file HTML report: escaping, inline figures, headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fake_results import make_results

from xecgbench.report.examples import Examples, load_examples, save_examples
from xecgbench.report.rendering.html import render_report
from xecgbench.report.tables import build_leaderboard

EVIL = "<script>alert(1)</script>"


def figure_count(page: str) -> int:
    """Inline PNG figures in a rendered page."""
    return len(re.findall(r'<img src="data:image/png;base64,', page))


def make_examples(results) -> Examples:
    rng = np.random.default_rng(0)
    t = np.arange(300) / 100
    signals = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * 1.2 * t)] * 2).astype(np.float32)
    masks = {"p_wave": (np.sin(2 * np.pi * 1.2 * t) > 0.9)[None].repeat(2, 0),
             "qrs": (np.sin(2 * np.pi * 1.2 * t) < -0.9)[None].repeat(2, 0)}
    suite = results.suite
    relevance = {
        (p.display, "none", a.display): {b: rng.normal(size=(2, 300)).astype(np.float16)
                                         for b in ("morphology", "rhythm")}
        for p in suite.pretraining for a in suite.attributions
    }
    return Examples(100.0, signals, np.array([0, 1]), ("rec-0", EVIL), masks, relevance)


@pytest.fixture(scope="module")
def page() -> str:
    results = make_results(attributions=("dtd", EVIL), dataset=EVIL)
    return render_report(build_leaderboard(results), results, make_examples(results))


def test_plugin_strings_are_escaped(page) -> None:
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_is_self_contained(page) -> None:
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)
    assert "<link" not in page
    # interval bars per branch + accuracy/alignment scatter + one heatmap per attribution
    assert figure_count(page) == 5


def test_inline_figures_are_valid_pngs(page) -> None:
    from matplotlib.image import imread

    for uri in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        image = imread(io.BytesIO(base64.b64decode(uri)), format="png")
        assert image.shape[0] > 100 and image.shape[1] > 100
        assert image[..., :3].std() > 0.01  # not blank


def test_report_without_examples_has_no_heatmaps() -> None:
    results = make_results()
    assert figure_count(render_report(build_leaderboard(results), results)) == 3


def test_examples_round_trip(tmp_path) -> None:
    results = make_results()
    examples = make_examples(results)
    save_examples(examples, tmp_path / "examples.npz")
    loaded = load_examples(tmp_path / "examples.npz")
    assert loaded.record_ids == examples.record_ids and loaded.fs == examples.fs
    assert set(loaded.relevance) == set(examples.relevance)
    key = next(iter(examples.relevance))
    np.testing.assert_array_equal(loaded.relevance[key]["rhythm"],
                                  examples.relevance[key]["rhythm"])
    np.testing.assert_array_equal(loaded.masks["qrs"], examples.masks["qrs"])


CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--enable-logging=stderr", "--v=0",
)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    return path


def test_report_renders_in_headless_chromium(page, tmp_path) -> None:
    """Loads the page at 1,400 px: the console is clean, the figures decoded, none is drawn
    wider than the window or shrunk below 95 % of its natural width (so a font size in points
    is what a reader sees), and the page does not scroll sideways."""
    browser = chromium()
    probe = (
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "const fit=imgs.filter(i=>i.naturalWidth>0&&i.naturalWidth<=1400"
        "&&i.getBoundingClientRect().width>=0.95*i.naturalWidth);"
        "document.title='IMAGES '+imgs.length+' DECODED '+imgs.filter(i=>i.naturalWidth>0)"
        ".length+' FIT '+fit.length+' WIDTH '+document.documentElement.scrollWidth;});"
        "</script>"
    )
    report = tmp_path / "report.html"
    report.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1400,2000", "--virtual-time-budget=5000", "--dump-dom",
         report.as_uri()],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    title = done.stdout.split("<title>", 1)[1].split("</title>", 1)[0].split()
    assert title[:6] == ["IMAGES", "5", "DECODED", "5", "FIT", "5"], title
    assert int(title[7]) <= 1400, f"the report is {title[7]} px wide at a 1,400-px window"


def test_screenshot(page, tmp_path) -> None:
    browser = chromium()
    report, shot = tmp_path / "report.html", tmp_path / "shot.png"
    report.write_text(page, encoding="utf-8")
    subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1400,2000", f"--screenshot={shot}", report.as_uri()],
        capture_output=True, timeout=60, check=True,
    )
    assert Path(shot).stat().st_size > 10_000
