"""Integrity findings: what in a log an auditor must explain before trusting a replay of it.

One DataFrame, one row per finding, computed in DuckDB in bulk (columns :data:`COLUMNS`):

* ``version_gap`` / ``version_repeat`` / ``version_back``: a stream's version that skips numbers
  (or a stream that does not start where the log's streams do: at 1, or at 0 in logs numbered
  from 0 such as KurrentDB's), repeats the one before, or goes back;
* ``time_back``: an event whose time is earlier than the event before it in the global order
  (``seconds``: by how much);
* ``duplicate_id``: the same event id on two events; ``conflicting_id`` /
  ``conflicting_version``: a row rejected at load because its event id (or stream version) was
  already loaded with other content; ``rejected``: the other rows rejected at load, one row
  per source and reason, with how many and the first row;
* ``retried_write``: events of the same type in one stream with the same causation id (a client
  that retried after a timeout and was served twice);
* ``payload_shape``: the field paths with JSON types per event type, from
  ``tracer.shapes.payload_shapes`` when that module is installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from tracer.store import Store

COLUMNS = [
    "finding",
    "stream",
    "position",
    "version",
    "type",
    "time",
    "event_id",
    "count",
    "seconds",
    "detail",
]

_VERSIONS = """
WITH v AS (
    SELECT position, stream, version, type, time, event_id,
           lag(version) OVER w AS prev, lag(position) OVER w AS prev_pos
    FROM events WINDOW w AS (PARTITION BY stream ORDER BY position)
), base AS (  -- where the log's streams start: 0 or 1, whichever most streams do
    SELECT coalesce(mode(version) FILTER (WHERE version IN (0, 1)), 1) AS first
    FROM v WHERE prev IS NULL
)
SELECT CASE WHEN prev IS NULL OR version > prev + 1 THEN 'version_gap'
            WHEN version = prev THEN 'version_repeat' ELSE 'version_back' END AS finding,
       stream, position, version, type, time, event_id, 1 AS count, NULL AS seconds,
       CASE WHEN prev IS NULL THEN 'the stream starts at version ' || version
                 || ' (the log''s streams start at ' || (SELECT first FROM base) || ')'
            WHEN version > prev + 1 THEN 'version ' || version || ' follows version ' || prev
                 || ' (position ' || prev_pos || '): ' || (version - prev - 1) || ' missing'
            WHEN version = prev THEN 'version ' || version || ' again (first at position '
                 || prev_pos || ')'
            ELSE 'version ' || version || ' after version ' || prev || ' (position '
                 || prev_pos || ')' END AS detail
FROM v
WHERE (prev IS NULL AND version <> (SELECT first FROM base))
   OR (prev IS NOT NULL AND version <> prev + 1)
"""

_TIMES = """
WITH t AS (
    SELECT position, stream, version, type, time, event_id,
           lag(time) OVER (ORDER BY position) AS prev, lag(position) OVER (ORDER BY position) AS pp
    FROM events
)
SELECT 'time_back' AS finding, stream, position, version, type, time, event_id, 1 AS count,
       epoch(prev) - epoch(time) AS seconds,
       'time goes back ' || round(epoch(prev) - epoch(time), 3) || ' s from position ' || pp
       AS detail
FROM t WHERE time < prev
"""

_DUPLICATE_IDS = """
SELECT 'duplicate_id' AS finding, stream, position, version, type, time, event_id,
       count(*) OVER (PARTITION BY event_id) AS count, NULL AS seconds,
       'event id also at position ' || first_value(position) OVER w AS detail
FROM events
WINDOW w AS (PARTITION BY event_id ORDER BY position)
QUALIFY count(*) OVER (PARTITION BY event_id) > 1 AND row_number() OVER w > 1
"""

_RETRIES = """
SELECT 'retried_write' AS finding, stream, position, version, type, time, event_id,
       count(*) OVER p AS count, NULL AS seconds,
       'causation id ' || causation_id || ' also caused position ' || first_value(position) OVER w
       || ' (' || type || ' in ' || stream || ')' AS detail
