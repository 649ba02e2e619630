"""xECGArch: a morphology branch (receptive field ≈ 0.5 s) and a rhythm branch (≥ 3 s).

After Goettling et al., Sci Rep 14:13122 (2024). Only conv, ReLU, max-pooling, average
pooling and linear layers, so LRP/DTD rules apply without canonizers. Kernel sizes are derived
from the sampling rate so the receptive fields are the same in seconds at any ``fs``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, cast

import torch
from pydantic import Field
from torch import nn

from xecgbench.api import receptive_field


def _block(
    c_in: int, c_out: int, kernel: int, dilation: int, pool: int, batch_norm: bool = False
) -> nn.Sequential:
    """Conv (→ BatchNorm) → ReLU → MaxPool, the unit that freezing counts.

    He initialisation keeps activations from shrinking through the blocks: without
    normalisation layers, PyTorch's default init left the loss on a plateau for ~10 epochs.
    BatchNorm sits right after the conv, where the attribution plugins fold it into the conv
    for explanation (``attribution/canonizers.py``).
    """
    conv = nn.Conv1d(c_in, c_out, kernel, padding=dilation * (kernel // 2), dilation=dilation)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    nn.init.zeros_(cast(torch.Tensor, conv.bias))  # bias=True above
    layers: dict[str, nn.Module] = {"conv": conv}
    if batch_norm:
        layers["norm"] = nn.BatchNorm1d(c_out)
    layers.update(relu=nn.ReLU(), pool=nn.MaxPool1d(pool))
    return nn.Sequential(OrderedDict(layers))


class Branch(nn.Module):
    """Named blocks then a head (global average pooling + linear) giving AF logits ``(N, 2)``."""

    def __init__(self, blocks: list[nn.Sequential]) -> None:
        super().__init__()
        self.blocks = nn.Sequential(OrderedDict((f"block{i + 1}", b) for i, b in enumerate(blocks)))
        width = cast(nn.Conv1d, blocks[-1].conv).out_channels
        self.width = width
        self.head = nn.Sequential(
            OrderedDict(
                gap=nn.AdaptiveAvgPool1d(1), flatten=nn.Flatten(), linear=nn.Linear(width, 2)
            )
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Block outputs ``(N, width, T')``; pretraining heads sit on these."""
        return self.blocks(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x))


def contrast_linear(linear: nn.Linear) -> nn.Linear:
    """A copy of a two-class head giving ``z_c − z_other`` for each class ``c``.

    Softmax turns exactly this difference into the class probability, so it is the evidence
    for the explained class against the other. Explaining raw logits instead would make the
    sign of DTD relevance depend on the arbitrary offset shared by both logits.
    """
    contrast = nn.Linear(linear.in_features, 2)
    with torch.no_grad():
        contrast.weight.copy_(linear.weight - linear.weight.flip(0))
        contrast.bias.copy_(linear.bias - linear.bias.flip(0))
    return contrast


class ExplainedBranch(nn.Module):
    """A branch's blocks and pooling, sharing its weights, with the class-contrast head."""

    def __init__(self, branch: Branch) -> None:
        super().__init__()
        self.blocks = branch.blocks
        self.gap = cast(nn.AdaptiveAvgPool1d, branch.head.gap)
        self.flatten = cast(nn.Flatten, branch.head.flatten)
        self.linear = contrast_linear(cast(nn.Linear, branch.head.linear))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.flatten(self.gap(self.blocks(x))))


