"""LRP and deep Taylor decomposition with zennit (captum's LRP has no Conv1d rules).

Every method is one zennit composite applied to the explained model: relevance starts as the
target logit and is propagated back by the rules of each layer type. zennit maps global
average pooling (``AdaptiveAvgPool1d``/``AvgPool1d``) to its ``Norm`` rule, so the pooled
relevance is shared in proportion to each position's activation, not spread uniformly; a mean
written as a tensor operation instead of a module would only get the plain gradient. BatchNorm
directly after a conv or linear layer is folded into it with ``SequentialMergeBatchNorm`` for
the duration of the attribution.

Rules meant for "the first layer" (z^B, flat) go to every conv/linear layer that reads the
input itself, found by a dry forward pass: the ensemble has one such layer per branch, where
zennit's own "first layer in module order" would pick only the first branch's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from xecgbench.attribution_checks import eval_mode, explain_in_chunks, validate_inputs

if TYPE_CHECKING:
    import torch
    from torch import nn


class ZennitAttribution:
    """Base: subclasses return their composite from :meth:`composite`.

    Parameters
    ----------
    model : maps ``(N, 1, T)`` to logits ``(N, C)``.
    stabilizer : added (with the sign of the denominator) to every rule's denominator.
    chunk_size : samples per forward/backward pass, which bounds peak memory.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    family: ClassVar[str] = "lrp"
    needs_baseline: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 2.0

    def __init__(self, model: nn.Module, *, stabilizer: float = 1e-6, chunk_size: int = 64) -> None:
        self.model = model
        self.stabilizer = stabilizer
        self.chunk_size = chunk_size

    def composite(self, input_layers: list[str]) -> Any:
        """The zennit composite; ``input_layers`` names the layers that read the input."""
        raise NotImplementedError

    def canonizers(self) -> list[Any]:
        """Fold BatchNorm into the preceding conv/linear layer while explaining."""
        from zennit.canonizers import SequentialMergeBatchNorm

        return [SequentialMergeBatchNorm()]

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        validate_inputs(self.name, x, target)
        with eval_mode(self.model):
            return explain_in_chunks(self._explain, x, target, self.chunk_size)

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch

        composite = self.composite(input_layers(self.model, x[:1]))
        with torch.enable_grad(), composite.context(self.model) as modified:
            x = x.detach().float().clone().requires_grad_(True)
            logits = modified(x)
            index = target.long()[:, None]
            start = torch.zeros_like(logits).scatter_(1, index, logits.detach().gather(1, index))
            (relevance,) = torch.autograd.grad(logits, x, grad_outputs=start)
        return relevance.detach()


