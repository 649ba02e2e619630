"""Raw scores too large for git, kept under the data root and pinned by a committed checksum.

A full-scale grid's ``scores.csv.gz`` is 14 MB, and data does not belong in the repository. Such a
leaderboard commits ``scores.external.json`` instead: the path of its scores under the data
root (``$XECGBENCH_DATA``, else ``../shared/data`` beside the repository) and their SHA-256.
Every reader goes through :func:`scores_file`, so a changed or missing copy is named, never
silently used. ``python -m xecgbench.report.external_scores DIR DATA_ROOT`` moves a directory's
scores out and writes the pointer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

SCORES_FILE = "scores.csv.gz"
POINTER_FILE = "scores.external.json"


class ResultsFileError(Exception):
    """A results directory or file that cannot be used; the message names the file (defined
    here, the lowest reader, and re-exported by :mod:`~.results_files`)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_roots(directory: Path) -> list[Path]:
    """Where external scores are looked for: ``$XECGBENCH_DATA``, then the shared data folder
    beside the repository holding ``directory`` (``<repo>/../shared/data``)."""
    roots = [Path(os.environ["XECGBENCH_DATA"])] if os.environ.get("XECGBENCH_DATA") else []
    return [*roots, Path(directory).resolve().parent.parent.parent / "shared" / "data"]


def is_external(directory: Path) -> bool:
    return (Path(directory) / POINTER_FILE).is_file()


def scores_file(directory: Path) -> Path:
    """The directory's scores: its own file, or the checked copy its pointer names."""
    directory = Path(directory)
    if not is_external(directory):
        return directory / SCORES_FILE
    pointer = json.loads((directory / POINTER_FILE).read_text(encoding="utf-8"))
    tried = [root / pointer["path"] for root in data_roots(directory)]
    found = next((p for p in tried if p.is_file()), None)
    if found is None:
        raise ResultsFileError(
            f"{directory / POINTER_FILE}: scores not found at {', '.join(map(str, tried))} "
            "(set XECGBENCH_DATA to the data root that holds them)")
    if _sha256(found) != pointer["sha256"]:
        raise ResultsFileError(
            f"{found}: SHA-256 differs from {directory / POINTER_FILE}; not the committed scores")
    return found


def externalise(directory: Path, data_root: Path) -> Path:
    """Move ``directory``'s scores to ``data_root/leaderboards/<name>/`` and write the pointer."""
    directory = Path(directory)
    relative = Path("leaderboards") / directory.name / SCORES_FILE
    target = Path(data_root) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(directory / SCORES_FILE, target)
    pointer = {"path": str(relative), "sha256": _sha256(target),
               "bytes": target.stat().st_size}
    (directory / POINTER_FILE).write_text(json.dumps(pointer, indent=2) + "\n", encoding="utf-8")
    (directory / SCORES_FILE).unlink()
    return target


if __name__ == "__main__":
    print(externalise(Path(sys.argv[1]), Path(sys.argv[2])))
