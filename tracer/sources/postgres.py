"""PostgreSQL event tables: ``tracer load postgresql://USER@HOST:PORT/DB --table NAME``.

The table is read in its global order with one ``COPY (SELECT ...) TO STDOUT`` streamed to a
temporary CSV file, which DuckDB parses in bulk; memory stays bounded whatever the table's size.
Layouts of widely used event stores (Marten's ``mt_events``, ``eventsourcing``'s ``*_events``,
Eventuous' ``messages``) are recognised from the columns (:mod:`tracer.sources.presets`).

The last order value read (``seq_id``, ``notification_id``, ``global_position``, or another
integer position column) is remembered in ``cursors`` when the load commits; the next load reads
only rows after it. Rows committed while an older transaction is still running wait for it (see
:data:`SETTLED`), so a row whose transaction commits late is never skipped. ``from_seq`` starts at an order value, ``since`` at a time. ``bytea`` columns
(``eventsourcing``'s ``state``) are decoded to text, zlib- or gzip-compressed ones decompressed.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from tracer.errors import SourceError
from tracer.fields import ALIASES
from tracer.sources import presets
from tracer.sources.axon import convert_xml
from tracer.sources.base import ROW, Staged, decode_payload, stage_name
from tracer.sources.nats import parse_since

CONNECT_TIMEOUT = 5  # seconds
#: Bytes DuckDB reads of the copied rows at a time, and the longest row it accepts. (Left to
#: itself, DuckDB reads a whole file of up to 16x the longest row in one block.)
CSV_BUFFER = 64 << 20
INTEGER_TYPES = {"smallint", "integer", "bigint"}
_DUCK_TYPES = {
    "smallint": "BIGINT",
    "integer": "BIGINT",
    "bigint": "BIGINT",
    "real": "DOUBLE",
    "double precision": "DOUBLE",
    "numeric": "JSON",  # (a JSON number as written: 1180591620717411303425 stays exact)
    "boolean": "BOOLEAN",
    "timestamp with time zone": "TIMESTAMPTZ",
    "timestamp without time zone": "TIMESTAMP",
    "date": "DATE",
}
# Rows whose inserting transaction precedes every transaction still running. A transaction that
# took a lower order value but has not committed yet would otherwise be skipped for good once a
# later row moved the cursor past it; with this, later rows wait until it is done.
SETTLED = (
    "age(t.xmin) > age(mod(pg_snapshot_xmin(pg_current_snapshot())::text::bigint,"
    " 4294967296)::text::xid)"
)
_ZLIB_HEADS = ("7801", "785e", "789c", "78da", "1f8b")  # (and gzip's)


@dataclass
class Column:
    name: str
    pg_type: str  # information_schema data_type
    large_object: bool = False  # an ``oid`` naming a large object, read as its bytes

    @property
    def duck_type(self) -> str:
        return _DUCK_TYPES.get(self.pg_type, "VARCHAR")


def connect(dsn: str) -> Any:
    """A psycopg connection, or a :class:`SourceError` naming the server (never its password)."""
    import psycopg

    try:
        return psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, application_name="tracer")
    except psycopg.Error as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"cannot connect to PostgreSQL at {label_of(dsn)}: {detail}") from None


def label_of(dsn: str) -> str:
    """``postgresql://host:port/db`` for a DSN, without user name or password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:
        return "postgresql://?"
    return f"postgresql://{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def stage(con: duckdb.DuckDBPyConnection, spec: str, options: dict[str, Any]) -> list[Staged]:
    import psycopg

    label = label_of(spec)
    with connect(spec) as pg:
        try:
            pg.execute("SET TimeZone = 'UTC'")
            pg.execute("SET DateStyle = 'ISO'")
            schema, table = _find_table(pg, options.get("table"), label)
            return [_stage_table(con, pg, label, schema, table, options)]
        except psycopg.Error as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(f"reading {label} failed: {detail}") from None


