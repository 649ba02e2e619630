"""Properties of the captum baselines: completeness, localisation, seeding, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from xecgbench_builtin.attribution.captum_methods import (
    DeepLift,
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    Occlusion,
    Saliency,
)

T = 300
#: Peak resident memory allowed for integrated gradients and occlusion on 10-s signals.
MEMORY_LIMIT_MIB = 2048


def conv_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(1, 4, 7, padding=3),
        nn.ReLU(),
        nn.Conv1d(4, 6, 5, padding=4, dilation=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(6, 2),
    ).eval()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(4, 1, T, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def target() -> torch.Tensor:
    return torch.tensor([0, 1, 0, 1])


def logit_gain(model: nn.Module, x: torch.Tensor, target: torch.Tensor, baseline: float):
    with torch.no_grad():
        gain = model(x) - model(torch.full_like(x, baseline))
    return gain.gather(1, target[:, None]).squeeze(1)


@pytest.mark.parametrize("baseline", [0.0, 0.5])
def test_integrated_gradients_is_complete(baseline, x, target) -> None:
    # Σ attributions = f(x) − f(baseline). With the default 50 Gauss-Legendre steps the gap
    # measured ≤ 1e-3 of the attribution mass Σ|a| (200 steps do no better: the rest is
    # float32 rounding), so allow 2e-3.
    model = conv_net()
    attributions = IntegratedGradients(model, baseline=baseline)(x, target)
    gap = (attributions.sum(dim=(1, 2)) - logit_gain(model, x, target, baseline)).abs()
    assert (gap <= 2e-3 * attributions.abs().sum(dim=(1, 2))).all(), gap


def test_deeplift_sums_to_the_logit_gain(x, target) -> None:
    # DeepLIFT's rescale rule satisfies summation-to-delta exactly, up to float32 rounding.
    model = conv_net()
    attributions = DeepLift(model, baseline=0.0)(x, target)
    gain = logit_gain(model, x, target, 0.0)
    torch.testing.assert_close(attributions.sum(dim=(1, 2)), gain, rtol=1e-4, atol=1e-6)


class WindowSum(nn.Module):
    """Logits ``(s, −s)`` with ``s`` the sum of samples 100–149: only they matter."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x[..., 100:150].sum(dim=(1, 2))
        return torch.stack([s, -s], dim=1)


def test_occlusion_finds_the_region_the_model_reads(x, target) -> None:
    relevance = Occlusion(WindowSum(), fs=1000.0, window_ms=10.0, stride_ms=10.0)(x, target)
    assert torch.equal(relevance[..., :100], torch.zeros_like(relevance[..., :100]))
    assert torch.equal(relevance[..., 150:], torch.zeros_like(relevance[..., 150:]))
    window_sums = x[..., 100:110].sum(dim=-1, keepdim=True)
    sign = torch.where(target == 0, 1.0, -1.0)[:, None, None]
    torch.testing.assert_close(relevance[..., 100:110], (sign * window_sums).expand(-1, -1, 10))


@pytest.mark.parametrize(("fs", "window", "stride"), [(250.0, 25, 12), (500.0, 50, 25)])
def test_occlusion_window_is_given_in_milliseconds(fs, window, stride) -> None:
    occlusion = Occlusion(conv_net(), fs=fs, window_ms=100.0)
    assert (occlusion.window, occlusion.stride) == (window, stride)


def test_gradient_shap_is_seeded_and_leaves_global_rngs_alone(x, target) -> None:
    model = conv_net()
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = GradientShap(model, seed=0)(x, target)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    assert torch.equal(first, GradientShap(model, seed=0)(x, target))
    assert not torch.allclose(first, GradientShap(model, seed=1)(x, target))


def test_saliency_sign_and_input_x_gradient_agree(x, target) -> None:
    model = conv_net()
    signed = Saliency(model, absolute=False)(x, target)
    torch.testing.assert_close(Saliency(model)(x, target), signed.abs())
    torch.testing.assert_close(InputXGradient(model)(x, target), x * signed)


def test_chunked_batches_equal_one_pass(x, target) -> None:
    model = conv_net()
    whole = IntegratedGradients(model, n_steps=8, internal_batch_size=64)(x, target)
    chunked = IntegratedGradients(model, n_steps=8, internal_batch_size=2)(x, target)
    torch.testing.assert_close(chunked, whole, rtol=1e-4, atol=1e-7)


PEAK_RSS_SCRIPT = textwrap.dedent(
    """
    import json, re, sys, torch
    from xecgbench_builtin.attribution.captum_methods import IntegratedGradients, Occlusion
    from xecgbench_builtin.models.xecgarch import build_xecgarch

    def high_water_kib():
        # VmHWM: this process image's own peak (ru_maxrss carries the forking parent's across
        # exec, so a pytest that grew to a few GB would fail the bound before any work)
        return int(re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read()).group(1))

    fs, n_samples = 500.0, 5000
    torch.manual_seed(0)
    model = build_xecgarch(fs=fs, n_samples=n_samples).eval().explainable("ensemble")
    x, target = torch.rand(64, 1, n_samples), torch.randint(0, 2, (64,))
    before = high_water_kib()
    IntegratedGradients(model, n_steps=4)(x[:32], target[:32])  # a full chunk of 32 samples
    Occlusion(model, fs=fs, window_ms=2000.0)(x, target)  # 64 occluded signals per pass
    peak = high_water_kib()
    print(json.dumps({"before_mib": before / 1024, "peak_mib": peak / 1024}))
    """
)


@pytest.mark.slow
def test_integrated_gradients_and_occlusion_stay_under_2_gib_on_10_s_at_500_hz() -> None:
    # Peak memory depends on the rows per pass, not on n_steps or the window, so few steps
    # and wide windows measure the same peak as the defaults in a fraction of the time.
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_SCRIPT], check=True, capture_output=True, text=True
    )
    rss = json.loads(result.stdout.splitlines()[-1])
    assert rss["peak_mib"] < MEMORY_LIMIT_MIB, rss
