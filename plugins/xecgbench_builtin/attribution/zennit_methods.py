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

``dtd`` has a direct path for models built only from the layers xECGArch uses (see
:func:`direct_dtd_applies`): the same rules written per layer type, which skips what zennit
computes and discards (the unmodified backward pass, ``z+``'s pass over the negative inputs
that ReLU outputs do not have) and costs 1.2–1.4× ``saliency`` instead of 3× (measured in
docs/benchmarks.md). Its relevance equals the zennit path's to float rounding.

Long because the direct DTD propagation path and the zennit composites it must equal live
side by side, so one diff shows both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, partial
from typing import TYPE_CHECKING, Any, ClassVar

from xecgbench.api import eval_mode, explain_in_chunks, validate_inputs

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
    family: ClassVar[str] = "propagation"
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
        """Fold BatchNorm into the preceding conv/linear layer while explaining (exactly)."""
        from xecgbench_builtin.attribution.canonizers import ExactSequentialMergeBatchNorm

        return [ExactSequentialMergeBatchNorm()]

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        validate_inputs(self.name, x, target)
        with eval_mode(self.model):
            return explain_in_chunks(self._explain, x, target, self.chunk_size)

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch

        composite = self.composite(input_layers(self.model, x[:1]))
        with torch.enable_grad(), composite.context(self.model) as modified:
            x = x.detach().float().clone().requires_grad_(True)
            return target_relevance(modified(x), x, target)


