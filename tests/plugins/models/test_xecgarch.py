"""The two-branch model: receptive fields in seconds, shapes, ensemble, named blocks."""

from __future__ import annotations

import pytest
import torch

from xecgbench.plugins.receptive_field import receptive_field
from xecgbench_builtin.models.xecgarch import build_xecgarch


@pytest.mark.parametrize("fs", [100, 250, 500])
def test_receptive_fields_match_the_design(fs: int) -> None:
    model = build_xecgarch(fs=fs, n_samples=10 * fs)
    morphology_s = receptive_field(model.branches["morphology"].blocks) / fs
    rhythm_s = receptive_field(model.branches["rhythm"].blocks) / fs
    assert 0.4 <= morphology_s <= 0.6, "shorter than one beat (~0.5 s)"
    assert rhythm_s >= 3.0, "spans several RR intervals"


def test_receptive_field_of_a_known_stack() -> None:
    stack = torch.nn.Sequential(
        torch.nn.Conv1d(1, 1, 3), torch.nn.MaxPool1d(2), torch.nn.Conv1d(1, 1, 3, dilation=2)
    )
    # 1 + 2 (conv) + 1 (pool) + 2*2*2 (dilated conv after stride 2) = 12
    assert receptive_field(stack) == 12


def test_receptive_field_is_empirically_right() -> None:
    """With positive weights and average pooling, an output's input support is exactly the RF."""
    model = build_xecgarch(fs=100, n_samples=1000, width=2)
    for branch in model.branches.values():
        blocks = branch.blocks.double()
        for block in blocks:
            torch.nn.init.constant_(block.conv.weight, 0.1)
            torch.nn.init.zeros_(block.conv.bias)
            block.pool = torch.nn.AvgPool1d(block.pool.kernel_size)
        x = torch.rand(1, 1, 1000, dtype=torch.float64) + 0.5
        centre = blocks(x).shape[-1] // 2
        grad = torch.autograd.functional.jacobian(
            lambda v, c=centre, b=blocks: b(v)[0, 0, c], x
        )
        support = torch.nonzero(grad.flatten() != 0).flatten()
        assert int(support.max() - support.min()) + 1 == receptive_field(blocks)


def test_forward_shapes_and_ensemble_is_branch_mean() -> None:
    model = build_xecgarch(fs=100, n_samples=600, width=4)
    x = torch.rand(3, 1, 600)
    logits = model(x)
    assert set(logits) == {"morphology", "rhythm"}
    assert all(v.shape == (3, 2) for v in logits.values())
    probs = model.predict_proba(x)
    expected = (probs["morphology"] + probs["rhythm"]) / 2
    torch.testing.assert_close(probs["ensemble"], expected)
    assert model.explainable("ensemble")(x).shape == (3, 2)


def test_blocks_are_named_and_explainable_layers_only() -> None:
    model = build_xecgarch(fs=100, n_samples=600)
    for branch in model.branches.values():
        assert [name for name, _ in branch.blocks.named_children()] == [
            f"block{i}" for i in range(1, 5)
        ]
    allowed = (
        torch.nn.Conv1d,
        torch.nn.ReLU,
        torch.nn.MaxPool1d,
        torch.nn.AdaptiveAvgPool1d,
        torch.nn.Linear,
        torch.nn.Flatten,
    )
    leaves = [m for m in model.modules() if not list(m.children())]
    assert all(isinstance(m, allowed) for m in leaves)


def test_unknown_branch_and_too_short_windows_are_clear_errors() -> None:
    model = build_xecgarch(fs=100, n_samples=600)
    with pytest.raises(ValueError, match="valid branches"):
        model.explainable("atrial")
    with pytest.raises(ValueError, match="too short"):
        build_xecgarch(fs=100, n_samples=16)


def test_explainable_modules_share_weights_and_mode() -> None:
    model = build_xecgarch(fs=100, n_samples=600, width=4).eval()
    for branch in ("morphology", "rhythm", "ensemble"):
        module = model.explainable(branch)
        assert not module.training
    explained = model.explainable("morphology")
    assert explained.blocks is model.branches["morphology"].blocks
    x = torch.rand(2, 1, 600)
    logits = model(x)["morphology"]
    torch.testing.assert_close(explained(x)[:, 1], logits[:, 1] - logits[:, 0])
