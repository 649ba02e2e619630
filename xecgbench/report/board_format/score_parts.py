"""A board's raw scores as bytes and back, with every limit checked before the frame is built.

Scores are stored as Parquet (``scores.parquet``: zstd, dictionary-encoded text, float64
numbers, no pandas metadata), 25-30 % smaller than the older ``scores.csv.gz`` and several times
faster to write and read (``docs/benchmarks.md``, "Raw scores format"); the file's footer gives
rows, columns and unpacked size before a value is decoded. ``scores.csv.gz`` boards are still
read: one streaming pass over the decompressed text checks its size, rows and line lengths with
bounded memory before pandas parses it. Both readers return the same frame (the dtypes the
table code was written against), so a converted board rebuilds byte-identical tables.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xecgbench.report.board_format.arrow_rows import rows_of_metrics, text_columns
from xecgbench.report.board_format.reader import ResultsFileError
from xecgbench.run.store import SCORE_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

RAW_SCORE_COLUMNS = tuple(c for c in SCORE_COLUMNS if c != "stage_key")
#: Raw-score columns that results exported before they existed may lack (read as missing).
OPTIONAL_SCORE_COLUMNS = ("label", "chance", "model_state")
INTEGER_COLUMNS = ("seed", "sample")
FLOAT_COLUMNS = ("value", "label", "chance")
#: Text columns that may be missing (accuracy rows have no attribution; not every row a record).
NULLABLE_TEXT = ("attribution", "record_id", "pretraining", "freezing", "model_state")
TEXT_COLUMNS = tuple(c for c in RAW_SCORE_COLUMNS
                     if c not in INTEGER_COLUMNS + FLOAT_COLUMNS)
#: Identify a row: two rows with the same key would be counted twice.
KEY_COLUMNS = tuple(c for c in RAW_SCORE_COLUMNS if c not in FLOAT_COLUMNS)


@dataclass(frozen=True)
class Layout:
    """The columns of one raw table and their types (scores, probabilities)."""

    columns: tuple[str, ...]
    optional: tuple[str, ...]
    integers: tuple[str, ...]
    floats: tuple[str, ...]


SCORES_LAYOUT = Layout(RAW_SCORE_COLUMNS, OPTIONAL_SCORE_COLUMNS, INTEGER_COLUMNS,
                       FLOAT_COLUMNS)
#: Parsing limits (stated in ``leaderboards/README.md``).
#: Rows of all parts of one table together (a 10-seed ``paper`` board holds about 3.9 million
#: score rows).
MAX_ROWS = 5_000_000
#: Score rows per written Parquet part: about 3.5-4 MB each, under the 5-MB size of a
#: committed file.
ROWS_PER_PART = 750_000
MAX_COLUMNS = 32
MAX_UNPACKED_BYTES = 512 << 20
#: Text of all columns once dictionary pages are expanded (the 10-seed paper board: ~0.3 GB).
MAX_DECODED_TEXT_BYTES = 1 << 30
MAX_LINE_BYTES = 64 << 10
MAX_PARQUET_FOOTER = 1 << 20


def _fail(path: Path, message: str) -> ResultsFileError:
    return ResultsFileError(f"{path}: {message}")


def _check_names(names: list[str], path: Path, layout: Layout = SCORES_LAYOUT) -> None:
    if len(names) > MAX_COLUMNS:
        raise _fail(path, f"{len(names):,} columns, over the limit of {MAX_COLUMNS}")
    unknown = [n for n in names if n not in layout.columns]
    if unknown:
        raise _fail(path, f"unknown column {unknown[0][:60]!r}")
    if len(set(names)) != len(names):
        raise _fail(path, "a column appears twice")
    required = [c for c in layout.columns if c not in layout.optional]
    missing = [c for c in required if c not in names]
    if missing:
        raise _fail(path, f"missing columns {', '.join(missing)}")


def _scan_csv(data: bytes, path: Path) -> None:
    """One bounded pass over the decompressed text: header, unpacked size, rows, line length."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            header = stream.readline(MAX_LINE_BYTES + 1)
            if len(header) > MAX_LINE_BYTES:
                raise _fail(path, f"header line longer than {MAX_LINE_BYTES:,} bytes")
            _check_names(header.decode("utf-8").rstrip("\r\n").split(","), path)
            rows, total, open_line = 0, len(header), 0
            while chunk := stream.read(1 << 20):
                total += len(chunk)
                if total > MAX_UNPACKED_BYTES:
                    raise _fail(path, f"unpacks to over {MAX_UNPACKED_BYTES:,} bytes")
                ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
                rows += len(ends)
                if rows > MAX_ROWS:
                    raise _fail(path, f"over the limit of {MAX_ROWS:,} rows")
                if len(ends):
                    longest = max(open_line + ends[0], int(np.diff(ends).max(initial=0)))
                    open_line = len(chunk) - 1 - int(ends[-1])
                else:
                    open_line += len(chunk)
                    longest = open_line
                if longest > MAX_LINE_BYTES:
                    raise _fail(path, f"a line longer than {MAX_LINE_BYTES:,} bytes")
    except UnicodeDecodeError:
        raise _fail(path, "header is not UTF-8 text") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise _fail(path, f"not a valid gzip file ({exc or type(exc).__name__})") from None


