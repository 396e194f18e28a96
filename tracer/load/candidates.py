"""Typed canonical columns for staged rows, in SQL, with a plain ``_reason`` for each bad row.

Given the SQL of each canonical field (from ``tracer.load.ingest``), :func:`candidates`
builds one temporary table: stream, type, id, version, UTC time, JSON data and meta, category,
correlation and causation ids, the row number and order, and the reason a row cannot be loaded.
"""

from __future__ import annotations

import re

import duckdb
import orjson

from tracer.fields import META_KEYS, quote, sql_string
from tracer.load.mapping import Resolved
from tracer.load.payloads import ENCRYPTED, binary_sql, unreadable_sql
from tracer.load.system import SYSTEM_SQL
from tracer.sources.base import Staged

EXCLUDE_KEY = "_exclude"  # preset key: SQL condition for rows that are not events (e.g. tombstones)


def candidates(
    con: duckdb.DuckDBPyConnection,
    st: Staged,
    columns: dict[str, str],
    visible: dict[str, str],
    fields: dict[str, Resolved],
) -> str:
    """A temp table of typed canonical columns per staged row, with ``_reason`` for bad rows."""
    con.execute(f"CREATE TEMP TABLE _cand_t AS {candidate_select(con, st, visible, fields)}")
    if st.row_expr is None:
        # Rows keep the order they were read in: the candidate's rowid numbers them.
        first = con.execute("SELECT coalesce(min(rowid), 0) FROM _cand_t").fetchone()[0]
        number = f"rowid - {first} + 1"
        order_fix = "" if ("position" in fields or st.order_by) else f", {number} AS _order"
        con.execute(
            f"CREATE TEMP VIEW _cand AS SELECT * REPLACE ({number} AS _row{order_fix}) FROM _cand_t"
        )
    else:
        con.execute("CREATE TEMP VIEW _cand AS SELECT * FROM _cand_t")
    return "_cand"


