"""Tables of a SQLite database file, such as an event store's own ``stored_events``.

DuckDB's sqlite extension cannot be installed here, so rows are read with the standard library,
in rowid order (the global order unless a position column is mapped or the layout names one),
and staged in Arrow batches. Byte columns holding UTF-8 JSON, plain or zlib- or gzip-compressed,
are decoded to text on the way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pyarrow as pa

from tracer.errors import SourceError
from tracer.fields import auto_detect
from tracer.sources import presets
from tracer.sources.axon import convert_xml
from tracer.sources.base import ROW, Staged, decode_payload, stage_arrow, stage_name

BATCH = 50_000


def stage(con: duckdb.DuckDBPyConnection, spec: str, options: dict[str, Any]) -> list[Staged]:
    path = Path(spec.removeprefix("sqlite://")).expanduser()
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    try:
        # Read-only; the path quoted, so that '#', '?' or '%' in a file name stay in the name.
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
    except sqlite3.DatabaseError as exc:
        raise SourceError(f"{path} is not a SQLite database: {exc}") from exc
    try:
        table = options.get("table") or _pick_table(db, tables, path)
        if table not in tables:
            raise SourceError(
                f"no table '{table}' in {path} (tables: {', '.join(tables) or 'none'})"
            )
        columns = _columns(db, table)
        layout, preset = presets.detect(columns, table)
        order = presets.order_column(layout, columns)
        staged_table = stage_name("sqlite")
        rows = stage_arrow(con, staged_table, _batches(db, table, columns, order), _schema(columns))
    finally:
        db.close()
    # Axon's XStream payloads: the XML rows (only those) converted to JSON, or rejected.
    rejections = convert_xml(con, staged_table, columns) if layout == "axon" else []
    return [
        Staged(
            table=staged_table,
            source=f"{path}:{table}",
            format=f"sqlite ({layout})" if layout != "generic" else "sqlite",
            rows_read=rows,
            preset=preset,
            rejections=rejections,
        )
    ]


def _pick_table(db: sqlite3.Connection, tables: list[str], path: Path) -> str:
    """The one table that looks like an event table; an error naming them when it is unclear."""
    user_tables = [t for t in tables if not t.startswith("sqlite_")]
    if not user_tables:
        raise SourceError(f"{path} has no tables")
    if len(user_tables) == 1:
        return user_tables[0]
    candidates = []
    for table in user_tables:
        columns = _columns(db, table)
        layout, _ = presets.detect(columns, table)
        found = auto_detect({c: "VARCHAR" for c in columns})
        if layout != "generic" or {"stream", "type"} <= found.keys():
            candidates.append(table)
    if len(candidates) == 1:
        return candidates[0]
    listed = ", ".join(candidates or user_tables)
    raise SourceError(f"{path} has several tables; choose one with --table (candidates: {listed})")


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({_q(table)})")]


def _schema(columns: list[str]) -> pa.Schema:
    return pa.schema([(ROW, pa.int64()), *((c, pa.string()) for c in columns)])


def _batches(
    db: sqlite3.Connection, table: str, columns: list[str], order: str | None
) -> Iterator[pa.RecordBatch]:
    select = ", ".join(_q(c) for c in columns)
    order_by = _q(order) if order else "rowid"
    try:
        cursor = db.execute(f"SELECT rowid, {select} FROM {_q(table)} ORDER BY {order_by}")
    except sqlite3.OperationalError:  # a WITHOUT ROWID table: number rows as read
        cursor = db.execute(f"SELECT NULL, {select} FROM {_q(table)}")
    types: list[pa.DataType | None] = [None] * len(columns)
    read = 0
    while rows := cursor.fetchmany(BATCH):
        arrays = [
            pa.array(
                [r[0] if r[0] is not None else read + i + 1 for i, r in enumerate(rows)], pa.int64()
            )
        ]
        for index in range(len(columns)):
            values = [r[index + 1] for r in rows]
            array, types[index] = _column(values, types[index])
            arrays.append(array)
        read += len(rows)
        yield pa.RecordBatch.from_arrays(arrays, names=[ROW, *columns])


def _column(values: list[Any], kind: pa.DataType | None) -> tuple[pa.Array, pa.DataType]:
    """An Arrow column: integers and floats keep their type, everything else becomes text."""
    if kind is None:
        sample = [v for v in values if v is not None]
        if sample and all(isinstance(v, int) and not isinstance(v, bool) for v in sample):
            kind = pa.int64()
        elif sample and all(isinstance(v, int | float) for v in sample):
            kind = pa.float64()
        else:
            kind = pa.string()
    if kind != pa.string():
        try:
            return pa.array(values, kind), kind
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return pa.array([_text(v) for v in values], pa.string()), pa.string()


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return decode_bytes(value)
    return str(value)


def decode_bytes(value: bytes) -> str:
    """UTF-8 text from bytes that may be zlib- or gzip-compressed; others as ``\\x`` hex."""
    return decode_payload(value)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
