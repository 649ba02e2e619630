"""Content-addressed stage artifacts on disk, written atomically and verified by checksum."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from xecgbench.run.device import to_cpu
from xecgbench.run.faults import from_os_error


class CorruptArtifactError(Exception):
    """An artifact is missing or its bytes do not match the recorded checksum."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactCache:
    """Files under ``root/<stage>/<key>-<checksum prefix>.<ext>``; the store keeps the checksum.

    Names carry their content's checksum, so two runs writing the same stage at once (or a
    recomputation that differs in its last bit) never overwrite a file another record points
    to; identical bytes land on the same name. Writes are atomic (temporary file, then
    ``os.replace``), so a killed process leaves a whole artifact or none; whatever else goes
    wrong on disk (a crash before the data reached it, a flipped byte) fails the checksum and
    the runner recomputes the stage.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _write(self, stage: str, key: str, suffix: str, data: bytes) -> tuple[str, str]:
        checksum = _sha256(data)
        relative = f"{stage}/{key}-{checksum[:16]}{suffix}"
        path = self.root / relative
        temporary = None
        try:  # a full or read-only disk is a StorageError, and leaves no temporary file
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except OSError as exc:
            raise from_os_error(exc, path.parent) from exc
        finally:
            if temporary is not None and os.path.exists(temporary):
                os.unlink(temporary)
        return relative, checksum

    def _read(self, relative: str, checksum: str) -> bytes:
        path = self.root / relative
        if not path.is_file():
            raise CorruptArtifactError(f"artifact {path} is missing")
        data = path.read_bytes()
        if _sha256(data) != checksum:
            raise CorruptArtifactError(f"artifact {path} does not match its checksum")
        return data

    def read(self, relative: str, checksum: str) -> bytes:
        """The verified bytes of an artifact (published as they are, e.g. a board's models)."""
        return self._read(relative, checksum)

    def verify(self, relative: str, checksum: str) -> bool:
        """True when the artifact exists and matches ``checksum``."""
        try:
            self._read(relative, checksum)
        except CorruptArtifactError:
            return False
        return True

    def save_state(self, stage: str, key: str, state: dict[str, Any]) -> tuple[str, str]:
        """Save a state dict with ``torch.save``; returns (relative path, checksum)."""
        import torch

        buffer = io.BytesIO()
        torch.save(to_cpu(state), buffer)  # device-independent: a GPU run's model loads anywhere
        return self._write(stage, key, ".pt", buffer.getvalue())

    def load_state(self, relative: str, checksum: str) -> dict[str, Any]:
        """Load a verified state dict with ``torch.load(weights_only=True)``."""
        import torch

        data = self._read(relative, checksum)
        return dict(torch.load(io.BytesIO(data), weights_only=True, map_location="cpu"))

    def save_arrays(self, stage: str, key: str, arrays: dict[str, np.ndarray]) -> tuple[str, str]:
        """Save named arrays as an ``.npz``; returns (relative path, checksum)."""
        buffer = io.BytesIO()
        named: dict[str, Any] = dict(arrays)  # numpy's stubs take ** for its own keywords
        np.savez(buffer, **named)
        return self._write(stage, key, ".npz", buffer.getvalue())

    def load_arrays(self, relative: str, checksum: str) -> dict[str, np.ndarray]:
        """Load verified arrays."""
        data = self._read(relative, checksum)
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