def _read_csv(data: bytes, path: Path) -> pd.DataFrame:
    _scan_csv(data, path)
    try:
        return pd.read_csv(io.BytesIO(data), compression="gzip",
                           dtype={"record_id": "string", "region": "string"},
                           keep_default_na=False,
                           na_values={c: [""] for c in (*FLOAT_COLUMNS, *NULLABLE_TEXT)})
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot parse: {str(exc).splitlines()[0] if str(exc) else exc!r}"
                    ) from None


def read_parquet(data: bytes, path: Path, layout: Layout = SCORES_LAYOUT) -> pd.DataFrame:
    """A raw Parquet table, its footer (rows, columns, unpacked size, types) checked first."""
    return _decoded(_checked_parquet(data, path, layout), path)


def _decoded(parquet: pq.ParquetFile, path: Path) -> pd.DataFrame:
    return _as_pandas(_table(parquet, path), path)


def _table(parquet: pq.ParquetFile, path: Path,
           metrics: Collection[str] | None = None) -> pa.Table:
    """The table (only ``metrics``' rows when given), its text columns read as dictionaries
    first so that their decoded size is known (and held to :data:`MAX_DECODED_TEXT_BYTES`)
    before any text is expanded."""
    import pyarrow as pa

    try:
        table = parquet.read()  # opened with its text columns as dictionaries
        _check_decoded_text(table, path)
        table = rows_of_metrics(table, metrics)
        return pa.table({name: (column.cast(column.type.value_type)
                                if pa.types.is_dictionary(column.type) else column)
                         for name, column in zip(table.column_names, table.columns,
                                                 strict=True)})
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _fail(path, f"cannot read Parquet: {str(exc).splitlines()[0]}") from None


def _check_decoded_text(table: pa.Table, path: Path) -> None:
    """Refuse text that expands past the budget: a 4-KB value shared by a million rows is one
    dictionary entry in the file (its footer says 10.7 MB) and 4.9 GB once decoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not pa.types.is_dictionary(column.type):
            continue
        for chunk in column.chunks:
            lengths = pc.binary_length(chunk.dictionary)
            total += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
        if total > MAX_DECODED_TEXT_BYTES:
            raise _fail(path, f"its text decodes to over {MAX_DECODED_TEXT_BYTES:,} bytes "
                              f"(column {name!r}); the limit guards against dictionary bombs")


def _as_pandas(table: pa.Table, path: Path) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return table.to_pandas()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _fail(path, f"cannot read Parquet: {str(exc).splitlines()[0]}") from None


def _checked_parquet(data: bytes, path: Path, layout: Layout) -> pq.ParquetFile:
    """The Parquet file in ``data`` once its footer passes the limits; nothing decoded yet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise _fail(path, "not a Parquet file")
    footer = int.from_bytes(data[-8:-4], "little")
    if footer > min(MAX_PARQUET_FOOTER, len(data) - 12):
        raise _fail(path, f"Parquet footer of {footer:,} bytes (limit {MAX_PARQUET_FOOTER:,})")
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        meta = parquet.metadata
        _check_names(list(parquet.schema_arrow.names), path, layout)
        if meta.num_rows > MAX_ROWS:
            raise _fail(path, f"{meta.num_rows:,} rows, over the limit of {MAX_ROWS:,}")
        unpacked = sum(meta.row_group(i).column(j).total_uncompressed_size
                       for i in range(meta.num_row_groups) for j in range(meta.num_columns))
        if unpacked > MAX_UNPACKED_BYTES:
            raise _fail(path, f"unpacks to {unpacked:,} bytes, over {MAX_UNPACKED_BYTES:,}")
        for field in parquet.schema_arrow:
            _check_type(field, path, layout)
        return pq.ParquetFile(pa.BufferReader(data),
                              read_dictionary=text_columns(parquet.schema_arrow))
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _fail(path, f"cannot read Parquet: {str(exc).splitlines()[0]}") from None


def _check_type(field: object, path: Path, layout: Layout) -> None:
    import pyarrow as pa

    name, kind = field.name, field.type  # type: ignore[attr-defined]
    if pa.types.is_dictionary(kind):  # dictionary-encoded text, as Arrow may have written it
        kind = kind.value_type
    ok = (pa.types.is_integer(kind) if name in layout.integers
          else pa.types.is_floating(kind) if name in layout.floats
          else pa.types.is_string(kind) or pa.types.is_large_string(kind))
    if not ok:
        raise _fail(path, f"column {name!r} has type {kind}")