def input_layers(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the conv/linear modules whose input is ``x`` itself in ``model(x)``."""
    import torch
    from zennit.types import Linear

    found: list[str] = []
    handles = [
        module.register_forward_pre_hook(
            lambda module, args, name=name: found.append(name) if args[0] is x else None
        )
        for name, module in model.named_modules()
        if isinstance(module, Linear)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not found:
        raise ValueError(
            "no conv/linear layer of the model reads the input directly, so the first-layer "
            "rule (z^B / flat) has nowhere to go; use lrp_epsilon or lrp_alpha_beta"
        )
    return sorted(set(found))


class DTD(ZennitAttribution):
    """Deep Taylor decomposition: z+ on conv/linear layers, z^B on the first layer.

    ``low``/``high`` bound the input as normalised (0 and 1 for min-max scaled windows).
    """

    name = "dtd"

    def __init__(
        self,
        model: nn.Module,
        *,
        low: float = 0.0,
        high: float = 1.0,
        stabilizer: float = 1e-6,
        chunk_size: int = 64,
    ) -> None:
        super().__init__(model, stabilizer=stabilizer, chunk_size=chunk_size)
        if not low < high:
            raise ValueError(f"attribution 'dtd': need low < high, got low={low}, high={high}")
        self.low, self.high = low, high

    def composite(self, input_layers: list[str]) -> Any:
        from zennit.composites import NameLayerMapComposite, layer_map_base
        from zennit.rules import ZBox, ZPlus
        from zennit.types import Linear

        return NameLayerMapComposite(
            name_map=[
                (
                    tuple(input_layers),
                    ZBox(low=self.low, high=self.high, stabilizer=self.stabilizer),
                )
            ],
            layer_map=[
                *layer_map_base(self.stabilizer),
                (Linear, ZPlus(stabilizer=self.stabilizer)),
            ],
            canonizers=self.canonizers(),
        )


class DTDFlat(ZennitAttribution):
    """zennit's ``EpsilonPlusFlat`` rules: flat on input layers, z+ on convs, ε on dense layers."""

    name = "dtd_flat"

    def composite(self, input_layers: list[str]) -> Any:
        import torch
        from zennit.composites import NameLayerMapComposite, layer_map_base
        from zennit.rules import Epsilon, Flat, ZPlus
        from zennit.types import Convolution

        return NameLayerMapComposite(
            name_map=[(tuple(input_layers), Flat(stabilizer=self.stabilizer))],
            layer_map=[
                *layer_map_base(self.stabilizer),
                (Convolution, ZPlus(stabilizer=self.stabilizer)),
                (torch.nn.Linear, Epsilon(epsilon=self.stabilizer)),
            ],
            canonizers=self.canonizers(),
        )


class LRPEpsilon(ZennitAttribution):
    """LRP-ε on every conv and linear layer; ``epsilon`` absorbs weak, contradictory relevance."""

    name = "lrp_epsilon"

    def __init__(
        self,
        model: nn.Module,
        *,
        epsilon: float = 0.01,
        stabilizer: float = 1e-6,
        chunk_size: int = 64,
    ) -> None:
        super().__init__(model, stabilizer=stabilizer, chunk_size=chunk_size)
        self.epsilon = epsilon

    def composite(self, input_layers: list[str]) -> Any:
        from zennit.composites import LayerMapComposite, layer_map_base
        from zennit.rules import Epsilon
        from zennit.types import Linear

        return LayerMapComposite(
            layer_map=[*layer_map_base(self.stabilizer), (Linear, Epsilon(epsilon=self.epsilon))],
            canonizers=self.canonizers(),
        )


class LRPAlphaBeta(ZennitAttribution):
    """LRP-αβ (α = 2, β = 1 by default) on convs, ε on the dense head (zennit's convention)."""

    name = "lrp_alpha_beta"

    def __init__(
        self,
        model: nn.Module,
        *,
        alpha: float = 2.0,
        beta: float = 1.0,
        epsilon: float = 1e-6,
        stabilizer: float = 1e-6,
        chunk_size: int = 64,
    ) -> None:
        super().__init__(model, stabilizer=stabilizer, chunk_size=chunk_size)
        if alpha - beta != 1 or beta < 0:
            raise ValueError(
                f"attribution 'lrp_alpha_beta': need alpha - beta = 1 and beta >= 0, "
                f"got alpha={alpha}, beta={beta}"
            )
        self.alpha, self.beta, self.epsilon = alpha, beta, epsilon

    def composite(self, input_layers: list[str]) -> Any:
        import torch
        from zennit.composites import LayerMapComposite, layer_map_base
        from zennit.rules import AlphaBeta, Epsilon
        from zennit.types import Convolution

        return LayerMapComposite(
            layer_map=[
                *layer_map_base(self.stabilizer),
                (
                    Convolution,
                    AlphaBeta(alpha=self.alpha, beta=self.beta, stabilizer=self.stabilizer),
                ),
                (torch.nn.Linear, Epsilon(epsilon=self.epsilon)),
            ],
            canonizers=self.canonizers(),
        )


ZENNIT_METHODS: tuple[type[ZennitAttribution], ...] = (DTD, DTDFlat, LRPEpsilon, LRPAlphaBeta)
