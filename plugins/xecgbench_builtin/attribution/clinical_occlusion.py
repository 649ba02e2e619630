"""Clinical occlusion: remove one fiducial interval type at a time and measure the output drop.

For each interval type ``k`` in ``intervals`` (P waves, QRS complexes, T waves and TP segments
by default, cut from the ``p_wave``/``qrs``/``t_wave`` masks as in
:mod:`xecgbench_builtin.metrics.interval_profile`), every sample of type ``k`` in the window
is replaced by a **linear interpolation** between the last sample before and the first sample
after its run (a run touching the window edge is held at its one neighbour's value): the wave
is cut out and the baseline it sits on is kept, so no step or DC offset is introduced. The
relevance of the interval type is the drop of the explained output,
``f(x)[target] − f(x_without_k)[target]``, spread uniformly over its samples so that the
relevance summed over the interval equals the drop. Samples in no occluded type (PR, ST, and
the stretches before the first and after the last wave) get zero.

Cost: ``1 + len(intervals)`` forward passes per sample (5 by default), no backward pass; at
most ``max_rows`` signals go through the model at once.

The method needs the windows' fiducial masks, which the runner passes as the optional
``masks=`` keyword (see :func:`xecgbench.plugins.attribution_checks.accepts_masks`); without them it
raises, since there is no clinical interval to remove.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xecgbench.api import eval_mode, validate_inputs
from xecgbench_builtin.metrics.interval_profile import INTERVALS, interval_labels, wave_codes

if TYPE_CHECKING:
    import torch
    from torch import nn

REQUIRED_MASKS: tuple[str, ...] = ("p_wave", "qrs", "t_wave")
DEFAULT_INTERVALS: tuple[str, ...] = ("P", "QRS", "T", "TP")


def mask_arrays(name: str, masks: Mapping[str, Any] | None, n: int, t: int) -> list[np.ndarray]:
    """The ``p_wave``, ``qrs``, ``t_wave`` masks as ``(n, t)`` bool arrays, or a clear error."""
    if masks is None:
        raise ValueError(
            f"attribution {name!r}: needs the fiducial masks {list(REQUIRED_MASKS)} "
            "(keyword masks=), which the runner passes; none were given"
        )
    missing = [m for m in REQUIRED_MASKS if m not in masks]
    if missing:
        raise ValueError(f"attribution {name!r}: masks {missing} missing from masks=")
    arrays = []
    for m in REQUIRED_MASKS:
        array = np.asarray(masks[m].cpu() if hasattr(masks[m], "cpu") else masks[m])
        if array.size != n * t:
            raise ValueError(
                f"attribution {name!r}: mask {m!r} has shape {array.shape}, x has ({n}, 1, {t})"
            )
        arrays.append(array.reshape(n, t).astype(bool))
    return arrays


def interval_runs(codes: np.ndarray) -> np.ndarray:
    """``(N, T)`` int: an id per contiguous run of equal wave code (0-based within each row)."""
    change = np.ones(codes.shape, dtype=bool)
    change[:, 1:] = codes[:, 1:] != codes[:, :-1]
    return np.cumsum(change, axis=1) - 1


def interpolate_out(x: np.ndarray, remove: np.ndarray) -> np.ndarray:
    """``x`` ``(N, T)`` with every ``remove``d run replaced by a line between its neighbours.

    Vectorised: the left (right) anchor of each removed sample is the nearest kept sample
    before (after) it; a run at a window edge takes its only anchor's value; a row with
    nothing kept becomes its median.
    """
    n, t = x.shape
    positions = np.broadcast_to(np.arange(t), (n, t))
    kept = ~remove
    left = np.maximum.accumulate(np.where(kept, positions, -1), axis=1)
    right = np.minimum.accumulate(np.where(kept, positions, t)[:, ::-1], axis=1)[:, ::-1]
    has_left, has_right = left >= 0, right < t
    x_left = np.take_along_axis(x, np.clip(left, 0, t - 1), 1)
    x_right = np.take_along_axis(x, np.clip(right, 0, t - 1), 1)
    span = np.maximum(right - left, 1)  # kept samples have left == right
    weight = np.where(has_left & has_right, (positions - left) / span, 0.0)
    line = np.where(
        has_left & has_right,
        x_left + weight * (x_right - x_left),
        np.where(has_left, x_left, x_right),
    )
    nothing_kept = ~kept.any(axis=1)
    line[nothing_kept] = np.median(x[nothing_kept], axis=1, keepdims=True)
    return np.where(remove, line, x).astype(x.dtype)


class ClinicalOcclusion:
    """Output drop when one fiducial interval type (P, QRS, T, TP) is interpolated out.

    Parameters
    ----------
    model : maps ``(N, 1, T)`` to logits ``(N, C)``.
    intervals : interval types removed one at a time (names of
        :data:`xecgbench_builtin.metrics.interval_profile.INTERVALS`).
    max_rows : signals per forward pass, which bounds peak memory.
    """

    name: ClassVar[str] = "clinical_occlusion"
    version: ClassVar[str] = "1"
    family: ClassVar[str] = "perturbation"
    needs_baseline: ClassVar[bool] = True
    relative_cost: ClassVar[float] = 2.5  # 5 forward passes ≈ 2.5 forward+backward passes
    #: Relevance is built from the masks the alignment metrics score: its natural null is
    #: about 1 / len(intervals) of the mass on each interval type, not the mask's share.
    mask_informed: ClassVar[bool] = True

    def __init__(
        self,
        model: nn.Module,
        *,
        intervals: tuple[str, ...] | list[str] = DEFAULT_INTERVALS,
        max_rows: int = 64,
    ) -> None:
        unknown = [i for i in intervals if i not in INTERVALS]
        if unknown or not intervals:
            raise ValueError(
                f"attribution 'clinical_occlusion': intervals must be a non-empty subset of "
                f"{list(INTERVALS)}, got {list(intervals)}"
            )
        self.model = model
        self.intervals = tuple(intervals)
        self.max_rows = max(1, max_rows)

    def __call__(
        self,
        x: torch.Tensor,
        target: torch.Tensor,
        *,
        masks: Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        import torch

        validate_inputs(self.name, x, target)
        n, _, t = x.shape
        labels = interval_labels(wave_codes(*mask_arrays(self.name, masks, n, t)))
        signal = x.detach().float().cpu().numpy().reshape(n, t)
        variants = [signal] + [interpolate_out(signal, labels[k]) for k in self.intervals]
        stacked = torch.from_numpy(np.concatenate(variants)).reshape(-1, 1, t).to(x.device)
        rows = target.long().repeat(len(variants))
        with eval_mode(self.model), torch.no_grad():
            outputs = torch.cat(
                [
                    self.model(stacked[s : s + self.max_rows])
                    .gather(1, rows[s : s + self.max_rows, None])
                    .squeeze(1)
                    for s in range(0, len(stacked), self.max_rows)
                ]
            )
        scores = outputs.reshape(len(variants), n).double().cpu().numpy()
        relevance = np.zeros((n, t))
        for k, drop in zip(self.intervals, scores[0] - scores[1:], strict=True):
            members = labels[k]
            length = members.sum(axis=1, keepdims=True)
            relevance += np.divide(
                members * drop[:, None], length, out=np.zeros((n, t)), where=length > 0
            )
        return torch.from_numpy(relevance.astype(np.float32)).reshape(n, 1, t).to(x.device)
