"""Two more LRP rules with zennit: z+ everywhere and γ on the convolutions.

Both reuse :class:`xecgbench_builtin.attribution.zennit_methods.ZennitAttribution` (BatchNorm
folded, relevance started at the target logit, ``Norm`` on average pooling). Cost: one modified
forward and backward pass, like ``lrp_epsilon`` (zennit's rule hooks make it ≈2–3× saliency).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xecgbench_builtin.attribution.zennit_methods import ZennitAttribution

if TYPE_CHECKING:
    from torch import nn


class LRPZPlus(ZennitAttribution):
    """LRP-z+ (Montavon et al. 2017) on every conv and linear layer, the input layer included.

    Only positive contributions propagate, so relevance is non-negative wherever the inputs are
    (z+ splits an input layer's positive and negative inputs, as zennit's ``ZPlus`` does).
    """

    name = "lrp_zplus"

    def composite(self, input_layers: list[str]) -> Any:
        from zennit.composites import LayerMapComposite, layer_map_base
        from zennit.rules import ZPlus
        from zennit.types import Linear

        return LayerMapComposite(
            layer_map=[
                *layer_map_base(self.stabilizer),
                (Linear, ZPlus(stabilizer=self.stabilizer)),
            ],
            canonizers=self.canonizers(),
        )


class LRPGamma(ZennitAttribution):
    """LRP-γ (Montavon et al. 2019) on every convolution, ε on the dense head.

    ``gamma`` favours positive contributions (γ = 0 is LRP-0, γ → ∞ approaches z+); 0.25 is
    the value the LRP overview recommends for lower layers.
    """

    name = "lrp_gamma"

    def __init__(
        self,
        model: nn.Module,
        *,
        gamma: float = 0.25,
        epsilon: float = 1e-6,
        stabilizer: float = 1e-6,
        chunk_size: int = 64,
    ) -> None:
        super().__init__(model, stabilizer=stabilizer, chunk_size=chunk_size)
        if gamma < 0:
            raise ValueError(f"attribution 'lrp_gamma': need gamma >= 0, got {gamma}")
        self.gamma, self.epsilon = gamma, epsilon

    def composite(self, input_layers: list[str]) -> Any:
        import torch
        from zennit.composites import LayerMapComposite, layer_map_base
        from zennit.rules import Epsilon, Gamma
        from zennit.types import Convolution

        return LayerMapComposite(
            layer_map=[
                *layer_map_base(self.stabilizer),
                (Convolution, Gamma(gamma=self.gamma, stabilizer=self.stabilizer)),
                (torch.nn.Linear, Epsilon(epsilon=self.epsilon)),
            ],
            canonizers=self.canonizers(),
        )


ZENNIT_MORE: tuple[type[ZennitAttribution], ...] = (LRPZPlus, LRPGamma)
