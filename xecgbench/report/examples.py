"""Heatmap examples: a few explained windows, their masks and every configuration's relevance.

Attribution artifacts hold relevance only (``index`` + one array per branch), not the ECG. For
a report straight from a store, the evaluation windows are reloaded through the dataset registry
(:func:`xecgbench.run.windows.evaluation_windows`, the windows scoring used; deterministic for
the synthetic data, needs the data directory for PhysioNet sets). ``xecgbench leaderboard
export`` stores a small excerpt instead (``examples.npz``: a few records' signals, P/QRS masks
and every configuration's relevance of the first seed, float16), so a committed leaderboard's
report needs neither cache nor data.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from xecgbench.plugins.manager import PluginSystem

EXAMPLE_MASKS = ("p_wave", "qrs")


@dataclass(frozen=True)
class Examples:
    """Representative explained records and each configuration's relevance on them.

    ``relevance`` maps (pretraining, freezing, attribution) to branch -> ``(n, T)`` arrays.
    """

    fs: float
    signals: np.ndarray
    labels: np.ndarray
    record_ids: tuple[str, ...]
    masks: Mapping[str, np.ndarray]
    relevance: Mapping[tuple[str, str, str], Mapping[str, np.ndarray]]


def collect_examples(store_path: Path, system: PluginSystem, run_id: str,
                     n_records: int = 2) -> Examples | None:
    """The first ``n_records`` explained windows (one per class first) of a run.

    Reloads the evaluation windows through the registry and the relevance from the run's
    artifact cache. Returns None, with a warning, when either is unavailable.
    """
    from xecgbench.plugins.components import DatasetError
    from xecgbench.run.cache import ArtifactCache, CorruptArtifactError
    from xecgbench.run.config import Suite
    from xecgbench.run.layout import RunLayout
    from xecgbench.run.stage_types import UNTRAINED
    from xecgbench.run.store import ResultsStore
    from xecgbench.run.windows import evaluation_source, evaluation_windows

    with ResultsStore(store_path, read_only=True) as store:
        run = next(r for r in store.runs() if r["run_id"] == run_id)
        artifacts = [s for s in store.finished_stages(run_id, "attribute")
                     if s.artifact and s.labels.get("model_state") != UNTRAINED]  # cells only
    suite = Suite.model_validate(run["config"])
    if not artifacts:
        return None
    try:
        test = evaluation_windows(suite, system)
    except (DatasetError, OSError, KeyError) as exc:
        source = evaluation_source(suite)[0].display
        warnings.warn(f"no heatmaps: cannot reload dataset {source!r}: {exc}", stacklevel=2)
        return None
    cache = ArtifactCache(RunLayout.of_store(store_path).cache)
    first_seed = min(a.labels["seed"] for a in artifacts)
    relevance: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    index = None
    for artifact in artifacts:
        labels = artifact.labels
        if labels["seed"] != first_seed:
            continue
        try:
            arrays = cache.load_arrays(artifact.artifact or "", artifact.checksum or "")
        except CorruptArtifactError as exc:
            warnings.warn(f"heatmap skipped: {exc}", stacklevel=2)
            continue
        index = arrays.pop("index")[:n_records]
        key = (labels["pretraining"], labels["freezing"], labels["attribution"])
        relevance[key] = {b: arrays[b][:n_records, 0].astype(np.float16)
                          for b in suite.explain.branches if b in arrays}
    if index is None:
        return None
    return Examples(
        fs=float(test.fs),
        signals=test.signals[index, 0].astype(np.float32),
        labels=test.labels[index],
        record_ids=tuple(str(r) for r in np.asarray(test.record_ids, dtype=object)[index]),
        masks={m: test.masks[m][index, 0] for m in EXAMPLE_MASKS if m in test.masks},
        relevance=relevance,
    )


def save_examples(examples: Examples, path: Path | BinaryIO) -> None:
    """Write ``examples`` as a compressed ``.npz`` (no pickles)."""
    keys = list(examples.relevance)
    arrays: dict[str, np.ndarray] = {
        "fs": np.array(examples.fs),
        "signals": examples.signals,
        "labels": examples.labels,
        "record_ids": np.array(examples.record_ids, dtype=str),
        "configs": np.array(json.dumps(keys)),
    }
    arrays |= {f"mask_{name}": mask for name, mask in examples.masks.items()}
    for i, key in enumerate(keys):
        arrays |= {f"rel_{i}_{branch}": r for branch, r in examples.relevance[key].items()}
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_examples(path: Path) -> Examples:
    """Read what :func:`save_examples` wrote."""
    with np.load(path, allow_pickle=False) as archive:
        data = {name: archive[name] for name in archive.files}
    keys = [tuple(k) for k in json.loads(str(data["configs"]))]
    relevance = {
        key: {name.split("_", 2)[2]: data[name] for name in data
              if name.startswith(f"rel_{i}_")}
        for i, key in enumerate(keys)
    }
    return Examples(
        fs=float(data["fs"]),
        signals=data["signals"],
        labels=data["labels"],
        record_ids=tuple(str(r) for r in data["record_ids"]),
        masks={n[len("mask_"):]: data[n] for n in data if n.startswith("mask_")},
        relevance=relevance,
    )


#: Arrays every ``examples.npz`` holds, and the limits checked before any array is unpacked.
EXAMPLE_KEYS = ("fs", "signals", "labels", "record_ids", "configs")
MAX_EXAMPLE_ARRAYS = 4096
MAX_EXAMPLE_UNPACKED = 512 << 20


def load_npz(data: bytes, path: Path) -> Examples:
    """:func:`load_examples` of untrusted bytes: the archive's members, sizes and keys are
    checked first, and any malformed content is one :class:`ResultsFileError` naming ``path``."""
    from xecgbench.report.board_format.reader import ResultsFileError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ResultsFileError(f"{path}: not a numpy .npz (zip) archive") from None
    if len(members) > MAX_EXAMPLE_ARRAYS:
        raise ResultsFileError(f"{path}: {len(members):,} arrays, over {MAX_EXAMPLE_ARRAYS:,}")
    if sum(m.file_size for m in members) > MAX_EXAMPLE_UNPACKED:
        raise ResultsFileError(f"{path}: unpacks to over {MAX_EXAMPLE_UNPACKED:,} bytes")
    names = {m.filename.removesuffix(".npy") for m in members}
    missing = [k for k in EXAMPLE_KEYS if k not in names]
    if missing:
        raise ResultsFileError(f"{path}: field {missing[0]!r} missing")
    try:
        return load_examples(io.BytesIO(data))  # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError, IndexError, OSError, EOFError,
            zipfile.BadZipFile) as exc:
        raise ResultsFileError(f"{path}: malformed: {str(exc).splitlines()[0][:200]}") from None
