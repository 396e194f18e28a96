"""The fast leaf hashes (``tracer.audit.leafbatch``) are those of the reference encoder, for any
event: strings with control characters and any non-surrogate code point, nested payloads, big
integers, floats, keys that sort differently by code point and by UTF-16 unit, no time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer.audit.leaf import canonical, event_rows, leaf_hash_of, leaf_hashes
from tracer.audit.leafbatch import (
    REFERENCE,
    numbers_leaf,
    payload_is_plain,
    payload_kind,
    values_of,
)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
# Keys near the places where the orders differ: ASCII, U+E000 and up, beyond U+FFFF.
keys = text | st.sampled_from(["a", "b", "ab", "\ue000", "\uffff", "\U0001f600", "é", "-1.5"])
numbers = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2)
    | st.sampled_from([0, -1, 2**53 - 1, -(2**53 - 1), 2**53, 10**15, 10**16, 2**64, -(2**63)])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1.0, 1e21, 1e-7, 0.1, 5e-324, 1.7976931348623157e308])
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=16,
)


def written(value: Any, style: int) -> str:
    """The JSON text of a value as a source might have stored it."""
    if style == 0:
        return json.dumps(value)
    if style == 1:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=1)


names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8) | st.sampled_from(
    ['quo"te', "back\\slash", "tab\there", "nul\x00", "account-1", "Deposited", "\u2028"]
)
times = st.none() | st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
events = st.lists(
    st.tuples(
        names,  # event id
        names,  # stream
        names,  # type
        st.integers(min_value=-(2**63), max_value=2**63 - 1),  # version
        times,
        json_values,
        json_values | st.none(),
        st.integers(min_value=0, max_value=2),
    ),
    min_size=1,
    max_size=12,
)


def store_of(rows: list[tuple]) -> tracer.Store:
    store = tracer.open()
    for position, (eid, stream, type_, version, time, data, meta, style) in enumerate(rows, 1):
        store.con.execute(
            """INSERT INTO events (position, event_id, stream, version, type, time, data, meta)
               VALUES (?, ?, ?, ?, ?, ?, CAST(? AS JSON), CAST(? AS JSON))""",
            [
                *(position, eid, stream, version, type_, time, written(data, style)),
                None if meta is None else written(meta, style),
            ],
        )
    return store


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_fast_leaf_hashes_equal_the_reference_encoders(rows: list[tuple]) -> None:
    store = store_of(rows)
    cur = store.cursor()
    fast = [h for _, batch in leaf_hashes(cur) for h in batch]
    reference = [leaf_hash_of(e) for e in event_rows(cur, "true", [])]
    assert fast == reference


@settings(max_examples=500, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=2))
def test_a_payload_judged_plain_is_written_by_orjson_as_rfc8785_writes_it(
    value: Any, style: int
) -> None:
    raw = written(value, style).encode()
    if payload_is_plain(raw):
        ours = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
        assert ours == canonical(json.loads(raw))


def test_floats_big_integers_and_late_characters_are_never_judged_plain() -> None:
    for raw in [
        b"1.5",
        b'{"a": -0.0}',
        b"[1E5]",
        b'{"a":[1,2e-3]}',
        b"9007199254740993",
        b'{"n": -12345678901234567}',
        b"1234567890123456789012345",
        '{"\ue000":1}'.encode(),
        '{"\U0001f600":1}'.encode(),
        b'{"\\ue000":1}',
        b'{"\\ud83d\\ude00":1}',
        b'{"a" : 1.5 }',
        b"[ -1e+5 ]",
    ]:
        assert not payload_is_plain(raw), raw
    for raw in [
        b'{"amount":844}',
        b'{"a": -12, "b": [1, 2]}',
        b'{"at": "2026-01-01T00:00:00.5Z", "version": "1.2.3", "id": "3e4a-1e5"}',
    ]:
        assert payload_is_plain(raw), raw


def test_orjson_escapes_every_code_point_as_rfc8785_does() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    assert orjson.dumps(chars) == rfc8785.dumps(chars)


def test_many_batches_with_a_few_slow_rows_hash_as_the_reference() -> None:
    store = tracer.open()
    store.con.execute(
        """INSERT INTO events (position, event_id, stream, version, type, time, data, meta)
           SELECT range, 'e' || range, 'account-' || (range % 7), range, 'T',
                  TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(range * 1001),
                  CASE WHEN range % 997 = 0 THEN '{"x": 1.5, "b": 1}'
                       WHEN range % 991 = 0 THEN '{"big": 12345678901234567890}'
                       ELSE '{"z": ' || range || ', "a": "é"}' END::JSON,
                  CASE WHEN range % 5 = 0 THEN NULL ELSE '{"user": "u", "id": 1}' END::JSON
           FROM range(1, 30001)"""
    )
    store.con.execute("UPDATE events SET stream = 'a\"b' WHERE position = 20000")
    cur = store.cursor()
    fast = [h for _, batch in leaf_hashes(cur) for h in batch]
    reference = [leaf_hash_of(e) for e in event_rows(cur, "true", [])]
    assert len(fast) == 30000 and fast == reference


@given(st.lists(st.binary(max_size=20), max_size=30), st.integers(0, 30), st.integers(0, 30))
def test_the_values_of_a_binary_column_are_read_in_place(
    values: list[bytes], start: int, length: int
) -> None:
    column = pa.array(values, pa.binary()).slice(start, length)
    assert values_of(column) == b"".join(column.to_pylist())
    large = pa.array(values, pa.large_binary()).slice(start, length)
    assert values_of(large) == b"".join(large.to_pylist())


@settings(max_examples=300, deadline=None)
@given(json_values, json_values | st.none(), st.integers(min_value=0, max_value=2))
def test_rows_with_floats_or_long_integers_are_written_as_the_reference_writes_them(
    data: Any, meta: Any, style: int
) -> None:
    event = {
        "position": 7,
        "event_id": "e\u00e9\x01",
        "stream": "s",
        "version": 1,
        "type": "T",
        "time": None,
        "data": written(data, style),
        "meta": None if meta is None else written(meta, style),
    }
    dm = f"{event['data']},{event['meta'] or 'null'}".encode()
    rest = b'7,"stream":"s","time":null,"type":"T","version":1'
    if payload_kind(dm) != REFERENCE:
        assert numbers_leaf(dm, event["event_id"], rest) == leaf_hash_of(event)
