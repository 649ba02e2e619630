"""KernelSHAP and LIME (captum) over ECG segments.

Both explain **segments** (superpixels), not samples: fixed windows of ``segment_ms`` (default
100 ms; 100 features on a 10-s window) or, with ``segments="intervals"`` and the fiducial masks
passed as ``masks=``, the runs of the beat intervals (each P wave, PR, QRS, ST, T, TP stretch of
each beat is one feature). A segment switched off is replaced by the window's median, the
closest single value to the isoelectric line; a segment's relevance is spread uniformly over its
samples, so it sums to the segment's value over the segment. Noise is seeded per sample as in
:mod:`xecgbench_builtin.attribution.captum_more`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from xecgbench.api import eval_mode, validate_inputs
from xecgbench_builtin.attribution.captum_methods import CaptumAttribution
from xecgbench_builtin.attribution.captum_more import per_sample

if TYPE_CHECKING:
    import torch
    from torch import nn


def segment_ids(
    name: str,
    x: torch.Tensor,
    *,
    segments: str,
    segment_samples: int,
    masks: Mapping[str, Any] | None,
) -> np.ndarray:
    """``(N, T)`` int64 feature ids, 0-based per sample: fixed windows or beat-interval runs."""
    from xecgbench_builtin.attribution.clinical_occlusion import interval_runs, mask_arrays
    from xecgbench_builtin.metrics.interval_profile import interval_labels, wave_codes

    n, _, t = x.shape
    if segments == "windows":
        return np.broadcast_to(np.arange(t) // segment_samples, (n, t)).astype(np.int64)
    if segments == "intervals":
        labels = interval_labels(wave_codes(*mask_arrays(name, masks, n, t)))
        codes = np.zeros((n, t), dtype=np.int8)
        for code, members in enumerate(labels.values(), start=1):
            codes[members] = code
        return interval_runs(codes).astype(np.int64)
    raise ValueError(f"attribution {name!r}: segments must be 'windows' or 'intervals'")


class SegmentSurrogate(CaptumAttribution):
    """Base of KernelSHAP and LIME over ECG segments (see the module docstring).

    Cost: ``n_samples`` forward passes per sample (no backward pass), at most ``batch_rows``
    perturbed signals per pass.
    """

    family = "surrogate"
    needs_baseline = True

    def __init__(
        self,
        model: nn.Module,
        *,
        fs: float,
        segments: str = "windows",
        segment_ms: float = 100.0,
        n_samples: int = 200,
        batch_rows: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(model, chunk_size=64)
        if segments not in ("windows", "intervals"):
            raise ValueError(
                f"attribution {self.name!r}: segments must be 'windows' or 'intervals', "
                f"got {segments!r}"
            )
        self.segments = segments
        self.segment_samples = max(1, round(segment_ms * fs / 1000))
        self.n_samples = n_samples
        self.batch_rows = max(1, batch_rows)
        self.seed = seed

    def _surrogate(self) -> Any:
        raise NotImplementedError

    def __call__(
        self, x: torch.Tensor, target: torch.Tensor, *, masks: Mapping[str, Any] | None = None
    ) -> torch.Tensor:
        import torch

        validate_inputs(self.name, x, target)
        ids = torch.from_numpy(
            segment_ids(
                self.name,
                x,
                segments=self.segments,
                segment_samples=self.segment_samples,
                masks=masks,
            ).copy()
        ).to(x.device)
        x = x.detach().float()
        explainer = self._surrogate()

        def one(xi: torch.Tensor, ti: torch.Tensor, i: int) -> torch.Tensor:
            return explainer.attribute(
                xi,
                baselines=xi.median(dim=-1, keepdim=True).values.expand_as(xi),
                target=ti,
                feature_mask=ids[i].reshape(1, 1, -1),
                n_samples=self.n_samples,
                perturbations_per_eval=self.batch_rows,
            )

        with eval_mode(self.model), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*lstsq.*")
            relevance = per_sample(one, x, target.long(), self.seed)
        # captum repeats a segment's value on each of its samples; spread it instead, so a
        # segment's relevance sums to its Shapley value / coefficient whatever its length
        sizes = torch.stack([torch.bincount(row)[row] for row in ids]).reshape(x.shape)
        return (relevance.detach() / sizes).float()


class KernelShap(SegmentSurrogate):
    """KernelSHAP (Lundberg & Lee 2017): Shapley values of the segments by weighted regression."""

    name = "kernel_shap"
    relative_cost = 300.0  # measured ≈ 300 × saliency at 200 samples

    def _surrogate(self) -> Any:
        from captum.attr import KernelShap as CaptumKernelShap

        return CaptumKernelShap(self.model)


class Lime(SegmentSurrogate):
    """LIME (Ribeiro et al. 2016): a linear surrogate on segments switched on and off.

    Ridge regression (``ridge_alpha``) on the binary segment vectors, weighted by captum's
    exponential cosine-similarity kernel. captum's default Lasso (α = 0.01) zeroed every
    segment of a weakly trained model, whose output moves by less than α per segment.
    """

    name = "lime"
    relative_cost = 200.0  # measured 140–250 × saliency at 200 samples

    def __init__(self, model: nn.Module, *, ridge_alpha: float = 1e-3, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.ridge_alpha = ridge_alpha

    def _surrogate(self) -> Any:
        from captum._utils.models.linear_model import SkLearnRidge
        from captum.attr import Lime as CaptumLime

        return CaptumLime(self.model, interpretable_model=SkLearnRidge(alpha=self.ridge_alpha))


SURROGATES: tuple[type[CaptumAttribution], ...] = (KernelShap, Lime)
