"""Kept so ``from xecgbench.store import load_scores`` (documented before 0.2) still works."""

from xecgbench.run.store import load_scores

__all__ = ["load_scores"]
