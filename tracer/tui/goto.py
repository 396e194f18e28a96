"""Where a "go to" input points: a position, an offset, a stream version, a time or the end.

No Textual here: each function takes a DuckDB cursor (the go-to worker's own) and answers with
a position or a one-line :class:`tracer.errors.TracerError`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from tracer.errors import TracerError
from tracer.replay.points import resolve_version
from tracer.tui.data import EventFilter


def resolve_point(
    cur: duckdb.DuckDBPyConnection,
    text: str,
    current: int,
    stream: str | None,
    flt: EventFilter | None = None,
) -> int:
    """Where a "go to" input points: ``1234``, ``#1234``, ``pos:1234``, ``+10``/``-10``,
    ``version:3`` (of the current stream), ``time:2026-03-01T12:00`` or a bare ISO time.

    ``version:N`` is the stream's event whose version is N, as everywhere in tracer (on a stream
    counted from 0, ``version:0`` is its first event); a version the stream lacks is an error.
    A time means the last event at or before it, as for ``--at time:``. Within a filter
    (``flt``) ``end`` is the last event the filter shows, a time the last of them at or before
    it, and ``+N``/``-N`` count rows of the filtered timeline; a position or a version is that
    event, even when the filter hides it.
    """
    flt = flt or EventFilter()
    shown = "" if flt.empty else " shown by the filter"
    spec = text.strip()
    if not spec:
        raise TracerError("type a position (1234), +N/-N, version:N, or a time (2026-03-01T12:00)")
    lowered = spec.lower()
    if lowered == "end":
        found = _last_where(cur, flt)
        if found is None:
            raise TracerError(f"no event{shown}")
        return found
    if spec[0] in "+-" and spec[1:].isdigit():
        if flt.empty:
            return max(1, current + int(spec))
        return _offset_row(cur, flt, current, int(spec))
    bare = spec.lstrip("#")
    if lowered.startswith("pos:"):
        bare = spec[4:].strip()
    if bare.isdigit():
        return _existing(cur, int(bare))
    if lowered.startswith("version:"):
        number = spec[8:].strip()
        if stream is None or not number.isdigit():
            raise TracerError("version:N needs a number and an event of a stream under the cursor")
        return version_event(cur, stream, int(number))
    moment = spec[5:].strip() if lowered.startswith("time:") else spec
    try:
        when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        raise TracerError(
            f"cannot read {spec!r}: use a position (1234), +N/-N, version:N or an ISO time"
        ) from None
    found = _last_where(cur, flt, "time <= CAST(? AS TIMESTAMPTZ)", when.isoformat())
    if found is None:
        raise TracerError(f"no event{shown} at or before {moment}")
    return found


def _last_where(
    cur: duckdb.DuckDBPyConnection, flt: EventFilter, condition: str = "", *params: Any
) -> int | None:
    """The last position the filter keeps where ``condition`` holds."""
    query = f"SELECT max(position) FROM events {flt.where(condition)}"
    (found,) = cur.execute(query, [*flt.params, *params]).fetchone()
    return None if found is None else int(found)


def _offset_row(cur: duckdb.DuckDBPyConnection, flt: EventFilter, current: int, rows: int) -> int:
    """The event ``rows`` rows after (before, negative) ``current`` among those the filter
    keeps, or the last (first) of them when there are fewer."""
    if rows == 0:
        return current
    op, order = (">", "ASC") if rows > 0 else ("<", "DESC")
    where = flt.where(f"position {op} ?")
    query = f"""SELECT position FROM events {where} ORDER BY position {order}
                LIMIT 1 OFFSET ?"""
    found = cur.execute(query, [*flt.params, current, max(abs(rows) - 1, 0)]).fetchone()
    if found is not None:
        return int(found[0])
    agg = "max" if rows > 0 else "min"
    (edge,) = cur.execute(
        f"SELECT {agg}(position) FROM events {flt.where()}", list(flt.params)
    ).fetchone()
    return current if edge is None else int(edge)


def _existing(cur: duckdb.DuckDBPyConnection, position: int) -> int:
    (last,) = cur.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
    if not 1 <= position <= last:
        raise TracerError(f"no event at position {position} (the log has 1..{last})")
    return position


def version_event(cur: duckdb.DuckDBPyConnection, stream: str, version: int) -> int:
    """The position of ``stream``'s event whose version is ``version`` (the replay's
    ``version:N``), or an error saying which versions the stream has."""
    position = resolve_version(cur, stream, version)
    row = cur.execute("SELECT stream, version FROM events WHERE position = ?", [position])
    if row.fetchone() == (stream, version):
        return position
    # version:0 of a stream counted from 1 is the state before it: no event of the stream
    low, high = cur.execute(
        "SELECT min(version), max(version) FROM events WHERE stream = ?", [stream]
    ).fetchone()
    raise TracerError(
        f"stream {stream!r} has no version {version}: its versions run from {low} to {high}"
    )
