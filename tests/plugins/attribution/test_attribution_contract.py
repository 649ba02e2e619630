"""Contract tests every registered attribution method passes, bundled or third-party.

The methods come from the registry (``load_plugins``), so a new plugin is tested by adding it;
the models are a small Conv1d network and the three explained modules of a tiny xECGArch.
Installed third-party plugins are included when ``XECGBENCH_TEST_THIRD_PARTY=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from xecgbench import hookimpl
from xecgbench.plugins.attribution_checks import (
    AttributionError,
    accepts_masks,
    call_attribution,
    check_attribution,
    make_attribution,
)
from xecgbench.plugins.components import ATTRIBUTION_FAMILIES
from xecgbench.plugins.manager import load_plugins
from xecgbench_builtin.models.xecgarch import build_xecgarch

FS = 100.0
T = 256
THIRD_PARTY_ENV = "XECGBENCH_TEST_THIRD_PARTY"
REGISTRY = load_plugins(autoload=os.environ.get(THIRD_PARTY_ENV) == "1").registry["attributions"]
METHODS = REGISTRY.names()
MODELS = ("tiny", "morphology", "rhythm", "ensemble")
#: Explaining a sample alone or in a batch may differ by float summation order only: relative
#: 1e-4, absolute 1e-5 of the largest relevance, and never less than 1e-6 (occlusion subtracts
#: two float32 logits of order 1, so its near-zero differences carry ~1e-7 rounding).
BATCH_RTOL, BATCH_ATOL_FRACTION, BATCH_ATOL_FLOOR = 1e-4, 1e-5, 1e-6


def tiny_net() -> nn.Module:
    """Conv/ReLU/MaxPool blocks and a global-average-pool + linear head, like xECGArch."""
    return nn.Sequential(
        nn.Conv1d(1, 4, 7, padding=3),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(4, 6, 5, padding=4, dilation=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(6, 2),
    )


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    arch = build_xecgarch(fs=FS, n_samples=T, width=4).eval()
    return {"tiny": tiny_net().eval(), **{b: arch.explainable(b) for b in MODELS[1:]}}


def beat_masks(n: int) -> dict[str, np.ndarray]:
    """Fiducial masks ``(n, 1, T)``: a beat every 80 samples, shifted by 7 samples per row."""
    names = ("p_wave", "qrs", "r_peak", "t_wave")
    masks = {name: np.zeros((n, 1, T), dtype=bool) for name in names}
    for i in range(n):
        for r in range(30 + 7 * i, T - 40, 80):
            for name, (start, end) in {
                "p_wave": (r - 20, r - 12), "qrs": (r - 5, r + 5), "r_peak": (r - 1, r + 1),
                "t_wave": (r + 18, r + 34),
            }.items():
                masks[name][i, 0, start : end + 1] = True
    return masks


MASKS = beat_masks(3)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.rand(3, 1, T, generator=generator), torch.tensor([0, 1, 1])


def explainer(name: str, model: nn.Module) -> object:
    return make_attribution(REGISTRY.get(name), model, fs=FS, seed=0)


def explain(
    name: str, model: nn.Module, x: torch.Tensor, target: torch.Tensor, rows: slice = slice(None)
) -> torch.Tensor:
    """Explain as the runner does, passing the masks of the batch's ``rows``."""
    plugin = REGISTRY.registration(name).plugin
    masks = {k: v[rows] for k, v in MASKS.items()}
    return call_attribution(name, plugin, explainer(name, model), x, target, masks)


def test_registry_holds_every_bundled_method() -> None:
    expected = {
        "dtd", "dtd_flat", "lrp_epsilon", "lrp_alpha_beta", "saliency", "input_x_gradient",
        "integrated_gradients", "gradient_shap", "deeplift", "occlusion", "random",
        "smoothgrad", "vargrad", "guided_backprop", "deeplift_shap", "kernel_shap", "lime",
        "grad_cam", "lrp_zplus", "lrp_gamma", "clinical_occlusion", "amplitude",
    }  # fmt: skip
    assert expected <= set(METHODS) and len(expected) >= 20
    assert {REGISTRY.registration(n).plugin for n in expected} == {"builtin-attributions"}


