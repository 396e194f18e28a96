"""The fast path of a load: clean input read once, typed and checked in one pass, appended.

When a source offers a one-pass typed reader (:attr:`~tracer.sources.base.Staged.typed_table`)
and every row carries its id and version, the rows are read once, typed and checked in one
pass, and appended to ``events`` only when the result is exactly what the full path
(:mod:`~tracer.load.candidates`, :mod:`~tracer.load.dedupe`) would give:

- every row read was appended: none rejected, none a system event left out, none with a key
  beyond the sampled columns, no blank or unreadable line (the reader's row numbers are then the
  lines' numbers);
- no two rows share an event id, or a stream and a version (counted on hashes: a collision only
  sends the load the full way);
- no row has the id, or the stream and version, of an event already in the store.

Otherwise nothing is appended and the full path rejects, de-duplicates and accounts row by
row, as it always did.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace

import duckdb

from tracer.load.candidates import candidate_select, linked_columns
from tracer.load.mapping import Resolved
from tracer.sources.base import Staged

_TABLE = "_fast_rows"
_FIRST_ROWS = 1000  # rows looked at before typing a file for a store that holds events


def eligible(st: Staged, fields: dict[str, Resolved]) -> bool:
    """Whether the fast path may be tried: a typed reader, ids and versions given, the order of
    the rows as read."""
    return (
        st.typed_table is not None
        and not st.rejections
        and st.order_by is None
        and {"event_id", "version"} <= fields.keys()
        and "position" not in fields
    )


def load_clean(
    con: duckdb.DuckDBPyConnection,
    st: Staged,
    visible: dict[str, str],
    fields: dict[str, Resolved],
    load_id: int,
    include_system: bool,
) -> int | None:
    """Append every row of ``st`` if each loads as it is: the number appended, or None (nothing
    appended) when the full path must decide.

    The rows are typed and checked in one parallel pass into a temporary table (numbering them
    as they are read, ``row_number() OVER ()``, would run the whole pass on one core), which
    the checks read instead of the file, and whose row ids number the lines.
    """
    assert st.typed_table is not None
    typed = replace(st, table=st.typed_table, typed_table=None)
    keep = "_reason IS NULL AND _event_id IS NOT NULL"
    if not include_system:
        keep += " AND NOT _system"
    if st.late:
        keep += " AND NOT _late"
    select = candidate_select(con, typed, visible, fields, linked=False)
    base = con.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
    if base and _loaded_before(con, select):
        return None  # (a file loaded again, or grown since: the full path says what is new)
    # (The category and the ids linked in ``meta`` are derived while appending: the temporary
    # table stays smaller.)
    con.execute(
        f"""CREATE TEMP TABLE {_TABLE} AS
            SELECT _event_id AS event_id, _stream, _category, _correlation, _causation, version,
                   _type AS type, time, data, meta
            FROM ({select}) WHERE {keep}"""
    )
    try:
        rows, first = con.execute(f"SELECT count(*), min(rowid) FROM {_TABLE}").fetchone()
        if rows != st.rows_read or _repeats(con) or (base and _meets_store(con)):
            return None
        links, linked = linked_columns(con, typed, fields)
        line = f"rowid - {first} + 1"
        con.execute(
            f"""INSERT INTO events
                SELECT {base} + {line}, event_id, _stream, category, version, type, time, data,
                       meta, correlation_id, causation_id, ?, {line}, ?
                FROM (SELECT *, {linked} FROM (SELECT *, rowid, {links} AS _links FROM {_TABLE}))""",
            [st.source, load_id],
        )
        return rows
    finally:
        with suppress(duckdb.Error):  # (a failed transaction's rollback removes it)
            con.execute(f"DROP TABLE IF EXISTS {_TABLE}")


def _repeats(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether two rows may share an id, or a stream and version (hashes: a collision only
    sends the load the full way)."""
    return con.execute(
        f"""SELECT count(DISTINCT hash(event_id)) < count(*)
                   OR count(DISTINCT hash(_stream, version)) < count(*) FROM {_TABLE}"""
    ).fetchone()[0]


def _loaded_before(con: duckdb.DuckDBPyConnection, select: str) -> bool:
    """Whether one of the first rows has the id of an event in the store: a quick look that
    spares typing a whole file only to find it all loaded already."""
    return con.execute(
        f"""SELECT EXISTS (SELECT 1 FROM (SELECT _event_id FROM ({select}) LIMIT {_FIRST_ROWS}) c
                           SEMI JOIN events e ON e.event_id = c._event_id)"""
    ).fetchone()[0]


def _meets_store(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any row has the id, or the stream and version, of an event in the store."""
    return con.execute(
        f"""SELECT EXISTS (SELECT 1 FROM {_TABLE} f SEMI JOIN events e USING (event_id))
                OR EXISTS (SELECT 1 FROM {_TABLE} f SEMI JOIN events e
                           ON e.stream = f._stream AND e.version = f.version)"""
    ).fetchone()[0]
