"""Holm's correction against its definition (the rest of the statistics: test_inference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from xecgbench.report.stats.corrections import holm


def test_holm_matches_its_definition() -> None:
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    adjusted = holm(p)
    # sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 -> 0.04, 0.09, 0.08 -> running max 0.09, 0.5
    assert adjusted[0] == pytest.approx(0.04)
    assert adjusted[3] == pytest.approx(0.09)
    assert adjusted[1] == pytest.approx(0.09)
    assert adjusted[4] == pytest.approx(0.5)
    assert np.isnan(adjusted[2])
    assert np.all(adjusted[np.isfinite(p)] >= p[np.isfinite(p)])
