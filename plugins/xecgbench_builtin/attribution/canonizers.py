"""BatchNorm folding for explanation that is exact on current torch (zennit issue 234).

zennit's ``MergeBatchNorm`` once set the folded BatchNorm's ``eps`` to 0 to make it the
identity; torch 2.10 refuses ``eps <= 0`` (github.com/chr5tphr/zennit/issues/234). zennit 0.5.1
keeps ``eps`` and sets ``running_var`` to 1, so the folded layer computes ``x / sqrt(1 + eps)``:
every folded BatchNorm scales its output by ≈ 1 − eps/2, and the folded model is not the model.
Here ``running_var`` becomes ``1 − eps``, so the layer divides by ``sqrt(1) = 1`` and the
folded model equals the trained one (``tests/plugins/attribution/test_batchnorm_folding.py``).
"""

from __future__ import annotations

from typing import Any

from zennit.canonizers import MergeBatchNorm, SequentialMergeBatchNorm


class ExactSequentialMergeBatchNorm(SequentialMergeBatchNorm):  # type: ignore[misc]
    """``SequentialMergeBatchNorm`` whose folded BatchNorm is the exact identity."""

    @staticmethod
    def merge_batch_norm(modules: Any, batch_norm: Any) -> None:
        """Fold as zennit does, then cancel ``eps`` through the running variance."""
        MergeBatchNorm.merge_batch_norm(modules, batch_norm)
        batch_norm.running_var.data = batch_norm.running_var.data - batch_norm.eps
