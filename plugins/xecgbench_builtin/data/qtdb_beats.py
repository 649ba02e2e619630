"""The expert-marked beats of a QT Database record: their extents and the windows around them.

QTDB's annotators marked P, QRS and T waves on 30-50 selected beats per record, so only those
beats are ground truth. A beat's extent runs from its P onset (else its QRS onset) to its T
offset (else its QRS offset); the stretch between two marked beats that follow each other
(no unmarked beat between them) is ground truth too, as the experts' marks on both sides say
no wave lies there. Everything else in the record is neither target nor non-target.
"""

from __future__ import annotations

import numpy as np

from xecgbench_builtin.data.fiducials import MAX_PR_MS, MAX_RT_MS, AnnotatedWaves

#: Two marked beats follow each other when their R peaks are at most this many median RR
#: intervals apart (an unmarked beat between them would make it about two).
CONSECUTIVE_RR = 1.5


def beat_extents(waves: AnnotatedWaves, fs: float) -> np.ndarray:
    """``(k, 2)`` inclusive extent of each marked beat (one per annotated QRS), in samples.

    A P wave belongs to the next QRS when it ends within ``MAX_PR_MS`` of its onset, a T wave
    to the previous QRS when it ends within ``MAX_RT_MS`` of its R peak; a wave farther away
    (of an unmarked beat) extends no beat.
    """
    qrs = waves.qrs
    start, end = qrs[:, 0].copy(), qrs[:, 1].copy()
    p = waves.p_wave
    owner = np.searchsorted(qrs[:, 0], p[:, 1], side="right")
    ok = owner < len(qrs)
    ok[ok] &= qrs[owner[ok], 0] - p[ok, 1] <= MAX_PR_MS * fs / 1000.0
    np.minimum.at(start, owner[ok], p[ok, 0])
    t = waves.t_wave
    owner = np.searchsorted(qrs[:, 1], t[:, 0], side="left") - 1
    ok = owner >= 0
    ok[ok] &= t[ok, 1] - waves.r_peaks[owner[ok]] <= MAX_RT_MS * fs / 1000.0
    np.maximum.at(end, owner[ok], t[ok, 1])
    return np.stack([start, end], axis=-1)


def annotated_intervals(waves: AnnotatedWaves, fs: float) -> np.ndarray:
    """``(k, 2)`` inclusive intervals where the marks are ground truth (see the module doc):
    every beat's extent, the gap between consecutive marked beats, and every marked wave."""
    extents = beat_extents(waves, fs)
    pieces = [extents, waves.p_wave, waves.qrs, waves.t_wave]
    r = waves.r_peaks
    if len(r) > 1:
        rr = np.diff(r)
        follows = rr <= CONSECUTIVE_RR * np.median(rr)
        gaps = np.stack([extents[:-1, 1], extents[1:, 0]], axis=-1)[follows]
        pieces.append(gaps[gaps[:, 1] >= gaps[:, 0]])
    return np.concatenate([np.asarray(p, dtype=np.int64).reshape(-1, 2) for p in pieces])


def beat_window_starts(extents: np.ndarray, n_samples: int, window: int) -> list[int]:
    """Starts of windows that hold every marked beat whole, each beat in exactly one window.

    Beats are taken in order; a window takes as many following beats as fit and is centred on
    them (clipped to the record), so a window holds marked beats with context on both sides.
    Neighbouring windows may share the samples between two groups.
    """
    starts: list[int] = []
    order = extents[np.argsort(extents[:, 0], kind="stable")]
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and order[j + 1, 1] - order[i, 0] < window:
            j += 1
        centre_start = (int(order[i, 0]) + int(order[j, 1]) + 1 - window) // 2
        starts.append(min(max(centre_start, 0), max(n_samples - window, 0)))
        i = j + 1
    return starts
