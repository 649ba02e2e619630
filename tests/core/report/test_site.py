"""The leaderboard site: submissions ranked beside built-in methods, committed pages current,
and the pages read at 1,400 px in headless Chromium (sortable tables, no horizontal overflow)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runs import xecgbench
from fake_results import make_results
from test_html_report import CHROMIUM_FLAGS, chromium

from xecgbench.report.board import RunResults
from xecgbench.report.pages.site import ranking_table, render_board, stale_site, write_site
from xecgbench.report.pages.site_output import MANIFEST
from xecgbench.report.pages.site_ranking import (
    BUILT_IN,
    Entry,
    board_entries,
    branch_ranking,
    merge,
)
from xecgbench.report.results_files import (
    RunRecord,
    committed_directories,
    write_raw_results,
)

REPO = Path(__file__).resolve().parents[3]
FAITHFUL = {"pixel_flipping": {"name": "pixel_flipping", "category": "faithfulness",
                               "higher_is_better": False}}


def with_faithfulness(results: RunResults, seconds: float) -> RunResults:
    """Add a faithfulness score per explained window and a cost per attribute stage."""
    scores = results.scores
    explained = scores[(scores["metric"] == "relevance_mass_accuracy")
                       & (scores["region"].isin(["p_wave", "r_peak"]))]
    flips = explained.assign(metric="pixel_flipping", region="",
                             value=0.5 + 0.01 * explained["sample"])
    cells = explained[["pretraining", "freezing", "seed", "attribution"]].drop_duplicates()
    costs = [{**c, "seconds": seconds} for c in cells.to_dict("records")]
    return dataclasses.replace(results, scores=pd.concat([scores, flips], ignore_index=True),
                               metrics={**results.metrics, **FAITHFUL}, costs=costs)


def save(results: RunResults, out: Path, plugins: dict[str, str] | None = None) -> Path:
    run = results.run.model_copy(update={"provenance": {
        **results.run.provenance, "plugins": plugins or {"builtin-metrics": "0.1.0"}}})
    record = RunRecord(run=run, metrics=results.metrics,
                       strategies=results.strategies, costs=list(results.costs))
    return write_raw_results(record, results.scores.drop(columns="stage_key"), out)


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    """A board (dtd, random) with one submission adding `zero_occlusion` (and re-scoring dtd,
    which must not replace the board's own dtd rows)."""
    root = tmp_path_factory.mktemp("boards")
    save(with_faithfulness(make_results(), 0.4), root / "fake-board")
    submitted = make_results(attributions=("zero_occlusion", "dtd"))
    scores = submitted.scores.copy()
    planted = (scores["attribution"] == "zero_occlusion") & (scores["metric"]
                                                             == "relevance_mass_accuracy")
    # the submission beats every built-in method (a share stays within its range [0, 1])
    scores.loc[planted, "value"] = (scores.loc[planted, "value"] + 0.5).clip(upper=1.0)
    save(with_faithfulness(dataclasses.replace(submitted, scores=scores), 0.02),
         root / "fake-board" / "submissions" / "zero-occ",
         plugins={"builtin-metrics": "0.1.0", "zero-occlusion": "0.1.0"})
    return root


def test_a_submission_is_ranked_beside_the_built_in_methods(board) -> None:
    entries = board_entries(board / "fake-board")
    results, owner = merge(entries)
    ranking = branch_ranking(results, "morphology")
    assert ranking["attribution"].iloc[0] == "zero_occlusion"
    assert set(ranking["attribution"]) == {"zero_occlusion", "dtd", "random"}
    assert owner["zero_occlusion"].submitted and not owner["dtd"].submitted
    assert owner["zero_occlusion"].source == "zero-occlusion 0.1.0"
    # dtd comes from the board, not from the submission's re-scoring
    board_dtd = entries[0].results.scores.query("attribution == 'dtd'")
    merged_dtd = results.scores.query("attribution == 'dtd'")
    assert len(merged_dtd) == len(board_dtd)
    # every row but the top one is tested against it, paired over seeds
    assert ranking["vs top"].isna().tolist() == [True, False, False]
    assert all(v["mean"] < 0 and v["p_value"] <= 1 for v in ranking["vs top"].iloc[1:])
    costs = dict(zip(ranking["attribution"], ranking["cost"], strict=True))
    # per window and explained branch (the suite explains both, the default)
    assert costs["zero_occlusion"] == pytest.approx(0.02 / (12 * 2))
    assert np.isfinite(ranking["pixel_flipping"].iloc[0]["mean"])


def test_a_submission_from_local_code_is_labelled_local(tmp_path: Path) -> None:
    """An editable install names code only its author has: ranked, but never 'accepted'."""
    save(make_results(), tmp_path / "b")
    submitted = make_results(attributions=("zero_occlusion",))
    editable = {"distribution": "zero-occlusion", "version": "0.1.0", "archive_sha256": None,
                "source": {"install": "file:///home/me/zero-occlusion",
                           "direct_url": {"url": "file:///home/me/zero-occlusion",
                                          "dir_info": {"editable": True}}}}
    provenance = {**submitted.run.provenance,
                  "component_plugins": {"attributions": {"zero_occlusion": "zero-occlusion"}},
                  "plugin_distributions": {"zero-occlusion": editable}}
    submitted = dataclasses.replace(
        submitted, run=submitted.run.model_copy(update={"provenance": provenance}))
    save(submitted, tmp_path / "b" / "submissions" / "zero-occ")
    entries = board_entries(tmp_path / "b")
    assert entries[1].local == ("zero-occlusion: an editable install of "
                                "file:///home/me/zero-occlusion",)
    page, _ = render_board(tmp_path / "b")
    assert "0 accepted submission(s) and 1 local (not reproducible elsewhere)" in page
    assert "| local (not reproducible elsewhere): zero-occlusion: an editable install" in page
    assert "local (not reproducible elsewhere) submission zero-occ" in page


def test_the_page_labels_submitted_rows_and_sorts(board) -> None:
    page, figures = render_board(board / "fake-board")
    assert "zero-occlusion 0.1.0" in page and "submission zero-occ" in page
    assert page.count('<table class="sortable">') == 2
    assert 'data-sort="NaN"' in page  # the top row has no difference to itself
    assert set(figures) == {"fake-board-morphology.svg", "fake-board-rhythm.svg"}
    assert "Date" not in figures["fake-board-morphology.svg"]
    assert render_board(board / "fake-board") == (page, figures)  # deterministic


def test_a_method_not_above_its_untrained_model_is_listed_unranked() -> None:
    results = make_results()
    scores = results.scores
    trained = scores[(scores["metric"] == "relevance_mass_accuracy")
                     & (scores["pretraining"] == "none")]
    untrained = trained.assign(pretraining=None, freezing=None, model_state="untrained")
    # dtd's untrained model scores as high as its trained one: nothing learnt above it
    untrained.loc[untrained["attribution"] == "random", "value"] -= 0.15
    ranking = branch_ranking(dataclasses.replace(results, untrained=untrained), "rhythm")
    above = dict(zip(ranking["attribution"],
                     (v["mean"] for v in ranking["above untrained"]), strict=True))
    assert above["random"] == pytest.approx(0.15, abs=0.02)
    rows = ranking[["attribution", "rank", "gates"]].to_numpy().tolist()
    assert rows[0] == ["random", 1, "passes (controls, chance: not in this run)"]
    assert rows[1][:2] == ["dtd", 0]
    assert rows[1][2] in ("not above untrained", "not clearly above untrained")
    # the untrained rows never become a method of their own; the unranked row has no Δ vs top
    assert len(ranking) == 2
    assert "vs top" not in ranking or not isinstance(ranking["vs top"].iloc[1], dict)


def test_ranked_methods_are_ordered_by_alignment_and_gated_by_amplitude() -> None:
    """The site ranks by the same rule as the board's method table."""
    results = make_results(attributions=("dtd", "saliency", "amplitude"))
    scores = results.scores.copy()
    rhythm = (scores["branch"] == "rhythm") & (scores["metric"] == "relevance_mass_accuracy")
    for method, shift in (("dtd", 0.4), ("saliency", -0.05), ("amplitude", 0.0)):
        scores.loc[rhythm & (scores["attribution"] == method), "value"] += shift
    attributions = {"amplitude": {"name": "amplitude", "family": "control"}}
    results = dataclasses.replace(results, scores=scores, attributions=attributions)
    ranking = branch_ranking(results, "rhythm")
    rows = ranking[["attribution", "rank", "role", "gates"]].to_numpy().tolist()
    assert rows == [["dtd", 1, "", "passes (untrained, chance: not in this run)"],
                    ["saliency", 0, "", "not above amplitude"],
                    ["amplitude", 0, "control", ""]]
    owner = {m: Entry("b", BUILT_IN, results, Path("b")) for m in ranking["attribution"]}
    html = ranking_table(ranking, results, owner)
    assert "<td>not above amplitude</td>" in html and ">unranked</td>" in html


def test_every_control_is_a_gate_found_by_its_family() -> None:
    """A plugin's own control (family ``control``, any name) gates the ranking too."""
    results = make_results(attributions=("dtd", "saliency", "flat_map"))
    scores = results.scores.copy()
    rhythm = (scores["branch"] == "rhythm") & (scores["metric"] == "relevance_mass_accuracy")
    for method, shift in (("dtd", 0.4), ("saliency", -0.05), ("flat_map", 0.0)):
        scores.loc[rhythm & (scores["attribution"] == method), "value"] += shift
    attributions = {"flat_map": {"name": "flat_map", "family": "control"}}
    ranking = branch_ranking(dataclasses.replace(results, scores=scores,
                                                 attributions=attributions), "rhythm")
    rows = ranking[["attribution", "rank", "gates"]].to_numpy().tolist()
    assert rows[:2] == [["dtd", 1, "passes (untrained, chance: not in this run)"],
                        ["saliency", 0, "not above flat_map"]]
    assert "above flat_map" in ranking


def test_controls_and_mask_informed_methods_are_listed_unranked() -> None:
    """A control or a method built from the masks it is scored on never takes a rank."""
    results = make_results()
    scores = results.scores.copy()
    scores.loc[scores["attribution"] == "dtd", "value"] += 0.3  # above the control it faces
    attributions = {"dtd": {"name": "dtd", "family": "propagation"},
                    "random": {"name": "random", "family": "control"}}
    ranking = branch_ranking(dataclasses.replace(results, scores=scores,
                                                 attributions=attributions), "rhythm")
    rows = ranking[["attribution", "rank", "role"]].to_numpy().tolist()
    assert rows == [["dtd", 1, ""], ["random", 0, "control"]]
    assert "vs top" not in ranking or not isinstance(ranking["vs top"].iloc[1], dict)


def test_committed_site_pages_rank_with_the_gates() -> None:
    """Every committed board page ranks by the gated rule."""
    for page in (REPO / "docs" / "leaderboards").glob("synthetic-*.md"):
        assert "among the methods that pass every ranking gate" in page.read_text(), page


def test_site_command_writes_pages_and_reports_bad_submissions(board, tmp_path) -> None:
    out = tmp_path / "site"
    done = xecgbench("leaderboard", "site", "--boards", str(board), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} - {MANIFEST} == {
        "index.md", "fake-board.md", "fake-board-morphology.svg", "fake-board-rhythm.svg"}
    assert stale_site(board, out) == []
    (out / "fake-board.md").write_text("edited by hand\n", encoding="utf-8")
    (out / "fake-board-rhythm.svg").unlink()
    assert stale_site(board, out) == [str(out / "fake-board.md"),
                                      str(out / "fake-board-rhythm.svg")]
    bad = board / "fake-board" / "submissions" / "broken"
    bad.mkdir()
    (bad / "run.json").write_text(json.dumps({"format": 1}), encoding="utf-8")
    try:
        done = xecgbench("leaderboard", "site", "--boards", str(board), "--out", str(out))
    finally:
        shutil.rmtree(bad)
    assert done.returncode == 2
    assert "submission" in done.stderr and "broken" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_committed_site_pages_are_current() -> None:
    boards = {d.name for d in committed_directories(REPO / "leaderboards")}
    pages = {p.stem for p in (REPO / "docs" / "leaderboards").glob("*.md") if p.stem != "index"}
    assert boards == pages, "every committed board has one site page"
    stale = stale_site(REPO / "leaderboards", REPO / "docs" / "leaderboards")
    assert stale == [], (
        "docs/leaderboards is stale: run `xecgbench leaderboard site --out docs/leaderboards`")


PROBE = """<script>window.addEventListener('load',()=>{
const table=document.querySelector('table.sortable');
const first=()=>table.tBodies[0].rows[0].cells[1].textContent.trim();
const before=first();
table.tHead.rows[0].cells[4].click();
const ascending=first();
const imgs=[...document.images].filter(i=>i.src.endsWith('.svg'));
const boxes=[...document.querySelectorAll('.xb-scroll')];
document.title=['WIDTH',document.documentElement.scrollWidth,'SORTED',before,ascending,
'SVG',imgs.length,imgs.filter(i=>i.naturalWidth>0&&i.getBoundingClientRect().right<=1400)
.length,'TABLES',boxes.length,boxes.filter(b=>b.scrollWidth<=b.clientWidth).length]
.join(' ');});</script>"""


def test_site_page_reads_at_1400_px_in_chromium(board, tmp_path) -> None:
    """The built mkdocs page: no horizontal overflow at 1,400 px (not even inside a table's
    scroll box), every figure decoded and inside the window, and a header click sorts the
    table (ascending: the worst first)."""
    browser = chromium()
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    if mkdocs is None:
        pytest.skip("mkdocs not installed (pip install -e '.[dev]')")
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    write_site(board, docs / "leaderboards")
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(config.replace("strict: true", "strict: false"),
                                         encoding="utf-8")
    subprocess.run([mkdocs, "build", "--quiet", "--site-dir", str(tmp_path / "site")],
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    page = tmp_path / "site" / "leaderboards" / "fake-board" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    done = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1400,2000", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    title = done.stdout.split("<title>", 1)[1].split("</title>", 1)[0].split()
    width = int(title[1])
    assert width <= 1400, f"page is {width} px wide at a 1,400-px window"
    assert title[3:5] == ["zero_occlusion", "random"]  # rank 1 first; sorted: lowest first
    assert title[6:8] == ["2", "2"]
    assert title[9:11] == ["2", "2"], "a ranking table does not fit the content column"


def test_rebuilding_some_pages_keeps_every_board_in_the_index(board, tmp_path) -> None:
    """`site --match` rewrites the matched pages only; the index still lists every board."""
    out = tmp_path / "site"
    write_site(board, out, match="no-such-board*")
    assert {p.name for p in out.iterdir()} - {MANIFEST} == {"index.md"}
    assert "[fake-board](fake-board.md)" in (out / "index.md").read_text()


def test_the_site_never_overwrites_a_page_edited_since_it_wrote_it(board, tmp_path) -> None:
    from xecgbench.errors import UserError

    out = tmp_path / "pages"
    written = write_site(board, out)
    assert (out / MANIFEST).is_file() and written
    assert write_site(board, out) == written  # a rerun replaces what the site wrote itself
    page = out / "fake-board.md"
    page.write_text(page.read_text(encoding="utf-8") + "a reader's note\n", encoding="utf-8")
    figure = next(out.glob("*.svg"))
    before = figure.read_bytes()
    with pytest.raises(UserError, match=r"fake-board\.md: changed since"):
        write_site(board, out)
    assert "a reader's note" in page.read_text(encoding="utf-8")
    assert figure.read_bytes() == before  # refused before anything was written
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "index.md").write_text("my own index\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"index\.md: changed since"):
        write_site(board, foreign)
