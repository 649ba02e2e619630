"""How well one set of wave masks (NeuroKit2's) agrees with another (the experts'), per wave.

The CinC 2017 masks are NeuroKit2's, and nobody annotated CinC; LUDB and QTDB windows have
expert masks, so drawing NeuroKit2's masks on *those* windows measures the error the CinC masks
carry. Both masks are compared only where the experts' masks are ground truth (``valid``: LUDB's
annotated span, QTDB's marked beats); elsewhere a sample is neither hit nor miss.

Rules (one window, one wave kind, after clipping both masks to ``valid``):

- a *wave* is a maximal run of True samples;
- an expert wave is **found** when at least one of its samples is in the detected mask
  (sensitivity = found expert waves / expert waves);
- a detected wave is **true** when at least one of its samples is in the expert mask
  (PPV = true detected waves / detected waves);
- **Dice** = 2 |expert ∧ detected| / (|expert| + |detected|), over samples;
- **width ratio** = detected mask share / expert mask share (shares of the valid samples).

Counts are summed over windows before any ratio is taken (pooled, so a window with one wave
weighs as much per wave as a window with ten).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np


def wave_runs(mask: np.ndarray) -> np.ndarray:
    """Inclusive ``(start, end)`` sample intervals of the True runs of a 1-D mask, ``(k, 2)``."""
    flags = np.concatenate([[False], np.asarray(mask, dtype=bool).ravel(), [False]])
    edges = np.flatnonzero(flags[1:] != flags[:-1])
    return np.stack([edges[0::2], edges[1::2] - 1], axis=-1).reshape(-1, 2)


def _runs_hit(runs: np.ndarray, other: np.ndarray) -> int:
    """How many of ``runs`` share at least one sample with the mask ``other``."""
    if not len(runs):
        return 0
    covered = np.concatenate([[0], np.cumsum(other, dtype=np.int64)])
    return int(np.count_nonzero(covered[runs[:, 1] + 1] - covered[runs[:, 0]] > 0))


@dataclass(frozen=True)
class WaveAgreement:
    """Counts of one wave kind's agreement, summable over windows."""

    expert_waves: int = 0
    detected_waves: int = 0
    found_expert_waves: int = 0
    true_detected_waves: int = 0
    expert_samples: int = 0
    detected_samples: int = 0
    shared_samples: int = 0
    valid_samples: int = 0
    windows: int = 0

    def __add__(self, other: WaveAgreement) -> WaveAgreement:
        return WaveAgreement(*(getattr(self, f.name) + getattr(other, f.name)
                               for f in fields(self)))

    @property
    def sensitivity(self) -> float:
        """Share of expert waves the detected mask overlaps."""
        return _ratio(self.found_expert_waves, self.expert_waves)

    @property
    def ppv(self) -> float:
        """Share of detected waves that overlap an expert wave."""
        return _ratio(self.true_detected_waves, self.detected_waves)

    @property
    def dice(self) -> float:
        """Sample-level Dice coefficient of the two masks."""
        return _ratio(2 * self.shared_samples, self.expert_samples + self.detected_samples)

    @property
    def expert_share(self) -> float:
        """Share of the valid samples inside the expert mask."""
        return _ratio(self.expert_samples, self.valid_samples)

    @property
    def detected_share(self) -> float:
        """Share of the valid samples inside the detected mask."""
        return _ratio(self.detected_samples, self.valid_samples)

    @property
    def width_ratio(self) -> float:
        """Detected mask share over expert mask share (2 = twice as wide)."""
        return _ratio(self.detected_samples, self.expert_samples)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def wave_agreement(expert: np.ndarray, detected: np.ndarray,
                   valid: np.ndarray | None = None) -> WaveAgreement:
    """Agreement of two 1-D masks of one window, counted only where ``valid`` is True."""
    expert = np.asarray(expert, dtype=bool).ravel()
    detected = np.asarray(detected, dtype=bool).ravel()
    valid = np.ones_like(expert) if valid is None else np.asarray(valid, dtype=bool).ravel()
    expert, detected = expert & valid, detected & valid
    expert_runs, detected_runs = wave_runs(expert), wave_runs(detected)
    return WaveAgreement(
        expert_waves=len(expert_runs),
        detected_waves=len(detected_runs),
        found_expert_waves=_runs_hit(expert_runs, detected),
        true_detected_waves=_runs_hit(detected_runs, expert),
        expert_samples=int(expert.sum()),
        detected_samples=int(detected.sum()),
        shared_samples=int((expert & detected).sum()),
        valid_samples=int(valid.sum()),
        windows=1,
    )


def masks_agreement(
    expert: Mapping[str, np.ndarray],
    detected: Mapping[str, np.ndarray],
    valid: np.ndarray | None,
    windows: np.ndarray,
) -> dict[str, WaveAgreement]:
    """Pooled agreement per wave kind both sides have, over the window indices ``windows``.

    Masks are ``(N, 1, T)``; ``valid`` too, or None where the expert masks hold everywhere.
    """
    result = {}
    for name in (n for n in expert if n in detected):
        total = WaveAgreement()
        for i in np.asarray(windows, dtype=np.int64):
            total += wave_agreement(expert[name][i], detected[name][i],
                                    None if valid is None else valid[i])
        result[name] = total
    return result
