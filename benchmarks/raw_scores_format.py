"""Which on-disk form for a board's raw scores: size, write and read time, exact round trip.

Candidates, each on the committed boards' real scores (``scores.csv.gz`` today):

* ``csv.gz``: the current file, floats as ``%.9g`` text, gzip level 9 (pandas' default is 6,
  written here as the exporter does);
* ``csv.gz typed``: the same bytes read with every column's dtype given up front;
* ``parquet zstd``: pyarrow, dictionary-encoded text columns, float64 values, zstd;
* ``parquet zstd f32``: the same with float32 values (shown to check whether it is exact).

``round trip`` says whether the values read back equal, bit for bit, the float64 values that
the committed CSV gives (what the tables are built from).

    python benchmarks/raw_scores_format.py leaderboards/synthetic-both ...
"""

from __future__ import annotations

import gzip
import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TEXT = ["dataset", "pretraining", "freezing", "attribution", "branch", "metric", "category",
        "region", "record_id"]
DTYPES = {**dict.fromkeys(TEXT, "string"), "seed": "int64", "sample": "int64",
          "value": "float64", "label": "float64", "chance": "float64"}


def _timed(function, repeat: int = 3) -> tuple[float, object]:
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


def _parquet_bytes(frame: pd.DataFrame, value_type: str) -> bytes:
    numbers = {c: value_type for c in ("value", "label", "chance") if c in frame}
    table = pa.Table.from_pandas(frame.astype(numbers), preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", use_dictionary=TEXT,
                   write_statistics=False)
    return sink.getvalue()


def _same(a: pd.Series, b: pd.Series) -> bool:
    x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
    return bool(np.array_equal(x, y, equal_nan=True))


def measure(path: Path) -> list[dict[str, object]]:
    """One row per candidate for the board's scores file at ``path``."""
    raw = path.read_bytes()
    reference = pd.read_csv(io.BytesIO(raw), compression="gzip", keep_default_na=False,
                            na_values={key: [""] for key in ("value", "label", "chance")})
    rows = []
    candidates = {
        "csv.gz": (lambda: _csv_bytes(reference),
                   lambda b: pd.read_csv(io.BytesIO(b), compression="gzip")),
        "csv.gz typed": (lambda: _csv_bytes(reference),
                         lambda b: pd.read_csv(io.BytesIO(b), compression="gzip",
                                               dtype=DTYPES)),
        "parquet zstd": (lambda: _parquet_bytes(reference, "float64"),
                         lambda b: pq.read_table(io.BytesIO(b)).to_pandas()),
        "parquet zstd f32": (lambda: _parquet_bytes(reference, "float32"),
                             lambda b: pq.read_table(io.BytesIO(b)).to_pandas()),
    }
    for name, (write, read) in candidates.items():
        write_s, data = _timed(write, repeat=1)
        read_s, frame = _timed(lambda d=data, r=read: r(d))
        exact = all(_same(reference[c], frame[c]) for c in ("value", "label", "chance")
                    if c in reference)
        rows.append({"board": path.parent.name, "rows": len(reference), "format": name,
                     "MB": round(len(data) / 1e6, 2), "write s": round(write_s, 2),
                     "read s": round(read_s, 2), "round trip": "exact" if exact else "NOT"})
    return rows


if __name__ == "__main__":
    boards = [Path(p) for p in sys.argv[1:]]
    table = pd.DataFrame([row for b in boards for row in measure(b / "scores.csv.gz")])
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(map(str, row)) + " |")
