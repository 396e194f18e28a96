"""The ``tracer-leaf-v1`` leaf hashes of a batch of events, written by ``orjson`` in one call.

DuckDB gives, per event, the payloads ``data,meta`` as JSON text, the event id, and the rest of
the envelope (position, stream, time, type, version) already written as canonical JSON. One
``orjson.loads`` per batch reads every payload, and one ``orjson.dumps`` with sorted keys writes
every leaf as ``{"data": D, "event_id": E, "meta": M, "position": REST}`` (``REST`` a fragment),
with a zero byte before each: the leaves are then slices of one buffer, hashed in a tight loop.

orjson writes RFC 8785 bytes for these values but for numbers with a fraction or an exponent
(JCS writes them as ECMAScript does) and integers beyond ±(2⁵³−1) (the leaf holds their decimal
string; orjson reads some as floats): a row with floats or integers of 16 digits or more is read by
``json`` and its numbers written by the reference (:func:`numbers_leaf`). The reference encoder
writes the rows orjson cannot: characters from U+E000 up, as such or escaped (orjson sorts keys by
code point, JCS by UTF-16 unit), a stream or type that would need escaping inside ``REST``,
positions or versions beyond ±(2⁵³−1), and whatever orjson refuses.

Strings are escaped identically (every code point is checked by the tests). Checks run on the
whole batch first, and per row only in a batch that fails one.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import rfc8785

SAFE_INT = 2**53 - 1

# Numbers after translation: digits -> '0', '.' -> '.', 'eE' -> 'e', ':,[' -> ':', '}]' -> ';',
# bytes that start a character from U+E000 up -> '#', others -> 'x'; whitespace and signs are
# deleted. A number token with a fraction or an exponent, or of 16 digits or more, then reads
# ':0...' up to the next ':' or ';' (inside a string such a run is rare, and only costs speed).
_TABLE = bytearray(b"x" * 256)
for _c in b"0123456789":
    _TABLE[_c] = ord("0")
_TABLE[ord(".")] = ord(".")
for _c in b"eE":
    _TABLE[_c] = ord("e")
for _c in b":,[":
    _TABLE[_c] = ord(":")
for _c in b"}]":
    _TABLE[_c] = ord(";")
for _c in range(0xEE, 0xF5):
    _TABLE[_c] = ord("#")
_TRANSLATE = bytes(_TABLE)
_DELETE = b"-+ \t\n\r"
_NUMBER = re.compile(rb":0(?:0{15,}[:;]|0*(?:\.0+(?:e0+)?|e0+)[:;])")
# The same characters written as escapes (a surrogate pair, or U+E000 to U+FFFF).
_LATE_ESCAPE = re.compile(rb"\\u[dDeEfF]")
_SEP = orjson.Fragment(b"\x00")
# What reading exactly and writing numbers as the reference does may raise (orjson's errors are
# ValueError and TypeError).
_NUMBER_ERRORS = (ValueError, TypeError, RecursionError, rfc8785.CanonicalizationError)
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


PLAIN, NUMBERS, REFERENCE = 0, 1, 2


def payload_kind(text: bytes) -> int:
    """How the JSON values in ``text`` are written as RFC 8785 writes them: ``PLAIN`` by orjson
    (no float, no integer of 16 digits or more, no character from U+E000 up), ``NUMBERS`` by
    orjson with their numbers written by the reference (:func:`numbers_leaf`), else
    ``REFERENCE`` (keys would sort differently)."""
    seen = b"".join((b",", text, b",")).translate(_TRANSLATE, _DELETE)
    if b"#" in seen or (b"\\u" in text and _LATE_ESCAPE.search(text) is not None):
        return REFERENCE
    return NUMBERS if _NUMBER.search(seen) is not None else PLAIN


def payload_is_plain(text: bytes) -> bool:
    """Whether orjson writes the JSON values in ``text`` as RFC 8785 does."""
    return payload_kind(text) == PLAIN


def rest_is_plain(rests: bytes, events: int, timed: int) -> bool:
    """Whether the envelope fragments (``events`` of them, ``timed`` with a time) hold no string
    that needs escaping: no control character or backslash, and only their own quotes (around
    the four keys, the stream and the type, and a time)."""
    codes = np.frombuffer(rests, dtype=np.uint8)
    return (
        (not len(codes) or int(codes.min()) >= 0x20)
        and not (codes == ord("\\")).any()
        and rests.count(b'"') == 12 * events + 2 * timed
    )


def _unsafe(batch: Any) -> np.ndarray:
    flags = np.zeros(batch.num_rows, dtype=bool)
    for name in ("position", "version"):
        values = batch.column(name).to_numpy()
        flags |= (values > SAFE_INT) | (values < -SAFE_INT)
    return flags


def row_kinds(batch: Any, dm: Sequence[bytes], rests: Sequence[bytes]) -> np.ndarray:
    """Per row of a batch (columns as :func:`tracer.audit.leaf` selects them): how its leaf is
    written (``PLAIN``, ``NUMBERS`` or ``REFERENCE``, see :func:`payload_kind`)."""
    timed = batch.column("_timed").to_numpy(zero_copy_only=False).tolist()
    kinds = np.array(
        [
            payload_kind(d) if rest_is_plain(r, 1, t) else REFERENCE
            for d, r, t in zip(dm, rests, timed, strict=True)
        ],
        dtype=np.int8,
    )
    kinds[_unsafe(batch)] = REFERENCE
    return kinds


def batch_is_plain(batch: Any, payloads: bytes, rests: bytes) -> bool:
    """Whether no row of the batch needs the reference encoder (one pass over the batch)."""
    timed = int(batch.column("_timed").to_numpy(zero_copy_only=False).sum())
    return (
        payload_is_plain(payloads)
        and rest_is_plain(rests, batch.num_rows, timed)
        and not _unsafe(batch).any()
    )


def hash_leaves(
    payloads: bytes, ids: Sequence[str], rests: Sequence[bytes], *, numbers: bool = False
) -> list[bytes]:
    """``SHA-256(0x00 ‖ leaf)`` of each event; ``payloads`` is ``data,meta`` of every event
    joined by commas. ``numbers``: read them exactly and write their numbers as the reference
    does (see :func:`numbers_leaf`). Raises ``orjson`` errors on what it cannot read or write
    exactly (and with ``numbers``, those of ``json`` and ``rfc8785``)."""
    n = len(ids)
    if numbers:
        values = [_numbers(v) for v in json.loads(b"[" + payloads + b"]")]
    else:
        values = orjson.loads(b"[" + payloads + b"]")
    if len(values) != 2 * n:
        raise orjson.JSONDecodeError("payloads do not pair with events", "", 0)
    items: list[Any] = [_SEP] * (2 * n)
    items[1::2] = [
        {"data": d, "event_id": e, "meta": m, "position": orjson.Fragment(r)}
        for d, e, m, r in zip(values[0::2], ids, values[1::2], rests, strict=True)
    ]
    buf = bytearray(orjson.dumps(items, option=_OPTIONS))
    # '[' 0 ',' leaf ',' 0 ',' leaf ... ']': each leaf starts after "0 ," and ends before ",";
    # the comma after each zero becomes the 0x00 that prefixes a leaf hash's input.
    marks = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 0)
    if len(marks) != n:
        raise orjson.JSONEncodeError(f"{len(marks)} leaves for {n} events")
    view = np.frombuffer(buf, dtype=np.uint8)
    view[marks + 1] = 0
    starts = (marks + 1).tolist()
    ends = [*(marks[1:] - 1).tolist(), len(buf) - 1]
    mem = memoryview(buf)
    sha = hashlib.sha256
    digests = [sha(mem[a:b]).digest() for a, b in zip(starts, ends, strict=True)]
    del view, mem
    return digests


def batch_hashes(batch: Any, reference: Callable[[list[int]], dict[int, bytes]]) -> list[bytes]:
    """The leaf hashes of a batch; ``reference(rows)`` hashes the given rows the slow way.

    The cyclic garbage collector is paused meanwhile: a batch makes hundreds of thousands of
    objects and no cycles, and the collections they would trigger cost as much as the work."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _batch_hashes(batch, reference)
    finally:
        if paused:
            gc.enable()


