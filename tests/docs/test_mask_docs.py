"""The "How far the masks can be trusted" section is rendered from the committed results."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from xecgbench.report.pages.mask_docs import RESULTS, render_mask_error
from xecgbench.report.pages.reference_docs import BEGIN, END

REPO = Path(__file__).resolve().parents[2]


def _committed() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def test_the_page_holds_the_section_rendered_from_the_committed_file() -> None:
    page = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    body = render_mask_error(_committed())
    assert f"{BEGIN.format(name='mask error')}\n{body}\n{END.format(name='mask error')}" in page


def test_every_number_comes_from_the_file() -> None:
    results = _committed()
    changed = copy.deepcopy(results)
    first = changed["window_sets"][0]
    wave = next(iter(first["waves"]))
    first["waves"][wave]["width_ratio"] = 9.87
    first["failed"] = [*first["failed"], "made-up#0"]
    changed["alignment"]["rows"][0]["expert"] = 0.777
    text = render_mask_error(changed)
    assert "| 9.87 |" in text and "`made-up#0`" in text and "0.777 (" in text
    assert text != render_mask_error(results)


def test_the_results_cover_ludb_and_qtdb_and_the_alignment() -> None:
    results = _committed()
    labels = " ".join(s["label"] for s in results["window_sets"])
    assert "LUDB" in labels and "QTDB" in labels
    for window_set in results["window_sets"]:
        assert {"p_wave", "qrs", "t_wave"} <= set(window_set["waves"])
    assert {r["branch"] for r in results["alignment"]["rows"]} == {"morphology", "rhythm"}
