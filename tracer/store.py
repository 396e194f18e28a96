"""The tracer store: an embedded DuckDB database holding the canonical ``events`` table.

``Store`` reads what the loader (``tracer.load``) wrote: events, streams, rejected rows, loads.
The Python API's ``tracer.Store`` (``tracer.api``) adds loading on top. Every query here runs in
DuckDB, in bulk.
"""

from __future__ import annotations

import difflib
import os
import re
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from tracer.errors import TracerError, first_line
from tracer.jsonvalues import decode_json
from tracer.memory import cap_memory
from tracer.names import did_you_mean, exists
from tracer.schema import (
    EVENT_COLUMNS,
    ensure_schema,
    refuse_foreign_database,
    refuse_foreign_file,
)

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_DB = "tracer.duckdb"
#: From this many events on, point reads go through an index (``events.stream``, ids).
STREAM_INDEX_MIN_EVENTS = 100_000
#: Columns that point reads look up, and so may be indexed.
INDEXABLE = ("stream", "event_id", "causation_id", "correlation_id")

_PATH_CONDITION = re.compile(
    r"^\s*(?P<col>data|meta)(?P<path>(?:\.[A-Za-z_][\w-]*|\[\d+\])+)\s*"
    r"(?P<op>==|=|!=|<=|>=|<|>|~)\s*(?P<value>\"[^\"]*\"|'[^']*'|[^\s'\"]+)\s*$"
)


def default_db_path() -> str:
    """The store a command uses when none is named: ``$TRACER_DB`` or ``./tracer.duckdb``."""
    return os.environ.get("TRACER_DB") or DEFAULT_DB


