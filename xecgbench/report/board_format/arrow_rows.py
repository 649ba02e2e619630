"""Arrow-level views of a Parquet table taken before any text is decoded: which columns hold
text (read as dictionaries, so their decoded size is known first) and the rows of a few
metrics (a reader that shows a few metrics never expands the others' text)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def text_columns(schema: pa.Schema) -> list[str]:
    """The string columns of ``schema``."""
    import pyarrow as pa

    return [f.name for f in schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def rows_of_metrics(table: pa.Table, metrics: Collection[str] | None) -> pa.Table:
    """``table``'s rows whose ``metric`` is one of ``metrics`` (every row when None), chosen
    on the dictionary-encoded column so that no other row's text is ever expanded."""
    if metrics is None:
        return table
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = pa.array(sorted(metrics), pa.string())
    column = table["metric"]
    if not pa.types.is_dictionary(column.type):
        return table.filter(pc.is_in(column, value_set=wanted))
    keep = pa.chunked_array(
        [pc.take(pc.is_in(chunk.dictionary, value_set=wanted), chunk.indices)
         for chunk in column.chunks], pa.bool_())
    return table.filter(keep)
