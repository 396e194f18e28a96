"""Reading events for a replay: Arrow record batches of only the columns a fold needs.

Every read runs on a cursor of its own (one per thread), so a long replay never holds the
store's main connection. Positions are ranges ``(lo, hi]``: DuckDB prunes row groups by
position, so reading a slice of a large log costs only that slice.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tracer.errors import TracerError
from tracer.names import close_names, did_you_mean
from tracer.replay.points import Point, PointError, parse_point, resolve_version
from tracer.store import Store

BATCH_ROWS = 65_536
#: Columns of a batch, in order. Event ids and meta are fetched apart, only when read.
COLUMNS = "position, stream, version, type, epoch_us(time) AS time_us, data"


def sql_literal(text: str) -> str:
    """A SQL string literal (a literal, unlike a parameter, lets DuckDB use an ART index)."""
    return "'" + text.replace("'", "''") + "'"


def single_row(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The first row of a fully fetched result (DuckDB wants every result consumed)."""
    return rows[0] if rows else None


class Bookkeeping(dict):
    """``bucket -> (last_position, last_version, last_time_us)``."""


class EventSource:
    """The events of one store, read in bulk; with ``category``, only that category's events
    (positions stay the log's own)."""

    def __init__(self, store: Store, category: str | None = None) -> None:
        self.store = store
        self.category = category
        #: The SQL condition every read of this source adds (``TRUE`` for the whole log).
        self.scope = "TRUE" if category is None else f"category = {sql_literal(category)}"
        self._local = threading.local()
        self._stream_index: bool | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        con = getattr(self._local, "con", None)
        if con is None:
            with self.store.lock:
                con = self.store.cursor()
            self._local.con = con
        return con

    # -- facts about the log ----------------------------------------------------------------
    def max_position(self) -> int:
        """The position of the last event (of the category, when scoped)."""
        query = f"SELECT coalesce(max(position), 0) FROM events WHERE {self.scope}"
        return self.con.execute(query).fetchall()[0][0]

    def require_scope(self) -> None:
        """Raise when the category this source reads has no events (with the close names, or
        the categories there are)."""
        if self.category is None or self.max_position():
            return
        hint = did_you_mean(close_names(self.con, "category", self.category))
        if not hint:
            rows = self.con.execute(
                "SELECT category FROM events WHERE category IS NOT NULL "
                "GROUP BY category ORDER BY count(*) DESC LIMIT 6"
            ).fetchall()
            names = [str(r[0]) for r in rows[:5]] + (["…"] if len(rows) > 5 else [])
            hint = f" (its categories: {', '.join(names)})" if names else " (it has no categories)"
        raise TracerError(f"no events of category {self.category!r} in the store{hint}")

    def log_end(self) -> int:
        """The position of the log's last event, whatever its category."""
        return self.con.execute("SELECT coalesce(max(position), 0) FROM events").fetchall()[0][0]

    def stream_category(self, stream: str) -> str | None:
        """The category of a stream's events (``None``: no such stream)."""
        rows = self.con.execute(
            f"SELECT category FROM events WHERE stream = {sql_literal(stream)} LIMIT 1"
        ).fetchall()
        return None if not rows else rows[0][0]

    def has_stream_index(self) -> bool:
        """Whether ``events.stream`` has an ART index (a one-stream read then costs a lookup)."""
        if self._stream_index is None:
            self._stream_index = self.store.ensure_stream_index()
        return self._stream_index

    def stream_exists(self, stream: str) -> bool:
        """Whether the stream has events (of the category, when scoped)."""
        if self.category is None:
            return self._any_event(stream)
        return self.stream_category(stream) == self.category

    def _any_event(self, stream: str) -> bool:
        row = single_row(
            self.con.execute(
                f"SELECT 1 FROM events WHERE stream = {sql_literal(stream)} LIMIT 1"
            ).fetchall()
        )
        return row is not None

    def resolve(self, at: Any, stream: str | None = None) -> int:
        """The position a point stands for: the state there is the fold of events ``<= it``."""
        point = parse_point(at)
        if point.kind == "end":
            return self.max_position()
        if point.kind == "pos":
            assert isinstance(point.value, int)
            last = self.log_end()
            if point.value > last:
                raise PointError(f"no event at position {point.value}: the log ends at {last}")
            return point.value
        if point.kind == "time":
            assert isinstance(point.value, datetime)
            return self.time_point(point.value, stream)[0]
        return self._resolve_version(point, stream)

    def _resolve_version(self, point: Point, stream: str | None) -> int:
        if stream is None:
            raise PointError(f"{point} needs a stream: a version counts one stream's events")
        assert isinstance(point.value, int)
        return resolve_version(self.con, stream, point.value)

    def time_point(self, until: datetime, stream: str | None = None) -> tuple[int, int | None]:
        """``(position, late)`` for ``time:until``: the last event at or before ``until`` (of one
        stream, when named: the log's last one may come after a later event of that stream when
        sources' clocks interleave), and the first event before it that is later than
        ``until`` (``None``: none is, and folding up to ``position`` is exactly "every event at
        or before ``until``")."""
        if stream is not None and self.has_stream_index():
            times = self._stream_times(stream)
            at = pa.scalar(until, times["time"].type)
            position = pc.max(times["position"].filter(pc.less_equal(times["time"], at)))
            position = position.as_py() or 0
            late = pc.and_(
                pc.less_equal(times["position"], position), pc.greater(times["time"], at)
            )
            return position, pc.min(times["position"].filter(late)).as_py()
        where = f" AND {self.scope}"
        if stream is not None:
            where = f" AND stream = {sql_literal(stream)}"
        position, late = single_row(
            self.con.execute(
                f"""WITH p AS (SELECT coalesce(max(position), 0) AS p FROM events
                               WHERE time <= ?{where})
                    SELECT p, (SELECT min(position) FROM events
                               WHERE position <= p AND time > ?{where}) FROM p""",
                [until, until],
            ).fetchall()
        )
        return position, late

    def _stream_times(self, stream: str) -> pa.Table:
        """Position and time of one stream's events, looked up in the stream index (a lone
        equality on a literal: DuckDB answers it from the index, and other filters would not)."""
        return self.con.sql(
            f"SELECT position, time FROM events WHERE stream = {sql_literal(stream)}"
        ).to_arrow_table()

    def time_of(self, position: int) -> int | None:
        if position <= 0:
            return None
        row = single_row(
            self.con.execute(
                "SELECT epoch_us(time) FROM events WHERE position = ?", [position]
            ).fetchall()
        )
        return None if row is None else row[0]

    def extras(self, positions: list[int]) -> dict[int, tuple[Any, Any]]:
        """``position -> (event_id, raw meta)`` for the events of one batch."""
        if not positions:
            return {}
        lo, hi = min(positions), max(positions)
        where = f"position >= {int(lo)} AND position <= {int(hi)}"
        if hi - lo + 1 > 4 * len(positions):  # a sparse batch (one stream): name its events
            where += f" AND position IN ({', '.join(str(int(p)) for p in positions)})"
        rows = self.con.execute(f"SELECT position, event_id, meta FROM events WHERE {where}")
        return {position: (event_id, meta) for position, event_id, meta in rows.fetchall()}

    def event_row(self, position: int) -> dict[str, Any] | None:
        row = single_row(
            self.con.execute(
                "SELECT position, stream, version, type, epoch_us(time), event_id "
                "FROM events WHERE position = ?",
                [int(position)],
            ).fetchall()
        )
        if row is None:
            return None
        keys = ("position", "stream", "version", "type", "time_us", "event_id")
        return dict(zip(keys, row, strict=True))

    # -- batches ----------------------------------------------------------------------------
    def batches(
        self,
        lo: int,
        hi: int,
        *,
        stream: str | None = None,
        types: Iterable[str] | None = None,
        positions: Iterable[int] | None = None,
        until: datetime | None = None,
        category: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Events with ``lo < position <= hi`` in position order, as Arrow record batches
        (``until``: only those at or before that time, and those with no time; ``category``:
        only that category's)."""
        if hi <= lo:
            return
        conditions = [f"position > {int(lo)}", f"position <= {int(hi)}"]
        if stream is not None:
            conditions.append(f"stream = {sql_literal(stream)}")
        if category is not None:
            conditions.append(f"category = {sql_literal(category)}")
        elif self.category is not None and stream is None:
            conditions.append(self.scope)
        if until is not None:
            conditions.append(_not_later(until))
        if types is not None:
            names = sorted(set(types))
            if not names:
                return
            conditions.append(f"type IN ({', '.join(sql_literal(t) for t in names)})")
        if positions is not None:
            wanted = sorted({int(p) for p in positions})
            if not wanted:
                return
            conditions.append(f"position IN ({', '.join(map(str, wanted))})")
        query = f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(conditions)} ORDER BY position"
        yield from self._read(query)

    def stream_batches(self, stream: str, hi: int) -> Iterator[pa.RecordBatch]:
        """Every event of one stream up to ``hi``; through the stream index when there is one."""
        if not self.has_stream_index():
            yield from self.batches(0, hi, stream=stream)
            return
        # A lone equality on a literal is what DuckDB answers from the ART index.
        query = f"SELECT {COLUMNS} FROM events WHERE stream = {sql_literal(stream)}"
        table = self.con.sql(query).to_arrow_table()
        table = table.filter(pc.less_equal(table["position"], hi))
        table = table.sort_by("position")
        yield from table.to_batches(BATCH_ROWS)

    def read(self, query: str) -> Iterator[pa.RecordBatch]:
        """The record batches of any query over the store, read ahead on a cursor of its own."""
        return self._read(query)

    def stream_parts(self, streams: list[str], parts: int) -> dict[str, int]:
        """The partition of each stream, as ``hash(stream) % parts`` computes it in a query."""
        if not streams:
            return {}
        rows = self.con.execute(
            "SELECT s, (hash(s) % ?)::INTEGER FROM (SELECT unnest(?::VARCHAR[]) AS s)",
            [parts, streams],
        ).fetchall()
        return dict(rows)

    def _read(self, query: str) -> Iterator[pa.RecordBatch]:
        # A streaming read gets a cursor of its own: a walk that stops early (find) or a handler
        # that raises leaves the result open, and an open result blocks its connection.
        with self.store.lock:
            cursor = self.store.con.cursor()
        try:
            try:
                reader = cursor.sql(query).to_arrow_reader(BATCH_ROWS)
            except duckdb.Error as exc:
                raise TracerError(f"cannot read events: {str(exc).splitlines()[0]}") from exc
            try:
                yield from _prefetched(reader)
            finally:
                reader.close()
        finally:
            cursor.close()

    def bookkeeping(
        self, lo: int, hi: int, stream: str | None = None, until: datetime | None = None
    ) -> Bookkeeping:
        """The last event (position, version, time) of every stream within ``(lo, hi]``."""
        result = Bookkeeping()
        if hi <= lo:
            return result
        where = f"position > {int(lo)} AND position <= {int(hi)}"
        if stream is not None:
            where += f" AND stream = {sql_literal(stream)}"
        else:
            where += f" AND {self.scope}"
        if until is not None:
            where += f" AND {_not_later(until)}"
        table = self.con.sql(
            "SELECT stream, max(position) AS p, arg_max(version, position) AS v, "
            f"arg_max(epoch_us(time), position) AS t FROM events WHERE {where} GROUP BY stream"
        ).to_arrow_table()
        columns = [table.column(i).to_pylist() for i in range(4)]
        for stream_name, position, version, time_us in zip(*columns, strict=True):
            result[stream_name] = (position, version, time_us)
        return result


def _not_later(until: datetime) -> str:
    return f"(time IS NULL OR time <= CAST({sql_literal(until.isoformat())} AS TIMESTAMPTZ))"


_DONE: Any = object()


def _prefetched(reader: pa.RecordBatchReader, depth: int = 2) -> Iterator[pa.RecordBatch]:
    """The reader's batches, read ahead by a thread: DuckDB scans the next batch while Python
    folds this one (the two run on separate cores)."""
    batches: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in reader:
                if stop.is_set():
                    return
                batches.put(batch)
        except BaseException as exc:  # handed to the consumer, raised there
            batches.put(exc)
        finally:
            batches.put(_DONE)

    worker = threading.Thread(target=produce, name="tracer-replay-read", daemon=True)
    worker.start()
    try:
        while True:
            item = batches.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                if isinstance(item, duckdb.Error):
                    raise TracerError(f"cannot read events: {str(item).splitlines()[0]}") from item
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        worker.join()