def test_contrast_outputs_flip_gradient_relevance_with_the_target(models, batch) -> None:
    x, _ = batch
    zeros, ones = torch.zeros(len(x), dtype=torch.long), torch.ones(len(x), dtype=torch.long)
    for_0 = explain("input_x_gradient", models["ensemble"], x, zeros)
    for_1 = explain("input_x_gradient", models["ensemble"], x, ones)
    torch.testing.assert_close(for_1, -for_0)


@pytest.mark.parametrize("name", METHODS)
def test_class_metadata(name: str) -> None:
    cls = REGISTRY.get(name)
    assert cls.name == name
    assert isinstance(cls.version, str) and cls.version
    assert cls.family in ATTRIBUTION_FAMILIES
    assert isinstance(cls.needs_baseline, bool)
    assert isinstance(cls.relative_cost, int | float) and cls.relative_cost >= 0
    assert isinstance(getattr(cls, "mask_informed", False), bool)


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("name", METHODS)
def test_output_contract_and_determinism(name: str, model_name: str, models, batch) -> None:
    x, target = batch
    first = explain(name, models[model_name], x, target)  # shape, dtype, finiteness
    second = explain(name, models[model_name], x, target)
    assert torch.equal(first, second)
    assert first.abs().sum() > 0, f"{name} returned all-zero relevance"


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("name", METHODS)
def test_batch_invariance(name: str, model_name: str, models, batch) -> None:
    x, target = batch
    together = explain(name, models[model_name], x, target)
    model = models[model_name]
    alone = torch.cat(
        [explain(name, model, x[i : i + 1], target[i : i + 1], slice(i, i + 1)) for i in range(3)]
    )
    atol = max(BATCH_ATOL_FRACTION * float(together.abs().max()), BATCH_ATOL_FLOOR)
    torch.testing.assert_close(alone, together, rtol=BATCH_RTOL, atol=atol)


# xecgarch modules explain class contrasts z_c − z_other, which are antisymmetric in c, so
# gradient magnitudes (saliency) are the same for both classes there by design; the free
# two-logit "tiny" net shows that every method really uses the target.
@pytest.mark.parametrize("model_name", ("tiny",))
@pytest.mark.parametrize("name", METHODS)
def test_target_selects_the_explained_class(name: str, model_name: str, models, batch) -> None:
    x, _ = batch
    zeros, ones = torch.zeros(len(x), dtype=torch.long), torch.ones(len(x), dtype=torch.long)
    for_0 = explain(name, models[model_name], x, zeros)
    for_1 = explain(name, models[model_name], x, ones)
    if REGISTRY.get(name).family == "control":
        assert torch.equal(for_0, for_1)
    else:
        assert not torch.allclose(for_0, for_1)


@pytest.mark.parametrize("name", METHODS)
def test_wrong_target_length_is_a_clear_error(name: str, models, batch) -> None:
    x, target = batch
    with pytest.raises(ValueError, match=rf"{name}.*target"):
        explainer(name, models["tiny"])(x, target[:2])


def test_make_attribution_passes_fs_and_seed_only_where_accepted(models) -> None:
    occlusion = make_attribution(REGISTRY.get("occlusion"), models["tiny"], fs=250.0, seed=3)
    assert occlusion.window == 25  # 100 ms at 250 Hz
    assert make_attribution(REGISTRY.get("random"), models["tiny"], fs=250.0, seed=3).seed == 3
    make_attribution(REGISTRY.get("saliency"), models["tiny"], fs=250.0, seed=3)  # takes neither


def test_random_control_is_seeded_per_sample(models, batch) -> None:
    x, target = batch
    cls = REGISTRY.get("random")
    noise = cls(models["tiny"], seed=0)(x, target)
    assert not torch.allclose(noise[0], noise[1])  # each window its own noise
    assert not torch.allclose(noise, cls(models["tiny"], seed=1)(x, target))
    assert abs(float(noise.std()) - 1.0) < 0.1