class Store:
    """An event store on DuckDB. ``path=None`` keeps everything in memory."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False):
        self.path = None if path is None else str(path)
        target = ":memory:" if self.path is None else self.path
        if self.path is not None:
            refuse_foreign_file(self.path)
        try:
            self.con = duckdb.connect(target, read_only=read_only)
        except duckdb.Error as exc:  # locked by another process, not a database, ...
            held = re.search(r"\(PID (\d+)\)", str(exc))
            if "lock" in str(exc).lower() and held:
                raise TracerError(
                    f"store {target} is in use by another process (PID {held.group(1)}), such as "
                    "a `tracer load --follow`; stop it, or follow with `tracer tui --follow`"
                ) from exc
            raise TracerError(f"cannot open store {target}: {first_line(exc)}") from exc
        self.con.execute("SET TimeZone = 'UTC'")
        cap_memory(self.con, None, self.path)  # (the default cap; tracer.api's Store takes one)
        self.lock = threading.RLock()
        self.read_only = read_only
        if self.path is not None:
            try:
                refuse_foreign_database(self.con, self.path)
            except TracerError:
                self.con.close()
                raise
        if not read_only:
            ensure_schema(self.con)

    # -- life cycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path or ':memory:'})"

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the same database, for use from another thread."""
        cur = self.con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    # -- queries ----------------------------------------------------------------------------
    def sql(self, query: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run any SQL against the store and return a DataFrame."""
        with self.lock:
            return self.con.execute(query, params or []).df()

    def ensure_stream_index(self) -> bool:
        """Whether ``events.stream`` is indexed; see :meth:`ensure_index`."""
        return self.ensure_index("stream")

    def ensure_index(self, column: str) -> bool:
        """Whether ``events.<column>`` is indexed; creates the index on a large enough log.

        A point read (the state of ``account-42``, the event with an id, what an event caused)
        then costs a lookup instead of a scan of the whole log. Small logs scan fast enough, and
        a read-only store is left as it is.
        """
        if column not in INDEXABLE:
            raise ValueError(f"no index on events.{column}")
        with self.lock:
            rows = self.con.execute(
                "SELECT expressions FROM duckdb_indexes() WHERE table_name = 'events'"
            ).fetchall()
            if any(str(r[0]).strip("[]'\" ") == column for r in rows):
                return True
            if self.read_only or self.count() < STREAM_INDEX_MIN_EVENTS:
                return False
            self.con.execute(f"CREATE INDEX IF NOT EXISTS events_{column} ON events ({column})")
            return True

    def count(self) -> int:
        with self.lock:
            return self.con.execute("SELECT count(*) FROM events").fetchone()[0]

    def max_position(self) -> int:
        with self.lock:
            return self.con.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]

    def events(
        self,
        stream: str | None = None,
        *,
        category: str | None = None,
        type: str | Iterable[str] | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        start: int | None = None,
        end: int | None = None,
        where: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        descending: bool = False,
    ) -> pd.DataFrame:
        """Events in global order, filtered. Positions ``start``/``end`` and times are inclusive.

        ``where`` is a condition on the payload such as ``data.amount > 100`` or
        ``meta.user = "alice"`` (``~`` means "contains"), or any DuckDB SQL boolean expression
        over the columns of ``events``.
        """
        clause, params = where_clause(stream, category, type, since, until, start, end, where)
        order = "DESC" if descending else "ASC"
        query = f"SELECT * FROM events {clause} ORDER BY position {order}"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        if offset:
            query += f" OFFSET {int(offset)}"
        with self.lock:
            try:
                return self.con.execute(query, params).df()
            except duckdb.Error as exc:
                raise TracerError(filter_error(self.con, exc)) from exc

    def count_events(self, stream: str | None = None, **filters: Any) -> int:
        """How many events match the same filters as :meth:`events`."""
        clause, params = where_clause(stream, **_filter_kwargs(filters))
        with self.lock:
            try:
                return self.con.execute(f"SELECT count(*) FROM events {clause}", params).fetchone()[
                    0
                ]
            except duckdb.Error as exc:
                raise TracerError(filter_error(self.con, exc)) from exc

    def event(self, position: int) -> dict[str, Any] | None:
        """One event by global position, with ``data`` and ``meta`` decoded."""
        with self.lock:
            return read_event(self.con, position)

    def streams(self, category: str | None = None, like: str | None = None) -> pd.DataFrame:
        """One row per stream: category, event count, first/last position, version and time."""
        conditions, params = [], []
        if category is not None:
            conditions.append("category = ?")
            params.append(category)
        if like is not None:
            conditions.append("stream ILIKE ?")
            params.append(like if "%" in like else f"%{like}%")
        clause = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        query = f"""
            SELECT stream, any_value(category) AS category, count(*) AS events,
                   min(position) AS first_position, max(position) AS last_position,
                   max(version) AS last_version, min(time) AS first_time, max(time) AS last_time
            FROM events {clause} GROUP BY stream ORDER BY first_position
        """
        with self.lock:
            return self.con.execute(query, params).df()

    def categories(self) -> pd.DataFrame:
        with self.lock:
            return self.con.execute(
                """SELECT category, count(DISTINCT stream) AS streams, count(*) AS events
                   FROM events GROUP BY category ORDER BY events DESC"""
            ).df()

    def type_counts(self) -> list[tuple[str, int]]:
        """``(type, events)`` for every event type, the most frequent first (no pandas)."""
        with self.lock:
            return self.con.execute(
                "SELECT type, count(*) AS events FROM events GROUP BY type ORDER BY events DESC, type"
            ).fetchall()

    def types(self) -> pd.DataFrame:
        with self.lock:
            return self.con.execute(
                "SELECT type, count(*) AS events FROM events GROUP BY type ORDER BY events DESC"
            ).df()

    def rejected(self, load_id: int | None = None, limit: int | None = None) -> pd.DataFrame:
        """Rows that could not be loaded, with their source, row number, raw text and reason:
        of one load, or of every load (``load_id=None``; see :meth:`last_load_id`)."""
        clause = "WHERE load_id = ?" if load_id is not None else ""
        params = [load_id] if load_id is not None else []
        query = f"SELECT * FROM rejected {clause} ORDER BY load_id, source, source_row"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self.lock:
            return self.con.execute(query, params).df()

    def count_rejected(self, load_id: int | None = None) -> int:
        """How many rows were rejected: by one load, or by every load (``None``)."""
        clause = "WHERE load_id = ?" if load_id is not None else ""
        with self.lock:
            return self.con.execute(
                f"SELECT count(*) FROM rejected {clause}", [] if load_id is None else [load_id]
            ).fetchone()[0]

    def last_load_id(self) -> int | None:
        """The id of the latest load (``None`` before any): its accounting is the current one."""
        with self.lock:
            return self.con.execute("SELECT max(load_id) FROM loads").fetchone()[0]

    def loads(self) -> pd.DataFrame:
        with self.lock:
            return self.con.execute("SELECT * FROM loads ORDER BY load_id").df()

    def info(self, history: int = 10) -> dict[str, Any]:
        """A summary of the store: counts, the time range covered, and the loads' accounting.

        ``rejected`` counts the rows the latest load rejected (an earlier load's rejections,
        such as those of a failed load since redone, are not the current state);
        ``last_load`` is that load's accounting and ``recent_loads`` the last ``history`` loads',
        oldest first; ``rejected_all_loads`` counts every load's rejected rows.
        """
        with self.lock:
            events, streams, first, last, categories, types = self.con.execute(
                """SELECT count(*), count(DISTINCT stream), min(time), max(time),
                          count(DISTINCT category), count(DISTINCT type) FROM events"""
            ).fetchone()
            every = self.con.execute("SELECT count(*) FROM rejected").fetchone()[0]
            cursor = self.con.execute(
                "SELECT * EXCLUDE (options, started) FROM loads ORDER BY load_id DESC LIMIT ?",
                [max(int(history), 1)],
            )
            names = [d[0] for d in cursor.description]
            recent = [dict(zip(names, row, strict=True)) for row in reversed(cursor.fetchall())]
            loads = self.con.execute("SELECT count(*) FROM loads").fetchone()[0]
        for item in recent:
            if item.get("finished") is not None:
                item["finished"] = item["finished"].isoformat()
        last_load = recent[-1] if recent else None
        return {
            "path": self.path or ":memory:",
            "events": events,
            "streams": streams,
            "categories": categories,
            "types": types,
            "first_time": first.isoformat() if first else None,
            "last_time": last.isoformat() if last else None,
            "rejected": last_load["rejected"] if last_load else 0,
            "rejected_all_loads": every,
            "loads": loads,
            "last_load": last_load,
            "recent_loads": recent,
        }


def where_clause(
    stream: str | None = None,
    category: str | None = None,
    type: str | Iterable[str] | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    start: int | None = None,
    end: int | None = None,
    where: str | None = None,
) -> tuple[str, list[Any]]:
    """A ``WHERE ...`` clause over ``events`` (``""`` when nothing filters) and its parameters."""
    conditions: list[str] = []
    params: list[Any] = []
    if stream is not None:
        conditions.append("stream = ?")
        params.append(stream)
    if category is not None:
        conditions.append("category = ?")
        params.append(category)
    if type is not None:
        types = [type] if isinstance(type, str) else list(type)
        conditions.append(f"type IN ({', '.join('?' for _ in types)})")
        params.extend(types)
    if since is not None:
        conditions.append("time >= CAST(? AS TIMESTAMPTZ)")
        params.append(since)
    if until is not None:
        conditions.append("time <= CAST(? AS TIMESTAMPTZ)")
        params.append(until)
    if start is not None:
        conditions.append("position >= ?")
        params.append(int(start))
    if end is not None:
        conditions.append("position <= ?")
        params.append(int(end))
    if where:
        sql, extra = compile_condition(where)
        conditions.append(f"({sql})")
        params.extend(extra)
    return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), params


def read_event(con: duckdb.DuckDBPyConnection, position: int) -> dict[str, Any] | None:
    """One event by global position, with ``data`` and ``meta`` decoded (any connection)."""
    row = con.execute("SELECT * FROM events WHERE position = ?", [int(position)]).fetchone()
    if row is None:
        return None
    record = dict(zip(EVENT_COLUMNS, row, strict=True))
    for key in ("data", "meta"):
        if record[key] is not None:
            record[key] = decode_json(record[key])
    return record


def compile_condition(condition: str) -> tuple[str, list[Any]]:
    """Turn ``data.amount > 100`` into SQL; anything else is taken as a SQL expression."""
    match = _PATH_CONDITION.match(condition)
    if match is None:
        return condition, []
    col, path, op, raw = match["col"], match["path"], match["op"], match["value"]
    json_path = "$" + path
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw.strip("'\"")
    extract = f"json_extract_string({col}, '{json_path}')"
    if op == "~":
        return f"contains({extract}, ?)", [str(value)]
    sql_op = "=" if op == "==" else op
    if isinstance(value, bool):
        return f"{extract} {sql_op} ?", ["true" if value else "false"]
    if isinstance(value, int | float):
        return f"TRY_CAST({extract} AS DOUBLE) {sql_op} ?", [float(value)]
    return f"{extract} {sql_op} ?", [str(value)]


def filter_error(con: duckdb.DuckDBPyConnection, exc: duckdb.Error) -> str:
    """A bad ``where``'s one line; a bare payload field (``amount > 3``) points at ``data.``."""
    message = f"bad filter: {first_line(exc)}"
    missing = re.search(r'Referenced column "([^"]+)" not found', str(exc))
    if missing is None:
        return message
    name = missing.group(1)
    message = f"bad filter: events have no column {name!r}"
    for column in ("data", "meta"):
        if exists(con, column, name):
            return f"{message}, did you mean {column}.{name}? (a field of the payload)"
    hint = did_you_mean(difflib.get_close_matches(name, EVENT_COLUMNS, n=1))
    return message + (hint or f" (columns: {', '.join(EVENT_COLUMNS)}; payload: data.NAME)")


def _filter_kwargs(filters: dict[str, Any]) -> dict[str, Any]:
    allowed = {"category", "type", "since", "until", "start", "end", "where"}
    unknown = set(filters) - allowed
    if unknown:
        raise TypeError(f"unknown filters: {', '.join(sorted(unknown))}")
    return filters
