"""More captum methods: noise tunnels, guided backprop, DeepLIFT-SHAP, Grad-CAM.

Stochastic methods (SmoothGrad, VarGrad, DeepLIFT-SHAP's baselines; also the surrogates in
:mod:`xecgbench_builtin.attribution.surrogates`) draw their noise from a generator seeded by
``seed`` and each sample's values (``sample_seeds``), so a window gets the same explanation
alone or in a batch and the global RNG is left as it was. Memory is bounded like
:mod:`xecgbench_builtin.attribution.captum_methods`: each method states how many signals at
most go through the model at once.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from xecgbench_builtin.attribution.captum_methods import CaptumAttribution
from xecgbench_builtin.attribution.control_methods import sample_seeds

if TYPE_CHECKING:
    import torch
    from torch import nn


@contextmanager
def seeded_sample(sample_seed: int) -> Iterator[None]:
    """Seed torch and numpy for one sample; restore both global states afterwards."""
    import torch

    numpy_state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(sample_seed)
            np.random.seed(sample_seed % 2**32)
            yield
    finally:
        np.random.set_state(numpy_state)


def per_sample(
    explain: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    seed: int,
) -> torch.Tensor:
    """``explain(x_i, target_i, i)`` for each sample under its own seed, concatenated."""
    import torch

    rows = []
    for i, sample_seed in enumerate(sample_seeds(x, seed)):
        with seeded_sample(sample_seed):
            rows.append(explain(x[i : i + 1], target[i : i + 1], i))
    return torch.cat(rows)


class NoiseTunnelSaliency(CaptumAttribution):
    """Base of SmoothGrad and VarGrad: captum's ``NoiseTunnel`` over the signed input gradient.

    ``n_samples`` noisy copies per sample with Gaussian noise of ``noise_level`` × the window's
    peak-to-peak amplitude (SmoothGrad's recommended 10–20 %); at most ``batch_rows`` noisy
    copies per forward/backward pass. Cost: ``n_samples`` gradient passes per sample.
    """

    nt_type: ClassVar[str]
    relative_cost = 20.0

    def __init__(
        self,
        model: nn.Module,
        *,
        n_samples: int = 20,
        noise_level: float = 0.15,
        batch_rows: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(model, chunk_size=64)
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.batch_rows = max(1, batch_rows)
        self.seed = seed

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import NoiseTunnel
        from captum.attr import Saliency as CaptumSaliency

        tunnel = NoiseTunnel(CaptumSaliency(self.model))

        def one(xi: torch.Tensor, ti: torch.Tensor, _: int) -> torch.Tensor:
            spread = float(xi.max() - xi.min()) or 1.0
            return tunnel.attribute(
                xi,
                nt_type=self.nt_type,
                nt_samples=self.n_samples,
                nt_samples_batch_size=min(self.batch_rows, self.n_samples),
                stdevs=self.noise_level * spread,
                target=ti,
                abs=False,
            )

        return per_sample(one, x, target, self.seed)


class SmoothGrad(NoiseTunnelSaliency):
    """SmoothGrad (Smilkov et al. 2017): the mean gradient over noisy copies of the input."""

    name = "smoothgrad"
    nt_type = "smoothgrad"


class VarGrad(NoiseTunnelSaliency):
    """VarGrad (Adebayo et al. 2018): the variance of the gradient over noisy copies."""

    name = "vargrad"
    nt_type = "vargrad"


class GuidedBackprop(CaptumAttribution):
    """Guided backpropagation (Springenberg et al. 2015): only positive gradients pass ReLUs.

    Needs the ReLUs as modules (xECGArch's are). Cost: one gradient pass.
    """

    name = "guided_backprop"
    family = "propagation"
    relative_cost = 2.0

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import GuidedBackprop as CaptumGuidedBackprop

        with warnings.catch_warnings():  # captum announces its ReLU hooks on every call
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
            return CaptumGuidedBackprop(self.model).attribute(x, target=target)


class DeepLiftShap(CaptumAttribution):
    """DeepLIFT-SHAP (Lundberg & Lee 2017): DeepLIFT averaged over a baseline distribution.

    The ``n_baselines`` baselines are the constant ``baseline`` plus Gaussian noise of
    standard deviation ``stdevs``, drawn once from ``seed`` (the same for every window). Cost:
    ``n_baselines`` DeepLIFT passes per sample; at most ``batch_rows`` signals per pass.
    """

    name = "deeplift_shap"
    family = "propagation"
    needs_baseline = True
    relative_cost = 50.0  # measured ≈ 55 × saliency (docs/attributions.md)

    def __init__(
        self,
        model: nn.Module,
        *,
        baseline: float = 0.0,
        n_baselines: int = 10,
        stdevs: float = 0.05,
        batch_rows: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(model, chunk_size=max(1, batch_rows // max(1, n_baselines)))
        self.baseline = baseline
        self.n_baselines = max(2, n_baselines)  # captum needs a distribution
        self.stdevs = stdevs
        self.seed = seed

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch
        from captum.attr import DeepLiftShap as CaptumDeepLiftShap

        generator = torch.Generator().manual_seed(self.seed)
        noise = torch.randn((self.n_baselines, *x.shape[1:]), generator=generator)
        baselines = (self.baseline + self.stdevs * noise).to(x.device)
        return CaptumDeepLiftShap(self.model).attribute(x, baselines=baselines, target=target)


def last_convs(model: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """The last convolution of each branch of ``model``, found by running it on ``x``.

    Convolutions are recorded in execution order; one that reads the input itself starts a new
    branch (xECGArch's ensemble runs its branches one after the other), and the last
    convolution before the next branch starts is that branch's.
    """
    import torch
    from torch import nn

    order: list[tuple[nn.Module, bool]] = []
    handles = [
        module.register_forward_pre_hook(
            lambda module, args: order.append((module, args[0] is x))
        )
        for module in model.modules()
        if isinstance(module, nn.Conv1d)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not order:
        raise ValueError("attribution 'grad_cam': the model has no Conv1d layer")
    found = [previous for (previous, _), (_, starts) in itertools.pairwise(order) if starts]
    return list(dict.fromkeys([*found, order[-1][0]]))


class GradCAM(CaptumAttribution):
    """Grad-CAM (Selvaraju et al. 2017) on each branch's last convolution, upsampled to ``T``.

    Channel weights are the time-averaged gradients of the target output; the weighted sum of
    the channels, ReLU'd (``relu=True``), is linearly interpolated to the input length. For an
    ensemble the branches' maps are summed. Cost: one gradient pass per branch.
    """

    name = "grad_cam"
    family = "cam"
    relative_cost = 2.0

    def __init__(self, model: nn.Module, *, relu: bool = True, chunk_size: int = 64) -> None:
        super().__init__(model, chunk_size=chunk_size)
        self.relu = relu

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import LayerAttribution, LayerGradCam

        total = None
        for layer in last_convs(self.model, x[:1]):
            cam = LayerGradCam(self.model, layer).attribute(
                x, target=target, relu_attributions=self.relu
            )
            up = LayerAttribution.interpolate(cam, (x.shape[-1],), interpolate_mode="linear")
            total = up if total is None else total + up
        assert total is not None
        return total


CAPTUM_MORE: tuple[type[CaptumAttribution], ...] = (
    SmoothGrad,
    VarGrad,
    GuidedBackprop,
    DeepLiftShap,
    GradCAM,
)
