"""Gradient and perturbation baselines from captum.

Peak memory is bounded by construction: every method explains at most ``chunk_size`` samples
at a time, integrated gradients evaluates at most ``internal_batch_size`` interpolated signals
per pass and occlusion at most ``max_rows`` occluded signals per pass, whatever the batch
size the caller hands in (unbounded, captum's defaults peaked at 15.8 GiB on 10-s signals).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, ClassVar

from xecgbench.api import eval_mode, explain_in_chunks, validate_inputs
from xecgbench_builtin.attribution.control_methods import sample_seeds

if TYPE_CHECKING:
    import torch
    from torch import nn


class CaptumAttribution:
    """Base: subclasses implement :meth:`_explain` on one chunk of samples.

    Parameters
    ----------
    model : maps ``(N, 1, T)`` to logits ``(N, C)``.
    chunk_size : samples explained per call into captum, which bounds peak memory.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    family: ClassVar[str] = "gradient"
    needs_baseline: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 1.0

    def __init__(self, model: nn.Module, *, chunk_size: int = 64) -> None:
        self.model = model
        self.chunk_size = chunk_size

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        validate_inputs(self.name, x, target)
        x = x.detach().float()
        with eval_mode(self.model), warnings.catch_warnings():
            # captum's notes on setting requires_grad and hooking ReLUs are expected here
            warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require")
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            relevance = explain_in_chunks(self._explain, x, target.long(), self.chunk_size)
        return relevance.detach().float()

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Saliency(CaptumAttribution):
    """Absolute input gradient of the target logit (``absolute=False`` keeps the sign)."""

    name = "saliency"

    def __init__(self, model: nn.Module, *, absolute: bool = True, chunk_size: int = 64) -> None:
        super().__init__(model, chunk_size=chunk_size)
        self.absolute = absolute

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import Saliency as CaptumSaliency

        return CaptumSaliency(self.model).attribute(x, target=target, abs=self.absolute)


class InputXGradient(CaptumAttribution):
    """Input times gradient of the target logit."""

    name = "input_x_gradient"

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import InputXGradient as CaptumInputXGradient

        return CaptumInputXGradient(self.model).attribute(x, target=target)


class IntegratedGradients(CaptumAttribution):
    """Path integral of gradients from a constant ``baseline`` signal to the input.

    ``n_steps`` Gauss-Legendre steps; at most ``internal_batch_size`` interpolated signals go
    through the model at once.
    """

    name = "integrated_gradients"
    family = "path"
    needs_baseline = True
    relative_cost = 50.0

    def __init__(
        self,
        model: nn.Module,
        *,
        baseline: float = 0.0,
        n_steps: int = 50,
        internal_batch_size: int = 64,
    ) -> None:
        super().__init__(model, chunk_size=max(1, internal_batch_size // 2))
        self.baseline = baseline
        self.n_steps = n_steps
        self.internal_batch_size = max(2, internal_batch_size)

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import IntegratedGradients as CaptumIntegratedGradients

        return CaptumIntegratedGradients(self.model).attribute(
            x,
            baselines=self.baseline,
            target=target,
            n_steps=self.n_steps,
            internal_batch_size=max(self.internal_batch_size, 2 * len(x)),
        )


class GradientShap(CaptumAttribution):
    """Expected gradients between noisy inputs and a constant ``baseline``.

    Each sample draws its ``n_samples`` interpolation points from its own generator, seeded by
    ``seed`` and the sample's values (see ``sample_seeds``), so results do not depend on the
    batch a sample comes in; the global RNG states are restored afterwards.
    """

    name = "gradient_shap"
    family = "path"
    needs_baseline = True
    relative_cost = 20.0

    def __init__(
        self,
        model: nn.Module,
        *,
        baseline: float = 0.0,
        n_samples: int = 20,
        stdevs: float = 0.05,
        seed: int = 0,
    ) -> None:
        super().__init__(model, chunk_size=64)
        self.baseline = baseline
        self.n_samples = n_samples
        self.stdevs = stdevs
        self.seed = seed

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import numpy as np
        import torch
        from captum.attr import GradientShap as CaptumGradientShap

        explainer = CaptumGradientShap(self.model)
        baselines = torch.full_like(x[:1], self.baseline)
        rows = []
        numpy_state = np.random.get_state()
        try:
            for i, sample_seed in enumerate(sample_seeds(x, self.seed)):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(sample_seed)
                    np.random.seed(sample_seed % 2**32)
                    rows.append(
                        explainer.attribute(
                            x[i : i + 1],
                            baselines=baselines,
                            target=target[i : i + 1],
                            n_samples=self.n_samples,
                            stdevs=self.stdevs,
                        )
                    )
        finally:
            np.random.set_state(numpy_state)
        return torch.cat(rows)


class DeepLift(CaptumAttribution):
    """DeepLIFT (rescale rule) against a constant ``baseline``; needs ReLUs as modules."""

    name = "deeplift"
    family = "propagation"
    needs_baseline = True
    relative_cost = 2.0

    def __init__(self, model: nn.Module, *, baseline: float = 0.0, chunk_size: int = 64) -> None:
        super().__init__(model, chunk_size=chunk_size)
        self.baseline = baseline

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import DeepLift as CaptumDeepLift

        return CaptumDeepLift(self.model).attribute(x, baselines=self.baseline, target=target)


class Occlusion(CaptumAttribution):
    """Drop in the target logit when a ``window_ms`` window is replaced by ``baseline``.

    The window slides by ``stride_ms`` (half a window by default); ``fs`` converts both to
    samples. At most ``max_rows`` occluded signals go through the model at once.
    """

    name = "occlusion"
    family = "perturbation"
    needs_baseline = True
    relative_cost = 70.0

    def __init__(
        self,
        model: nn.Module,
        *,
        fs: float,
        window_ms: float = 100.0,
        stride_ms: float | None = None,
        baseline: float = 0.0,
        max_rows: int = 64,
    ) -> None:
        super().__init__(model, chunk_size=max_rows)
        stride_ms = window_ms / 2 if stride_ms is None else stride_ms
        self.window = max(1, round(window_ms * fs / 1000))
        self.stride = max(1, round(stride_ms * fs / 1000))
        self.baseline = baseline
        self.max_rows = max_rows

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import Occlusion as CaptumOcclusion

        window = min(self.window, x.shape[-1])
        return CaptumOcclusion(self.model).attribute(
            x,
            sliding_window_shapes=(1, window),
            strides=(1, self.stride),
            baselines=self.baseline,
            target=target,
            perturbations_per_eval=max(1, self.max_rows // len(x)),
        )


CAPTUM_METHODS: tuple[type[CaptumAttribution], ...] = (
    Saliency,
    InputXGradient,
    IntegratedGradients,
    GradientShap,
    DeepLift,
    Occlusion,
)
