"""Duplicates, conflicts and insertion: the last steps of a load, in SQL.

A duplicate has the id of an event already loaded (or of an earlier row) and the same content;
the same id, or the same stream and version, with other content is a conflict, rejected with a
reason naming both rows. Accepted rows are appended to ``events`` after the last position.
"""

from __future__ import annotations

import duckdb

from tracer.fields import sql_string
from tracer.sources.base import RAW_LIMIT, Staged


def deduplicate(
    con: duckdb.DuckDBPyConnection, cand: str, st: Staged, load_id: int, versioned: bool
) -> tuple[str, int, int]:
    """Give every good row an id, drop duplicates, reject conflicts; returns (relation, dups, conflicts).

    A duplicate has the id of an event already loaded (or of an earlier row) and the same
    content; the same id, or the same stream and version, with other content is a conflict.
    """
    content = "md5(concat_ws('|', _stream, _type, coalesce(CAST(version AS VARCHAR), ''), coalesce(CAST(data AS VARCHAR), '')))"
    derive, dup_ids, dup_versions = con.execute(
        f"""SELECT count(*) FILTER (WHERE _event_id IS NULL), count(_event_id) - count(DISTINCT _event_id),
                   {"count(*) - count(DISTINCT (_stream, version))" if versioned else "0"}
            FROM {cand} WHERE _reason IS NULL"""
    ).fetchone()
    # A missing id is derived from the content (and the occurrence of identical content), so
    # loading the same file again derives the same ids.
    id_expr = "_event_id"
    if derive:
        id_expr = (
            f"coalesce(_event_id, md5(concat_ws('|', {content}, coalesce(CAST(time AS VARCHAR), ''), "
            f"CAST(row_number() OVER (PARTITION BY {content}, time ORDER BY _order, _row) AS VARCHAR))))"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _good AS SELECT * EXCLUDE (_event_id), {id_expr} AS event_id "
        f"FROM {cand} WHERE _reason IS NULL"
    )
    existing = con.execute("SELECT count(*) > 0 FROM (SELECT 1 FROM events LIMIT 1)").fetchone()[0]
    if not existing and not derive and not dup_ids and not dup_versions:
        return "_good", 0, 0  # the common case: a fresh store, clean input

    # Narrow tables only: row number, keys and a hash of the content.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _keys AS
            SELECT _row, _order, event_id, _stream, version, {content} AS _content FROM _good"""
    )
    e_content = "md5(concat_ws('|', e.stream, e.type, coalesce(CAST(e.version AS VARCHAR), ''), coalesce(CAST(e.data AS VARCHAR), '')))"
    if not versioned:
        e_content = e_content.replace("coalesce(CAST(e.version AS VARCHAR), '')", "''")
    source = sql_string(st.source)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _status AS
        SELECT k._row, k._order, k.event_id, k._stream, k.version, CASE
            WHEN e.event_id IS NOT NULL AND {e_content} = k._content THEN 'duplicate'
            WHEN e.event_id IS NOT NULL THEN 'conflict: event id ' || k.event_id || ' at ' || {source} || ':' || k._row || ' was already loaded from '
                 || coalesce(e.source, '?') || ':' || coalesce(CAST(e.source_row AS VARCHAR), '?') || ' with different content'
            WHEN k._id_rank > 1 AND k._content = k._id_first_content THEN 'duplicate'
            WHEN k._id_rank > 1 THEN 'conflict: event id ' || k.event_id || ' at ' || {source} || ':' || k._row || ' already appears at '
                 || {source} || ':' || k._id_first_row || ' with different content'
        END AS _status
        FROM (SELECT *, row_number() OVER w AS _id_rank, first_value(_row) OVER w AS _id_first_row,
                     first_value(_content) OVER w AS _id_first_content
              FROM _keys WINDOW w AS (PARTITION BY event_id ORDER BY _order, _row)) k
        LEFT JOIN events e ON e.event_id = k.event_id"""
    )
    if versioned:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _status AS
            SELECT s._row, s._order, s.event_id, s._stream, s.version, CASE
                WHEN s._status IS NOT NULL THEN s._status
                WHEN e.event_id IS NOT NULL THEN 'conflict: stream ' || s._stream || ' version ' || s.version
                     || ' at ' || {source} || ':' || s._row || ' was already loaded from ' || coalesce(e.source, '?') || ':' || coalesce(CAST(e.source_row AS VARCHAR), '?')
                     || ' (event id ' || e.event_id || ') with different content'
                WHEN s._v_rank > 1 THEN 'conflict: stream ' || s._stream || ' version ' || s.version
                     || ' at ' || {source} || ':' || s._row || ' already appears at ' || {source} || ':' || s._v_first_row || ' with different content'
            END AS _status
            FROM (SELECT *, row_number() OVER v AS _v_rank, first_value(_row) OVER v AS _v_first_row
                  FROM _status WINDOW v AS (PARTITION BY _stream, version, _status IS NULL ORDER BY _order, _row)) s
            LEFT JOIN events e ON e.stream = s._stream AND e.version = s.version AND s._status IS NULL"""
        )
    duplicates = con.execute("SELECT count(*) FROM _status WHERE _status = 'duplicate'").fetchone()[
        0
    ]
    conflicts = con.execute(
        """INSERT INTO rejected SELECT ?, ?, s._row, left(to_json(struct_pack(event_id := g.event_id, stream := g._stream,
               version := g.version, type := g._type, data := g.data))::VARCHAR, ?), s._status
           FROM _status s JOIN _good g USING (_row) WHERE s._status LIKE 'conflict:%'""",
        [load_id, st.source, RAW_LIMIT],
    ).fetchone()[0]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _accepted AS SELECT g.* FROM _good g SEMI JOIN "
        "(SELECT _row FROM _status WHERE _status IS NULL) n USING (_row)"
    )
    con.execute("DROP TABLE IF EXISTS _keys; DROP TABLE IF EXISTS _status")
    return "_accepted", duplicates, conflicts


def insert(
    con: duckdb.DuckDBPyConnection,
    accepted: str,
    st: Staged,
    load_id: int,
    *,
    versioned: bool,
    scan_ordered: bool = False,
) -> int:
    """Append accepted rows to ``events`` after the last position, deriving missing versions.

    ``scan_ordered``: the accepted rows are read in the order of their positions (the order of
    the source), so when nothing reorders them they are appended without a sort.
    """
    base = con.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
    n, distinct, lo, hi = con.execute(
        f"SELECT count(*), count(DISTINCT _order), min(_order), max(_order) FROM {accepted}"
    ).fetchone()
    if n == 0:
        return 0
    # Rows numbered 1..n without gaps keep their numbers: no sort needed.
    ordered = distinct == n and hi - lo + 1 == n
    position = (
        f"{base} + _order - {lo} + 1"
        if ordered
        else f"{base} + row_number() OVER (ORDER BY _order, _row)"
    )
    version = "version"
    join = ""
    if not versioned:
        existing = con.execute(
            "SELECT count(*) > 0 FROM (SELECT 1 FROM events LIMIT 1)"
        ).fetchone()[0]
        version = "row_number() OVER (PARTITION BY _stream ORDER BY _order, _row)"
        if existing:
            join = "LEFT JOIN (SELECT stream AS _vs, max(version) AS _vmax FROM events GROUP BY stream) v ON v._vs = a._stream"
            version = f"coalesce(_vmax, 0) + {version}"
    con.execute(
        f"""INSERT INTO events
            SELECT {position} AS position, event_id, _stream, category, {version}, _type, time, data, meta,
                   correlation_id, causation_id, ?, _row, ?
            FROM {accepted} a {join} {"" if ordered and versioned and scan_ordered else "ORDER BY position"}""",
        [st.source, load_id],
    )
    return n