def test_amplitude_control_is_the_signal_above_its_median(models, batch) -> None:
    x, target = batch
    relevance = REGISTRY.get("amplitude")(models["tiny"])(x, target)
    expected = (x - x.median(dim=-1, keepdim=True).values).clamp(min=0)
    torch.testing.assert_close(relevance, expected)
    assert (relevance >= 0).all() and (relevance == 0).float().mean() >= 0.5  # half at or below


def test_only_mask_built_methods_declare_mask_informed() -> None:
    informed = {n for n in METHODS if getattr(REGISTRY.get(n), "mask_informed", False)}
    assert informed == {"clinical_occlusion"}


def test_plugin_modules_do_not_import_torch() -> None:
    code = (
        "import sys, xecgbench_builtin.attribution.hooks; "
        "heavy = {'torch', 'zennit', 'captum'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class BrokenMethods:
    """A plugin whose methods break the contract in every way the core must catch."""

    @hookimpl
    def xecgbench_register_attributions(self, registry) -> None:
        for name, fn in {
            "raises": lambda x: 1 / 0,
            "nan": lambda x: torch.full_like(x, float("nan")),
            "wrong_shape": lambda x: x[..., :-1],
            "wrong_dtype": lambda x: x.double(),
            "not_tensor": lambda x: x.numpy(),
        }.items():
            methods = {
                "__init__": lambda self, model: None,
                "__call__": lambda self, x, t, fn=fn: fn(x),
            }
            registry.register(name, type(name, (), methods))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("raises", "raised ZeroDivisionError"),
        ("nan", "NaN or Inf for samples \\[0, 1, 2\\]"),
        ("wrong_shape", "shape \\(3, 1, 255\\), expected x's shape \\(3, 1, 256\\)"),
        ("wrong_dtype", "dtype torch.float64"),
        ("not_tensor", "returned ndarray"),
    ],
)
def test_broken_method_is_reported_with_name_and_plugin(name: str, message: str, batch) -> None:
    x, target = batch
    registration = (
        load_plugins(autoload=False, extra=[BrokenMethods()])
        .registry["attributions"]
        .registration(name)
    )
    assert registration.plugin != "builtin-attributions"
    method = registration.component(None)
    with pytest.raises(AttributionError, match=rf"'{name}' \(plugin '{registration.plugin}'\)"):
        call_attribution(name, registration.plugin, method, x, target)
    with pytest.raises(AttributionError, match=message):
        call_attribution(name, registration.plugin, method, x, target)


def test_check_attribution_passes_a_valid_tensor_through(batch) -> None:
    x, _ = batch
    relevance = torch.ones_like(x, requires_grad=True)
    checked = check_attribution("ok", "me", x, relevance)
    assert torch.equal(checked, relevance) and not checked.requires_grad


class MaskFree:
    """A third-party method written before ``masks=`` existed: ``__call__(x, target)`` only."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return x.float() * 2


class MaskUser(MaskFree):
    def __call__(self, x: torch.Tensor, target: torch.Tensor, *, masks=None) -> torch.Tensor:
        return torch.as_tensor(masks["qrs"], dtype=torch.float32)


def test_masks_go_only_to_methods_that_take_them(batch) -> None:
    x, target = batch
    assert not accepts_masks(MaskFree(None)) and accepts_masks(MaskUser(None))
    masks = dict(MASKS)
    free = call_attribution("free", "me", MaskFree(None), x, target, masks)
    torch.testing.assert_close(free, x * 2)
    got = call_attribution("user", "me", MaskUser(None), x, target, masks)
    assert torch.equal(got, torch.as_tensor(MASKS["qrs"], dtype=torch.float32))
    with pytest.raises(AttributionError, match="'user'"):
        call_attribution("user", "me", MaskUser(None), x, target)  # masks=None reaches it
