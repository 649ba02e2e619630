"""Kept so ``from xecgbench.attribution_checks import validate_inputs`` (documented before 0.2)
still works."""

from xecgbench.plugins.attribution_checks import validate_inputs

__all__ = ["validate_inputs"]
