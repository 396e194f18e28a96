"""The ``tracer-leaf-v1`` encoding of an event, and the leaf hashes of a store, in bulk.

A leaf is the UTF-8 RFC 8785 (JCS) canonical JSON of the object with keys ``position``,
``event_id``, ``stream``, ``version``, ``type``, ``time``, ``data`` and ``meta``: ``time`` is UTC
as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` or ``null``; ``data`` and ``meta`` are the stored JSON values;
an integer outside ±(2⁵³−1), which JCS cannot hold exactly, is written as its decimal string,
at any depth. Its hash is ``SHA-256(0x00 ‖ leaf)`` (RFC 9162).

:func:`leaf_bytes` is the reference, built on the ``rfc8785`` package. :func:`leaf_hashes` reads
the store in Arrow batches and produces the same bytes faster: DuckDB writes the envelope around
``data`` and ``meta``, and one ``orjson`` call per batch sorts and re-serialises the payloads,
which is byte-identical to JCS for JSON without fractions, exponents, integers of 16 digits or
more and characters from U+E000 up (orjson sorts keys by code point, JCS by UTF-16 unit). DuckDB
flags the rows that have any of these (or a string that needs escaping in the envelope); those go
through the reference. Tests check both against each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import duckdb
import numpy as np
import orjson
import rfc8785

from tracer.errors import TracerError

ENCODING = "tracer-leaf-v1"
SAFE_INT = 2**53 - 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
BATCH = 8_192

# A number with a fraction or exponent, a long integer, or a character sorted differently.
_SLOW_PAYLOAD = r"(^|[:,\[])\s*-?[0-9]+[.eE]|[0-9]{16}|[\x{E000}-\x{10FFFF}]"
_SLOW_STRING = r'[\x00-\x1f"\\]'


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
    safe = f"abs(position) <= {SAFE_INT} AND abs(version) <= {SAFE_INT}"
    return f"""
        SELECT position, rowid AS _rowid,
               encode('"event_id":"' || event_id || '","meta":') AS _mid,
               encode('"position":' || position || ',"stream":"' || stream || '","time":'
                      || coalesce('"' || strftime(timezone('UTC', time), '{TIME_FORMAT}') || '"',
                                  'null')
                      || ',"type":"' || type || '","version":' || version || chr(125) || chr(10))
                   AS _suf,
               coalesce(data::VARCHAR, 'null') || ',' || coalesce(meta::VARCHAR, 'null') AS _dm,
               NOT ({safe})
               OR regexp_matches(event_id || stream || type, '{_SLOW_STRING}')
               OR regexp_matches(_dm, '{_SLOW_PAYLOAD}') AS _slow
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
        back = check.execute(
            f"""SELECT count(*) FROM (SELECT position, lag(position) OVER (ORDER BY rowid) AS prev
                FROM events {where}) WHERE position <= prev"""
        ).fetchall()[0][0]
    finally:
        check.close()
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
    slow = batch.column(5).to_numpy(zero_copy_only=False)
    mid, suf, dm = (batch.column(i).to_pylist() for i in (2, 3, 4))
    if not slow.any():
        try:
            return _fast(mid, suf, dm)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            slow = np.ones(len(dm), dtype=bool)  # something orjson refuses: row by row
    hashes: list[bytes] = [b""] * len(dm)
    fast = np.flatnonzero(~slow).tolist()
    if fast:
        try:
            done = _fast([mid[i] for i in fast], [suf[i] for i in fast], [dm[i] for i in fast])
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            done = [_one(mid[i], suf[i], dm[i]) for i in fast]
        for i, h in zip(fast, done, strict=True):
            hashes[i] = h
    rowids = batch.column(1).to_numpy()
    slow_ids = [int(rowids[i]) for i in np.flatnonzero(slow)]
    by_rowid = {}
    for start in range(0, len(slow_ids), 10_000):
        chunk = slow_ids[start : start + 10_000]
        marks = ", ".join("?" for _ in chunk)
        for event in event_rows(con, f"rowid IN ({marks})", chunk):
            by_rowid[event["rowid"]] = event
    for i in np.flatnonzero(slow).tolist():
        hashes[i] = _reference(by_rowid[int(rowids[i])])
    return hashes


def _fast(mid: list[bytes], suf: list[bytes], dm: list[str]) -> list[bytes]:
    n = len(dm)
    payloads = orjson.loads("[" + ",".join(dm) + "]")
    flat: list[Any] = [None] * (4 * n)
    flat[0::4] = payloads[0::2]
    flat[1::4] = list(map(orjson.Fragment, mid))
    flat[2::4] = payloads[1::2]
    flat[3::4] = list(map(orjson.Fragment, suf))
    blob = orjson.dumps(flat, option=orjson.OPT_SORT_KEYS)
    # orjson puts a comma between the list items; the one after '"meta":' must go (":," never
    # occurs in JSON output), and a raw newline (never in compact JSON) ends each leaf.
    leaves = blob[1:-2].replace(b',"meta":,', b',"meta":').split(b"\n,")
    if len(leaves) != n:
        raise TracerError(f"internal error: {len(leaves)} leaves for {n} events")
    sha, head = hashlib.sha256, b'\x00{"data":'
    return [sha(head + leaf).digest() for leaf in leaves]


def _one(mid: bytes, suf: bytes, dm: str) -> bytes:
    return _fast([mid], [suf], [dm])[0]


def _reference(event: dict[str, Any]) -> bytes:
    try:
        return leaf_hash_of(event)
    except (ValueError, TypeError, rfc8785.CanonicalizationError) as exc:
        raise TracerError(
            f"the event at position {event['position']} cannot be written as canonical JSON "
            f"(RFC 8785): {exc}"
        ) from exc
