"""The timeline's data layer: which events a view shows, and the window of rows on screen.

Nothing here imports Textual. Every function takes a DuckDB cursor (one per worker thread) and
runs one query; the widgets call them from thread workers and never hold more rows than are on
screen (plus a small page cache).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import duckdb
import numpy as np
import orjson

from tracer.errors import TracerError, first_line
from tracer.jsonvalues import decode_json, encode_text
from tracer.store import compile_condition, read_event

#: ``type:X stream:Y category:Z`` prefixes of a filter expression (``*`` is a wildcard).
_PREFIX = re.compile(r"^\s*(?P<key>type|stream|category|cat):(?P<value>\"[^\"]*\"|\S+)")
_PATH_START = re.compile(r"^\s*(data|meta)[.\[]")
_OPERATOR_VALUE = re.compile(r"^.*?(==|!=|<=|>=|=|<|>|~)\s*(?P<value>.*)$")

#: where plain text is searched: every text the change panel shows of an event
TEXT_SEARCH = " OR ".join(
    f"{column} ILIKE ?"
    for column in (
        "stream",
        "type",
        "CAST(data AS VARCHAR)",
        "CAST(meta AS VARCHAR)",
        "event_id",
        "correlation_id",
        "causation_id",
    )
)
ROW_COLUMNS = "position, strftime(time, '%Y-%m-%d %H:%M:%S.%g'), stream, type, version, data"


class Row(NamedTuple):
    """One line of the timeline."""

    position: int
    time: str
    stream: str
    type: str
    version: int
    summary: str


@dataclass(frozen=True)
class EventFilter:
    """A condition on events as SQL, with the text the user typed (``label``)."""

    sql: str = ""
    params: tuple[Any, ...] = ()
    label: str = ""

    @property
    def empty(self) -> bool:
        return not self.sql

    def where(self, *extra: str) -> str:
        parts = [p for p in (self.sql, *extra) if p]
        return f"WHERE {' AND '.join(parts)}" if parts else ""

    def and_(self, other: EventFilter) -> EventFilter:
        if other.empty:
            return self
        if self.empty:
            return other
        label = f"{self.label} {other.label}".strip()
        return EventFilter(f"({self.sql}) AND ({other.sql})", self.params + other.params, label)


def scope_filter(stream: str | None = None, category: str | None = None) -> EventFilter:
    """The events of one stream or one category (the streams panel's choice)."""
    if stream is not None:
        return EventFilter("stream = ?", (stream,), f"stream:{stream}")
    if category is not None:
        return EventFilter("category = ?", (category,), f"category:{category}")
    return EventFilter()


def parse_filter(text: str) -> EventFilter:
    """Compile what the user typed after ``/`` or ``f`` into SQL.

    - ``type:Withdrawn``, ``stream:acct-42``, ``category:account`` (``*`` is a wildcard), and any
      number of them in front of the rest; ``stream:acct`` is every stream whose name starts
      with ``acct`` unless a stream is named exactly that;
    - ``data.amount > 100``, ``meta.user = alice``, ``data.note ~ refund`` (contains);
    - ``sql: <expression>``: any DuckDB boolean expression over the ``events`` columns;
    - anything else is text, searched case-insensitively in the stream, type, data, meta and
      the event, correlation and causation ids (what the change panel shows).
    """
    rest = text.strip()
    result = EventFilter()
    while match := _PREFIX.match(rest):
        key = "category" if match["key"] == "cat" else match["key"]
        value = match["value"].strip('"')
        if "*" in value:
            part = EventFilter(f"{key} ILIKE ?", (value.replace("*", "%"),), f"{key}:{value}")
        elif key == "stream":  # the stream of that name, else every stream that starts so
            sql = (
                "(stream = ? OR (starts_with(stream, ?) AND NOT EXISTS "
                "(SELECT 1 FROM events AS named WHERE named.stream = ?)))"
            )
            part = EventFilter(sql, (value, value, value), f"{key}:{value}")
        else:
            part = EventFilter(f"{key} = ?", (value,), f"{key}:{value}")
        result = result.and_(part)
        rest = rest[match.end() :].strip()
    if not rest:
        if result.empty:
            raise TracerError("empty filter")
        return EventFilter(result.sql, result.params, text.strip())
    if rest.lower().startswith("sql:"):
        sql = rest[4:].strip()
        if not sql:
            raise TracerError("sql: needs an expression, e.g. sql: version > 3")
        part = EventFilter(sql, (), rest)
    elif _PATH_START.match(rest):
        condition, params = compile_condition(rest)
        operator = _OPERATOR_VALUE.match(rest)
        if condition == rest or operator is None or operator["value"][:1] in tuple("<>=!~"):
            raise TracerError(
                f"bad condition {rest!r}: write data.PATH OP VALUE with OP one of "
                "= != < <= > >= ~, e.g. data.amount > 100"
            )
        part = EventFilter(condition, tuple(params), rest)
    else:
        needle = f"%{rest}%"
        part = EventFilter(f"({TEXT_SEARCH})", (needle,) * TEXT_SEARCH.count("?"), rest)
    combined = result.and_(part)
    return EventFilter(combined.sql, combined.params, text.strip())


@dataclass(frozen=True)
class TimelineView:
    """The rows of the timeline under a filter.

    Unfiltered, row ``i`` is position ``i + 1`` (positions are gapless) and nothing is held in
    memory. Filtered, the matching positions are one int64 array fetched from DuckDB.
    """

    filter: EventFilter = field(default_factory=EventFilter)
    count: int = 0
    positions: np.ndarray | None = None

    def position_at(self, row: int) -> int:
        if self.positions is None:
            return row + 1
        return int(self.positions[row])

    def row_of(self, position: int) -> int:
        """The row showing ``position``, or the nearest row before it (after it if none)."""
        if self.count == 0:
            return 0
        if self.positions is None:
            return min(max(position, 1), self.count) - 1
        row = int(np.searchsorted(self.positions, position, side="right")) - 1
        return min(max(row, 0), self.count - 1)

    def contains(self, position: int) -> bool:
        if self.positions is None:
            return 1 <= position <= self.count
        row = int(np.searchsorted(self.positions, position))
        return row < self.count and int(self.positions[row]) == position


def build_view(cur: duckdb.DuckDBPyConnection, flt: EventFilter) -> TimelineView:
    """Count (and, when filtered, list) the events a filter keeps: one query."""
    if flt.empty:
        (count,) = cur.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
        return TimelineView(flt, int(count), None)
    positions = matching_positions(cur, flt)
    return TimelineView(flt, len(positions), positions)


def matching_positions(cur: duckdb.DuckDBPyConnection, flt: EventFilter) -> np.ndarray:
    """The positions of the events a filter keeps, in order, as an int64 array."""
    query = f"SELECT position FROM events {flt.where()} ORDER BY position"
    try:
        result = cur.execute(query, list(flt.params)).fetchnumpy()
    except duckdb.Error as exc:
        raise TracerError(f"bad filter {flt.label!r}: {first_line(exc)}") from exc
    return np.asarray(result["position"], dtype=np.int64)


def fetch_rows(
    cur: duckdb.DuckDBPyConnection, view: TimelineView, first: int, count: int
) -> list[Row]:
    """Rows ``first .. first+count-1`` of a view: one query over a narrow position range."""
    last = min(first + count, view.count) - 1
    if last < first:
        return []
    lo, hi = view.position_at(first), view.position_at(last)
    where = view.filter.where("position BETWEEN ? AND ?")
    query = f"SELECT {ROW_COLUMNS} FROM events {where} ORDER BY position"
    rows = cur.execute(query, [*view.filter.params, lo, hi]).fetchall()
    return [Row(p, t or "", s, ty, v, summarize(d)) for p, t, s, ty, v, d in rows]


class TextWidths(NamedTuple):
    """How wide the timeline's text columns need to be for this log (0: not known yet)."""

    stream: int = 0  # the longest stream name
    type: int = 0  # the longest type
    version: int = 0  # the digits of the largest version
    days: bool = True  # the times span more than one day (UTC): the date must show


def text_widths(cur: duckdb.DuckDBPyConnection) -> TextWidths:
    """The longest stream name and type, the widest version and whether times span days."""
    stream, type_, version, days = cur.execute(
        """SELECT max(length(stream)), max(length(type)), max(version),
                  floor(max(epoch(time)) / 86400) > floor(min(epoch(time)) / 86400)
           FROM events"""
    ).fetchone()
    digits = len(str(int(version))) if version is not None else 0
    return TextWidths(int(stream or 0), int(type_ or 0), digits, bool(days))


def summarize(data: str | None, limit: int = 240) -> str:
    """A one-line summary of an event's data: ``amount=50 account=acct-1 items=[2]``."""
    if data is None:
        return ""
    try:
        value = decode_json(data)
    except orjson.JSONDecodeError:
        return data[:limit]
    if not isinstance(value, dict):
        return _short(value)[:limit]
    parts: list[str] = []
    size = 0
    for key, item in value.items():
        part = f"{key}={_short(item)}"
        parts.append(part)
        size += len(part) + 1
        if size > limit:
            break
    return " ".join(parts)[:limit]


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else encode_text(value)
    if isinstance(value, dict):
        return "{" + ",".join(list(value)[:3]) + ("…}" if len(value) > 3 else "}")
    if isinstance(value, list):
        return f"[{len(value)}]"
    return encode_text(value, exact=True)


# -- single-answer queries ------------------------------------------------------------------
def stream_neighbour(
    cur: duckdb.DuckDBPyConnection, stream: str, position: int, forward: bool
) -> int | None:
    """The next (or previous) event of the same stream."""
    if forward:
        query = "SELECT min(position) FROM events WHERE stream = ? AND position > ?"
    else:
        query = "SELECT max(position) FROM events WHERE stream = ? AND position < ?"
    (found,) = cur.execute(query, [stream, position]).fetchone()
    return None if found is None else int(found)


def type_hit(
    cur: duckdb.DuckDBPyConnection, types: list[str], position: int, forward: bool
) -> int | None:
    """The next (or previous) event, strictly after (before) ``position``, of one of ``types``."""
    if not types:
        return None
    marks = ", ".join("?" for _ in types)
    agg, op = ("min", ">") if forward else ("max", "<")
    query = f"SELECT {agg}(position) FROM events WHERE type IN ({marks}) AND position {op} ?"
    (found,) = cur.execute(query, [*types, position]).fetchone()
    return None if found is None else int(found)


def event_row(cur: duckdb.DuckDBPyConnection, position: int) -> dict[str, Any] | None:
    """One event with its data and meta decoded."""
    return read_event(cur, position)


# -- panels' aggregates ---------------------------------------------------------------------
@dataclass(frozen=True)
class RateHistogram:
    """Events per time bucket over the log's time range (one GROUP BY)."""

    start: datetime | None = None
    end: datetime | None = None
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def bucket_of(self, when: datetime | None) -> float | None:
        """Where ``when`` falls, as a fraction 0..1 of the range."""
        if when is None or self.start is None or self.end is None:
            return None
        span = (self.end - self.start).total_seconds()
        if span <= 0:
            return 0.0
        return min(max((when - self.start).total_seconds() / span, 0.0), 1.0)


def rate_histogram(
    cur: duckdb.DuckDBPyConnection, flt: EventFilter, buckets: int = 512
) -> RateHistogram:
    """Events per bucket of time, ``buckets`` buckets from the first to the last event: one
    GROUP BY (the bounds come along in every row)."""
    where = flt.where("time IS NOT NULL")
    params = list(flt.params)
    query = f"""
        WITH kept AS (SELECT time FROM events {where}),
             bounds AS (SELECT min(time) AS t0, max(time) AS t1, epoch_us(min(time)) AS u0,
                               greatest(epoch_us(max(time)) - epoch_us(min(time)), 1) AS span
                        FROM kept)
        SELECT least(CAST(floor((epoch_us(time) - u0) * {buckets} / span) AS BIGINT),
                     {buckets - 1}) AS bucket, count(*) AS n, any_value(t0), any_value(t1)
        FROM kept, bounds GROUP BY bucket
    """
    rows = cur.execute(query, params).fetchall()
    if not rows:
        return RateHistogram()
    counts = np.zeros(buckets, dtype=np.int64)
    for bucket, n, _, _ in rows:
        counts[int(bucket)] = n
    return RateHistogram(rows[0][2], rows[0][3], counts)


class StreamEntry(NamedTuple):
    kind: str  # "all", "category" or "stream"
    name: str | None
    events: int
    streams: int


def stream_entries(
    cur: duckdb.DuckDBPyConnection, like: str = "", limit: int = 300
) -> tuple[list[StreamEntry], int]:
    """Categories and streams (whose name contains ``like``) with counts, and how many streams
    matched in all (only ``limit`` are listed)."""
    needle = f"%{like}%"
    categories = cur.execute(
        """SELECT category, count(DISTINCT stream), count(*) FROM events
           WHERE category IS NOT NULL AND category ILIKE ? GROUP BY category ORDER BY category""",
        [needle],
    ).fetchall()
    streams = cur.execute(
        """SELECT stream, count(*) AS n, count(*) OVER () FROM events WHERE stream ILIKE ?
           GROUP BY stream ORDER BY min(position) LIMIT ?""",
        [needle, limit],
    ).fetchall()
    total = int(streams[0][2]) if streams else 0
    (events,) = cur.execute("SELECT count(*) FROM events").fetchone()
    (n_streams,) = cur.execute("SELECT count(DISTINCT stream) FROM events").fetchone()
    entries = [StreamEntry("all", None, int(events), int(n_streams))]
    entries += [StreamEntry("category", c, int(e), int(s)) for c, s, e in categories]
    entries += [StreamEntry("stream", s, int(n), 1) for s, n, _ in streams]
    return entries, total