def _stage_table(
    con: duckdb.DuckDBPyConnection,
    pg: Any,
    label: str,
    schema: str,
    table: str,
    options: dict[str, Any],
) -> Staged:
    columns = _columns(pg, schema, table)
    source = f"{label}/{schema}.{table}"
    names = [c.name for c in columns]
    join = _streams_join(pg, schema, names)
    if join:
        columns.append(Column("stream_name", "text"))
        names.append("stream_name")
    name, preset = presets.detect(names, table)
    if name == "axon":  # Hibernate keeps Axon's payloads as large objects: read their bytes
        for column in columns:
            if column.pg_type == "oid" and column.name.lower() in ("payload", "meta_data"):
                column.pg_type, column.large_object = "bytea", True
    order = presets.order_column(name, names) or _order_column(columns)
    where, params = _where(con, source, order, columns, preset, options)
    is_table = _is_table(pg, schema, table)
    if order and is_table:
        where = f"{where} AND {SETTLED}" if where else f"WHERE {SETTLED}"
    select = ", ".join(_select_item(c, join) for c in columns)
    physical = "ORDER BY t.ctid" if is_table else ""  # a view's rows come in its own order
    row_sql = f"CAST(t.{_q(order)} AS bigint)" if order else f"row_number() OVER ({physical})"
    sql = f"SELECT {row_sql} AS _row, {select} FROM {_q(schema)}.{_q(table)} t {join or ''} {where}"
    if order:
        sql += f" ORDER BY t.{_q(order)}"
    staged = stage_name("pg")
    rows = _copy_into(con, pg, sql, params, staged, columns)
    json_columns = frozenset(c.name for c in columns if c.pg_type in ("json", "jsonb"))
    for column in columns:
        if column.pg_type == "bytea":
            _decode_bytes(con, staged, column.name)
    last = None
    if order and rows:
        last = con.execute(f'SELECT max({_q(order)}) FROM "{staged}"').fetchall()[0][0]
    cursor = (source, str(last)) if last is not None else None
    # Axon's XStream payloads: the XML rows (only those) converted to JSON, or rejected.
    rejections = convert_xml(con, staged, names) if name == "axon" else []
    if name == "eventsourcing" and "state" in names:
        json_columns |= {"state"}
    return Staged(
        staged,
        source=source,
        format=f"postgres:{name}",
        rows_read=rows,
        preset=preset,
        json_columns=json_columns,
        cursor=cursor,
        rejections=rejections,
    )


