"""AF episodes from WFDB rhythm notes, and which windows lie wholly inside or outside them.

A rhythm note (an aux note starting with ``(``, e.g. ``(AFIB``, ``(N``) starts a rhythm that
lasts until the next one; a record whose last note is an AF note is in AF to its end (CPSC
2021 ships persistent-AF records whose only note is ``(AFIB``). Notes such as ``None`` that
do not start with ``(`` are not rhythm changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Window rhythm codes of :func:`window_rhythms`.
NON_AF, AF, STRADDLES = 0, 1, -1


def af_episodes(
    samples: Sequence[int], notes: Sequence[str], n_samples: int, af_notes: Sequence[str]
) -> np.ndarray:
    """``(k, 2)`` half-open ``[start, end)`` sample spans of AF, in record order."""
    episodes: list[tuple[int, int]] = []
    start: int | None = None
    for sample, note in sorted(zip(samples, notes, strict=True)):
        if not note.startswith("("):
            continue
        if note in af_notes and start is None:
            start = int(sample)
        elif note not in af_notes and start is not None:
            episodes.append((start, int(sample)))
            start = None
    if start is not None:
        episodes.append((start, n_samples))
    spans = np.asarray(episodes, dtype=np.int64).reshape(-1, 2)
    return spans[spans[:, 1] > spans[:, 0]]


def window_rhythms(
    starts: Sequence[int], window: int, n_samples: int, episodes: np.ndarray
) -> np.ndarray:
    """Per window: :data:`AF` wholly inside one episode, :data:`NON_AF` wholly outside every
    episode, :data:`STRADDLES` otherwise. A window padded past the record's end counts only
    its real samples."""
    first = np.asarray(starts, dtype=np.int64)
    end = np.minimum(first + window, n_samples)  # exclusive
    if len(episodes) == 0:
        return np.full(len(first), NON_AF, dtype=np.int64)
    on, off = episodes[:, 0][None, :], episodes[:, 1][None, :]
    inside = ((first[:, None] >= on) & (end[:, None] <= off)).any(axis=1)
    touches = ((first[:, None] < off) & (end[:, None] > on)).any(axis=1)
    return np.where(inside, AF, np.where(touches, STRADDLES, NON_AF))
