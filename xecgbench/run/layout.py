"""Where a run's files live inside its ``--out`` directory (one definition for every reader)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STORE_NAME = "results.sqlite"
CACHE_DIR = "cache"


@dataclass(frozen=True)
class RunLayout:
    """The results store and the artifact cache of one output directory."""

    root: Path

    @classmethod
    def of_store(cls, store_path: Path | str) -> RunLayout:
        """The layout a store file belongs to (its cache lies beside it)."""
        return cls(Path(store_path).parent)

    @property
    def store(self) -> Path:
        """The SQLite results store."""
        return self.root / STORE_NAME

    @property
    def cache(self) -> Path:
        """The content-addressed artifact cache (checkpoints, relevance arrays)."""
        return self.root / CACHE_DIR