# -- the table --------------------------------------------------------------------------------
def _find_table(pg: Any, wanted: str | None, label: str) -> tuple[str, str]:
    """(schema, table) for ``--table``, or the one event-store table of the database."""
    rows = pg.execute(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
             AND table_type IN ('BASE TABLE', 'VIEW')
           ORDER BY table_schema = 'public' DESC, table_schema, table_name"""
    ).fetchall()
    if wanted:
        schema, _, name = wanted.rpartition(".")
        for s, t in rows:
            if t == name and (s == schema or not schema):
                return s, t
        for s, t in rows:  # unquoted identifiers are case-insensitive in PostgreSQL
            if t.lower() == name.lower() and (s.lower() == schema.lower() or not schema):
                return s, t
        raise SourceError(f"no table {wanted} in {label} (tables: {_listing(rows)})")
    found = [
        (s, t)
        for s, t in rows
        if presets.detect([c.name for c in _columns(pg, s, t)], t)[0] != "generic"
    ]
    if len(found) == 1:
        return found[0]
    raise SourceError(f"name the table with --table (tables in {label}: {_listing(found or rows)})")


def _listing(rows: list[tuple[str, str]]) -> str:
    shown = [t if s == "public" else f"{s}.{t}" for s, t in rows[:15]]
    return ", ".join(shown) + (", ..." if len(rows) > 15 else "") if shown else "none"


def _is_table(pg: Any, schema: str, table: str) -> bool:
    """A plain or partitioned table (rows with ``xmin``), not a view."""
    kind = pg.execute(
        """SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relname = %s""",
        [schema, table],
    ).fetchall()
    return bool(kind) and kind[0][0] in ("r", "p")


def _columns(pg: Any, schema: str, table: str) -> list[Column]:
    rows = pg.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
        [schema, table],
    ).fetchall()
    return [Column(name, pg_type) for name, pg_type in rows]


def _streams_join(pg: Any, schema: str, names: list[str]) -> str | None:
    """Eventuous keeps stream names in ``streams``: join them in when that table is there."""
    table, key, name = presets.EVENTUOUS_STREAMS
    if presets.detect(names)[0] != "eventuous" or "stream_name" in names:
        return None
    have = {c.name for c in _columns(pg, schema, table)}
    if not {key, name} <= have:
        return None
    return f"LEFT JOIN {_q(schema)}.{_q(table)} s ON s.{_q(key)} = t.{_q(key)}"


def _order_column(columns: list[Column]) -> str | None:
    """An integer column giving the global order: a position name, else an integer ``id``."""
    integers = {c.name.lower(): c.name for c in columns if c.pg_type in INTEGER_TYPES}
    for candidate in (*ALIASES["position"], "id", "sequence"):
        if candidate.lower() in integers:
            return integers[candidate.lower()]
    return None


def _where(
    con: duckdb.DuckDBPyConnection,
    source: str,
    order: str | None,
    columns: list[Column],
    preset: dict[str, str],
    options: dict[str, Any],
) -> tuple[str, list[Any]]:
    if options.get("from_seq") is not None:
        if order is None:
            raise SourceError(f"--from-seq needs an integer order column; {source} has none")
        return f"WHERE t.{_q(order)} >= %s", [int(options["from_seq"])]
    if options.get("since") is not None:
        time_col = _time_column(columns, preset)
        if time_col is None:
            raise SourceError(f"--since needs a time column; none found in {source}")
        return f"WHERE t.{_q(time_col)} >= %s", [parse_since(options["since"], options.get("tz"))]
    if order is not None:
        saved = con.execute("SELECT cursor FROM cursors WHERE source = ?", [source]).fetchall()
        if saved and saved[0][0]:
            return f"WHERE t.{_q(order)} > %s", [int(saved[0][0])]
    return "", []


def _time_column(columns: list[Column], preset: dict[str, str]) -> str | None:
    timed = {c.name: c for c in columns if c.pg_type.startswith("timestamp")}
    if preset.get("time") in timed:
        return preset["time"]
    return next((n for n in ALIASES["time"] if n in timed), None)


def _select_item(column: Column, join: str | None) -> str:
    qualified = (
        f"s.{_q(column.name)}" if join and column.name == "stream_name" else f"t.{_q(column.name)}"
    )
    if column.large_object:
        qualified = f"lo_get({qualified})"
    if column.pg_type == "bytea":
        return f"encode({qualified}, 'hex') AS {_q(column.name)}"
    return f"{qualified} AS {_q(column.name)}"


# -- COPY -> DuckDB ---------------------------------------------------------------------------
def _copy_into(
    con: duckdb.DuckDBPyConnection,
    pg: Any,
    sql: str,
    params: list[Any],
    staged: str,
    columns: list[Column],
) -> int:
    """Stream the query's rows as CSV into a temp file, then let DuckDB parse and type them."""
    fd, path = tempfile.mkstemp(prefix="tracer-pg-", suffix=".csv")
    try:
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
        with (
            os.fdopen(fd, "wb") as out,
            pg.cursor() as cur,
            cur.copy(copy_sql, params or None) as copy,
        ):
            for chunk in copy:
                out.write(chunk)
        positional = {f"c{i}": "VARCHAR" for i in range(len(columns) + 1)}
        select = [f"CAST(c0 AS BIGINT) AS {ROW}"]
        select += [
            f"CAST(c{i} AS {c.duck_type}) AS {_q(c.name)}" for i, c in enumerate(columns, start=1)
        ]
        con.execute(
            f"""CREATE TEMP TABLE "{staged}" AS SELECT {", ".join(select)}
                FROM read_csv(?, header = false, columns = {_struct(positional)}, quote = '"',
                              escape = '"', allow_quoted_nulls = false, auto_detect = false,
                              max_line_size = {CSV_BUFFER}, buffer_size = {CSV_BUFFER})""",
            [path],
        )
        return con.execute(f'SELECT count(*) FROM "{staged}"').fetchall()[0][0]
    finally:
        os.unlink(path)


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def _decode_bytes(con: duckdb.DuckDBPyConnection, staged: str, column: str) -> None:
    """Hex text of a ``bytea`` column -> UTF-8 text, zlib-compressed values decompressed."""
    col = _q(column)
    heads = ", ".join(f"'{h}'" for h in _ZLIB_HEADS)
    packed = f"lower(left({col}, 4)) IN ({heads})"
    compressed = con.execute(f'SELECT rowid, {col} FROM "{staged}" WHERE {packed}').fetchall()
    con.execute(
        f"""UPDATE "{staged}" SET {col} = coalesce(TRY(decode(unhex({col}))), '\\x' || {col})
            WHERE {col} IS NOT NULL AND NOT {packed}"""
    )
    if not compressed:
        return
    rowids, texts = [], []
    for rowid, hex_text in compressed:
        try:
            texts.append(decode_payload(bytes.fromhex(hex_text)))  # (else kept as \\x hex)
        except ValueError:
            texts.append("\\x" + hex_text)
        rowids.append(rowid)
    view = f"{staged}_unpacked"
    con.register(view, pa.table({"rid": pa.array(rowids, pa.int64()), "text": pa.array(texts)}))
    try:
        con.execute(
            f'UPDATE "{staged}" SET {col} = u.text FROM "{view}" u WHERE "{staged}".rowid = u.rid'
        )
    finally:
        con.unregister(view)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
