"""Events (P waves, R peaks) from boolean masks, and event-level detection scores."""

from __future__ import annotations

import numpy as np


def run_bounds(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a 1D boolean array."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[0::2], edges[1::2]


def run_centres(mask: np.ndarray) -> np.ndarray:
    """Centre sample of each True run (e.g. the R peak of an ``r_peak`` mask run)."""
    starts, ends = run_bounds(mask)
    return (starts + ends - 1) / 2.0


def rmssd_ms(r_peak_mask: np.ndarray, fs: float) -> float:
    """RMSSD of the RR intervals between the mask's R peaks; NaN with fewer than 3 peaks."""
    peaks = run_centres(r_peak_mask)
    if len(peaks) < 3:
        return float("nan")
    rr_ms = np.diff(peaks) / fs * 1000.0
    return float(np.sqrt(np.mean(np.diff(rr_ms) ** 2)))


def event_f1(
    true_centres: list[np.ndarray], pred_centres: list[np.ndarray], tolerance: float
) -> dict[str, float]:
    """Sensitivity, PPV and F1 of detected events matched one-to-one within ``tolerance`` samples.

    Greedy matching in time order per record, the usual rule for fiducial-point detection.
    """
    hits = n_true = n_pred = 0
    for truth, pred in zip(true_centres, pred_centres, strict=True):
        n_true += len(truth)
        n_pred += len(pred)
        used = np.zeros(len(pred), dtype=bool)
        for centre in truth:
            distance = np.abs(pred - centre)
            distance[used] = np.inf
            if len(distance) and distance.min() <= tolerance:
                used[int(distance.argmin())] = True
                hits += 1
    sensitivity = hits / n_true if n_true else float("nan")
    ppv = hits / n_pred if n_pred else float("nan")
    f1 = 2 * hits / (n_true + n_pred) if n_true + n_pred else float("nan")
    return {"sensitivity": sensitivity, "ppv": ppv, "f1": f1}
