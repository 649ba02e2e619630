import numpy as np

from xecgbench import hookimpl
from xecgbench.api import MASK_NAMES, DatasetError, ECGSet


class NpzWindows:
    """Your own windows from one .npz: signals (N, 1, T), labels (N,), fs, optional masks."""

    name = "npz_windows"
    version = "0.1.0"

    def __init__(self, *, path, test_every=5):
        self.path, self.test_every = path, test_every

    def load(self, split, *, fs, duration_s):
        with np.load(self.path) as f:
            if float(f["fs"]) != fs:
                raise DatasetError(f"{self.path}: sampled at {float(f['fs'])} Hz, suite asks {fs}")
            n_samples = int(round(fs * duration_s))
            signals = f["signals"][..., :n_samples].astype(np.float32)
            masks = {m: f[m][..., :n_samples].astype(bool) for m in MASK_NAMES if m in f.files}
            labels = f["labels"].astype(np.int64)
        if signals.shape[-1] < n_samples:
            raise DatasetError(f"{self.path}: windows shorter than {duration_s} s")
        test = np.arange(len(labels)) % self.test_every == 0
        picks = {"train": ~test, "test": test, "all": np.ones_like(test)}
        if split not in picks:
            raise DatasetError(f"{self.path}: unknown split {split!r}; use train, test or all")
        index = np.flatnonzero(picks[split])
        ids = tuple(f"window-{i}" for i in index)
        return ECGSet(signals[index], labels[index], {m: v[index] for m, v in masks.items()},
                      ids, fs)


@hookimpl
def xecgbench_register_datasets(registry):
    registry.register(NpzWindows.name, NpzWindows)
