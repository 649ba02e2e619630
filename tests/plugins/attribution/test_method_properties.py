"""Properties of Grad-CAM, SmoothGrad/VarGrad, KernelSHAP, clinical occlusion and the LRP z+ and γ
variants, beyond the registry-wide contract tests (test_attribution_contract.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xecgbench.plugins.attribution_checks import accepts_masks, make_attribution
from xecgbench.plugins.manager import load_plugins
from xecgbench_builtin.attribution.captum_more import last_convs
from xecgbench_builtin.attribution.clinical_occlusion import interpolate_out
from xecgbench_builtin.attribution.surrogates import segment_ids
from xecgbench_builtin.metrics.interval_profile import interval_labels, wave_codes
from xecgbench_builtin.models.xecgarch import build_xecgarch

REGISTRY = load_plugins(autoload=False).registry["attributions"]
FS, T = 100.0, 256


def beat_masks(n: int) -> dict[str, np.ndarray]:
    masks = {k: np.zeros((n, 1, T), dtype=bool) for k in ("p_wave", "qrs", "r_peak", "t_wave")}
    for r in range(40, T - 40, 80):
        for name, (lo, hi) in {"p_wave": (-20, -12), "qrs": (-5, 5), "r_peak": (-1, 1),
                               "t_wave": (18, 34)}.items():
            masks[name][:, 0, r + lo : r + hi + 1] = True
    return masks


def method(name: str, model: nn.Module, **params) -> object:
    return make_attribution(REGISTRY.get(name), model, fs=FS, seed=0, **params)


class Linear(nn.Module):
    """Output = w · x (two classes: w and −w), so output drops are known exactly."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x[:, 0] * self.weight).sum(-1, keepdim=True)
        return torch.cat([z, -z], dim=1)


def test_interpolate_out_draws_a_line_across_each_run() -> None:
    x = np.array([[0.0, 1.0, 5.0, 5.0, 4.0, 9.0, 9.0]])
    remove = np.array([[False, False, True, True, False, True, True]])
    out = interpolate_out(x, remove)
    # samples 2-3 lie on the line from x[1] = 1 to x[4] = 4; the run at the end holds x[4]
    np.testing.assert_allclose(out[0], [0, 1, 2, 3, 4, 4, 4])
    assert np.array_equal(interpolate_out(x, np.ones_like(remove))[0], np.full(7, 5.0))


def test_clinical_occlusion_relevance_sums_to_the_output_drop_per_interval() -> None:
    torch.manual_seed(0)
    weight = torch.randn(T)
    model = Linear(weight)
    x = torch.rand(2, 1, T)
    masks = beat_masks(2)
    relevance = method("clinical_occlusion", model)(x, torch.tensor([0, 1]), masks=masks)
    labels = interval_labels(wave_codes(*(masks[m].reshape(2, T) for m in ("p_wave", "qrs",
                                                                           "t_wave"))))
    for interval in ("P", "QRS", "T", "TP"):
        removed = torch.from_numpy(interpolate_out(x[:, 0].numpy(), labels[interval]))
        drop = ((x[:, 0] - removed) * weight).sum(-1) * torch.tensor([1.0, -1.0])
        total = (relevance[:, 0] * torch.from_numpy(labels[interval])).sum(-1)
        torch.testing.assert_close(total, drop, rtol=1e-4, atol=1e-5)
    between = ~np.any([labels[k] for k in ("P", "QRS", "T", "TP")], axis=0)
    assert (relevance[:, 0][torch.from_numpy(between)] == 0).all()  # PR, ST, edges


def test_clinical_occlusion_needs_masks_and_says_so() -> None:
    explain = method("clinical_occlusion", Linear(torch.ones(T)))
    assert accepts_masks(explain)
    with pytest.raises(ValueError, match=r"clinical_occlusion.*fiducial masks"):
        explain(torch.rand(1, 1, T), torch.tensor([0]))
    with pytest.raises(ValueError, match="intervals must be"):
        method("clinical_occlusion", Linear(torch.ones(T)), intervals=["QT"])


def test_grad_cam_uses_the_last_convolution_of_each_branch() -> None:
    arch = build_xecgarch(fs=FS, n_samples=T, width=4).eval()
    x = torch.rand(1, 1, T)
    ensemble = last_convs(arch.explainable("ensemble"), x)
    expected = [branch.blocks[-1].conv for branch in arch.branches.values()]
    assert ensemble == expected
    assert last_convs(arch.explainable("rhythm"), x) == [arch.branches["rhythm"].blocks[-1].conv]