def candidate_select(
    con: duckdb.DuckDBPyConnection,
    st: Staged,
    visible: dict[str, str],
    fields: dict[str, Resolved],
    *,
    linked: bool = True,
) -> str:
    """The SELECT of typed canonical columns over ``st.table``, ``_reason`` for bad rows.

    ``linked=False`` leaves out the category and the linked ids, keeping what they are made
    of (``_stream``, ``_category``, ``_correlation``, ``_causation``, ``meta``) for
    :func:`linked_columns` to add later.
    """

    def raw(name: str) -> str:
        return fields[name].sql if name in fields else "NULL"

    stream = _trimmed(raw("stream"))
    etype = _trimmed(raw("type"))
    event_id = _trimmed(raw("event_id"))
    version_raw = _trimmed(raw("version"))
    if "data" in fields:
        data = _json_expr(con, st, fields["data"])
    else:
        data = _rest_as_json(visible, fields, st.record_column)
    meta = _json_expr(con, st, fields.get("meta")) if "meta" in fields else "NULL"
    # Columns that no field took, beside a payload column, are kept in ``meta``: nothing is lost.
    # (A source's preset names its layout's columns itself: the rest is the store's bookkeeping.)
    extra_meta = (
        _rest_as_json(visible, fields, st.record_column)
        if "data" in fields and not st.preset
        else "NULL"
    )
    full_meta = (
        meta
        if extra_meta == "NULL"
        else f"NULLIF(json_merge_patch(coalesce({meta}, '{{}}'), coalesce({extra_meta}, '{{}}')), '{{}}')"
    )
    time_raw = _trimmed(raw("time"))
    time_expr = _time_expr(con, st, fields.get("time"))
    row = st.row_expr or "NULL"
    order = (
        f"TRY_CAST({raw('position')} AS BIGINT)" if "position" in fields else (st.order_by or row)
    )
    if "position" in fields and fields["position"].tie:
        # Equal positions (one KurrentDB transaction) in the order of the tie-break: one number,
        # position * 2^64 + (tie - position + 2^63). (Not + tie: the hash of a HUGEINT whose two
        # halves are equal is 0, and counting distinct orders would take quadratic time.)
        position = f"TRY_CAST({raw('position')} AS HUGEINT)"
        tie = f"TRY_CAST({fields['position'].tie} AS HUGEINT)"
        offset = f"coalesce({tie} - {position}, 0) + 9223372036854775808"
        order = f"({position} * 18446744073709551616 + {offset})"
    excluded = st.preset.get(EXCLUDE_KEY)
    extra = ""
    if st.raw_column:
        extra += f", s.{quote(st.raw_column)} AS _raw"
    if not st.is_view:
        extra += ", s.rowid AS _rid"
    if st.late:
        extra += f", ({' OR '.join(f's.{quote(c)} IS NOT NULL' for c in sorted(st.late))}) AS _late"
    corr_in, caus_in, links, corr_out, caus_out = _linked_ids(fields, _meta_keys(con, st, fields))
    category_in, category_out = _category(fields)
    outer = (
        f"* EXCLUDE (_links, _category, _correlation, _causation), {category_out} AS category, "
        f"{corr_out} AS correlation_id, {caus_out} AS causation_id"
        if linked
        else "* EXCLUDE (_links)"
    )
    return f"""
        SELECT {outer}, {SYSTEM_SQL} AS _system,
            CASE
                WHEN _invalid THEN 'invalid JSON'
                WHEN _excluded THEN 'not an event: ' || _type
                WHEN _stream IS NULL THEN 'missing stream'
                WHEN _type IS NULL THEN 'missing type'
                WHEN {"_version_raw IS NULL" if "version" in fields else "false"} THEN 'missing version'
                WHEN _version_raw IS NOT NULL AND version IS NULL THEN 'version is not an integer: ' || left(_version_raw, 40)
                WHEN _time_raw IS NOT NULL AND (time IS NULL OR NOT isfinite(time)) THEN 'unparseable time: ' || left(_time_raw, 60)
                WHEN _data_bad THEN CASE WHEN _data_binary THEN '{ENCRYPTED}' ELSE 'data is not valid JSON' END
                WHEN _meta_bad THEN 'meta is not valid JSON'
                WHEN _data_odd IS NOT NULL THEN 'data holds ' || _data_odd
                WHEN _meta_odd IS NOT NULL THEN 'meta holds ' || _meta_odd
                WHEN {"_order IS NULL" if "position" in fields else "false"} THEN 'position is not an integer'
            END AS _reason
        FROM (SELECT *, {links} AS _links, {unreadable_sql("data")} AS _data_odd,
                {unreadable_sql("meta")} AS _meta_odd FROM (
            SELECT {row} AS _row, {order} AS _order, {st.invalid or "false"} AS _invalid{extra},
                {stream} AS _stream, {etype} AS _type, {event_id} AS _event_id,
                {version_raw} AS _version_raw, {_version_expr(con, st, fields.get("version"), version_raw)} AS version,
                {time_raw} AS _time_raw, {time_expr} AS time,
                {data} AS data, {full_meta} AS meta,
                {_flag_bad(fields.get("data"), data)} AS _data_bad, {_flag_bad(fields.get("meta"), meta)} AS _meta_bad,
                {_binary(con, st, fields.get("data"))} AS _data_binary,
                {f"coalesce(({excluded}), false)" if excluded else "false"} AS _excluded,
                {category_in} AS _category,
                {corr_in} AS _correlation, {caus_in} AS _causation
            FROM "{st.table}" s
        ))"""


def linked_columns(
    con: duckdb.DuckDBPyConnection, st: Staged, fields: dict[str, Resolved]
) -> tuple[str, str]:
    """(SQL of ``_links`` over ``meta``, SQL of ``category``, ``correlation_id`` and
    ``causation_id`` over ``_links`` and the columns ``candidate_select(linked=False)`` keeps)."""
    _, _, links, corr_out, caus_out = _linked_ids(fields, _meta_keys(con, st, fields))
    _, category_out = _category(fields)
    columns = (
        f"{category_out} AS category, {corr_out} AS correlation_id, {caus_out} AS causation_id"
    )
    return links, columns


def _trimmed(x: str) -> str:
    """SQL: ``x`` as text without surrounding spaces, NULL when empty. Text that starts and
    ends with a visible ASCII character is taken as it is (trimming copies every value)."""
    text = f"CAST({x} AS VARCHAR)"
    return (
        f"CASE WHEN ascii({text}) BETWEEN 33 AND 126 AND ascii(right({text}, 1)) BETWEEN 33 AND 126 "
        f"THEN {text} ELSE NULLIF(trim({text}), '') END"
    )


def _binary(con: duckdb.DuckDBPyConnection, st: Staged, resolved: Resolved | None) -> str:
    """SQL: whether the payload is bytes that are no text (encrypted, most likely)."""
    if resolved is None:
        return "false"
    return binary_sql(resolved.sql, _type_of(con, st, resolved.sql))


def _flag_bad(resolved: Resolved | None, expr: str) -> str:
    if resolved is None:
        return "false"
    return f"({resolved.sql}) IS NOT NULL AND ({expr}) IS NULL"


