"""The DuckDB schema of a tracer store: the canonical ``events`` table and its bookkeeping."""

from __future__ import annotations

import duckdb

from tracer.errors import TracerError

SCHEMA_VERSION = 1

#: Canonical columns of the ``events`` table, in order.
EVENT_COLUMNS: tuple[str, ...] = (
    "position",
    "event_id",
    "stream",
    "category",
    "version",
    "type",
    "time",
    "data",
    "meta",
    "correlation_id",
    "causation_id",
    "source",
    "source_row",
    "load_id",
)

DDL = """
CREATE TABLE IF NOT EXISTS events (
    position       BIGINT NOT NULL,   -- global order, 1..N, gapless
    event_id       VARCHAR NOT NULL,
    stream         VARCHAR NOT NULL,
    category       VARCHAR,
    version        BIGINT NOT NULL,   -- per-stream, from the source or derived in order
    type           VARCHAR NOT NULL,
    time           TIMESTAMPTZ,       -- UTC
    data           JSON,
    meta           JSON,
    correlation_id VARCHAR,
    causation_id   VARCHAR,
    source         VARCHAR,           -- file path or table the event came from
    source_row     BIGINT,            -- line or row number in that source (1-based)
    load_id        INTEGER
);

CREATE TABLE IF NOT EXISTS rejected (
    load_id    INTEGER,
    source     VARCHAR,
    source_row BIGINT,
    raw        VARCHAR,               -- the row as read, cut at a sane length
    reason     VARCHAR
);

CREATE TABLE IF NOT EXISTS loads (
    load_id    INTEGER PRIMARY KEY,
    started    TIMESTAMPTZ,
    finished   TIMESTAMPTZ,
    source     VARCHAR,
    format     VARCHAR,
    rows_read  BIGINT,
    loaded     BIGINT,
    rejected   BIGINT,
    duplicates BIGINT,
    options    JSON,
    system     BIGINT DEFAULT 0       -- system events (KurrentDB ``$`` streams) not loaded
);

-- Where a resumable source (a JetStream consumer, a growing file, a table) stopped reading.
CREATE TABLE IF NOT EXISTS cursors (
    source  VARCHAR PRIMARY KEY,
    cursor  VARCHAR,
    updated TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS tracer_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables of a tracer store if they do not exist yet."""
    con.execute(DDL)
    con.execute("ALTER TABLE loads ADD COLUMN IF NOT EXISTS system BIGINT DEFAULT 0")
    con.execute(
        "INSERT OR IGNORE INTO tracer_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
    )


def refuse_foreign_database(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """Raise when a DuckDB database has tables of its own but not tracer's: it is someone
    else's file, and tracer would write its tables into it. (No tables at all: a new store.)"""
    tables = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY table_name"
        ).fetchall()
    ]
    if tables and not {"events", "loads"} <= set(tables):
        shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
        raise TracerError(
            f"{path} is a DuckDB database but not a tracer store (its tables: {shown}): "
            "name another file with --db"
        )


#: The first bytes of files that are something else than a store, and what they are.
_SIGNATURES = (
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\x28\xb5\x2f\xfd", "a zstd file"),
    (b"PGDMP", "a PostgreSQL dump"),
)


def refuse_foreign_file(path: str) -> None:
    """Raise a one-line :class:`TracerError` when ``path`` exists and is not a DuckDB database
    (a JSON Lines export, a text file, a SQLite database given as ``--db``): opening it would
    not keep what is loaded, or would write over someone else's file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        return  # a new store
    except IsADirectoryError:
        raise TracerError(f"{path} is a directory, not a tracer store (a .duckdb file)") from None
    except OSError as exc:
        raise TracerError(f"cannot open store {path}: {exc.strerror or exc}") from None
    if head[8:12] == b"DUCK":
        return
    what = next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)
    if what is None:
        what = (
            "an empty file"
            if not head
            else "a text file"
            if b"\x00" not in head
            else "not a DuckDB database"
        )
    hint = "" if not head else f", or load it as a source: tracer load {path}"
    raise TracerError(f"{path} is not a tracer store ({what}): name a .duckdb file with --db{hint}")
