"""The loader: staged source rows -> canonical, validated, de-duplicated rows of ``events``.

Everything happens in SQL, in bulk, inside one transaction per load. Every row read is accounted
for: ``loaded + rejected + duplicates == rows_read``. Rejected rows are kept in ``rejected`` with
their source, row number, raw text and a plain reason.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import orjson

from tracer.errors import MappingError, SourceError, StrictLoadError, TracerError
from tracer.mapping import (
    META_KEYS,
    Resolved,
    auto_detect,
    parse_mapping,
    quote,
    spec_sql,
    sql_string,
)
from tracer.sources import stage_source
from tracer.sources.base import RAW_LIMIT, Staged

if TYPE_CHECKING:
    from tracer.store import Store

Progress = Callable[[str, int, int | None], None]
EXCLUDE_KEY = "_exclude"  # preset key: SQL condition for rows that are not events (e.g. tombstones)
FIRST_REASONS = 5


@dataclass
class SourceReport:
    source: str
    format: str
    rows_read: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadReport:
    """What a load did. ``loaded + rejected + duplicates == rows_read`` always holds."""

    load_id: int
    rows_read: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    first_position: int | None = None
    last_position: int | None = None
    seconds: float = 0.0
    sources: list[SourceReport] = field(default_factory=list)
    reasons: list[tuple[str, int]] = field(default_factory=list)  # most frequent first
    first_rejections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.loaded + self.rejected + self.duplicates == self.rows_read

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["reasons"] = [{"reason": r, "rows": n} for r, n in self.reasons]
        return doc

    def __str__(self) -> str:
        return (
            f"{self.loaded} loaded, {self.rejected} rejected, {self.duplicates} duplicates "
            f"of {self.rows_read} rows read"
        )


def load_sources(
    store: Store,
    specs: list[str],
    *,
    format: str | None = None,
    table: str | None = None,
    mapping: Mapping[str, str] | Iterable[str] | None = None,
    strict: bool = False,
    tz: str | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> LoadReport:
    """Load sources into the store in one transaction and account for every row."""
    user_map = parse_mapping(mapping)
    if not specs:
        raise SourceError("no source given")
    zone = _check_tz(tz)
    notify = progress or (lambda *_: None)
    con = store.con
    started = _time.perf_counter()
    source_options = {k: v for k, v in options.items() if v is not None}
    if table is not None:
        source_options["table"] = table
    con.execute("BEGIN TRANSACTION")
    try:
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0]
        report = LoadReport(load_id=load_id)
        for spec in specs:
            notify(f"reading {spec}", 0, None)
            for staged in stage_source(con, spec, format, source_options):
                try:
                    notify(f"loading {staged.source}", 0, staged.rows_read)
                    part = _ingest(con, staged, user_map, load_id, zone)
                finally:
                    staged.drop(con)
                _add(report, part)
                if staged.cursor is not None:
                    con.execute(
                        "INSERT OR REPLACE INTO cursors VALUES (?, ?, now())", list(staged.cursor)
                    )
                notify(f"loaded {staged.source}", part.rows_read, part.rows_read)
        _summarise(con, report)
        report.seconds = round(_time.perf_counter() - started, 3)
        con.execute(
            "INSERT INTO loads VALUES (?, now() - to_microseconds(?), now(), ?, ?, ?, ?, ?, ?, ?)",
            [
                load_id,
                int(report.seconds * 1e6),
                ", ".join(specs),
                format,
                report.rows_read,
                report.loaded,
                report.rejected,
                report.duplicates,
                orjson.dumps(
                    {"map": user_map, "tz": tz, "strict": strict, **_jsonable(source_options)}
                ).decode(),
            ],
        )
        if strict and report.rejected:
            reason = report.reasons[0][0] if report.reasons else "rejected rows"
            raise StrictLoadError(
                f"--strict: {report.rejected} of {report.rows_read} rows rejected "
                f"(first: {reason}); nothing was loaded",
                report,
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("SET TimeZone = 'UTC'")
    return report


def _add(report: LoadReport, part: SourceReport) -> None:
    report.sources.append(part)
    report.rows_read += part.rows_read
    report.loaded += part.loaded
    report.rejected += part.rejected
    report.duplicates += part.duplicates


def _summarise(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    lid = report.load_id
    report.reasons = [
        (r, n)
        for r, n in con.execute(
            """SELECT regexp_replace(reason, ':.*', '') AS r, count(*) FROM rejected
               WHERE load_id = ? GROUP BY r ORDER BY count(*) DESC, r""",
            [lid],
        ).fetchall()
    ]
    report.first_rejections = [
        {"source": s, "row": r, "reason": why}
        for s, r, why in con.execute(
            "SELECT source, source_row, reason FROM rejected WHERE load_id = ? ORDER BY source, source_row LIMIT ?",
            [lid, FIRST_REASONS],
        ).fetchall()
    ]
    first, last = con.execute(
        "SELECT min(position), max(position) FROM events WHERE load_id = ?", [lid]
    ).fetchone()
    report.first_position, report.last_position = first, last


# -- one staged source --------------------------------------------------------------------------
def _ingest(
    con: duckdb.DuckDBPyConnection, st: Staged, user_map: dict[str, str], load_id: int, zone: str
) -> SourceReport:
    part = SourceReport(source=st.source, format=st.format, rows_read=st.rows_read)
    if st.rows_read == 0:
        return part  # an empty file or table: nothing to map
    _reject_rows(con, load_id, st.source, [(r.row, r.raw, r.reason) for r in st.rejections])
    part.rejected += len(st.rejections)

    columns = dict(
        con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{st.table}")').fetchall()
    )
    visible = {c: t for c, t in columns.items() if c not in st.hidden}
    fields = _resolve(con, st, columns, visible, user_map)
    part.mapping = {f: r.spec for f, r in fields.items()}
    con.execute(f"SET TimeZone = {sql_string(zone)}")
    cand = _candidates(con, st, columns, visible, fields)
    con.execute("SET TimeZone = 'UTC'")
    try:
        late = "count(*) FILTER (WHERE _late)" if st.late else "0"
        total, bad, late_rows = con.execute(
            f"SELECT count(*), count(_reason), {late} FROM {cand}"
        ).fetchone()
        if st.row_expr is None and total + len(st.rejections) != st.rows_read and st.fallback:
            # The fast reader saw a different number of records than the file has lines.
            con.execute("DROP VIEW IF EXISTS _cand; DROP TABLE IF EXISTS _cand_t")
            st.drop(con)
            exact = st.fallback()
            try:
                return _ingest(con, exact, user_map, load_id, zone)
            finally:
                exact.drop(con)
        if late_rows and st.widen is not None:
            # Keys that name a canonical field appear after the sampled records: stage again
            # with them, rather than lose them.
            names = sorted(st.late)
            counts = con.execute(
                f'SELECT {", ".join(f"count({quote(n)})" for n in names)} FROM "{st.table}"'
            ).fetchone()
            con.execute("DROP VIEW IF EXISTS _cand; DROP TABLE IF EXISTS _cand_t")
            st.drop(con)
            wider = st.widen({n for n, c in zip(names, counts, strict=True) if c})
            try:
                return _ingest(con, wider, user_map, load_id, zone)
            finally:
                wider.drop(con)
        if bad:
            _reject_candidates(con, cand, st, visible, load_id)
            part.rejected += bad
        good = con.execute(f"SELECT count(*) FROM {cand}").fetchone()[0] - bad
        accepted, duplicates, conflicts = _deduplicate(con, cand, st, load_id, "version" in fields)
        part.duplicates += duplicates
        part.rejected += conflicts
        part.loaded = _insert(con, accepted, st, load_id, versioned="version" in fields)
        if part.loaded + duplicates + conflicts != good:
            raise TracerError(f"internal accounting error while loading {st.source}")
    finally:
        con.execute(
            "DROP TABLE IF EXISTS _accepted; DROP VIEW IF EXISTS _good; DROP VIEW IF EXISTS _cand; "
            "DROP TABLE IF EXISTS _cand_t"
        )
    return part


def _reject_candidates(
    con: duckdb.DuckDBPyConnection, cand: str, st: Staged, visible: dict[str, str], load_id: int
) -> None:
    """Keep the rows that failed validation in ``rejected``, with their raw text."""
    params = [load_id, st.source]
    if st.raw_column or not st.is_view:
        raw = "c._raw" if st.raw_column else f"to_json({_raw_struct(visible)})::VARCHAR"
        join = "" if st.raw_column else f'JOIN "{st.table}" s ON s.rowid = c._rid'
        con.execute(
            f"""INSERT INTO rejected SELECT ?, ?, c._row, left({raw}, {RAW_LIMIT}), c._reason
                FROM {cand} c {join} WHERE c._reason IS NOT NULL""",
            params,
        )
        return
    rows = con.execute(
        f"SELECT _row, _reason FROM {cand} WHERE _reason IS NOT NULL ORDER BY _row"
    ).fetchall()
    raw = st.raw_lookup({r for r, _ in rows}) if st.raw_lookup else {}
    _reject_rows(con, load_id, st.source, [(r, raw.get(r, ""), why) for r, why in rows])


def _resolve(
    con: duckdb.DuckDBPyConnection,
    st: Staged,
    columns: dict[str, str],
    visible: dict[str, str],
    user_map: dict[str, str],
) -> dict[str, Resolved]:
    """SQL for each canonical field: the user's --map, else the source's preset, else auto-detection."""
    fields: dict[str, Resolved] = {}
    for origin, specs in (
        ("map", user_map),
        ("preset", {k: v for k, v in st.preset.items() if k != EXCLUDE_KEY}),
    ):
        for name, spec in specs.items():
            if name in fields:
                continue
            resolved = spec_sql(spec, columns, st.json_columns, as_json=name in ("data", "meta"))
            fields[name] = Resolved(resolved.sql, spec, origin, resolved.json)
    taken = {r.spec for r in fields.values() if r.spec in columns}
    for name, column in auto_detect(visible, taken).items():
        if name not in fields:
            fields[name] = Resolved(quote(column), column, "auto", column in st.json_columns)
    for name, resolved in fields.items():
        try:
            con.execute(f'SELECT {resolved.sql} FROM "{st.table}" LIMIT 0')
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if resolved.origin == "map":
                raise MappingError(f"--map {name}={resolved.spec}: {message}") from exc
            raise MappingError(
                f"cannot map {name} from {resolved.spec} in {st.source}: {message}"
            ) from exc
    if ("stream" not in fields or "type" not in fields) and visible:
        # (No columns at all: every row is invalid, and is rejected with its own reason.)
        missing = [f for f in ("stream", "type") if f not in fields]
        cols = ", ".join(list(visible)[:20]) or "none"
        raise MappingError(
            f"{st.source}: no column for {' and '.join(missing)} (columns: {cols}); "
            f"name one with --map {missing[0]}=COLUMN"
        )
    return fields


def _candidates(
    con: duckdb.DuckDBPyConnection,
    st: Staged,
    columns: dict[str, str],
    visible: dict[str, str],
    fields: dict[str, Resolved],
) -> str:
    """A temp table of typed canonical columns per staged row, with ``_reason`` for bad rows."""

    def raw(name: str) -> str:
        return fields[name].sql if name in fields else "NULL"

    stream = f"NULLIF(trim(CAST({raw('stream')} AS VARCHAR)), '')"
    etype = f"NULLIF(trim(CAST({raw('type')} AS VARCHAR)), '')"
    event_id = f"NULLIF(trim(CAST({raw('event_id')} AS VARCHAR)), '')"
    version_raw = f"NULLIF(trim(CAST({raw('version')} AS VARCHAR)), '')"
    if "data" in fields:
        data = _json_expr(con, st, fields["data"])
    else:
        data = _rest_as_json(visible, fields, st.record_column)
    meta = _json_expr(con, st, fields.get("meta")) if "meta" in fields else "NULL"
    time_raw = f"NULLIF(trim(CAST({raw('time')} AS VARCHAR)), '')"
    time_expr = _time_expr(con, st, fields.get("time"))
    row = st.row_expr or "NULL"
    order = (
        f"TRY_CAST({raw('position')} AS BIGINT)" if "position" in fields else (st.order_by or row)
    )
    excluded = st.preset.get(EXCLUDE_KEY)
    extra = ""
    if st.raw_column:
        extra += f", s.{quote(st.raw_column)} AS _raw"
    if not st.is_view:
        extra += ", s.rowid AS _rid"
    if st.late:
        extra += f", ({' OR '.join(f's.{quote(c)} IS NOT NULL' for c in sorted(st.late))}) AS _late"
    corr_in, caus_in, links, corr_out, caus_out = _linked_ids(fields)
    category_in, category_out = _category(fields)
    con.execute(
        f"""CREATE TEMP TABLE _cand_t AS
        SELECT * EXCLUDE (_links, _category, _correlation, _causation), {category_out} AS category,
            {corr_out} AS correlation_id, {caus_out} AS causation_id,
            CASE
                WHEN _invalid THEN 'invalid JSON'
                WHEN _excluded THEN 'not an event: ' || _type
                WHEN _stream IS NULL THEN 'missing stream'
                WHEN _type IS NULL THEN 'missing type'
                WHEN {"_version_raw IS NULL" if "version" in fields else "false"} THEN 'missing version'
                WHEN _version_raw IS NOT NULL AND version IS NULL THEN 'version is not an integer: ' || left(_version_raw, 40)
                WHEN _time_raw IS NOT NULL AND time IS NULL THEN 'unparseable time: ' || left(_time_raw, 60)
                WHEN _data_bad THEN 'data is not valid JSON'
                WHEN _meta_bad THEN 'meta is not valid JSON'
                WHEN {"_order IS NULL" if "position" in fields else "false"} THEN 'position is not an integer'
            END AS _reason
        FROM (SELECT *, {links} AS _links FROM (
            SELECT {row} AS _row, {order} AS _order, {st.invalid or "false"} AS _invalid{extra},
                {stream} AS _stream, {etype} AS _type, {event_id} AS _event_id,
                {version_raw} AS _version_raw, {_version_expr(con, st, fields.get("version"), version_raw)} AS version,
                {time_raw} AS _time_raw, {time_expr} AS time,
                {data} AS data, {meta} AS meta,
                {_flag_bad(fields.get("data"), data)} AS _data_bad, {_flag_bad(fields.get("meta"), meta)} AS _meta_bad,
                {f"coalesce(({excluded}), false)" if excluded else "false"} AS _excluded,
                {category_in} AS _category,
                {corr_in} AS _correlation, {caus_in} AS _causation
            FROM "{st.table}" s
        ))"""
    )
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
        return f"""CASE WHEN json_type({x}) = 'VARCHAR' AND left(ltrim({x} ->> '$'), 1) IN ('{{', '[')
                        THEN CASE WHEN json_valid({x} ->> '$') THEN json({x} ->> '$') END ELSE {x} END"""
    return f"to_json({x})"


def _rest_as_json(
    visible: dict[str, str], fields: dict[str, Resolved], record: str | None = None
) -> str:
    """For flat rows with no payload column: the columns no field took, nulls left out.

    ``record`` is a column holding the whole record as JSON (flat JSON Lines): the payload is
    that object without the keys the fields took, which also keeps keys beyond the sample.
    """
    taken = {r.spec for r in fields.values()} | {r.sql.strip('"') for r in fields.values()}
    rest = [c for c in visible if c not in taken]
    if not rest:
        return "NULL"
    if record is not None:
        drop = orjson.dumps(dict.fromkeys(c for c in visible if c in taken)).decode()
        return f"json_merge_patch('{{}}', {quote(record)}, {sql_string(drop)})"
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
        # Epoch numbers as text, else ISO-8601 (no offset: the load's time zone).
        text = f"trim(both '\"' from {x})"
        return f"coalesce({_epoch(f'TRY_CAST({text} AS DOUBLE)')}, TRY_CAST({text} AS TIMESTAMPTZ))"
    return _epoch(f"CAST({x} AS DOUBLE)")


def _epoch(x: str) -> str:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    micros = (
        f"CASE WHEN abs({x}) < 1e11 THEN {x} * 1e6 WHEN abs({x}) < 1e14 THEN {x} * 1e3 "
        f"WHEN abs({x}) < 1e17 THEN {x} ELSE {x} / 1e3 END"
    )
    return f"timezone('UTC', make_timestamp(CAST({micros} AS BIGINT)))"


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


def _linked_ids(fields: dict[str, Resolved]) -> tuple[str, str, str, str, str]:
    """Correlation and causation ids: their own columns, else the usual keys inside ``meta``.

    Returns inner SQL for (correlation, causation, meta links) and outer SQL for both ids.
    """
    inner = {
        name: f"NULLIF(CAST({fields[name].sql} AS VARCHAR), '')" if name in fields else "NULL"
        for name in META_KEYS
    }
    if "meta" not in fields:
        return inner["correlation_id"], inner["causation_id"], "NULL", "_correlation", "_causation"
    keys = [k for name in META_KEYS for k in META_KEYS[name]]
    paths = ", ".join(sql_string("$." + _json_key(k)) for k in keys)
    links = f"TRY(json_extract_string(meta, [{paths}]))"
    outer, start = {}, 1
    for name, names in META_KEYS.items():
        items = ", ".join(f"_links[{i}]" for i in range(start, start + len(names)))
        outer[name] = f"coalesce(_{name.removesuffix('_id')}, {items})"
        start += len(names)
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


def _raw_struct(visible: dict[str, str]) -> str:
    members = ", ".join(f"{quote(c)} := s.{quote(c)}" for c in visible) or "row := NULL"
    return f"struct_pack({members})"


# -- duplicates, conflicts, insertion -----------------------------------------------------------
def _deduplicate(
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


def _insert(
    con: duckdb.DuckDBPyConnection, accepted: str, st: Staged, load_id: int, *, versioned: bool
) -> int:
    """Append accepted rows to ``events`` after the last position, deriving missing versions."""
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
            FROM {accepted} a {join} ORDER BY position""",
        [st.source, load_id],
    )
    return n


def _reject_rows(
    con: duckdb.DuckDBPyConnection, load_id: int, source: str, rows: list[tuple[int, str, str]]
) -> None:
    if rows:
        con.executemany(
            "INSERT INTO rejected VALUES (?, ?, ?, ?, ?)",
            [(load_id, source, row, raw[:RAW_LIMIT], reason) for row, raw, reason in rows],
        )


def _check_tz(tz: str | None) -> str:
    if tz is None:
        return "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TracerError(
            f"unknown time zone '{tz}' (use an IANA name such as Europe/Paris)"
        ) from exc
    return tz


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, str | int | float | bool) or v is None else str(v))
        for k, v in options.items()
    }