def test_grad_cam_is_non_negative_and_smooth_at_input_length() -> None:
    arch = build_xecgarch(fs=FS, n_samples=T, width=4).eval()
    cam = method("grad_cam", arch.explainable("morphology"))(torch.rand(2, 1, T),
                                                             torch.tensor([0, 1]))
    assert cam.shape == (2, 1, T) and (cam >= 0).all()


def test_smoothgrad_without_noise_is_the_gradient_and_vargrad_is_non_negative() -> None:
    torch.manual_seed(0)
    weight = torch.randn(T)
    model = Linear(weight)
    x, target = torch.rand(2, 1, T), torch.tensor([0, 1])
    smooth = method("smoothgrad", model, n_samples=3, noise_level=0.0)(x, target)
    expected = torch.stack([weight, -weight])[:, None, :]
    torch.testing.assert_close(smooth, expected)
    var = method("vargrad", build_xecgarch(fs=FS, n_samples=T, width=4).explainable("rhythm"))(
        x, target
    )
    assert (var >= 0).all() and var.sum() > 0


def test_kernel_shap_recovers_a_linear_model_on_windows() -> None:
    """Shapley values of a linear model: w · (x − baseline) per segment, spread evenly."""
    torch.manual_seed(0)
    weight = torch.randn(T)
    x = torch.rand(1, 1, T)
    shap = method("kernel_shap", Linear(weight), segment_ms=320, n_samples=300)(x,
                                                                              torch.tensor([0]))
    ids = segment_ids("k", x, segments="windows", segment_samples=32, masks=None)[0]
    baseline = x.median()
    for segment in range(ids.max() + 1):
        inside = torch.from_numpy(ids == segment)
        exact = float(((x[0, 0] - baseline) * weight)[inside].sum())
        assert float(shap[0, 0][inside].sum()) == pytest.approx(exact, rel=1e-3, abs=1e-3)


def test_interval_segments_follow_the_beats() -> None:
    x = torch.rand(1, 1, T)
    masks = beat_masks(1)
    ids = segment_ids("lime", x, segments="intervals", segment_samples=10, masks=masks)[0]
    qrs = np.flatnonzero(masks["qrs"][0, 0])
    assert len(set(ids[qrs[:11]])) == 1  # one QRS complex is one segment
    assert ids[qrs[0] - 1] != ids[qrs[0]]
    lime = method("lime", Linear(torch.randn(T)), segments="intervals", n_samples=50)
    relevance = lime(x, torch.tensor([0]), masks=masks)
    assert torch.unique(relevance[0, 0][torch.from_numpy(ids == ids[qrs[0]])]).numel() == 1
    with pytest.raises(ValueError, match="segments must be"):
        method("lime", Linear(torch.randn(T)), segments="beats")


def test_lrp_zplus_relevance_has_the_sign_of_the_explained_output() -> None:
    """z+ passes only positive contributions, so no sample contradicts the output's sign."""
    arch = build_xecgarch(fs=FS, n_samples=T, width=4).eval()
    module = arch.explainable("morphology")
    x, target = torch.rand(2, 1, T), torch.tensor([0, 1])
    relevance = method("lrp_zplus", module)(x, target)
    sign = torch.sign(module(x).gather(1, target[:, None]).detach())[:, :, None]
    assert (relevance * sign >= -1e-6).all() and relevance.abs().sum() > 0
    with pytest.raises(ValueError, match="gamma >= 0"):
        method("lrp_gamma", arch.explainable("morphology"), gamma=-1.0)


def test_lrp_gamma_approaches_lrp_zero_at_gamma_zero() -> None:
    """γ = 0 is LRP-0, which on a ReLU network is gradient × input."""
    arch = build_xecgarch(fs=FS, n_samples=T, width=4).eval()
    module = arch.explainable("rhythm")
    x, target = torch.rand(2, 1, T), torch.tensor([0, 1])
    gamma0 = method("lrp_gamma", module, gamma=0.0, epsilon=1e-9)(x, target)
    ixg = method("input_x_gradient", module)(x, target)
    # equal up to the rules' stabilisers, which matter only where a neuron's input is ~0
    torch.testing.assert_close(gamma0, ixg, rtol=1e-2, atol=5e-3 * float(ixg.abs().max()))
