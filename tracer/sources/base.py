"""What every source hands to the loader: rows staged in a DuckDB table, with their provenance.

A source reads its input (a file, a database table, a JetStream stream) and writes the rows, as
they are, into a temporary table of the store's connection. The loader (``tracer.load``) then
maps the staged columns to the canonical ``events`` columns, validates, de-duplicates and inserts,
all in SQL. Sources never decide what an event is; they only read and account for rows.
"""

from __future__ import annotations

import gzip
import itertools
import os
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

ROW = "_row"  # 1-based row (or line, or sequence) number in the source
RAW_LIMIT = 2000  # rejected rows keep at most this many characters of their raw text
#: Bytes that are not UTF-8 text (encrypted, or another binary format) are staged as ``\\x``
#: and their hex digits; the loader rejects such a payload as looking encrypted.
BINARY_PREFIX = "\\x"
GZIP_HEAD = b"\x1f\x8b"

_counter = itertools.count(1)


@dataclass
class Rejection:
    """A row a source could not even stage (undecodable bytes, invalid JSON line, ...)."""

    row: int
    raw: str
    reason: str


@dataclass
class Staged:
    """Rows read from one source, waiting in ``table`` to be mapped into ``events``.

    ``table`` has a BIGINT column ``_row`` (the row's number in the source) and the source's own
    columns, with their own names. ``rows_read`` counts every row read, including ``rejections``
    (rows the source could not stage, which are not in ``table``).
    """

    table: str
    source: str
    format: str
    rows_read: int
    preset: dict[str, str] = field(default_factory=dict)  # canonical field -> SPEC
    json_columns: frozenset[str] = frozenset()  # staged columns that hold JSON text
    order_by: str | None = None  # a SQL expression giving the global order; default ``_row``
    rejections: list[Rejection] = field(default_factory=list)
    cursor: tuple[str, str] | None = None  # (source key, position) to remember on commit
    raw_column: str | None = None  # a staged column with the row's raw text, if the source has one
    record_column: str | None = None  # a staged column with the whole record as JSON
    row_expr: str | None = ROW  # SQL for the row number; None: the order of the staged rows
    invalid: str | None = None  # SQL condition for rows that are not valid records (bad JSON)
    hidden: frozenset[str] = frozenset({ROW})  # staged columns that are not source columns
    is_view: bool = False  # ``table`` is a view over the source, read once by the loader
    raw_lookup: Callable[[set[int]], dict[int, str]] | None = None  # raw text of rows, by number
    fallback: Callable[[], Staged] | None = None  # a slower exact staging, if rows_read disagrees
    late: frozenset[str] = frozenset()  # staged columns for keys the sample did not show
    widen: Callable[[set[str]], Staged] | None = None  # staging again with the late keys found
    #: A view reading the same rows in one pass with the staged columns' types, in the order
    #: read: the loader's fast path, exact only when every row loads (it falls back to
    #: ``table`` otherwise). The same columns as ``table``.
    typed_table: str | None = None

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            kind = "VIEW" if self.is_view else "TABLE"
            con.execute(f'DROP {kind} IF EXISTS "{self.table}"')
            if self.typed_table is not None:
                con.execute(f'DROP VIEW IF EXISTS "{self.typed_table}"')
        except duckdb.Error:
            pass  # the transaction failed; the rollback removes the table


def stage_name(kind: str) -> str:
    """A fresh name for a temporary staging table."""
    return f"_stage_{kind}_{next(_counter)}"


def stage_arrow(
    con: duckdb.DuckDBPyConnection,
    table: str,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema | None = None,
) -> int:
    """Stage Arrow record batches into a new TEMP table ``table``; return the rows staged.

    Each batch must already carry the ``_row`` column. The batches are written, as they come,
    to Parquet files in a temporary directory (a new file whenever a batch's types differ from
    the last one's), then read by DuckDB in one statement: Python holds one batch at a time and
    DuckDB stages the rows within its memory limit, spilling to disk, whatever the log's length.
    (Appending batch by batch inside the load's transaction keeps every row in memory.) Types
    that differ between batches widen as DuckDB unifies them: text makes a column VARCHAR,
    floats make integers DOUBLE.
    """
    import pyarrow.parquet as pq

    rows = 0
    with tempfile.TemporaryDirectory(prefix="tracer-stage-") as spool:
        files: list[str] = []
        writer: pq.ParquetWriter | None = None
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    schema = schema or batch.schema
                    continue
                if writer is None or writer.schema != batch.schema:
                    if writer is not None:
                        writer.close()
                    files.append(os.path.join(spool, f"part-{len(files):06d}.parquet"))
                    writer = pq.ParquetWriter(files[-1], batch.schema, compression="lz4")
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        settle(con)
        if files:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(
                f'CREATE TEMP TABLE "{table}" AS SELECT * '
                f"FROM read_parquet([{listed}], union_by_name = true)"
            )
            return rows
    empty = (schema or pa.schema([(ROW, pa.int64())])).empty_table()
    con.register(f"{table}_empty", empty)
    try:
        con.execute(f'CREATE TEMP TABLE "{table}" AS SELECT * FROM "{table}_empty"')
    finally:
        con.unregister(f"{table}_empty")
    return rows


def settle(con: duckdb.DuckDBPyConnection) -> None:
    """Finish a pending result (``fetchone`` leaves one): DuckDB refuses ``register`` before."""
    complete = getattr(con, "complete", None)
    if complete is not None:
        complete()


def decode_payload(value: bytes) -> str:
    """UTF-8 text from payload bytes, zlib- or gzip-compressed or not (as the ``eventsourcing``
    library's compressors write them); bytes that are no text as ``\\x`` and hex digits."""
    head = value[:2]
    try:
        if zlib_header(head):
            value = zlib.decompress(value)
        elif head == GZIP_HEAD:
            value = gzip.decompress(value)
    except (zlib.error, OSError, EOFError):
        pass  # not compressed after all (random bytes can start like a header)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return BINARY_PREFIX + value.hex()


def zlib_header(head: bytes) -> bool:
    """Whether two bytes open a zlib stream (deflate, and a header checksum that holds)."""
    return len(head) == 2 and head[0] & 0x0F == 8 and int.from_bytes(head, "big") % 31 == 0


def cut(text: str, limit: int = RAW_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
