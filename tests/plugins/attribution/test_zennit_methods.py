"""Properties of the zennit LRP/DTD methods: conservation, pooling, ensembles, BatchNorm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from xecgbench_builtin.attribution.zennit_methods import (
    DTD,
    ZENNIT_METHODS,
    DTDFlat,
    LRPAlphaBeta,
    LRPEpsilon,
    ZennitAttribution,
    direct_dtd_applies,
    input_layers,
)
from xecgbench_builtin.models.xecgarch import build_xecgarch

T = 300
#: z+ and z^B conserve relevance exactly but for the stabiliser added to each denominator, so
#: with a negligible one the relevance sum equals the logit to float32 rounding (measured
#: ≤ 2e-7 relative). With the default 1e-6 the leak reached 5e-3 where channels are weak.
EXACT = {"stabilizer": 1e-12}
CONSERVATION_RTOL = 1e-5


def conv_net(*, bias: bool, batch_norm: bool = False) -> nn.Sequential:
    """Conv/ReLU/MaxPool blocks, a dilated conv and a global-average-pool + linear head."""
    layers: list[nn.Module] = [nn.Conv1d(1, 4, 7, padding=3, bias=bias)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(4))
    layers += [
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(4, 6, 5, padding=4, dilation=2, bias=bias),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(6, 2, bias=bias),
    ]
    return nn.Sequential(*layers).eval()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(4, 1, T, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def target() -> torch.Tensor:
    return torch.tensor([0, 1, 0, 1])


def target_logit(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).gather(1, target[:, None]).squeeze(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dtd_conserves_relevance_on_a_bias_free_network(seed, x, target) -> None:
    torch.manual_seed(seed)
    model = conv_net(bias=False)
    relevance = DTD(model, low=0.0, high=1.0, **EXACT)(x, target)
    torch.testing.assert_close(
        relevance.sum(dim=(1, 2)), target_logit(model, x, target), rtol=CONSERVATION_RTOL, atol=0
    )


def test_conservation_test_detects_relevance_lost_to_biases(x, target) -> None:
    torch.manual_seed(0)
    model = conv_net(bias=True)
    with torch.no_grad():
        model[0].bias.fill_(0.5)  # positive biases absorb relevance under z+
    relevance = DTD(model, **EXACT)(x, target)
    lost = (relevance.sum(dim=(1, 2)) - target_logit(model, x, target)).abs()
    assert (lost > 100 * CONSERVATION_RTOL * target_logit(model, x, target).abs()).all()


class PointwiseNet(nn.Module):
    """One channel, kernel 1, weight 1; ``pool`` is the module or a tensor mean."""

    def __init__(self, functional_mean: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 1, bias=False)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.linear = nn.Linear(1, 2, bias=False)
        self.functional_mean = functional_mean
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.linear.weight.copy_(torch.tensor([[1.0], [2.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.conv(x))
        pooled = a.mean(dim=-1, keepdim=True) if self.functional_mean else self.pool(a)
        return self.linear(pooled.flatten(1))


@pytest.mark.parametrize("method", ZENNIT_METHODS, ids=lambda m: m.name)
def test_global_average_pooling_shares_relevance_by_activation(method, x, target) -> None:
    # LRP through a mean gives each position its share of the pooled activation: here x_t/Σx.
    params = {"epsilon": 1e-12} if method is LRPEpsilon else {}
    relevance = method(PointwiseNet(functional_mean=False), **EXACT, **params)(x, target)
    share = relevance / relevance.sum(dim=-1, keepdim=True)
    torch.testing.assert_close(share, x / x.sum(dim=-1, keepdim=True), rtol=1e-4, atol=1e-7)


def test_a_tensor_mean_would_spread_relevance_uniformly(x, target) -> None:
    # The failure the previous test guards against: zennit sees no module, so plain gradient.
    relevance = DTD(PointwiseNet(functional_mean=True), **EXACT)(x, target)
    share = relevance / relevance.sum(dim=-1, keepdim=True)
    torch.testing.assert_close(share, torch.full_like(share, 1 / T))


class PooledEnsemble(nn.Module):
    """Mean of branch logits as an ``AvgPool1d`` over the stacked logits, so LRP can see it."""

    def __init__(self, branches: list[nn.Module]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.mean = nn.AvgPool1d(len(branches))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mean(torch.stack([b(x) for b in self.branches], dim=-1)).squeeze(-1)


@pytest.mark.parametrize("method", ZENNIT_METHODS, ids=lambda m: m.name)
def test_ensemble_relevance_is_the_mean_of_branch_relevances(method, x, target) -> None:
    torch.manual_seed(0)
    branches = [conv_net(bias=True), conv_net(bias=True)]
    together = method(PooledEnsemble(branches))(x, target)
    mean = sum(method(b)(x, target) for b in branches) / 2
    torch.testing.assert_close(together, mean, rtol=1e-4, atol=1e-6 * float(mean.abs().max()))


@pytest.mark.parametrize("method", [DTD], ids=lambda m: m.name)
def test_xecgarch_ensemble_relevance_is_the_mean_of_branch_relevances(method, x, target) -> None:
    torch.manual_seed(0)
    arch = build_xecgarch(fs=100.0, n_samples=T, width=4).eval()
    together = method(arch.explainable("ensemble"))(x, target)
    mean = (
        method(arch.explainable("morphology"))(x, target)
        + method(arch.explainable("rhythm"))(x, target)
    ) / 2
    torch.testing.assert_close(together, mean, rtol=1e-4, atol=1e-6 * float(mean.abs().max()))


def test_first_layer_rule_goes_to_every_branch_input_layer(x) -> None:
    torch.manual_seed(0)
    arch = build_xecgarch(fs=100.0, n_samples=T, width=4)
    names = input_layers(arch.explainable("ensemble"), x[:1])
    assert names == ["members.morphology.blocks.block1.conv", "members.rhythm.blocks.block1.conv"]
    assert input_layers(arch.explainable("rhythm"), x[:1]) == ["blocks.block1.conv"]


def test_model_without_an_input_layer_is_a_clear_error(x, target) -> None:
    model = nn.Sequential(nn.ReLU(), conv_net(bias=True))
    with pytest.raises(ValueError, match="reads the input directly"):
        DTD(model)(x, target)


def batch_norm_net() -> nn.Sequential:
    torch.manual_seed(0)
    model = conv_net(bias=True, batch_norm=True)
    norm = model[1]
    with torch.no_grad():
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 2.0)
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.2, 0.2)
    return model


def folded(model: nn.Sequential) -> nn.Sequential:
    """The same network with its BatchNorm folded into the conv by hand."""
    conv, norm = model[0], model[1]
    scale = norm.weight / (norm.running_var + norm.eps).sqrt()
    merged = nn.Conv1d(1, 4, 7, padding=3)
    with torch.no_grad():
        merged.weight.copy_(conv.weight * scale[:, None, None])
        merged.bias.copy_((conv.bias - norm.running_mean) * scale + norm.bias)
    return nn.Sequential(merged, *list(model)[2:]).eval()


@pytest.mark.parametrize("method", [DTD, DTDFlat, LRPAlphaBeta], ids=lambda m: m.name)
def test_batch_norm_is_folded_and_the_model_left_unchanged(method, x, target) -> None:
    model = batch_norm_net().train()  # attribution must switch to eval and back
    model.eval()
    before = model(x).detach()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    seen: list[torch.Tensor] = []
    handle = model.register_forward_hook(lambda m, i, out: seen.append(out.detach()))
    model.train()
    relevance = method(model)(x, target)
    handle.remove()
    assert model.training
    model.eval()
    for output in seen[1:]:  # seen[0] is the dry pass that finds the input layers
        torch.testing.assert_close(output, before[: len(output)], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model(x), before, rtol=0, atol=0)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    expected = method(folded(model))(x, target)
    torch.testing.assert_close(
        relevance, expected, rtol=1e-4, atol=1e-6 * float(expected.abs().max())
    )


def test_invalid_rule_parameters_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="alpha - beta = 1"):
        LRPAlphaBeta(conv_net(bias=True), alpha=2.0, beta=2.0)
    with pytest.raises(ValueError, match="low < high"):
        DTD(conv_net(bias=True), low=1.0, high=0.0)


def zennit_path(method: DTD, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """What ``method`` gives through zennit's composite, bypassing DTD's direct path."""
    with torch.no_grad():
        return ZennitAttribution._explain(method, x, target)


def assert_same_relevance(actual: torch.Tensor, expected: torch.Tensor) -> None:
    scale = float(expected.abs().max())
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("fs", [100.0, 250.0])
@pytest.mark.parametrize("branch", ["morphology", "rhythm", "ensemble"])
@pytest.mark.parametrize("bounds", [(0.0, 1.0), (-1.0, 2.0)])
def test_direct_dtd_equals_zennit_on_xecgarch(fs, branch, bounds) -> None:
    generator = torch.Generator().manual_seed(int(fs) + len(branch))
    torch.manual_seed(int(fs) + len(branch))
    n_samples = int(3 * fs)
    module = build_xecgarch(fs=fs, n_samples=n_samples, width=4).explainable(branch).eval()
    x = torch.rand(5, 1, n_samples, generator=generator)
    target = torch.randint(0, 2, (5,), generator=generator)
    low, high = bounds
    method = DTD(module, low=low, high=high)
    assert direct_dtd_applies(module)
    assert_same_relevance(method(x, target), zennit_path(method, x, target))


class LinearStack(nn.Module):
    """Strided and grouped convs and a linear layer on signed inputs: z+ sees ``x⁻ ≠ 0``."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv1d(1, 4, 5, stride=2, padding=2)
        self.grouped = nn.Conv1d(4, 4, 3, padding=1, groups=2)
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(4 * 50, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(self.flatten(self.grouped(self.first(x)))))


