"""Events from masks and their detection scores."""

from __future__ import annotations

import numpy as np

from xecgbench_builtin.data.fiducial_events import event_f1, rmssd_ms, run_bounds, run_centres


def test_runs_and_centres() -> None:
    mask = np.array([0, 1, 1, 0, 0, 1, 1, 1, 0, 1], dtype=bool)
    starts, ends = run_bounds(mask)
    assert list(starts) == [1, 5, 9] and list(ends) == [3, 8, 10]
    assert list(run_centres(mask)) == [1.5, 6.0, 9.0]


def test_rmssd_of_known_rr() -> None:
    mask = np.zeros(1000, dtype=bool)
    mask[[100, 200, 320, 400]] = True  # RR 100, 120, 80 samples at 100 Hz → 1000, 1200, 800 ms
    assert np.isclose(rmssd_ms(mask, fs=100.0), np.sqrt((200**2 + 400**2) / 2))
    assert np.isnan(rmssd_ms(mask[:250], fs=100.0))


def test_event_f1_matches_one_to_one_within_tolerance() -> None:
    truth = [np.array([10.0, 50.0, 90.0])]
    predicted = [np.array([12.0, 13.0, 70.0])]  # one hit (12); 13 may not reuse the 10
    scores = event_f1(truth, predicted, tolerance=5)
    assert scores == {"sensitivity": 1 / 3, "ppv": 1 / 3, "f1": 1 / 3}
    assert event_f1(truth, truth, tolerance=0)["f1"] == 1.0
