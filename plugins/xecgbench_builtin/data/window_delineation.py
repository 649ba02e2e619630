"""Fiducial masks for windows that come from outside a dataset (the Python API's
``masks="cinc2017"``): each window delineated on its own, exactly as CinC 2017 records are.

The same rules as the loader apply (NeuroKit2 R peaks and dwt waves, cleaned by
:func:`~xecgbench_builtin.data.fiducials.fiducials_from_delineation`; P detections are not
trusted on AF windows, which get the expected atrial window instead), so a user's windows are
scored against masks drawn the way the board's CinC 2017 masks are.
"""

from __future__ import annotations

import os

import numpy as np

from xecgbench.api import MASK_NAMES
from xecgbench_builtin.data.ecg_windows import BadRecordError
from xecgbench_builtin.data.fiducials import delineate, fiducials_from_delineation


def delineated_masks(
    signals: np.ndarray,
    fs: float,
    labels: np.ndarray,
    *,
    r_peak_width_ms: float,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, np.ndarray], dict[int, str]]:
    """Masks ``(N, 1, T)`` per name of :data:`MASK_NAMES`, and window index -> why it has none.

    A window NeuroKit2 cannot delineate (fewer than 3 R peaks, a delineation error) keeps
    all-False masks, so its mask-based scores are undefined (NaN) rather than wrong.
    """
    signals = np.asarray(signals)
    n, _, n_samples = signals.shape
    masks = {name: np.zeros(signals.shape, dtype=bool) for name in MASK_NAMES}
    failed: dict[int, str] = {}
    for i in range(n):
        try:
            raw = delineate(f"window-{i}", signals[i, 0].astype(np.float64), fs,
                            cache_dir=cache_dir)
        except BadRecordError as exc:
            failed[i] = exc.fault
            continue
        fiducials = fiducials_from_delineation(raw, fs, trust_p=int(labels[i]) != 1)
        for name, mask in fiducials.masks(n_samples, r_peak_width_ms=r_peak_width_ms).items():
            masks[name][i, 0] = mask
    return masks, failed
