"""Pretraining strategies: P-wave detection (morphology) and RR variability (rhythm)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xecgbench.components import ECGSet, TrainingBudget
from xecgbench_builtin.fiducial_events import event_f1, rmssd_ms, run_centres


class NoPretraining:
    """Random initialisation: the original xECGArch."""

    name = "none"
    version = "1"
    branches: tuple[str, ...] = ()

    def pretrain(
        self, model: Any, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Leave the model as initialised."""
        return {}


class PWaveDetection:
    """Frame-wise P-wave segmentation on the morphology branch's features.

    Targets are the ``p_wave`` masks of non-AF windows (in AF windows that mask marks where a
    P wave *would* be, which is no P wave to detect), optionally plus LUDB expert masks
    (``ludb_path``); loss is weighted by ``annotated`` where a dataset annotates only a span.
    Reports event-level P-wave F1 at ±``tolerance_ms`` on a held-out split.
    """

    name = "p_wave_detection"
    version = "1"
    branches: tuple[str, ...] = ("morphology",)

    def __init__(self, ludb_path: str | None = None, tolerance_ms: float = 50.0) -> None:
        self.ludb_path = ludb_path
        self.tolerance_ms = tolerance_ms

    def _training_windows(self, data: ECGSet) -> ECGSet:
        sinus = data.subset(np.flatnonzero(data.labels == 0))
        if self.ludb_path is None:
            return sinus
        from xecgbench_builtin.ludb import LUDB

        duration_s = data.signals.shape[-1] / data.fs
        ludb = LUDB(path=self.ludb_path).load("train", fs=data.fs, duration_s=duration_s)
        ludb = ludb.subset(np.flatnonzero(ludb.labels == 0))
        return _concatenate(sinus, ludb)

    def pretrain(
        self, model: Any, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Train the morphology blocks with a 1×1-conv segmentation head, then drop the head."""
        import torch
        from torch import nn
        from torch.nn import functional as F  # noqa: N812

        from xecgbench.training import fit, seed_everything, stratified_split

        generator = seed_everything(seed)
        windows = self._training_windows(data)
        branch = model.branches["morphology"]
        head = nn.Conv1d(branch.width, 1, kernel_size=1)
        x = torch.from_numpy(windows.signals)
        target = torch.from_numpy(windows.masks["p_wave"].astype(np.float32))
        weight = (
            torch.ones_like(target)
            if windows.annotated is None
            else torch.from_numpy(windows.annotated.astype(np.float32))
        )
        train_idx, val_idx = stratified_split(windows.labels, budget.val_fraction, seed)

        def logits(index: np.ndarray) -> torch.Tensor:
            coarse = head(branch.features(x[index]))
            return F.interpolate(coarse, size=x.shape[-1], mode="linear", align_corners=False)

        def loss_on(index: np.ndarray) -> torch.Tensor:
            return F.binary_cross_entropy_with_logits(
                logits(index), target[index], weight=weight[index]
            )

        fit(
            [branch.blocks, head],
            lambda batch: loss_on(train_idx[batch]),
            lambda: float(loss_on(val_idx)),
            len(train_idx),
            budget,
            generator,
        )
        with torch.no_grad():
            predicted = (torch.sigmoid(logits(val_idx)) > 0.5).numpy()
        annotated = weight.numpy()[val_idx] > 0
        truth = windows.masks["p_wave"][val_idx] & annotated
        scores = event_f1(
            [run_centres(t[0]) for t in truth],
            [run_centres(p[0] & a[0]) for p, a in zip(predicted, annotated, strict=True)],
            tolerance=self.tolerance_ms / 1000.0 * data.fs,
        )
        return {f"p_wave_{key}": value for key, value in scores.items()}


class RRVariability:
    """Regress log RMSSD (ms) of the window's RR intervals from the rhythm branch's features.

    RR intervals come from the ``r_peak`` mask; windows with fewer than 3 R peaks are left
    out. Reports R² and MAE (ms) on a held-out split.
    """

    name = "rr_variability"
    version = "1"
    branches: tuple[str, ...] = ("rhythm",)
    statistic = "rmssd_ms"

    def pretrain(
        self, model: Any, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Train the rhythm blocks with a pooled linear regression head, then drop the head."""
        import torch
        from torch import nn
        from torch.nn import functional as F  # noqa: N812

        from xecgbench.training import fit, seed_everything, stratified_split

        generator = seed_everything(seed)
        rmssd = np.array([rmssd_ms(m[0], data.fs) for m in data.masks["r_peak"]])
        usable = np.flatnonzero(np.isfinite(rmssd))
        if len(usable) < 4:
            raise ValueError("rr_variability: fewer than 4 windows with 3 or more R peaks")
        log_target = np.log1p(rmssd[usable])
        mean, std = log_target.mean(), log_target.std() + 1e-8
        x = torch.from_numpy(data.signals[usable])
        y = torch.from_numpy(((log_target - mean) / std).astype(np.float32))
        branch = model.branches["rhythm"]
        head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(branch.width, 1))
        train_idx, val_idx = stratified_split(data.labels[usable], budget.val_fraction, seed)

        def predict(index: np.ndarray) -> torch.Tensor:
            return head(branch.features(x[index]))[:, 0]

        def loss_on(index: np.ndarray) -> torch.Tensor:
            return F.mse_loss(predict(index), y[index])

        fit(
            [branch.blocks, head],
            lambda batch: loss_on(train_idx[batch]),
            lambda: float(loss_on(val_idx)),
            len(train_idx),
            budget,
            generator,
        )
        with torch.no_grad():
            predicted_ms = np.expm1(predict(val_idx).numpy() * std + mean)
        true_ms = rmssd[usable][val_idx]
        residual = np.sum((true_ms - predicted_ms) ** 2)
        total = np.sum((true_ms - true_ms.mean()) ** 2)
        return {
            "rr_r2": float(1.0 - residual / total) if total > 0 else float("nan"),
            "rr_mae_ms": float(np.mean(np.abs(true_ms - predicted_ms))),
        }


class BothPretraining:
    """P-wave detection on the morphology branch and RR variability on the rhythm branch."""

    name = "both"
    version = "1"
    branches: tuple[str, ...] = ("morphology", "rhythm")

    def __init__(self, ludb_path: str | None = None, tolerance_ms: float = 50.0) -> None:
        self.parts = (PWaveDetection(ludb_path, tolerance_ms), RRVariability())

    def pretrain(
        self, model: Any, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Run both strategies; their reports are merged."""
        report: dict[str, float] = {}
        for part in self.parts:
            report.update(part.pretrain(model, data, seed=seed, budget=budget))
        return report


def _concatenate(first: ECGSet, second: ECGSet) -> ECGSet:
    """Stack two sets with the masks they share; missing ``annotated`` means all annotated."""
    names = sorted(set(first.masks) & set(second.masks))

    def annotated(s: ECGSet) -> np.ndarray:
        return np.ones(s.signals.shape, dtype=bool) if s.annotated is None else s.annotated

    return ECGSet(
        signals=np.concatenate([first.signals, second.signals]),
        labels=np.concatenate([first.labels, second.labels]),
        masks={n: np.concatenate([first.masks[n], second.masks[n]]) for n in names},
        record_ids=first.record_ids + second.record_ids,
        fs=first.fs,
        annotated=np.concatenate([annotated(first), annotated(second)]),
    )