def _normalised(scores: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check types and keys; the frame in the dtypes the tables are built from."""
    for column in OPTIONAL_SCORE_COLUMNS:
        if column not in scores.columns:
            scores[column] = np.nan
    for column in INTEGER_COLUMNS:
        if not pd.api.types.is_integer_dtype(scores[column]):
            raise _fail(path, f"column {column!r} must hold integers")
    for column in FLOAT_COLUMNS:
        if not pd.api.types.is_numeric_dtype(scores[column]):
            raise _fail(path, f"column {column!r} must be numeric")
        scores[column] = scores[column].astype("float64")
        if np.isinf(scores[column].to_numpy()).any():
            raise _fail(path, f"column {column!r} holds an infinite number")
    for column in TEXT_COLUMNS:
        values = scores[column].astype(object)
        if column not in NULLABLE_TEXT and values.isna().any():
            values = values.where(values.notna(), "")
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            values = values.astype(str).where(values.notna(), None)
        scores[column] = values.where(values.notna(), None)
    for column in ("record_id", "region"):
        scores[column] = scores[column].astype("string")
    duplicated = scores.duplicated(list(KEY_COLUMNS))
    if duplicated.any():
        row = scores[duplicated].iloc[0]
        where = ", ".join(f"{k}={row[k]}" for k in ("seed", "metric", "region", "sample"))
        raise _fail(path, f"duplicate score row ({where})")
    return scores[list(RAW_SCORE_COLUMNS)]


def parse_scores(data: bytes, path: Path) -> pd.DataFrame:
    """The scores frame of a board's scores file, Parquet or (legacy) csv.gz by its name."""
    return parse_score_parts([(data, path)])


def parse_score_parts(parts: Sequence[tuple[bytes, Path]],
                      metrics: Collection[str] | None = None) -> pd.DataFrame:
    """One scores frame from a board's score files in order (see :func:`read_parquet_parts`;
    a row repeated in two parts is a duplicate like any other); only the rows of ``metrics``
    when given (a reader that shows a few metrics need not decode millions of others)."""
    if len(parts) == 1 and parts[0][1].name.endswith(".csv.gz"):
        scores = _read_csv(*parts[0])
        if metrics is not None:
            scores = scores[scores["metric"].isin(list(metrics))].reset_index(drop=True)
        return _normalised(scores, parts[0][1])
    scores = read_parquet_parts(parts, SCORES_LAYOUT, metrics)
    return _normalised(scores, parts[0][1] if len(parts) == 1 else parts[0][1].parent)


def read_parquet_parts(parts: Sequence[tuple[bytes, Path]], layout: Layout,
                       metrics: Collection[str] | None = None) -> pd.DataFrame:
    """One frame from a table's Parquet parts in order (only ``metrics``' rows when given).
    Every footer is checked, and the rows of all parts counted against :data:`MAX_ROWS`,
    before any part is decoded."""
    import pyarrow as pa

    files, rows = [], 0
    for data, path in parts:
        files.append((_checked_parquet(data, path, layout), path))
        rows += files[-1][0].metadata.num_rows
        if rows > MAX_ROWS:
            raise _fail(path, f"the parts hold over {MAX_ROWS:,} rows together")
    tables = [_table(parquet, path, metrics) for parquet, path in files]
    if len(tables) == 1:
        return _as_pandas(tables[0], files[0][1])
    where = files[0][1].parent
    try:  # joined in Arrow: one conversion, not a pandas concat of millions of text cells
        joined = pa.concat_tables(tables, promote_options="permissive")
    except (ValueError, pa.ArrowException) as exc:
        raise _fail(where, f"its parts do not join: {str(exc).splitlines()[0]}") from None
    return _as_pandas(joined, where)


def scores_bytes(scores: pd.DataFrame) -> bytes:
    """``scores`` as the committed Parquet bytes (same frame in, same bytes out), numbers at
    the committed precision (``%.9g``, as the CSV format held them and ``verify`` compares)."""
    rounded = scores.assign(**{c: _nine_digits(scores[c]) for c in FLOAT_COLUMNS
                               if c in scores})
    return table_bytes(rounded, SCORES_LAYOUT)


def score_parts_bytes(scores: pd.DataFrame) -> list[bytes]:
    """``scores`` as committed Parquet parts of at most :data:`ROWS_PER_PART` rows each, in
    row order (one part for every board below that size)."""
    return [scores_bytes(part) for part in row_parts(scores, ROWS_PER_PART)]


def row_parts(frame: pd.DataFrame, rows: int) -> list[pd.DataFrame]:
    """``frame`` cut into consecutive pieces of at most ``rows`` rows (one piece if empty)."""
    return [frame.iloc[start:start + rows] for start in range(0, max(len(frame), 1), rows)]


def _nine_digits(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    text = np.char.mod("%.9g", numbers)
    return pd.Series(text.astype(np.float64), index=values.index)


def table_bytes(frame: pd.DataFrame, layout: Layout) -> bytes:
    """``frame`` in ``layout`` as deterministic Parquet bytes (zstd, no metadata)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [(c, pa.int64() if c in layout.integers else pa.float64() if c in layout.floats
          else pa.string()) for c in layout.columns])
    table = pa.Table.from_pandas(frame.reindex(columns=list(layout.columns)), schema=schema,
                                 preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(None), sink, compression="zstd",
                   use_dictionary=True, write_statistics=False)
    return sink.getvalue().to_pybytes()
