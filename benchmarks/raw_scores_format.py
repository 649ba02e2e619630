"""Which on-disk form for a board's raw scores: size, write and read time, exact round trip.

Measured on the committed boards' real scores. Candidates:

* ``csv.gz``: the format before 0.3 (floats as ``%.9g`` text, gzip), read by the guarded
  legacy reader (:func:`xecgbench.report.board_format.score_parts.parse_scores`);
* ``parquet``: what ``leaderboard export`` writes now (:func:`~.board_scores.scores_bytes`:
  zstd, dictionary-encoded, float64), read by the same guarded reader;
* ``parquet f32``: the same with float32 numbers, to check whether that would be exact.

``round trip`` says whether the numbers read back equal, bit for bit, the frame the tables
are built from. Times are the best of three on this machine.

    python benchmarks/raw_scores_format.py leaderboards/synthetic-both ...
"""

from __future__ import annotations

import gzip
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xecgbench.report.board_format.score_parts import FLOAT_COLUMNS, parse_scores, scores_bytes
from xecgbench.report.results_files import read_board


def _timed(function: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", float_format="%.9g")
    return gzip.compress(buffer.getvalue().encode(), mtime=0)


def _float32_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame.astype(dict.fromkeys(FLOAT_COLUMNS, "float32")),
                                 preserve_index=False)
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def measure(board: Path) -> list[dict[str, object]]:
    """One row per candidate for ``board``'s scores."""
    _, reference = read_board(board)
    candidates = {
        "csv.gz": (_csv_bytes, lambda b: parse_scores(b, Path("scores.csv.gz"))),
        "parquet": (scores_bytes, lambda b: parse_scores(b, Path("scores.parquet"))),
        "parquet f32": (_float32_bytes, lambda b: pq.read_table(io.BytesIO(b)).to_pandas()),
    }
    rows = []
    for name, (write, read) in candidates.items():
        write_s, data = _timed(lambda w=write: w(reference))
        read_s, frame = _timed(lambda d=data, r=read: r(d))
        exact = all(np.array_equal(reference[c].to_numpy("float64"),
                                   frame[c].to_numpy("float64"), equal_nan=True)
                    for c in FLOAT_COLUMNS)
        rows.append({"board": board.name, "rows": len(reference), "format": name,
                     "MB": round(len(data) / 1e6, 2), "write s": round(write_s, 2),
                     "read s": round(read_s, 2), "round trip": "exact" if exact else "NOT"})
    return rows


if __name__ == "__main__":
    table = pd.DataFrame([row for b in sys.argv[1:] for row in measure(Path(b))])
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(map(str, row)) + " |")
