"""Writing generated pages without overwriting anyone's edits.

The site is regenerated into folders people also edit (``docs/leaderboards/``). A manifest in
the output folder records the SHA-256 of every file the site wrote, so a rerun may replace a
file only while it is still what the site wrote (or already what it would write); a file
edited by hand, or one the site never wrote, is refused with one line before anything is
written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from xecgbench.errors import UserError
from xecgbench.report.board_format.confined_write import write_inside

MANIFEST = ".xecgbench-site.json"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(out: Path) -> dict[str, str]:
    path = out / MANIFEST
    if not path.is_file() or path.is_symlink():
        return {}
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{path}: not the site's manifest (JSON of file -> SHA-256); "
                        "remove it to start afresh") from None
    if not (isinstance(known, dict) and all(isinstance(v, str) for v in known.values())):
        raise UserError(f"{path}: not the site's manifest (JSON of file -> SHA-256)")
    return known


def refused(out: Path, files: Mapping[str, str]) -> str | None:
    """The first file of ``files`` that exists in ``out`` with content the site neither wrote
    (per the manifest) nor would write now, or None."""
    known = _manifest(out)
    for name, text in files.items():
        path = out / name
        if path.is_symlink() or not path.is_file():
            continue  # absent, or refused by write_inside itself
        current = _digest(path.read_bytes())
        if current not in (_digest(text.encode()), known.get(name)):
            return str(path)
    return None


def write_generated(out: Path, files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` (name -> text) into ``out`` and record them in its manifest; refuse,
    before writing anything, to replace a file changed since the site wrote it."""
    out.mkdir(parents=True, exist_ok=True)
    changed = refused(out, files)
    if changed is not None:
        raise UserError(f"{changed}: changed since `xecgbench leaderboard site` wrote it (or "
                        "never written by it); not overwritten: move or commit it, or write "
                        "the site elsewhere with --out")
    known = _manifest(out)
    written = [Path(write_inside(out, name, text)) for name, text in files.items()]
    known.update({name: _digest(text.encode()) for name, text in files.items()})
    write_inside(out, MANIFEST, json.dumps(dict(sorted(known.items())), indent=1) + "\n")
    return written
