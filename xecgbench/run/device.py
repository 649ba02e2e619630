"""Which torch device a run computes on: ``auto``, ``cpu`` or ``cuda``.

The device is an execution detail, never part of what is cached: stage keys and the suite's
config hash leave it out, and every artifact is moved to the CPU before it is saved, so a
model fine-tuned on a GPU is reused by a CPU run and the other way round. On the CPU the code
path is the one of runs without a device option (``.to("cpu")`` of a CPU tensor is the tensor
itself), so CPU scores stay bit-identical. GPU scores differ from CPU scores by float rounding
(cuDNN convolutions, reduction order); see docs/benchmarks.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from xecgbench.errors import XecgbenchError

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


class DeviceError(XecgbenchError):
    """A device the suite or ``--device`` asks for that this machine does not have."""


def resolve_device(name: str) -> str:
    """``"cpu"`` or ``"cuda"``: ``auto`` takes CUDA where torch sees a GPU, else the CPU."""
    import torch

    if name not in DEVICES:
        raise DeviceError(f"unknown device {name!r}; valid: {', '.join(DEVICES)}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            "device 'cuda' requested but torch sees no CUDA GPU "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); use 'cpu' or 'auto'"
        )
    return name


def to_cpu(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict with every tensor on the CPU (the device-independent artifact form)."""
    return {k: v.detach().cpu() if hasattr(v, "detach") else v for k, v in state.items()}


def model_device(model: Any) -> torch.device:
    """Where ``model``'s parameters live (CPU for a parameter-free module)."""
    import torch

    parameter = next(iter(model.parameters()), None)
    return parameter.device if parameter is not None else torch.device("cpu")
