"""Registers the bundled model: xECGArch."""

from __future__ import annotations

from typing import Any

from xecgbench import hookimpl


class XECGArchFactory:
    """Builds :class:`~xecgbench_builtin.xecgarch.XECGArch`; torch is imported on first use."""

    name = "xecgarch"
    version = "1"

    def __call__(self, *, fs: float, n_samples: int, **params: Any) -> Any:
        from xecgbench_builtin.xecgarch import build_xecgarch

        return build_xecgarch(fs=fs, n_samples=n_samples, **params)

    def accepted_parameters(self) -> set[str]:
        """What ``build_xecgarch`` takes, so a misspelled suite parameter fails before a run."""
        import inspect

        from xecgbench_builtin.xecgarch import build_xecgarch

        return set(inspect.signature(build_xecgarch).parameters)


@hookimpl
def xecgbench_register_models(registry: Any) -> None:
    """Register ``xecgarch``."""
    registry.register("xecgarch", XECGArchFactory())