def _json_expr(con: duckdb.DuckDBPyConnection, st: Staged, resolved: Resolved | None) -> str:
    """JSON text from a column holding a JSON object, JSON text, UTF-8 bytes or a struct."""
    assert resolved is not None
    kind = _type_of(con, st, resolved.sql)
    x = resolved.sql
    if kind in ("BLOB", "VARCHAR"):
        text = f"TRY(decode({x}))" if kind == "BLOB" else x
        x = f"CASE WHEN json_valid({text}) THEN json({text}) END"
        kind = "JSON"
    if kind == "JSON":
        # A JSON string that itself holds JSON text (double-encoded payloads) is decoded once;
        # one that looks like JSON text but does not parse is invalid (NULL: the row is rejected).
        # A base64 string of JSON (bytes as a KurrentDB dump may write them) is decoded too.
        # (An object's text starts with its brace: no need to parse it to know its type.)
        b64 = f"TRY(decode(from_base64({x} ->> '$')))"
        return f"""CASE WHEN starts_with(CAST({x} AS VARCHAR), '{{') THEN {x}
                        WHEN json_type({x}) = 'VARCHAR' AND left(ltrim({x} ->> '$'), 1) IN ('{{', '[')
                        THEN CASE WHEN json_valid({x} ->> '$') THEN json({x} ->> '$') END
                        WHEN json_type({x}) = 'VARCHAR' AND left({x} ->> '$', 1) IN ('e', 'W')
                             AND left({b64}, 1) IN ('{{', '[') AND json_valid({b64}) THEN json({b64})
                        ELSE {x} END"""
    return f"to_json({x})"


def _rest_as_json(
    visible: dict[str, str], fields: dict[str, Resolved], record: str | None = None
) -> str:
    """For flat rows with no payload column: the columns no field took, nulls left out.

    ``record`` is a column holding the whole record as JSON (flat JSON Lines): the payload is
    that object without the keys the fields took, which also keeps keys beyond the sample, and
    its values exactly as they are, nulls included.
    """
    taken = {r.spec for r in fields.values()} | {r.sql.strip('"') for r in fields.values()}
    used = " ".join(f"{r.spec} {r.sql}" for r in fields.values())
    taken |= {c for c in visible if re.search(rf"(?<![\w$]){re.escape(c)}(?![\w$])", used)}
    if record is not None:  # (keys beyond the staged columns stay in the payload too)
        drop = orjson.dumps(dict.fromkeys(c for c in visible if c in taken)).decode()
        return f"json_merge_patch({quote(record)}, {sql_string(drop)})"  # (the record's nulls stay)
    rest = [c for c in visible if c not in taken]
    if not rest:
        return "NULL"
    members = ", ".join(f"{quote(c)} := {quote(c)}" for c in rest)
    return f"json_merge_patch('{{}}', to_json(struct_pack({members})))"


def _version_expr(
    con: duckdb.DuckDBPyConnection, st: Staged, resolved: Resolved | None, text: str
) -> str:
    """A BIGINT version: integer columns as they are, text only when it is a whole number."""
    if resolved is None:
        return "CAST(NULL AS BIGINT)"
    kind = _type_of(con, st, resolved.sql)
    if kind.endswith("INT") and "HUGE" not in kind:
        return f"TRY_CAST({resolved.sql} AS BIGINT)"
    # TRY_CAST('1.5' AS BIGINT) rounds to 2: accept a number only when it is whole.
    whole = f"TRY_CAST({text} AS BIGINT)"
    return f"CASE WHEN TRY_CAST({text} AS DOUBLE) = {whole} THEN {whole} END"


def _time_expr(con: duckdb.DuckDBPyConnection, st: Staged, resolved: Resolved | None) -> str:
    """A TIMESTAMPTZ from ISO-8601 text (no offset: the load's time zone) or epoch numbers."""
    if resolved is None:
        return "CAST(NULL AS TIMESTAMPTZ)"
    x = resolved.sql
    kind = _type_of(con, st, x)
    if kind == "TIMESTAMP WITH TIME ZONE":
        return x
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return f"CAST(CAST({x} AS TIMESTAMP) AS TIMESTAMPTZ)"
    if kind in ("JSON", "BLOB") or kind.startswith("STRUCT"):
        x = f"CAST({x} AS VARCHAR)"
        kind = "VARCHAR"
    if kind == "VARCHAR":
        # ISO-8601 (no offset: the load's time zone), else epoch numbers as text. In this order
        # the epoch arithmetic runs only for the rows that are not ISO: half the cost of a load.
        # (Text without quotes, the usual case, is cast as it is: no copy of a trimmed text.)
        text = f"trim(both '\"' from {x})"
        return f"coalesce(TRY_CAST({x} AS TIMESTAMPTZ), TRY_CAST({text} AS TIMESTAMPTZ), {_epoch(text)})"
    return _epoch(x)


