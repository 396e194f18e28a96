"""The DuckDB schema of a tracer store: the canonical ``events`` table and its bookkeeping."""

from __future__ import annotations

import duckdb

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
    options    JSON
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
    con.execute(
        "INSERT OR IGNORE INTO tracer_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
    )