FROM events
WHERE causation_id IS NOT NULL AND causation_id <> ''
WINDOW p AS (PARTITION BY stream, type, causation_id),
       w AS (PARTITION BY stream, type, causation_id ORDER BY position)
QUALIFY count(*) OVER p > 1 AND row_number() OVER w > 1
"""

_REJECTED = """
SELECT CASE WHEN reason LIKE 'conflict: event id%' THEN 'conflicting_id'
            WHEN reason LIKE 'conflict: stream%' THEN 'conflicting_version'
            ELSE 'rejected' END AS finding,
       NULL AS stream, NULL AS position, NULL AS version, NULL AS type, NULL AS time,
       NULL AS event_id, 1 AS count, NULL AS seconds,
       source || ':' || source_row || ': ' || reason AS detail
FROM rejected WHERE reason LIKE 'conflict:%'
UNION ALL
SELECT 'rejected', NULL, NULL, NULL, NULL, NULL, NULL, count(*), NULL,
       count(*) || ' rows from ' || source || ', first at row ' || min(source_row) || ': '
       || reason
FROM (SELECT source, source_row,
             regexp_replace(reason, '\\b(line|row) [0-9]+\\b', '\\1 N', 'g') AS reason
      FROM rejected WHERE reason NOT LIKE 'conflict:%')
GROUP BY source, reason
"""

#: Where each kind of finding comes from, in the order they are listed.
QUERIES = (_VERSIONS, _TIMES, _DUPLICATE_IDS, _REJECTED, _RETRIES)


def findings(store: Store, stream: str | None = None) -> pd.DataFrame:
    """Every integrity finding of the store (only ``stream``'s events, if given).

    The queries run on a cursor of their own: a long audit of a large log holds none of the
    store's lock, so a UI or a replay on the same store goes on meanwhile.
    """
    import pandas as pd  # here: a hashing worker imports this package and needs no pandas

    with store.lock:
        cursor = store.cursor()
    try:
        parts = [cursor.execute(query).df() for query in QUERIES]
    finally:
        cursor.close()
    frame = pd.concat([p for p in parts if len(p)] or [parts[0]], ignore_index=True)
    frame = frame.reindex(columns=COLUMNS)
    shapes = payload_shapes(store)
    if shapes is not None and len(shapes):
        frame = pd.concat([frame, shapes], ignore_index=True)
    if stream is not None:
        frame = frame[frame["stream"] == stream]
    order = {name: i for i, name in enumerate(KINDS)}
    frame = frame.assign(_k=frame["finding"].map(order)).sort_values(
        ["_k", "position"], kind="stable", na_position="last"
    )
    return frame.drop(columns="_k").reset_index(drop=True)


KINDS = (
    "version_gap",
    "version_repeat",
    "version_back",
    "time_back",
    "duplicate_id",
    "conflicting_id",
    "conflicting_version",
    "rejected",
    "retried_write",
    "payload_shape",
)


def payload_shapes(store: Store) -> pd.DataFrame | None:
    """Payload shapes as findings, if ``tracer.shapes.payload_shapes`` exists (another module's
    job): one row per shape with its count, first position and a description."""
    try:
        module = importlib.import_module("tracer.shapes")
    except ModuleNotFoundError as exc:
        if exc.name not in ("tracer.shapes",):
            raise
        return None
    build = getattr(module, "payload_shapes", None)
    if build is None:
        return None
    shapes = build(store)
    if shapes is None or not len(shapes):
        return None
    import pandas as pd

    text = getattr(module, "shape_text", str)
    records = shapes.to_dict(orient="records")
    return pd.DataFrame(
        {
            "finding": "payload_shape",
            "stream": None,
            "position": [r.get("first_position") for r in records],
            "version": None,
            "type": [r.get("type") for r in records],
            "time": [r.get("first_time") for r in records],
            "event_id": None,
            "count": [r.get("count") for r in records],
            "seconds": None,
            "detail": [
                f"{text(r.get('shape'))} (positions {r.get('first_position')}"
                f"..{r.get('last_position')})"
                for r in records
            ],
        }
    ).reindex(columns=COLUMNS)
