"""A board's published models and explained windows: written by export, read by ``submit``.

Joining a board is re-scoring on its models, not retraining them, and needs neither the raw
datasets nor a GPU. Export therefore copies every fine-tuned state dict of the run (the bytes of
the run's cache, so each file's SHA-256 is the checksum the store recorded; they load with
``torch.load(weights_only=True)``) into ``models/``, indexes them in ``models.json``, writes the
explained evaluation windows with labels, record ids, rhythm classes and every mask into
``windows.npz`` (with the record id and rhythm class of every evaluation window, from which the
explained ones were drawn), and the dataset plugin's licence and citation (``data_licence``)
into ``DATA_LICENCE``.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from xecgbench.errors import XecgbenchError
from xecgbench.plugins.components import ECGSet
from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.board_format.confined_write import UnsafePathError, write_inside
from xecgbench.report.board_format.published_files import (  # read here by submit and others
    MODELS_DIR,
    PublishedModel,
    window_arrays,
)
from xecgbench.report.board_format.published_files import (
    read_model as read_model,
)
from xecgbench.report.board_format.published_files import (
    read_models as read_models,
)
from xecgbench.report.board_format.reader import (
    LICENCE_FILE,
    MODELS_INDEX,
    WINDOWS_FILE,
)
from xecgbench.report.results_files import ResultsFileError, read_record, write_checksums
from xecgbench.run.cache import ArtifactCache, CorruptArtifactError
from xecgbench.run.config import Suite
from xecgbench.run.layout import RunLayout
from xecgbench.run.store import ResultsStore
from xecgbench.run.windows import evaluation_source, evaluation_windows, explained_windows

_MASK_PREFIX = "mask_"


def _write(out: Path, name: str, data: bytes | str) -> Path:
    """A board write; a symlink or an escape becomes a one-line ResultsFileError."""
    try:
        return write_inside(out, name, data)
    except UnsafePathError as exc:
        raise ResultsFileError(str(exc)) from None


def _publish_models(store_path: Path, run_id: str, out: Path) -> list[PublishedModel]:
    cache = ArtifactCache(RunLayout.of_store(store_path).cache)
    with ResultsStore(store_path, read_only=True) as store:
        stages = store.finished_stages(run_id, "finetune")
    (out / MODELS_DIR).mkdir(exist_ok=True)
    models = []
    for stage in stages:
        if stage.artifact is None or stage.checksum is None:
            continue
        try:
            data = cache.read(stage.artifact, stage.checksum)
        except CorruptArtifactError as exc:
            raise ResultsFileError(f"cannot publish the models of run {run_id}: {exc}") from None
        name = f"{MODELS_DIR}/{stage.key}.pt"
        _write(out, name, data)
        labels = stage.labels
        models.append(PublishedModel(int(labels["seed"]), str(labels["pretraining"]),
                                     str(labels["freezing"]), stage.key, name, stage.checksum))
    _write(out, MODELS_INDEX, json.dumps([asdict(m) for m in models], indent=1) + "\n")
    return models


def _publish_windows(suite: Suite, system: PluginSystem, out: Path) -> None:
    test = evaluation_windows(suite, system)
    index = explained_windows(suite, test)
    record_ids = np.array(test.record_ids, dtype=str)
    arrays: dict[str, Any] = {
        "index": index, "all_labels": test.labels.astype(np.int64),
        "signals": test.signals[index].astype(np.float32), "labels": test.labels[index],
        "record_ids": record_ids[index], "all_record_ids": record_ids,
        "rhythm": test.rhythm_class[index], "all_rhythm": test.rhythm_class,
        "fs": np.float64(test.fs),
        **{f"{_MASK_PREFIX}{name}": mask[index] for name, mask in test.masks.items()},
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    _write(out, WINDOWS_FILE, buffer.getvalue())


def _licences(suite: Suite, system: PluginSystem) -> str:
    """The licence texts of the training and evaluation datasets (each once)."""
    texts = []
    for spec in (suite.data.dataset, evaluation_source(suite)[0]):
        text = getattr(system.registry["datasets"].get(spec.name), "data_licence", "")
        entry = f"## {spec.display}\n\n{text.strip()}\n" if text else (
            f"## {spec.display}\n\nThe dataset plugin states no licence; ask its authors.\n")
        if entry not in texts:
            texts.append(entry)
    return "# Data licence and citation of the published windows\n\n" + "\n".join(texts)


def publish_run(store_path: Path, system: PluginSystem, out: Path) -> list[Path]:
    """Write the published models, windows and data licence of the run exported into ``out``."""
    record = read_record(out)
    suite = Suite.model_validate(record.run.config)
    _publish_models(Path(store_path), record.run.run_id, out)
    _publish_windows(suite, system, out)
    _write(out, LICENCE_FILE, _licences(suite, system))
    write_checksums(out)  # the index, windows and licence join the board's checksums
    return [out / MODELS_INDEX, out / WINDOWS_FILE, out / LICENCE_FILE]


def _labelled(path: Path, arrays: dict[str, np.ndarray], suite: Suite
              ) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """Record ids (of the explained windows only, in boards exported before the draw could be
    checked) and rhythm classes (None there) of every evaluation window."""
    if suite.explain.sample.rule != "alternating":
        absent = [k for k in ("all_record_ids", "all_rhythm") if k not in arrays]
        if absent:
            raise ResultsFileError(f"{path}: field {absent[0]!r} missing (the board's "
                                   f"{suite.explain.sample.rule} draw cannot be checked)")
    if "all_record_ids" in arrays:
        record_ids = [str(r) for r in arrays["all_record_ids"]]
    else:
        record_ids = [""] * len(arrays["all_labels"])
        for i, record in zip(arrays["index"], arrays["record_ids"], strict=True):
            record_ids[int(i)] = str(record)
    rhythm = tuple(map(str, arrays["all_rhythm"])) if "all_rhythm" in arrays else None
    return tuple(record_ids), rhythm


def read_windows(board: Path, suite: Suite) -> ECGSet:
    """The board's evaluation set, holding the published (explained) windows at their indices.

    Full length because a score row's ``sample`` is an index into the evaluation set and the
    stage functions pick the explained indices from all windows by ``suite``'s rule; windows
    that were not explained are zeros and never read.
    """
    path = Path(board) / WINDOWS_FILE
    arrays = window_arrays(Path(board))
    index, labels = arrays["index"], arrays["all_labels"]
    shape = (len(labels), *arrays["signals"].shape[1:])
    signals = np.zeros(shape, dtype=np.float32)
    signals[index] = arrays["signals"]
    masks = {}
    for name in (n for n in arrays if n.startswith(_MASK_PREFIX)):
        masks[name.removeprefix(_MASK_PREFIX)] = np.zeros(shape, dtype=bool)
        masks[name.removeprefix(_MASK_PREFIX)][index] = arrays[name]
    record_ids, rhythm = _labelled(path, arrays, suite)
    windows = ECGSet(signals, labels, masks, record_ids, float(arrays["fs"]),
                     rhythm_labels=rhythm)
    try:
        drawn = explained_windows(suite, windows)
    except XecgbenchError as exc:
        raise ResultsFileError(f"{path}: {exc}") from None
    if not np.array_equal(drawn, index):
        raise ResultsFileError(f"{path}: its windows are not the board's explained windows")
    return windows


def read_explained_windows(board: Path) -> tuple[np.ndarray, ECGSet]:
    """The explained windows as published (with their rhythm class where the board stores
    it), not padded to the evaluation set, and their indices into it: what a reader inspects
    (``read_windows`` is what re-scoring needs)."""
    arrays = window_arrays(Path(board))
    index = arrays["index"]
    masks = {name.removeprefix(_MASK_PREFIX): arrays[name] for name in arrays
             if name.startswith(_MASK_PREFIX)}
    try:
        rhythm = tuple(str(r) for r in arrays["rhythm"]) if "rhythm" in arrays else None
        windows = ECGSet(arrays["signals"], arrays["all_labels"][index], masks,
                         tuple(str(r) for r in arrays["record_ids"]), float(arrays["fs"]),
                         rhythm_labels=rhythm)
    except (ValueError, IndexError) as exc:
        raise ResultsFileError(f"{Path(board) / WINDOWS_FILE}: {exc}") from None
    return index, windows
