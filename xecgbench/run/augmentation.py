"""Fine-tuning's batch augmentation, built from the suite's declared `ecg-augmentations` steps.

A well-kept library rather than hand-written noise: each step names one of its transform
classes (``BaselineWander``, ``GaussianNoise``, ``AmplitudeScale`` …) with its parameters; the
sampling rate is filled in for the transforms that take it, ``[low, high]`` lists become the
ranges the library samples from, and a generator of the run's seed makes every draw repeat.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from xecgbench.errors import UserError
from xecgbench.plugins.components import Augmentation

if TYPE_CHECKING:  # preflight imports this module, and the CLI starts without torch
    import torch

#: A batch ``(B, 1, T)`` in, the augmented batch out.
BatchAugmentation = Callable[["torch.Tensor"], "torch.Tensor"]


def _transform(step: Augmentation, fs: float) -> Any:
    import ecg_augmentations

    cls = getattr(ecg_augmentations, step.name, None)
    if not (inspect.isclass(cls) and issubclass(cls, ecg_augmentations.Transform)):
        raise UserError(f"training.augment: {step.name!r} is not an ecg-augmentations "
                        "transform (e.g. BaselineWander, GaussianNoise, AmplitudeScale)")
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in step.params.items()}
    if "fs" in inspect.signature(cls).parameters:
        params.setdefault("fs", fs)
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise UserError(f"training.augment: {step.name}({step.params}): {exc}") from None


def check_augmentation(steps: Sequence[Augmentation], fs: float) -> None:
    """Build the steps once, so a misspelt transform or parameter fails before any stage."""
    for step in steps:
        _transform(step, fs)


def batch_augmentation(steps: Sequence[Augmentation], fs: float, seed: int,
                       device: torch.device) -> BatchAugmentation | None:
    """The composed steps drawing from their own generator (so the data order is the same
    with and without augmentation), or None for no steps."""
    if not steps:
        return None
    import ecg_augmentations
    import torch

    compose = ecg_augmentations.Compose([_transform(step, fs) for step in steps])
    generator = torch.Generator(device=device).manual_seed(seed)

    def augment(batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return compose(batch, generator=generator)

    return augment
