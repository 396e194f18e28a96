"""The ``tracer-leaf-v1`` encoding: published vectors, and the fast path against RFC 8785."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer.audit.leaf import event_rows, leaf_hash_of, leaf_hashes

# The vectors of the README, written by hand from the definition (not produced by the code).
VECTORS = [
    (
        {
            "position": 1,
            "event_id": "e-1",
            "stream": "account-1",
            "version": 1,
            "type": "Deposited",
            "time": "2026-01-01 00:00:00+00",
            "data": '{"note": "café", "amount": 100}',
            "meta": '{"user": "u"}',
        },
        '{"data":{"amount":100,"note":"café"},"event_id":"e-1","meta":{"user":"u"},"position":1,'
        '"stream":"account-1","time":"2026-01-01T00:00:00.000000Z","type":"Deposited","version":1}',
    ),
    (
        {
            "position": 2,
            "event_id": "e-2",
            "stream": "s",
            "version": 9007199254740993,
            "type": "T",
            "time": None,
            "data": '{"z": 1E21, "big": 9007199254740993, "x": 0.00000015, "a": [true, null, -0]}',
            "meta": None,
        },
        '{"data":{"a":[true,null,0],"big":"9007199254740993","x":1.5e-7,"z":1e+21},'
        '"event_id":"e-2","meta":null,"position":2,"stream":"s","time":null,"type":"T",'
        '"version":"9007199254740993"}',
    ),
]


def store_with(events: list[dict[str, Any]]) -> tracer.Store:
    store = tracer.open()
    for e in events:
        store.con.execute(
            """INSERT INTO events (position, event_id, stream, version, type, time, data, meta)
               VALUES (?, ?, ?, ?, ?, CAST(? AS TIMESTAMPTZ), CAST(? AS JSON), CAST(? AS JSON))""",
            [e[k] for k in ("position", "event_id", "stream", "version", "type", "time")]
            + [e["data"], e["meta"]],
        )
    return store


def hashes_of(store: tracer.Store) -> list[bytes]:
    cur = store.cursor()
    return [h for _, batch in leaf_hashes(cur) for h in batch]


def test_the_published_vectors() -> None:
    store = store_with([e for e, _ in VECTORS])
    expected = [hashlib.sha256(b"\x00" + text.encode()).digest() for _, text in VECTORS]
    assert hashes_of(store) == expected
    rows = event_rows(store.cursor(), "true", [])
    assert [leaf_hash_of(r) for r in rows] == expected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
names = st.text(min_size=1, max_size=8)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(names, names, names, json_values, json_values | st.none(), st.booleans()),
        min_size=1,
        max_size=8,
    ),
    st.booleans(),
)
def test_the_fast_path_is_byte_identical_to_rfc8785(rows: list[tuple], ascii_only: bool) -> None:
    events = [
        {
            "position": i + 1,
            "event_id": eid,
            "stream": stream,
            "version": i + 1,
            "type": type_,
            "time": "2026-03-04 10:17:10.285+00" if timed else None,
            "data": json.dumps(data, ensure_ascii=ascii_only),
            "meta": None if meta is None else json.dumps(meta, ensure_ascii=ascii_only),
        }
        for i, (eid, stream, type_, data, meta, timed) in enumerate(rows)
    ]
    store = store_with(events)
    got = hashes_of(store)
    expected = []
    for e in events:
        record = {
            **{k: e[k] for k in ("position", "event_id", "stream", "version", "type")},
            "time": "2026-03-04T10:17:10.285000Z" if e["time"] else None,
            "data": big_as_string(json.loads(e["data"])),
            "meta": None if e["meta"] is None else big_as_string(json.loads(e["meta"])),
        }
        expected.append(hashlib.sha256(b"\x00" + rfc8785.dumps(record)).digest())
    assert got == expected


def big_as_string(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > 2**53 - 1:
        return str(value)
    if isinstance(value, dict):
        return {k: big_as_string(v) for k, v in value.items()}
    if isinstance(value, list):
        return [big_as_string(v) for v in value]
    return value


def test_a_store_out_of_position_order_is_read_in_position_order() -> None:
    events = [
        {
            "position": p,
            "event_id": f"e{p}",
            "stream": "s",
            "version": p,
            "type": "T",
            "time": None,
            "data": "{}",
            "meta": None,
        }
        for p in (2, 1, 3)
    ]
    store = store_with(events)
    in_order = store_with(sorted(events, key=lambda e: e["position"]))
    assert hashes_of(store) == hashes_of(in_order)


def test_the_readme_publishes_the_vectors() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for _, text in VECTORS:
        assert text in readme
        digest = hashlib.sha256(b"\x00" + text.encode()).hexdigest()
        assert f"leaf hash {digest}" in readme


def test_an_event_stored_last_but_placed_first_is_hashed_first() -> None:
    """The natural order breaks only after the first batches: still one pass in position order."""
    store = tracer.open()
    insert = """INSERT INTO events (position, event_id, stream, version, type, data)
                SELECT range, 'e' || range, 's', range, 'T', '{"n": 1}' FROM range(?, ?)"""
    store.con.execute(insert, [2, 20_001])
    store.con.execute(insert, [1, 2])
    hashes = hashes_of(store)
    sorted_store = tracer.open()
    sorted_store.con.execute(insert, [1, 20_001])
    assert len(hashes) == 20_000 and hashes == hashes_of(sorted_store)
