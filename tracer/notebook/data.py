"""The data behind the figures of the log, reduced in DuckDB before it reaches the browser.

Store-wide views (timeline, event rate, correlation graph) are aggregated in DuckDB: the
figures receive at most a few thousand rows however large the log. (Values of states are in
:mod:`tracer.notebook.values`.)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tracer.errors import TracerError
from tracer.store import Store, where_clause

#: Widths tried, smallest first, for time buckets (DuckDB interval text, label).
BUCKETS: tuple[tuple[str, str, float], ...] = (
    ("1 second", "second", 1),
    ("10 seconds", "10 seconds", 10),
    ("1 minute", "minute", 60),
    ("10 minutes", "10 minutes", 600),
    ("1 hour", "hour", 3_600),
    ("6 hours", "6 hours", 21_600),
    ("1 day", "day", 86_400),
    ("7 days", "week", 604_800),
    ("30 days", "30 days", 2_592_000),
    ("365 days", "year", 31_536_000),
)


def _where(
    stream: str | None = None,
    category: str | None = None,
    types: Iterable[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    since: Any = None,
    until: Any = None,
) -> tuple[str, list[Any]]:
    """A WHERE clause (``WHERE ...`` or ``""``) over ``events`` and its parameters."""
    return where_clause(stream, category, types, since, until, start, end)


def _query(store: Store, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    with store.lock:
        return store.con.execute(sql, params or []).df()


def _one(store: Store, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    with store.lock:
        return store.con.execute(sql, params or []).fetchone()


def short_json(text: Any, limit: int = 240) -> str:
    """A JSON text cut to ``limit`` characters, for hover labels."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- timeline ---------------------------------------------------------------------------------
