"""The ``tracer-leaf-v1`` encoding of an event, and the leaf hashes of a store, in bulk.

A leaf is the UTF-8 RFC 8785 (JCS) canonical JSON of the object with keys ``position``,
``event_id``, ``stream``, ``version``, ``type``, ``time``, ``data`` and ``meta``: ``time`` is UTC
as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` or ``null``; ``data`` and ``meta`` are the stored JSON values;
an integer outside ±(2⁵³−1), which JCS cannot hold exactly, is written as its decimal string,
at any depth. Its hash is ``SHA-256(0x00 ‖ leaf)`` (RFC 9162).

:func:`leaf_bytes` is the reference, built on the ``rfc8785`` package. :func:`leaf_hashes` reads
the store in Arrow batches and produces the same bytes faster: DuckDB writes the envelope after
``meta`` as JSON, and ``orjson`` reads and writes each batch's payloads and leaves in one call each
(:mod:`tracer.audit.leafbatch`), which is byte-identical to JCS but for floats and integers of 16
digits or more (a row with any is read by ``json`` and its numbers written by ``rfc8785``), and
characters from U+E000 up and strings needing escapes in the envelope (a row with any goes through
the reference). Tests check both against each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import duckdb
import numpy as np
import rfc8785

from tracer.audit.leafbatch import batch_hashes
from tracer.errors import TracerError

ENCODING = "tracer-leaf-v1"
SAFE_INT = 2**53 - 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
BATCH = 4_096


def _exact(value: Any) -> Any:
    """The value with integers outside the JCS range turned into decimal strings (any depth)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -SAFE_INT <= value <= SAFE_INT else str(value)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of a decoded JSON value, big integers as strings."""
    return rfc8785.dumps(_exact(value))


def leaf_bytes(event: Mapping[str, Any]) -> bytes:
    """The reference ``tracer-leaf-v1`` bytes of one event.

    ``event`` has ``position``, ``event_id``, ``stream``, ``version``, ``type``, ``time`` (the
    UTC text, or None) and ``data``/``meta`` as stored JSON text (or None).
    """
    record = {
        "position": event["position"],
        "event_id": event["event_id"],
        "stream": event["stream"],
        "version": event["version"],
        "type": event["type"],
        "time": event["time"],
        "data": None if event["data"] is None else json.loads(event["data"]),
        "meta": None if event["meta"] is None else json.loads(event["meta"]),
    }
    return canonical(record)


def leaf_hash_of(event: Mapping[str, Any]) -> bytes:
    """``SHA-256(0x00 ‖ leaf)`` of one event (the reference path)."""
    return hashlib.sha256(b"\x00" + leaf_bytes(event)).digest()


def _query(limit: int | None, ordered: bool, span: tuple[int, int] | None = None) -> str:
    return f"""
        SELECT position, rowid AS _rowid, version, event_id, time IS NOT NULL AS _timed,
               encode(concat(position, ',"stream":"', stream, '","time":',
                             coalesce('"' || strftime(timezone('UTC', time), '{TIME_FORMAT}') || '"',
                                      'null'),
                             ',"type":"', type, '","version":', version)) AS _rest,
               encode(concat(coalesce(data::VARCHAR, 'null'), ',',
                             coalesce(meta::VARCHAR, 'null'), ',')) AS _dm
        FROM events
        {"" if span is None else f"WHERE position >= {int(span[0])} AND position < {int(span[1])}"}
        {"ORDER BY position" if ordered else ""}
        {"" if limit is None else f"LIMIT {int(limit)}"}
    """


def event_rows(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[dict]:
    """Events as the reference encoding takes them (time as UTC text, JSON as text)."""
    rows = con.execute(
        f"""SELECT position, event_id, stream, version, type,
                   strftime(timezone('UTC', time), '{TIME_FORMAT}') AS time,
                   data::VARCHAR AS data, meta::VARCHAR AS meta, source, source_row, rowid
            FROM events WHERE {where} ORDER BY position""",
        params,
    ).fetchall()
    keys = ("position", "event_id", "stream", "version", "type", "time", "data", "meta")
    return [dict(zip((*keys, "source", "source_row", "rowid"), row, strict=True)) for row in rows]


def leaf_hashes(
    con: duckdb.DuckDBPyConnection,
    limit: int | None = None,
    span: tuple[int, int] | None = None,
) -> Iterator[tuple[np.ndarray, list[bytes]]]:
    """The leaf hashes of the store's first ``limit`` events (all by default; only positions
    ``span[0] <= position < span[1]`` if given), in position order, as ``(positions, hashes)``
    per batch. The table is read as stored when that is position order (the usual case: the
    loader appends), else sorted."""
    where = (
        "" if span is None else f"WHERE position >= {int(span[0])} AND position < {int(span[1])}"
    )
    check = con.cursor()
    try:
        back, count = check.execute(
            f"""SELECT count(*) FILTER (WHERE position <= prev), count(*) FROM (
                    SELECT position, lag(position) OVER (ORDER BY rowid) AS prev
                    FROM events {where})"""
        ).fetchall()[0]
    finally:
        check.close()
    if limit is not None and limit >= count:
        limit = None  # a LIMIT makes DuckDB gather the rows before the first batch
    yield from _scan(con, limit, span, ordered=back > 0)


def _scan(
    con: duckdb.DuckDBPyConnection,
    limit: int | None,
    span: tuple[int, int] | None,
    *,
    ordered: bool,
) -> Iterator[tuple[np.ndarray, list[bytes]]]:
    last = None
    scan, side = con.cursor(), con.cursor()  # side: the rows the reference encodes
    try:
        reader = scan.sql(_query(limit, ordered, span)).to_arrow_reader(BATCH)
        for batch in reader:
            positions = batch.column(0).to_numpy()
            if not ordered and len(positions):
                if (last is not None and positions[0] <= last) or np.any(np.diff(positions) <= 0):
                    raise TracerError("the events table changed while it was being read")
                last = positions[-1]
            yield positions, _batch_hashes(side, batch)
    finally:
        scan.close()
        side.close()


def _batch_hashes(con: duckdb.DuckDBPyConnection, batch: Any) -> list[bytes]:
    rowids = batch.column("_rowid").to_numpy()

    def reference(rows: list[int]) -> dict[int, bytes]:
        ids = [int(rowids[i]) for i in rows]
        by_rowid = {}
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            marks = ", ".join("?" for _ in chunk)
            for event in event_rows(con, f"rowid IN ({marks})", chunk):
                by_rowid[event["rowid"]] = event
        return {i: _reference(by_rowid[int(rowids[i])]) for i in rows}

    return batch_hashes(batch, reference)


def _reference(event: dict[str, Any]) -> bytes:
    try:
        return leaf_hash_of(event)
    except (ValueError, TypeError, rfc8785.CanonicalizationError) as exc:
        raise TracerError(
            f"the event at position {event['position']} cannot be written as canonical JSON "
            f"(RFC 8785): {exc}"
        ) from exc