def values_of(column: Any) -> bytes:
    """The values of an Arrow binary column, one after the other (read in place)."""
    kind = np.int64 if pa.types.is_large_binary(column.type) else np.int32
    offsets = np.frombuffer(column.buffers()[1], dtype=kind)
    start, end = int(offsets[column.offset]), int(offsets[column.offset + len(column)])
    return column.buffers()[2].slice(start, end - start).to_pybytes() if end > start else b""


def _batch_hashes(batch: Any, reference: Callable[[list[int]], dict[int, bytes]]) -> list[bytes]:
    ids = batch.column("event_id").to_pylist()
    rests = batch.column("_rest").to_pylist()
    joined = values_of(batch.column("_dm"))[:-1]  # each row is 'data,meta,'
    if batch_is_plain(batch, joined, values_of(batch.column("_rest"))):
        try:
            return hash_leaves(joined, ids, rests)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
    dm = [text[:-1] for text in batch.column("_dm").to_pylist()]
    kinds = row_kinds(batch, dm, rests)
    hashes: list[bytes] = [b""] * len(dm)
    fast = np.flatnonzero(kinds == PLAIN).tolist()
    if fast:
        done: list[bytes | None]
        try:
            done = hash_leaves(
                b",".join([dm[i] for i in fast]), [ids[i] for i in fast], [rests[i] for i in fast]
            )
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            done = [_one(dm[i], ids[i], rests[i]) for i in fast]
        for i, h in zip(fast, done, strict=True):
            if h is None:
                kinds[i] = REFERENCE
            else:
                hashes[i] = h
    numbered = np.flatnonzero(kinds == NUMBERS).tolist()
    if numbered:
        try:
            done = hash_leaves(
                b",".join([dm[i] for i in numbered]),
                [ids[i] for i in numbered],
                [rests[i] for i in numbered],
                numbers=True,
            )
        except _NUMBER_ERRORS:
            done = [numbers_leaf(dm[i], ids[i], rests[i]) for i in numbered]
        for i, h in zip(numbered, done, strict=True):
            if h is None:
                kinds[i] = REFERENCE
            else:
                hashes[i] = h
    rows = np.flatnonzero(kinds == REFERENCE).tolist()
    if rows:
        by_row = reference(rows)
        for i in rows:
            hashes[i] = by_row[i]
    return hashes


def numbers_leaf(dm: bytes, event_id: str, rest: bytes) -> bytes | None:
    """The leaf hash of an event whose payloads hold floats or long integers: read exactly
    (``json``), each number written by the reference (big integers as strings), the rest by
    orjson. None if the reference encoder must say what is wrong."""
    try:
        return hash_leaves(dm, [event_id], [rest], numbers=True)[0]
    except _NUMBER_ERRORS:
        return None


def _numbers(value: Any) -> Any:
    if isinstance(value, float):
        return orjson.Fragment(rfc8785.dumps(value))
    if isinstance(value, bool) or not isinstance(value, int | dict | list):
        return value
    if isinstance(value, int):
        return value if -SAFE_INT <= value <= SAFE_INT else str(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    return [_numbers(v) for v in value]


def _one(dm: bytes, event_id: str, rest: bytes) -> bytes | None:
    try:
        return hash_leaves(dm, [event_id], [rest])[0]
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