class ExplainedEnsemble(nn.Module):
    """Mean of the branches' contrasts through ``AvgPool1d``, a layer LRP rules can see.

    A tensor ``.mean()`` would pass relevance back as a plain gradient, giving each branch half
    of the ensemble's relevance instead of its own share.
    """

    def __init__(self, members: dict[str, ExplainedBranch]) -> None:
        super().__init__()
        self.members = nn.ModuleDict(members)
        self.average = nn.AvgPool1d(len(members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack([member(x) for member in self.members.values()], dim=-1)
        return self.average(stacked).squeeze(-1)


def _odd(value: float) -> int:
    return max(3, round(value) | 1)


def morphology_branch(
    fs: float, width: int, n_blocks: int, receptive_field_s: float, batch_norm: bool = False
) -> Branch:
    """Stride-2 pooling after each conv: RF = 1 + k·(2^K − 1) samples, solved for k."""
    kernel = _odd((receptive_field_s * fs - 1) / (2**n_blocks - 1))
    widths = [width * min(2 ** (i // 2), 4) for i in range(n_blocks)]
    c_in = 1
    blocks = []
    for c_out in widths:
        blocks.append(_block(c_in, c_out, kernel, dilation=1, pool=2, batch_norm=batch_norm))
        c_in = c_out
    return Branch(blocks)


def rhythm_branch(
    fs: float, width: int, n_blocks: int, receptive_field_s: float, batch_norm: bool = False
) -> Branch:
    """Early ×4 downsampling, then dilated convolutions (dilation 2, 4, 8, …) to span beats.

    The kernel is the smallest odd size whose receptive field reaches ``receptive_field_s``.
    """
    for kernel in range(3, 64, 2):
        branch = _rhythm_blocks(kernel, width, n_blocks, batch_norm)
        if receptive_field(branch.blocks) >= receptive_field_s * fs:
            return branch
    raise ValueError(f"rhythm receptive field {receptive_field_s} s unreachable at {fs} Hz")


def _rhythm_blocks(kernel: int, width: int, n_blocks: int, batch_norm: bool = False) -> Branch:
    widths = [width * min(2 ** (i // 2), 4) for i in range(n_blocks)]
    blocks = [_block(1, widths[0], kernel, dilation=1, pool=4, batch_norm=batch_norm)]
    for i in range(1, n_blocks):
        blocks.append(_block(widths[i - 1], widths[i], kernel, dilation=2**i, pool=2,
                             batch_norm=batch_norm))
    return Branch(blocks)


class XECGArch(nn.Module):
    """Two independent branches ensembled by averaging their AF probabilities."""

    def __init__(self, branches: dict[str, Branch]) -> None:
        super().__init__()
        self.branches = nn.ModuleDict(branches)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits ``(N, 2)`` per branch."""
        return {name: branch(x) for name, branch in self.branches.items()}

    def explainable(self, branch: str) -> nn.Module:
        """The module explained for ``branch`` (a branch name or ``"ensemble"``).

        It shares the model's weights and outputs class contrasts ``z_c − z_other`` (see
        :func:`contrast_linear`); build it after training, since the contrast head is a copy.
        """
        module: nn.Module
        if branch == "ensemble":
            module = ExplainedEnsemble(
                {n: ExplainedBranch(cast(Branch, b)) for n, b in self.branches.items()}
            )
        elif branch in self.branches:
            module = ExplainedBranch(cast(Branch, self.branches[branch]))
        else:
            valid = ", ".join([*self.branches, "ensemble"])
            raise ValueError(f"unknown branch {branch!r}; valid branches: {valid}")
        return module.train(self.training)  # same mode as the model (Quantus checks eval)

    def predict_proba(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """AF probability ``(N,)`` per branch and their mean as ``"ensemble"``."""
        probs = {name: torch.softmax(logits, dim=1)[:, 1] for name, logits in self(x).items()}
        probs["ensemble"] = torch.stack(list(probs.values())).mean(dim=0)
        return probs


#: Declared ranges of the suite parameters (checked by the preflight before the first stage).
Width = Annotated[int, Field(ge=1, le=1024)]
Blocks = Annotated[int, Field(ge=1, le=12)]
Seconds = Annotated[float, Field(gt=0, le=60, allow_inf_nan=False)]


def build_xecgarch(
    *,
    fs: float,
    n_samples: int,
    width: Width = 8,
    morphology_blocks: Blocks = 4,
    rhythm_blocks: Blocks = 4,
    morphology_rf_s: Seconds = 0.5,
    rhythm_rf_s: Seconds = 3.0,
    batch_norm: bool = False,
) -> XECGArch:
    """Build xECGArch for ``n_samples``-long windows at ``fs`` Hz.

    Width 8 and 4 + 4 blocks are what the quick and paper suites use. docs/benchmarks.md
    ("What the width costs") measures only the CPU cost of the width: fine-tuning time per
    epoch at widths 4, 8 and 16 on the quick suite's data; docs/training.md measures accuracy.
    ``batch_norm`` adds BatchNorm after every conv (folded exactly for explanation).
    """
    downsampling = 2 ** max(morphology_blocks, rhythm_blocks + 1)
    if n_samples < downsampling:
        raise ValueError(
            f"windows of {n_samples} samples are too short for {downsampling}× pooling"
        )
    return XECGArch(
        {
            "morphology": morphology_branch(
                fs, width, morphology_blocks, morphology_rf_s, batch_norm
            ),
            "rhythm": rhythm_branch(fs, width, rhythm_blocks, rhythm_rf_s, batch_norm),
        }
    )