def dense_first() -> nn.Module:
    """A linear layer reads the input (the z^B path without stacked weights)."""
    return nn.Sequential(nn.Linear(100, 6), nn.ReLU(), nn.Flatten(), nn.Linear(6, 3))


@pytest.mark.parametrize("build", [LinearStack, dense_first])
def test_direct_dtd_equals_zennit_on_signed_layer_inputs(build) -> None:
    torch.manual_seed(3)
    generator = torch.Generator().manual_seed(3)
    x = torch.rand(4, 1, 100, generator=generator) * 2 - 1
    target = torch.tensor([0, 2, 1, 2])
    method = DTD(build().eval(), low=-1.0, high=1.0)
    assert direct_dtd_applies(method.model)
    assert_same_relevance(method(x, target), zennit_path(method, x, target))


@pytest.mark.parametrize(
    "layer", [nn.Tanh(), nn.ReLU(inplace=True), nn.BatchNorm1d(4)], ids=["tanh", "inplace", "bn"]
)
def test_other_layers_fall_back_to_zennit(layer, x, target) -> None:
    # zennit passes relevance through Tanh unchanged (its Pass rule); the direct path would
    # take Tanh's gradient, so equal outputs show the fallback ran.
    torch.manual_seed(0)
    model = conv_net(bias=True)
    model[1] = layer
    model.eval()
    method = DTD(model)
    assert not direct_dtd_applies(model)
    torch.testing.assert_close(method(x, target), zennit_path(method, x, target), rtol=0, atol=0)
