"""What the core checks around every attribution method, bundled or third-party.

A method is plugin code: it may raise, or return NaN, the wrong shape or the wrong dtype. The
runner calls :func:`call_attribution`, which turns each of those into an
:class:`AttributionError` naming the method and its plugin, so one bad method fails its own
cell and nothing else. Methods call :func:`validate_inputs` so a caller's mistake (a target of
the wrong length) is reported before any work is done, and share :func:`explain_in_chunks`
and :func:`eval_mode`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn


class AttributionError(RuntimeError):
    """An attribution method failed or broke its contract; the message names method and plugin."""


def validate_inputs(name: str, x: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` is ``(N, 1, T)`` and ``target`` is ``(N,)`` integers."""
    import torch

    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[1] != 1:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"attribution {name!r}: x must be a (N, 1, T) tensor, got {shape}")
    if not isinstance(target, torch.Tensor) or target.shape != (x.shape[0],):
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(
            f"attribution {name!r}: target must be a ({x.shape[0]},) tensor, one class per "
            f"sample of x, got {shape}"
        )
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise ValueError(
            f"attribution {name!r}: target must hold integer classes, got {target.dtype}"
        )


def check_attribution(name: str, plugin: str, x: torch.Tensor, relevance: Any) -> torch.Tensor:
    """Return ``relevance`` detached if it is a finite float32 tensor of ``x``'s shape.

    Raises
    ------
    AttributionError
        Naming the method, its plugin and what is wrong.
    """
    import torch

    where = f"attribution {name!r} (plugin {plugin!r})"
    if not isinstance(relevance, torch.Tensor):
        raise AttributionError(f"{where} returned {type(relevance).__name__}, not a torch.Tensor")
    if relevance.shape != x.shape:
        raise AttributionError(
            f"{where} returned shape {tuple(relevance.shape)}, expected x's shape {tuple(x.shape)}"
        )
    if relevance.dtype != torch.float32:
        raise AttributionError(f"{where} returned dtype {relevance.dtype}, expected torch.float32")
    finite = torch.isfinite(relevance)
    if not bool(finite.all()):
        bad = (~finite).reshape(len(relevance), -1).any(dim=1).nonzero().flatten().tolist()
        raise AttributionError(f"{where} returned NaN or Inf for samples {bad[:10]}")
    return relevance.detach()


def accepts_masks(method: Callable[..., Any]) -> bool:
    """Whether ``method`` takes the optional ``masks=`` keyword (fiducial masks of ``x``).

    The base contract is ``method(x, target)``; a method that can use the windows' fiducial
    masks (clinical occlusion, interval superpixels) declares a ``masks`` parameter, and only
    then does the caller pass them, so methods and plugins without it keep working unchanged.
    """
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "masks" in parameters


def call_attribution(
    name: str,
    plugin: str,
    method: Callable[..., Any],
    x: torch.Tensor,
    target: torch.Tensor,
    masks: Mapping[str, Any] | None = None,
) -> torch.Tensor:
    """Run ``method(x, target)`` and :func:`check_attribution` its output.

    ``masks`` (mask name -> ``(N, 1, T)`` bool array aligned with ``x``) is passed as
    ``masks=`` to methods that :func:`accepts_masks`, and ignored for the others. Any exception
    the method raises comes back as an :class:`AttributionError` naming the method and plugin,
    with the original exception chained.
    """
    try:
        if masks is not None and accepts_masks(method):
            relevance = method(x, target, masks=masks)
        else:
            relevance = method(x, target)
    except Exception as exc:
        raise AttributionError(
            f"attribution {name!r} (plugin {plugin!r}) raised {type(exc).__name__}: {exc}"
        ) from exc
    return check_attribution(name, plugin, x, relevance)


def make_attribution(
    cls: Callable[..., Any], model: Any, *, fs: float, seed: int = 0, **params: Any
) -> Any:
    """Construct ``cls(model, **params)``, adding ``fs`` and ``seed`` where it accepts them.

    The runner knows the sampling rate and the cell's seed; methods that need them (occlusion's
    window in ms, stochastic methods) declare them as constructor parameters.
    """
    accepted = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    for key, value in (("fs", fs), ("seed", seed)):
        if takes_any or key in accepted:
            params.setdefault(key, value)
    return cls(model, **params)


def explain_in_chunks(
    explain: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    chunk_size: int,
) -> torch.Tensor:
    """``explain`` on at most ``chunk_size`` samples at a time, so peak memory is bounded."""
    import torch

    if len(x) <= chunk_size:
        return explain(x, target)
    return torch.cat(
        [
            explain(x[start : start + chunk_size], target[start : start + chunk_size])
            for start in range(0, len(x), chunk_size)
        ]
    )


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Explain in eval mode (BatchNorm on running statistics, no dropout), then restore."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
