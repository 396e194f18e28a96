"""The loader: staged source rows -> canonical, validated, de-duplicated rows of ``events``.

Everything happens in SQL, in bulk, inside one transaction per load. Every row read is accounted
for: ``loaded + rejected + duplicates + system == rows_read`` (:mod:`tracer.load.report`).
Rejected rows are kept in ``rejected`` with their source, row number, raw text and a plain reason;
system events (:mod:`tracer.load.system`) are counted and left out unless ``include_system``.

Steps: a source stages rows (``tracer.sources``); :func:`_resolve` picks the SQL of each canonical
field (``--map`` > the source's preset > usual names); ``tracer.load.candidates`` builds typed columns
and a reason for each bad row; ``tracer.load.dedupe`` drops duplicates, rejects conflicts and appends.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import orjson
import pyarrow as pa

from tracer.errors import MappingError, SourceError, StrictLoadError, TracerError
from tracer.fields import auto_detect, quote, sql_string
from tracer.load.candidates import EXCLUDE_KEY, candidates
from tracer.load.dedupe import deduplicate, insert
from tracer.load.fast import eligible, load_clean
from tracer.load.mapping import Resolved, parse_mapping, spec_sql
from tracer.load.objects import scalar_members
from tracer.load.report import (
    LoadReport,
    SourceReport,
    add_part,
    summarise,
    version_warnings,
)
from tracer.load.system import VIEW as SYSTEM_VIEW
from tracer.load.system import leave_out_system
from tracer.names import map_hint
from tracer.sources import stage_source
from tracer.sources.base import RAW_LIMIT, Staged, cut, settle

if TYPE_CHECKING:
    from tracer.store import Store

Progress = Callable[[str, int, int | None], None]
_DROP_CANDIDATES = (
    f"DROP VIEW IF EXISTS {SYSTEM_VIEW}; DROP VIEW IF EXISTS _cand; DROP TABLE IF EXISTS _cand_t"
)


def load(
    store: Store,
    *sources: str | os.PathLike[str],
    format: str | None = None,
    table: str | None = None,
    mapping: dict[str, str] | Iterable[str] | None = None,
    strict: bool = False,
    tz: str | None = None,
    progress: Progress | None = None,
    include_system: bool = False,
    **options: Any,
) -> LoadReport:
    """Load one or more sources (files, globs, directories, SQLite databases, URLs) into ``store``.

    Returns a :class:`LoadReport` that accounts for every row read:
    ``loaded + rejected + duplicates + system == rows_read``. ``include_system`` loads the
    system events (``$``-prefixed streams and types) too.
    """
    with store.lock:
        return load_sources(
            store,
            [str(s) for s in sources],
            format=format,
            table=table,
            mapping=mapping,
            strict=strict,
            tz=tz,
            progress=progress,
            include_system=include_system,
            **options,
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
    include_system: bool = False,
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
                    part = _ingest(con, staged, user_map, load_id, zone, include_system)
                finally:
                    staged.drop(con)
                add_part(report, part)
                if staged.cursor is not None:
                    con.execute(
                        "INSERT OR REPLACE INTO cursors VALUES (?, ?, now())", list(staged.cursor)
                    )
                notify(f"loaded {staged.source}", part.rows_read, part.rows_read)
        summarise(con, report)
        if any("version" in part.mapping for part in report.sources):
            report.warnings = version_warnings(con, load_id)
        report.warnings += [
            f"{part.source}: no time field, so its events have no time (points such as "
            "time:2026-03-01, figures over time and findings on time need one): map one with "
            "--map time=COLUMN"
            for part in report.sources
            if part.loaded and "time" not in part.mapping
        ]
        report.seconds = round(_time.perf_counter() - started, 3)
        con.execute(
            "INSERT INTO loads VALUES (?, now() - to_microseconds(?), now(), ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    {
                        "map": user_map,
                        "tz": tz,
                        "strict": strict,
                        **({"include_system": True} if include_system else {}),
                        **_jsonable(source_options),
                    }
                ).decode(),
                report.system,
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
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        # A file DuckDB cannot read (corrupt compression, bytes that are not text, ...).
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"cannot load {', '.join(specs)}: {message}") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("SET TimeZone = 'UTC'")
    return report


# -- one staged source --------------------------------------------------------------------------
def _ingest(
    con: duckdb.DuckDBPyConnection,
    st: Staged,
    user_map: dict[str, str],
    load_id: int,
    zone: str,
    include_system: bool = False,
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
    if eligible(st, fields):  # (clean input: read once, straight into events)
        loaded = load_clean(con, st, visible, fields, load_id, include_system)
        if loaded is not None:
            con.execute("SET TimeZone = 'UTC'")
            part.loaded = loaded
            return part
    cand = candidates(con, st, columns, visible, fields)
    con.execute("SET TimeZone = 'UTC'")
    try:
        if not include_system:
            part.system, cand = leave_out_system(con, cand)
        late = "count(*) FILTER (WHERE _late)" if st.late else "0"
        total, bad, late_rows = con.execute(
            f"SELECT count(*), count(_reason), {late} FROM {cand}"
        ).fetchone()
        total += part.system
        if st.row_expr is None and total + len(st.rejections) != st.rows_read and st.fallback:
            # The fast reader saw a different number of records than the file has lines.
            con.execute(_DROP_CANDIDATES)
            st.drop(con)
            exact = st.fallback()
            try:
                return _ingest(con, exact, user_map, load_id, zone, include_system)
            finally:
                exact.drop(con)
        if late_rows and st.widen is not None:
            # Keys that name a canonical field appear after the sampled records: stage again
            # with them, rather than lose them.
            names = sorted(st.late)
            counts = con.execute(
                f'SELECT {", ".join(f"count({quote(n)})" for n in names)} FROM "{st.table}"'
            ).fetchone()
            con.execute(_DROP_CANDIDATES)
            st.drop(con)
            wider = st.widen({n for n, c in zip(names, counts, strict=True) if c})
            try:
                return _ingest(con, wider, user_map, load_id, zone, include_system)
            finally:
                wider.drop(con)
        if bad:
            _reject_candidates(con, cand, st, visible, load_id)
            part.rejected += bad
        good = con.execute(f"SELECT count(*) FROM {cand}").fetchone()[0] - bad
        accepted, duplicates, conflicts = deduplicate(con, cand, st, load_id, "version" in fields)
        part.duplicates += duplicates
        part.rejected += conflicts
        part.loaded = insert(
            con,
            accepted,
            st,
            load_id,
            versioned="version" in fields,
            scan_ordered="position" not in fields and st.order_by is None,
        )
        if part.loaded + duplicates + conflicts != good:
            raise TracerError(f"internal accounting error while loading {st.source}")
    finally:
        con.execute(
            "DROP TABLE IF EXISTS _accepted; DROP VIEW IF EXISTS _good; "
            f"DROP VIEW IF EXISTS {SYSTEM_VIEW}; DROP VIEW IF EXISTS _cand; "
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
    fields = scalar_members(con, st, columns, fields)  # (stops here on objects with no member)
    for name, resolved in fields.items():
        try:
            con.execute(f'SELECT {resolved.sql} FROM "{st.table}" LIMIT 0')
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if resolved.origin == "map":
                if "not found" in message:  # (DuckDB's binder names the column it lacks)
                    cols = ", ".join(list(visible)[:20]) or "none"
                    message = f"no such column or expression (columns: {cols})"
                raise MappingError(f"--map {name}={resolved.spec}: {message}") from exc
            raise MappingError(
                f"cannot map {name} from {resolved.spec} in {st.source}: {message}"
            ) from exc
    if ("stream" not in fields or "type" not in fields) and visible:
        # (No columns at all: every row is invalid, and is rejected with its own reason.)
        missing = [f for f in ("stream", "type") if f not in fields]
        used = {r.spec for r in fields.values()}
        cols = ", ".join(list(visible)[:20]) or "none"
        raise MappingError(
            f"{st.source}: no column for {' and '.join(missing)} (columns: {cols}); "
            f"name one with {map_hint(missing, [c for c in visible if c not in used])}"
        )
    return fields


def _raw_struct(visible: dict[str, str]) -> str:
    members = ", ".join(f"{quote(c)} := s.{quote(c)}" for c in visible) or "row := NULL"
    return f"struct_pack({members})"


def _reject_rows(
    con: duckdb.DuckDBPyConnection, load_id: int, source: str, rows: list[tuple[int, str, str]]
) -> None:
    """Append rows a source could not stage, in one bulk insert (``executemany`` would take
    minutes for a file of mostly bad lines)."""
    if not rows:
        return
    batch = pa.table(
        {
            "row": pa.array([row for row, _, _ in rows], pa.int64()),
            "raw": pa.array([cut(raw or "", RAW_LIMIT) for _, raw, _ in rows], pa.string()),
            "reason": pa.array([reason for _, _, reason in rows], pa.string()),
        }
    )
    settle(con)
    con.register("_rejected_rows", batch)
    try:
        con.execute(
            "INSERT INTO rejected SELECT ?, ?, row, raw, reason FROM _rejected_rows",
            [load_id, source],
        )
    finally:
        con.unregister("_rejected_rows")


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
