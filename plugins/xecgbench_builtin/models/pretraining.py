"""Pretraining strategies: P-wave detection (morphology) and RR variability (rhythm)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from xecgbench.api import ECGSet, TrainingBudget
from xecgbench_builtin.data.fiducial_events import event_f1, rmssd_ms, run_centres


class NoPretraining:
    """Random initialisation: the original xECGArch."""

    name = "none"
    version = "1"
    branches: tuple[str, ...] = ()
    report_directions: ClassVar[dict[str, bool | None]] = {}
    report_description = ""

    def pretrain(
        self, model: Any, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Leave the model as initialised."""
        return {}


class PWaveDetection:
    """Frame-wise P-wave segmentation on the morphology branch's features.

    Targets are the ``p_wave`` masks of non-AF windows (in AF windows that mask marks where a
    P wave *would* be, which is no P wave to detect), plus, with ``use_ludb``, the LUDB expert
    masks of its train split (``ludb_path``, default ``$XECGBENCH_DATA/ludb``, normalised as
    ``ludb_normalise`` says: set it to the training data's normalisation; ``ludb_test_fraction``
    is the share of LUDB records held out, which a LUDB test source must match with
    ``test_split: test`` so that no test window was a pretraining target); the loss is
    weighted by ``annotated`` where a dataset annotates only a span. Reports event-level P-wave
    F1 at ±``tolerance_ms`` on a held-out split, and on the LUDB test split with ``use_ludb``.
    """

    name = "p_wave_detection"
    version = "1"
    branches: tuple[str, ...] = ("morphology",)
    report_directions: ClassVar[dict[str, bool | None]] = {
        "p_wave_f1": True, "p_wave_ppv": True, "p_wave_sensitivity": True,
    }
    report_description = "P-wave detection F1 at ±50 ms"

    def __init__(
        self, use_ludb: bool = False, ludb_path: str | None = None, tolerance_ms: float = 50.0,
        ludb_normalise: str = "minmax", ludb_test_fraction: float = 0.2,
    ) -> None:
        self.use_ludb = use_ludb or ludb_path is not None
        self.ludb_path = ludb_path
        self.tolerance_ms = tolerance_ms
        self.ludb_normalise = ludb_normalise
        self.ludb_test_fraction = ludb_test_fraction

    def _ludb(self, split: str, data: ECGSet) -> ECGSet:
        from xecgbench_builtin.data.ludb import LUDB

        duration_s = data.signals.shape[-1] / data.fs
        windows = LUDB(
            path=self.ludb_path, normalise=self.ludb_normalise,
            test_fraction=self.ludb_test_fraction,
        ).load(split, fs=data.fs, duration_s=duration_s)
        return windows.subset(np.flatnonzero(windows.labels == 0))

    def _training_windows(self, data: ECGSet) -> ECGSet:
        sinus = data.subset(np.flatnonzero(data.labels == 0))
        return _concatenate(sinus, self._ludb("train", data)) if self.use_ludb else sinus

    def pretrain(
        self, model: Any, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Train the morphology blocks with a 1×1-conv segmentation head, then drop the head."""
        import torch
        from torch import nn
        from torch.nn import functional as F

        from xecgbench.api import (
            crop_order,
            fit,
            grouped_holdout,
            model_device,
            record_groups,
            seed_everything,
        )

        generator = seed_everything(seed)
        windows = self._training_windows(data)
        branch = model.branches["morphology"]
        device = model_device(model)  # the run's device; the head is drawn on the CPU first
        head = nn.Conv1d(branch.width, 1, kernel_size=1).to(device)
        x = torch.from_numpy(windows.signals).to(device)
        target = torch.from_numpy(windows.masks["p_wave"].astype(np.float32)).to(device)
        weight = torch.from_numpy(_annotated(windows).astype(np.float32)).to(device)
        groups = record_groups(windows.record_ids)
        train_idx, val_idx = grouped_holdout(windows.labels, groups, budget.val_fraction, seed)

        def logits(signals: torch.Tensor) -> torch.Tensor:
            coarse = head(branch.features(signals.to(device)))
            return F.interpolate(coarse, size=signals.shape[-1], mode="linear", align_corners=False)

        # P waves cover ~15 % of a window: weight them up so "no P anywhere" is no optimum.
        positive = float((target * weight).sum()) or 1.0
        pos_weight = torch.tensor(float(weight.sum()) / positive - 1.0).to(device)

        def loss_on(index: np.ndarray) -> torch.Tensor:
            return F.binary_cross_entropy_with_logits(
                logits(x[index]), target[index], weight=weight[index], pos_weight=pos_weight
            )

        fit(
            [branch.blocks, head],
            lambda batch: loss_on(train_idx[batch]),
            lambda: float(loss_on(val_idx)),
            len(train_idx),
            budget,
            generator,
            epoch_order=crop_order(groups[train_idx]),
        )
        report = self._event_scores(logits, windows.subset(val_idx), "")
        if self.use_ludb:
            report.update(self._event_scores(logits, self._ludb("test", data), "_ludb_test"))
        return report

    def _event_scores(self, logits: Any, windows: ECGSet, suffix: str) -> dict[str, float]:
        """Event-level P-wave detection inside the annotated span."""
        import torch

        with torch.no_grad():
            logit = logits(torch.from_numpy(windows.signals))
            predicted = (torch.sigmoid(logit) > 0.5).cpu().numpy()
        annotated = _annotated(windows)
        truth = windows.masks["p_wave"] & annotated
        scores = event_f1(
            [run_centres(t[0]) for t in truth],
            [run_centres(p[0] & a[0]) for p, a in zip(predicted, annotated, strict=True)],
            tolerance=self.tolerance_ms / 1000.0 * windows.fs,
        )
        return {f"p_wave_{key}{suffix}": value for key, value in scores.items()}


def _annotated(windows: ECGSet) -> np.ndarray:
    """Where the masks are valid; a missing ``annotated`` means everywhere."""
    if windows.annotated is None:
        return np.ones(windows.signals.shape, dtype=bool)
    return windows.annotated


class RRVariability:
    """Regress log RMSSD (ms) of the window's RR intervals from the rhythm branch's features.

    RR intervals come from the ``r_peak`` mask; windows with fewer than 3 R peaks are left
    out. Reports R² of log RMSSD (the regressed quantity) and MAE in ms on a held-out split.
    """

    name = "rr_variability"
    version = "1"
    branches: tuple[str, ...] = ("rhythm",)
    report_directions: ClassVar[dict[str, bool | None]] = {"rr_r2": True, "rr_mae_ms": False}
    report_description = "RR-variability regression R² and MAE"
    statistic = "rmssd_ms"

    def pretrain(
        self, model: Any, data: ECGSet, *, seed: int, budget: TrainingBudget
    ) -> dict[str, float]:
        """Train the rhythm blocks with a pooled linear regression head, then drop the head."""
        import torch
        from torch import nn
        from torch.nn import functional as F

        from xecgbench.api import (
            crop_order,
            fit,
            grouped_holdout,
            model_device,
            record_groups,
            seed_everything,
        )

        generator = seed_everything(seed)
        device = model_device(model)
        rmssd = np.array([rmssd_ms(m[0], data.fs) for m in data.masks["r_peak"]])
        usable = np.flatnonzero(np.isfinite(rmssd))
        if len(usable) < 4:
            raise ValueError("rr_variability: fewer than 4 windows with 3 or more R peaks")
        log_target = np.log1p(rmssd[usable])
        mean, std = log_target.mean(), log_target.std() + 1e-8
        x = torch.from_numpy(data.signals[usable]).to(device)
        y = torch.from_numpy(((log_target - mean) / std).astype(np.float32)).to(device)
        branch = model.branches["rhythm"]
        head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(branch.width, 1))
        head.to(device)
        groups = record_groups([data.record_ids[i] for i in usable])
        train_idx, val_idx = grouped_holdout(
            data.labels[usable], groups, budget.val_fraction, seed
        )

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
            epoch_order=crop_order(groups[train_idx]),
        )
        with torch.no_grad():
            predicted_log = predict(val_idx).cpu().numpy() * std + mean
        true_log = log_target[val_idx]
        residual = np.sum((true_log - predicted_log) ** 2)
        total = np.sum((true_log - true_log.mean()) ** 2)
        true_ms, predicted_ms = np.expm1(true_log), np.expm1(predicted_log)
        return {
            "rr_r2": float(1.0 - residual / total) if total > 0 else float("nan"),
            "rr_mae_ms": float(np.mean(np.abs(true_ms - predicted_ms))),
        }


class BothPretraining:
    """P-wave detection on the morphology branch and RR variability on the rhythm branch."""

    name = "both"
    version = "1"
    branches: tuple[str, ...] = ("morphology", "rhythm")
    report_directions: ClassVar[dict[str, bool | None]] = {
        **PWaveDetection.report_directions, **RRVariability.report_directions,
    }
    report_description = ""  # its parts' descriptions cover its report

    def __init__(
        self, use_ludb: bool = False, ludb_path: str | None = None, tolerance_ms: float = 50.0,
        ludb_normalise: str = "minmax", ludb_test_fraction: float = 0.2,
    ) -> None:
        self.parts = (
            PWaveDetection(use_ludb, ludb_path, tolerance_ms, ludb_normalise, ludb_test_fraction),
            RRVariability(),
        )

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

    return ECGSet(
        signals=np.concatenate([first.signals, second.signals]),
        labels=np.concatenate([first.labels, second.labels]),
        masks={n: np.concatenate([first.masks[n], second.masks[n]]) for n in names},
        record_ids=first.record_ids + second.record_ids,
        fs=first.fs,
        annotated=np.concatenate([_annotated(first), _annotated(second)]),
    )
