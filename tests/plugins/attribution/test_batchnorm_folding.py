"""xECGArch with BatchNorm: folding for explanation is exact, and LRP/DTD see the folded model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from xecgbench_builtin.attribution.canonizers import ExactSequentialMergeBatchNorm
from xecgbench_builtin.attribution.zennit_methods import DTD, LRPEpsilon
from xecgbench_builtin.models.xecgarch import build_xecgarch

FS, T = 100.0, 600


def trained_like(model: nn.Module) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, as after training; eval mode."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                n = module.num_features
                module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(n, generator=generator) * 2 + 0.2)
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(n, generator=generator) * 0.4 - 0.2)
    return model.eval()


def folded_copy(model: nn.Module) -> nn.Module:
    """The same architecture without BatchNorm, weights folded by hand (float64 arithmetic)."""
    torch.manual_seed(1)
    plain = build_xecgarch(fs=FS, n_samples=T, width=4, batch_norm=False).eval()
    for name, branch in model.branches.items():
        for block, target in zip(branch.blocks, plain.branches[name].blocks, strict=True):
            conv, norm = block.conv, block.norm
            scale = norm.weight.double() / (norm.running_var.double() + norm.eps).sqrt()
            with torch.no_grad():
                target.conv.weight.copy_(conv.weight.double() * scale[:, None, None])
                target.conv.bias.copy_(
                    (conv.bias.double() - norm.running_mean.double()) * scale + norm.bias.double()
                )
        plain.branches[name].head.load_state_dict(branch.head.state_dict())
    return plain


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    return trained_like(build_xecgarch(fs=FS, n_samples=T, width=4, batch_norm=True))


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(6, 1, T, generator=torch.Generator().manual_seed(2))


def test_blocks_have_batch_norm_right_after_the_conv(model: nn.Module) -> None:
    for branch in model.branches.values():
        for block in branch.blocks:
            assert list(dict(block.named_children())) == ["conv", "norm", "relu", "pool"]


def test_folded_model_equals_the_unfolded_one(model: nn.Module, x: torch.Tensor) -> None:
    """Folded in place (as during explanation) and by hand: the same logits as the model."""
    with torch.no_grad():
        before = {k: v.clone() for k, v in model(x).items()}
        canonizer = ExactSequentialMergeBatchNorm()
        handles = canonizer.apply(model)
        during = model(x)
        for handle in handles:
            handle.remove()
        after = model(x)
        by_hand = folded_copy(model)(x)
    for name in before:
        scale = float(before[name].abs().max())
        torch.testing.assert_close(during[name], before[name], rtol=1e-5, atol=1e-6 * scale)
        torch.testing.assert_close(by_hand[name], before[name], rtol=1e-5, atol=1e-6 * scale)
        assert torch.equal(after[name], before[name])  # removing the canonizer restores it


def test_zennits_own_merge_is_not_the_identity_on_this_torch(model: nn.Module) -> None:
    """Why the exact canonizer exists: zennit 0.5.1 leaves x / sqrt(1 + eps) per BatchNorm."""
    from zennit.canonizers import SequentialMergeBatchNorm

    norm = model.branches["rhythm"].blocks[0].norm
    handles = SequentialMergeBatchNorm().apply(model)
    assert float(norm.running_var[0] + norm.eps) != 1.0
    for handle in handles:
        handle.remove()
    handles = ExactSequentialMergeBatchNorm().apply(model)
    assert torch.all(norm.running_var + norm.eps == 1.0)
    for handle in handles:
        handle.remove()


@pytest.mark.parametrize("method", [DTD, LRPEpsilon], ids=lambda m: m.name)
@pytest.mark.parametrize("branch", ["morphology", "rhythm", "ensemble"])
def test_lrp_and_dtd_on_batch_norm_equal_the_folded_model(
    method: type, branch: str, model: nn.Module, x: torch.Tensor
) -> None:
    target = torch.tensor([0, 1, 0, 1, 1, 0])
    relevance = method(model.explainable(branch))(x, target)
    expected = method(folded_copy(model).explainable(branch))(x, target)
    assert torch.isfinite(relevance).all() and relevance.abs().sum() > 0
    scale = float(expected.abs().max())
    torch.testing.assert_close(relevance, expected, rtol=1e-4, atol=1e-4 * scale)