def target_relevance(logits: torch.Tensor, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Propagate relevance from the target logits' values, everything else zero, back to ``x``."""
    import torch

    index = target.long()[:, None]
    start = torch.zeros_like(logits).scatter_(1, index, logits.detach().gather(1, index))
    (relevance,) = torch.autograd.grad(logits, x, grad_outputs=start)
    return relevance.detach()


NO_INPUT_LAYER = (
    "no conv/linear layer of the model reads the input directly, so the first-layer "
    "rule (z^B / flat) has nowhere to go; use lrp_epsilon or lrp_alpha_beta"
)


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
        raise ValueError(NO_INPUT_LAYER)
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

    def _explain(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch

        if not direct_dtd_applies(self.model):
            return super()._explain(x, target)
        with torch.enable_grad():
            x = x.detach().float().clone().requires_grad_(True)
            with direct_dtd(self.model, x, self.low, self.high, self.stabilizer) as input_read:
                logits = self.model(x)
            if not input_read:
                raise ValueError(NO_INPUT_LAYER)
            return target_relevance(logits, x, target)

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


def direct_dtd_applies(model: nn.Module) -> bool:
    """Whether every leaf module is a type :func:`direct_dtd` has the zennit rule for.

    Exact types, since a subclass may change ``forward``; operations written in ``forward``
    itself (``torch.stack``, ``squeeze``) get the plain gradient on both paths.
    """
    from torch import nn

    supported = (
        nn.Conv1d, nn.ReLU, nn.MaxPool1d, nn.AdaptiveAvgPool1d, nn.AvgPool1d, nn.Flatten, nn.Linear
    )
    for module in model.modules():
        if next(module.children(), None) is not None:
            continue
        if type(module) not in supported:
            return False
        if isinstance(module, nn.Conv1d) and (
            module.padding_mode != "zeros" or isinstance(module.padding, str)
        ):
            return False
        if isinstance(module, nn.ReLU) and module.inplace:  # would overwrite a saved output
            return False
    return True


@contextmanager
def direct_dtd(
    model: nn.Module, x: torch.Tensor, low: float, high: float, stabilizer: float
) -> Iterator[list[nn.Module]]:
    """Make ``model``'s backward pass propagate DTD relevance, as zennit's composite would.

    Each hooked module's output is passed through an autograd function whose backward applies
    the layer's rule to the incoming relevance: z^B (``ZBox``) on conv/linear layers whose
    input is ``x`` itself, z+ on the other conv/linear layers, zennit's ``Norm`` on average
    pooling and ``Pass`` on ReLU; max-pooling and flattening keep their gradient. Yields the
    list of layers that got z^B, filled during the forward pass.
    """
    from torch import nn

    rule_function = _rule_function()
    rules: dict[type, Callable[..., torch.Tensor]] = {
        nn.Conv1d: partial(_z_plus, stabilizer),
        nn.Linear: partial(_z_plus, stabilizer),
        nn.AdaptiveAvgPool1d: partial(_norm, stabilizer),
        nn.AvgPool1d: partial(_norm, stabilizer),
        nn.ReLU: _pass,
    }
    z_box = partial(_z_box, stabilizer, low, high)
    input_read: list[nn.Module] = []

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> Any:
        rule = rules[type(module)]
        if args[0] is x and isinstance(module, (nn.Conv1d, nn.Linear)):
            rule = z_box
            input_read.append(module)
        return rule_function.apply(args[0], out.detach(), module, rule)

    handles = [
        module.register_forward_hook(hook)
        for module in model.modules()
        if type(module) in rules
    ]
    try:
        yield input_read
    finally:
        for handle in handles:
            handle.remove()


@cache
def _rule_function() -> Any:
    """An autograd function returning a layer's output whose backward applies ``rule``."""
    import torch

    class LayerRule(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, out: torch.Tensor, module: Any, rule: Any) -> Any:
            ctx.save_for_backward(x, out)
            ctx.module, ctx.rule = module, rule
            return out.view_as(out)

        @staticmethod
        def backward(ctx: Any, relevance: torch.Tensor) -> Any:
            x, out = ctx.saved_tensors
            return ctx.rule(ctx.module, x, out, relevance), None, None, None

    return LayerRule


def _stabilize(z: torch.Tensor, stabilizer: float) -> torch.Tensor:
    """zennit's stabiliser: ``z + ε·sign(z)`` with zero counted as positive."""
    import torch

    return torch.where(z >= 0, stabilizer, -stabilizer).add_(z)


def _forward(module: nn.Module, x: torch.Tensor, weight: torch.Tensor, bias: Any) -> torch.Tensor:
    """``module``'s linear map with other parameters."""
    from torch import nn
    from torch.nn import functional

    if isinstance(module, nn.Conv1d):
        return functional.conv1d(
            x, weight, bias, module.stride, module.padding, module.dilation, module.groups
        )
    return functional.linear(x, weight, bias)


def _backward(
    module: nn.Module, input_shape: torch.Size, weight: torch.Tensor, grad: torch.Tensor
) -> Any:
    """Gradient w.r.t. its input (of ``input_shape``) of ``module``'s linear map with ``weight``.

    For a stride-1, ungrouped convolution this is a plain convolution with the kernel flipped
    and the channels swapped, which oneDNN ran 3–4× faster than its transposed convolution
    (``convolution_backward``) on xECGArch's shapes (kernel 3–9, 1–32 channels).
    """
    from torch import nn
    from torch.nn import functional
    from torch.nn.grad import conv1d_input

    if not isinstance(module, nn.Conv1d):
        return grad @ weight
    assert not isinstance(module.padding, str)  # supports_direct_dtd rejects string padding
    (stride,), (padding,), (dilation,) = module.stride, module.padding, module.dilation
    flipped_padding = dilation * (weight.shape[-1] - 1) - padding
    if stride == 1 and module.groups == 1 and flipped_padding >= 0:
        flipped = weight.flip(-1).transpose(0, 1)
        return functional.conv1d(grad, flipped, None, 1, flipped_padding, dilation)
    return conv1d_input(input_shape, weight, grad, stride, padding, dilation, module.groups)


def _z_plus(
    stabilizer: float, module: Any, x: torch.Tensor, out: torch.Tensor, relevance: torch.Tensor
) -> torch.Tensor:
    """zennit's ``ZPlus``: positive weights and bias on ``x⁺``, negative weights on ``x⁻``.

    The ``x⁻`` term is skipped where ``x ≥ 0`` (after ReLU and pooling), where it is zero.
    """
    import torch

    weight, bias = module.weight, module.bias
    positive = weight.clamp(min=0)
    bias = None if bias is None else bias.clamp(min=0)
    has_negative = bool(x.min() < 0)
    x_plus = x.clamp(min=0) if has_negative else x
    z = _forward(module, x_plus, positive, bias)
    if has_negative:
        negative, x_minus = weight.clamp(max=0), x.clamp(max=0)
        z = _stabilize(z + _forward(module, x_minus, negative, None), stabilizer)
    else:
        z += stabilizer  # z ≥ 0 here, so the sign-aware stabiliser adds ε everywhere
    ratio = torch.div(relevance, z, out=z)
    result = _backward(module, x.shape, positive, ratio).mul_(x_plus)
    if has_negative:
        result = result + x_minus * _backward(module, x.shape, negative, ratio)
    return result


def _z_box(
    stabilizer: float,
    low: float,
    high: float,
    module: Any,
    x: torch.Tensor,
    out: torch.Tensor,
    relevance: torch.Tensor,
) -> torch.Tensor:
    """zennit's ``ZBox``: ``z = Wx + b − (W⁺·low + b⁺) − (W⁻·high + b⁻)``.

    The bounds are constant over the batch, so their terms are computed on one sample and
    broadcast, and their back-projection is one pass with the weight ``low·W⁺ + high·W⁻``;
    for an ungrouped conv that pass and ``W``'s share one, with the weights stacked as input
    channels (this layer runs at the full sampling rate, the costliest).
    """
    import torch

    weight, bias = module.weight, module.bias
    positive, negative = weight.clamp(min=0), weight.clamp(max=0)
    ones = torch.ones_like(x[:1])
    bias_plus = None if bias is None else bias.clamp(min=0)
    bias_minus = None if bias is None else bias.clamp(max=0)
    z = out - (
        _forward(module, low * ones, positive, bias_plus)
        + _forward(module, high * ones, negative, bias_minus)
    )
    ratio = relevance / _stabilize(z, stabilizer)
    bounds_weight = low * positive + high * negative
    if isinstance(module, torch.nn.Conv1d) and module.groups == 1:
        n, channels, length = x.shape
        stacked = torch.cat([weight, -bounds_weight], dim=1)
        both = _backward(module, torch.Size((n, 2 * channels, length)), stacked, ratio)
        return torch.addcmul(both[:, channels:], x, both[:, :channels])
    bounds = _backward(module, x.shape, bounds_weight, ratio)
    return x * _backward(module, x.shape, weight, ratio) - bounds


def _norm(
    stabilizer: float, module: Any, x: torch.Tensor, out: torch.Tensor, relevance: torch.Tensor
) -> torch.Tensor:
    """zennit's ``Norm`` on average pooling: each input's share of the pooled activation.

    Global pooling's gradient is written out; other pooling takes it from autograd.
    """
    import torch

    ratio = relevance / _stabilize(out, stabilizer)
    if isinstance(module, torch.nn.AdaptiveAvgPool1d) and module.output_size in (1, (1,)):
        return x * (ratio / x.shape[-1])
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(module.forward(leaf), leaf, ratio)
    return x * grad


def _pass(module: Any, x: torch.Tensor, out: torch.Tensor, relevance: torch.Tensor) -> Any:
    """zennit's ``Pass`` on ReLU: relevance goes through unchanged."""
    return relevance


ZENNIT_METHODS: tuple[type[ZennitAttribution], ...] = (DTD, DTDFlat, LRPEpsilon, LRPAlphaBeta)