def timeline_data(
    store: Store,
    *,
    by: str = "stream",
    x: str = "time",
    max_lanes: int = 25,
    max_points: int = 4000,
    **filters: Any,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Events of the ``max_lanes`` busiest lanes, raw or counted per lane, type and bucket
    (the bucket's index in ``x``; see :func:`timeline`).

    Returns the rows and facts: ``lanes`` (shown, in order of their first event),
    ``total_lanes``, ``events`` (in the selection), ``shown_events`` (in the lanes shown),
    ``bucketed``, ``bucket`` (width in microseconds or positions), ``start`` and ``buckets``
    (where bucket 0 starts, how many), ``no_time`` (events without a time).
    """
    if by not in ("stream", "category"):
        raise TracerError(f"timeline by {by!r}: use 'stream' or 'category'")
    if x not in ("time", "position"):
        raise TracerError(f"timeline x {x!r}: use 'time' or 'position'")
    where, params = _where(**filters)
    lane = "stream" if by == "stream" else "coalesce(category, '(none)')"
    xcol = "epoch_us(time)" if x == "time" else "position"
    timed = "time IS NOT NULL" if x == "time" else "TRUE"
    and_where = f"{where} AND {timed}" if where else f"WHERE {timed}"
    lanes = _query(
        store,
        f"""SELECT {lane} AS lane, count(*) AS n, min(position) AS first
            FROM events {where} GROUP BY lane ORDER BY n DESC, first""",
        params,
    )
    shown = lanes.head(max_lanes).sort_values("first")
    events = int(lanes["n"].sum()) if len(lanes) else 0
    facts: dict[str, Any] = {
        "lanes": shown["lane"].tolist(),
        "total_lanes": len(lanes),
        "events": events,
        "shown_events": int(shown["n"].sum()) if len(shown) else 0,
        "bucketed": False,
        "bucket": None,
    }
    no_time = 0
    if x == "time":
        no_time = _one(
            store,
            f"SELECT count(*) FROM events {where} {'AND' if where else 'WHERE'} time IS NULL",
            params,
        )[0]
    facts["no_time"] = int(no_time)
    if shown.empty:
        return pd.DataFrame(columns=["lane", "type", "x", "count", "position"]), facts
    lane_list = ", ".join("?" for _ in range(len(shown)))
    lane_params = [*params, *shown["lane"].tolist()]
    selected = f"events {and_where} AND {lane} IN ({lane_list})"
    if facts["shown_events"] <= max_points:
        rows = _query(
            store,
            f"""SELECT {lane} AS lane, type, {xcol} AS x, 1 AS count, position, stream,
                       version, event_id, time, CAST(data AS VARCHAR) AS data
                FROM {selected} ORDER BY position""",
            lane_params,
        )
        return rows, facts
    lo, hi = _one(store, f"SELECT min({xcol}), max({xcol}) FROM {selected}", lane_params)
    buckets = max(1, max_points // len(shown))
    width = max(1, -(-(hi - lo + 1) // buckets))
    facts["bucketed"] = True
    facts["bucket"] = width
    facts["start"] = lo
    facts["buckets"] = -(-(hi - lo + 1) // width)
    rows = _query(
        store,
        f"""SELECT {lane} AS lane, type, ({xcol} - {lo}) // {width} AS x,
                   count(*) AS count, min(position) AS position, max(position) AS last
            FROM {selected} GROUP BY ALL ORDER BY x""",
        lane_params,
    )
    return rows, facts


# -- event rate -------------------------------------------------------------------------------
def pick_bucket(seconds: float, max_buckets: int) -> tuple[str, str]:
    """The smallest bucket width that cuts ``seconds`` into at most ``max_buckets``."""
    for interval, label, width in BUCKETS:
        if seconds / width <= max_buckets:
            return interval, label
    return BUCKETS[-1][0], BUCKETS[-1][1]


def rate_data(
    store: Store,
    *,
    every: str | None = None,
    by: str = "type",
    top: int = 8,
    max_buckets: int = 150,
    **filters: Any,
) -> tuple[pd.DataFrame, str]:
    """Event counts per time bucket and per type (or stream/category); the ``top`` busiest
    groups keep their name, the rest are summed as ``other``. Returns the rows and the bucket
    label (``day``, ``hour``, ... or ``every`` as given)."""
    if by not in ("type", "stream", "category"):
        raise TracerError(f"event rate by {by!r}: use 'type', 'stream' or 'category'")
    where, params = _where(**filters)
    timed = f"{where} AND time IS NOT NULL" if where else "WHERE time IS NOT NULL"
    if every is None:
        lo, hi = _one(store, f"SELECT min(time), max(time) FROM events {timed}", params)
        if lo is None:
            return pd.DataFrame(columns=["bucket", "group", "count"]), "day"
        every, label = pick_bucket((hi - lo).total_seconds(), max_buckets)
    else:
        if not re.fullmatch(r"\d+ [a-z]+", every.strip()):
            raise TracerError(f"event rate: bad bucket width {every!r}: write e.g. '1 hour'")
        label = every = every.strip()
    group = f"coalesce(CAST({by} AS VARCHAR), '(none)')"
    try:
        frame = _query(
            store,
            f"""WITH counted AS (
                    SELECT time_bucket(INTERVAL '{every}', time) AS bucket, {group} AS grp,
                           count(*) AS count
                    FROM events {timed} GROUP BY ALL),
                ranked AS (
                    SELECT grp, row_number() OVER (ORDER BY sum(count) DESC, grp) AS rank
                    FROM counted GROUP BY grp)
                SELECT bucket, CASE WHEN rank <= {int(top)} THEN grp ELSE 'other' END AS "group",
                       sum(count)::BIGINT AS count, min(rank) AS rank
                FROM counted JOIN ranked USING (grp) GROUP BY ALL ORDER BY rank, bucket""",
            params,
        )
    except Exception as exc:  # a bad interval text
        raise TracerError(f"event rate: bad bucket width {every!r} ({exc})") from exc
    return frame, label


# -- correlation graph ------------------------------------------------------------------------
GRAPH_COLUMNS = """position, event_id, stream, version, type, time, correlation_id, causation_id,
                   CAST(data AS VARCHAR) AS data"""


def graph_events(
    store: Store,
    *,
    event: int | str | None = None,
    correlation_id: str | None = None,
    stream: str | None = None,
    start: int | None = None,
    end: int | None = None,
    depth: int = 3,
    limit: int = 150,
) -> tuple[pd.DataFrame, bool]:
    """Seed events (one event by position or id, a correlation id, or a stream's events between
    two positions) and the events linked to them by correlation or causation ids, ``depth``
    hops out, at most ``limit`` events (the earliest). Returns the events and whether the
    limit cut the set."""
    if event is not None:
        column = "position" if isinstance(event, int) else "event_id"
        seed = f"{column} = ?"
        seed_params: list[Any] = [event]
    elif correlation_id is not None:
        seed, seed_params = "correlation_id = ?", [correlation_id]
    elif stream is not None:
        clause, seed_params = _where(stream=stream, start=start, end=end)
        seed = clause.removeprefix("WHERE ")
    else:
        raise TracerError("correlation graph: name an event, a correlation id or a stream")
    found = _query(store, f"SELECT {GRAPH_COLUMNS} FROM events WHERE {seed}", seed_params)
    if found.empty:
        raise TracerError("correlation graph: no event matches the selection")
    cut = False
    for _ in range(depth):
        ids = set(found["event_id"].dropna()) | set(found["causation_id"].dropna())
        corr = set(found["correlation_id"].dropna())
        more = _query(
            store,
            f"""SELECT {GRAPH_COLUMNS} FROM events
                WHERE (correlation_id IN (SELECT unnest(?::VARCHAR[]))
                       OR causation_id IN (SELECT unnest(?::VARCHAR[]))
                       OR event_id IN (SELECT unnest(?::VARCHAR[])))
                  AND position NOT IN (SELECT unnest(?::BIGINT[]))
                ORDER BY position LIMIT {int(limit) + 1}""",
            [sorted(corr), sorted(ids), sorted(ids), found["position"].tolist()],
        )
        if more.empty:
            break
        found = pd.concat([found, more], ignore_index=True)
        if len(found) > limit:
            cut = True
            break
    found = found.sort_values("position").drop_duplicates("position")
    if len(found) > limit:
        cut = True
        found = found.head(limit)
    return found.reset_index(drop=True), cut


def graph_edges(nodes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Causation edges (cause -> effect, the cause an event of ``nodes`` or an id from outside
    the log) and correlation edges (consecutive events of one correlation id not already
    linked by causation). Returns ``(edges, external)``: edges with ``source``, ``target``
    (positions, or ``ext:<id>``) and ``kind``; external causes with ``id``, ``first``."""
    by_id = dict(zip(nodes["event_id"], nodes["position"], strict=True))
    edges: list[dict[str, Any]] = []
    linked: set[tuple[Any, Any]] = set()
    external: dict[str, int] = {}
    for row in nodes.itertuples(index=False):
        cause = row.causation_id
        if cause is None or (isinstance(cause, float) and np.isnan(cause)) or cause == row.event_id:
            continue
        if cause in by_id:
            source: Any = int(by_id[cause])
        else:
            source = f"ext:{cause}"
            external.setdefault(cause, int(row.position))
        edges.append({"source": source, "target": int(row.position), "kind": "causation"})
        linked.add((source, int(row.position)))
    for _, group in nodes.dropna(subset=["correlation_id"]).groupby("correlation_id"):
        positions = group["position"].astype(int).tolist()
        for a, b in itertools.pairwise(positions):
            if (a, b) not in linked and (b, a) not in linked:
                edges.append({"source": a, "target": b, "kind": "correlation"})
    ext = pd.DataFrame(
        [{"id": k, "first": v} for k, v in external.items()], columns=["id", "first"]
    )
    return pd.DataFrame(edges, columns=["source", "target", "kind"]), ext
