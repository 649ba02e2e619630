"""What writing-plugins.md tells a dataset author about the ECGSet a run reads, held to the
code: the mask each branch is scored on, the R-peak width, and that no component reads extras."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from xecgbench.run.config import ExplainConfig
from xecgbench_builtin.data.synthetic import SyntheticECG
from xecgbench_builtin.data.wfdb_dataset import WFDBDataset

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "docs" / "writing-plugins.md").read_text(encoding="utf-8")


def test_the_alignment_table_is_the_default_pairing() -> None:
    start = GUIDE.index("<!-- alignment pairs")
    rows = re.findall(r"^\s*\| `(\w+)` \| (.+) \|$", GUIDE[start:start + 600], re.MULTILINE)
    documented = {branch: tuple(re.findall(r"`(\w+)`", masks)) for branch, masks in rows}
    assert documented == dict(ExplainConfig().alignment)


def test_the_documented_r_peak_width_is_every_loaders_default() -> None:
    assert "`r_peak_width_ms=40`" in GUIDE
    for loader in (SyntheticECG, WFDBDataset):
        assert inspect.signature(loader).parameters["r_peak_width_ms"].default == 40.0


def test_no_bundled_component_reads_extras_as_documented() -> None:
    """The guide says extras such as rr_rmssd_ms are ignored; a reader makes that false."""
    readers = []
    for root in (REPO / "xecgbench", REPO / "plugins" / "xecgbench_builtin"):
        for path in root.rglob("*.py"):
            if path.name in ("components.py", "synthetic.py"):  # the contract and the producer
                continue
            if re.search(r"\bextras\b", path.read_text(encoding="utf-8")):
                readers.append(str(path.relative_to(REPO)))
    assert readers == []
    assert "`rr_rmssd_ms` (which the synthetic\n  generator provides) is ignored" in GUIDE