def _epoch(value: str) -> str:
    """Epoch seconds, milliseconds, microseconds, 100-ns ticks (.NET, KurrentDB's gRPC) or
    nanoseconds, told apart by magnitude: each unit's band covers the years 1973 to 2286.
    Whole numbers of the finer units are divided exactly (a double has 15-16 digits)."""
    x = f"TRY_CAST({value} AS DOUBLE)"
    whole = f"TRY_CAST({value} AS BIGINT)"
    micros = (
        f"CASE WHEN abs({x}) < 1e11 THEN {x} * 1e6 WHEN abs({x}) < 1e14 THEN {x} * 1e3 "
        f"WHEN abs({x}) < 1e16 THEN {x} "
        f"WHEN {whole} = {x} THEN (CASE WHEN abs({x}) < 1e17 THEN {whole} // 10 "
        f"ELSE {whole} // 1000 END) "
        f"WHEN abs({x}) < 1e17 THEN {x} / 10 ELSE {x} / 1e3 END"
    )
    # Out of range (1e30, NaN): NULL, and the row is rejected as an unparseable time.
    return f"TRY(timezone('UTC', make_timestamp(TRY_CAST({micros} AS BIGINT))))"


def _category(fields: dict[str, Resolved]) -> tuple[str, str]:
    """(inner SQL over the staged columns, outer SQL over the candidate) for the category."""
    if "category" in fields:
        return f"NULLIF(CAST({fields['category'].sql} AS VARCHAR), '')", "_category"
    # ``account-42`` -> ``account``; a bare UUID or a name without '-' has no category.
    prefix = "split_part(_stream, '-', 1)"
    derived = (
        f"CASE WHEN length({prefix}) = length(_stream) OR {prefix} = '' "
        f"OR (length({prefix}) = 8 AND regexp_full_match({prefix}, '[0-9a-fA-F]{{8}}')) "
        f"THEN NULL ELSE {prefix} END"
    )
    return "NULL", derived


def _meta_keys(con: duckdb.DuckDBPyConnection, st: Staged, fields: dict[str, Resolved]) -> set[str]:
    """Which of the usual correlation/causation keys the first rows' ``meta`` use.

    Extracting only those keeps the bulk pass cheap; when the sample has none of them, every
    usual key is looked for.
    """
    wanted = {k for names in META_KEYS.values() for k in names}
    if "meta" not in fields:
        return wanted
    rows = con.execute(
        f"""SELECT DISTINCT unnest(TRY(json_keys(m))) FROM (
                SELECT TRY(json({fields["meta"].sql})) AS m FROM "{st.table}" s LIMIT 2000)"""
    ).fetchall()
    found = wanted & {key for (key,) in rows}
    return found or wanted


def _linked_ids(fields: dict[str, Resolved], present: set[str]) -> tuple[str, str, str, str, str]:
    """Correlation and causation ids: their own columns, else the usual keys inside ``meta``.

    Returns inner SQL for (correlation, causation, meta links) and outer SQL for both ids.
    """
    inner = {
        name: f"NULLIF(CAST({fields[name].sql} AS VARCHAR), '')" if name in fields else "NULL"
        for name in META_KEYS
    }
    if "meta" not in fields:
        return inner["correlation_id"], inner["causation_id"], "NULL", "_correlation", "_causation"
    keys = [k for name in META_KEYS for k in META_KEYS[name] if k in present]
    paths = ", ".join(sql_string("$." + _json_key(k)) for k in keys)
    links = f"TRY(json_extract_string(meta, [{paths}]))" if keys else "NULL"
    outer = {}
    for name, names in META_KEYS.items():
        items = [f"_links[{keys.index(k) + 1}]" for k in names if k in keys]
        outer[name] = f"coalesce(_{name.removesuffix('_id')}, {', '.join(items) or 'NULL'})"
    return (
        inner["correlation_id"],
        inner["causation_id"],
        links,
        outer["correlation_id"],
        outer["causation_id"],
    )


def _json_key(key: str) -> str:
    return f'"{key}"' if not key.replace("_", "").isalnum() else key


def _type_of(con: duckdb.DuckDBPyConnection, st: Staged, sql: str) -> str:
    return con.execute(f'DESCRIBE SELECT {sql} AS v FROM "{st.table}" s').fetchone()[1]
