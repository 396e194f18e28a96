"""``tracer schema``: the payload shapes of each event type, exact counts and first and last
events (a hypothesis property over random nested payloads), and, with a projection, which shapes
its handlers cannot take."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from samples import ACCOUNT, BALANCES, BANK

import tracer
from tracer.cli import main
from tracer.shapes import payload_shapes, shape_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def bank_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("schema") / "bank.duckdb"
    with tracer.open(path) as store:
        store.load(str(BANK))
    return str(path)


def test_bank_shapes_as_json(capsys, bank_db):
    code, out, _ = run(capsys, "schema", "--db", bank_db, "--json")
    assert code == 0
    doc = json.loads(out)
    assert [d["type"] for d in doc] == [
        "AccountClosed",
        "AccountOpened",
        "Deposited",
        "TransferReceived",
        "TransferSent",
        "Withdrawn",
    ]
    withdrawn = doc[-1]
    assert list(withdrawn) == [
        "type",
        "shape",
        "count",
        "first_position",
        "last_position",
        "first_time",
        "last_time",
    ]
    assert withdrawn["shape"] == {"amount": "integer", "channel": "string", "request_id": "string"}
    assert (withdrawn["count"], withdrawn["first_position"], withdrawn["last_position"]) == (
        780,
        19,
        1929,
    )
    assert withdrawn["first_time"] == "2026-01-09T00:49:04.405000+00:00"
    assert doc[0]["shape"] == {"": "object"}  # AccountClosed carries an empty object
    code, out, _ = run(capsys, "schema", "--db", bank_db, "--json", "--type", "Deposited")
    assert [d["type"] for d in json.loads(out)] == ["Deposited"]


def test_bank_table_and_projection(capsys, bank_db):
    code, out, _ = run(capsys, "schema", "--db", bank_db)
    assert code == 0 and "6 shape(s) of 6 event type(s)" in out
    lines = [line.split() for line in out.splitlines()]
    at = next(i for i, words in enumerate(lines) if words[:1] == ["Withdrawn"])
    assert lines[at][:6] == ["Withdrawn", "amount:", "integer", "780", "19–1929", "2026-01-09"]
    assert lines[at + 1][:2] == ["channel:", "string"]
    assert lines[at + 2][:2] == ["request_id:", "string"]
    code, out, _ = run(capsys, "schema", "--db", bank_db, "-p", BALANCES, "--strict")
    assert code == 0 and "all handled" in out
    code, out, _ = run(capsys, "schema", "--db", bank_db, "-p", ACCOUNT, "--json")
    doc = {d["type"]: d["projection"] for d in json.loads(out)}
    assert doc["Withdrawn"] == {
        "handled_as": "Withdrawn",
        "handler": "withdrawn",
        "status": "handled",
        "missing": [],
        "optional": [],
        "error": None,
        "upcast_shape": {"amount": "integer", "channel": "string", "request_id": "string"},
    }


def test_bad_input_is_one_line_and_exit_2(capsys, bank_db):
    code, _, err = run(capsys, "schema", "--db", bank_db, "--strict")
    assert code == 2 and "needs --projection" in err
    code, _, err = run(capsys, "schema", "--db", bank_db, "--type", "Nope")
    assert (code, err.strip()) == (2, "error: no event of type 'Nope' in the store")


# -- a drifting order log: upcasters, renamed fields, nested payloads ----------------------
ORDERS = """
from tracer import Projection, on, upcaster


class Orders(Projection):
    def initial(self):
        return {"total": 0, "items": 0}

    @upcaster("OrderPlaced", version=1)
    def euros(self, data):
        return {**data, "amount": data["amount_cents"] / 100}

    @on("OrderPlaced")
    def placed(self, state, event):
        state["total"] += event.data["amount"]
        state["customer"] = event.data["customer"]["name"]
        for item in event.data.get("items", []):
            state["items"] += item["qty"]

    @on("OrderShipped")
    def shipped(self, state, event):
        state["carrier"] = event.data["carrier"]
"""

DRIFT = [
    ("order-1", "OrderPlaced", {"amount_cents": 1250, "customer": {"name": "Ada"}}),
    ("order-2", "OrderPlaced", {"customer": {"name": "Bo"}, "amount_cents": 990}),
    ("order-1", "OrderShipped", {"carrier": "ups"}),
    (
        "order-3",
        "OrderPlaced",
        {
            "schema_version": 2,
            "amount": 12.5,
            "customer": {"name": "Cy"},
            "items": [{"sku": "a", "qty": 2}],
        },
    ),
    ("order-3", "OrderShipped", {"shipper": "dhl"}),
    ("order-4", "OrderPlaced", {"schema_version": 2, "amount": 7, "customer": "Di"}),
    ("order-5", "OrderShipped", {"carrier": "ups", "labels": {"a.b": True}, "notes": []}),
]


@pytest.fixture
def drift(tmp_path) -> tuple[str, str]:
    source = tmp_path / "orders.jsonl"
    source.write_text(
        "".join(
            orjson.dumps(
                {"stream": s, "type": t, "time": f"2026-01-0{i + 1}T00:00:00Z", "data": d}
            ).decode()
            + "\n"
            for i, (s, t, d) in enumerate(DRIFT)
        )
    )
    db = str(tmp_path / "orders.duckdb")
    with tracer.open(db) as store:
        store.load(str(source))
    projection = tmp_path / "orders.py"
    projection.write_text(ORDERS)
    return db, f"{projection}:Orders"


def test_key_order_is_one_shape_nested_paths_and_counts(drift):
    db, _ = drift
    with tracer.open(db) as store:
        frame = payload_shapes(store)
    rows = [
        (r.type, r.shape, r.count, r.first_position, r.last_position) for r in frame.itertuples()
    ]
    assert rows == [
        ("OrderPlaced", {"amount_cents": "integer", "customer.name": "string"}, 2, 1, 2),
        (
            "OrderPlaced",
            {
                "schema_version": "integer",
                "amount": "number",
                "customer.name": "string",
                "items[].sku": "string",
                "items[].qty": "integer",
            },
            1,
            4,
            4,
        ),
        (
            "OrderPlaced",
            {"schema_version": "integer", "amount": "integer", "customer": "string"},
            1,
            6,
            6,
        ),
        ("OrderShipped", {"carrier": "string"}, 1, 3, 3),
        ("OrderShipped", {"shipper": "string"}, 1, 5, 5),
        (
            "OrderShipped",
            {"carrier": "string", 'labels["a.b"]': "boolean", "notes": "array"},
            1,
            7,
            7,
        ),
    ]
    assert frame["last_time"].iloc[0] == datetime(2026, 1, 2, tzinfo=UTC)


def test_projection_shows_the_shapes_a_handler_cannot_take_and_strict_exits_1(capsys, drift):
    db, projection = drift
    code, out, _ = run(capsys, "schema", "--db", db, "-p", projection, "--json")
    assert code == 0
    found = [(d["first_position"], d["projection"]) for d in json.loads(out)]
    by_position = dict(found)
    assert by_position[1]["status"] == "handled"
    assert by_position[1]["upcast_shape"] == {
        "amount_cents": "integer",
        "customer.name": "string",
        "amount": "number",
    }
    assert by_position[1]["optional"] == ["items"]
    assert by_position[4]["status"] == "handled" and by_position[4]["optional"] == []
    assert by_position[6]["status"] == "fails"
    assert "TypeError" in by_position[6]["error"] and "handler placed" in by_position[6]["error"]
    assert by_position[5]["status"] == "missing" and by_position[5]["missing"] == ["carrier"]
    assert by_position[7]["status"] == "handled"
    code, out, _ = run(capsys, "schema", "--db", db, "-p", projection, "--strict")
    assert code == 1
    assert "2 its handler cannot take" in out and "shipped lacks carrier" in out


# -- the property: exact shapes, counts and first and last events -------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
)
keys = st.sampled_from(["a", "b", "A", "a.b", "", "x y", "items"])
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
payloads = st.one_of(st.dictionaries(keys, values, max_size=4), values)
logs = st.lists(st.tuples(st.sampled_from(["T1", "T2"]), payloads), min_size=1, max_size=30)


def make_store(log: list[tuple[str, Any]]) -> tracer.Store:
    store = tracer.open()
    rows = [
        (position, f"ev-{position}", "s-1", "s", position, event_type,
         T0 + timedelta(seconds=position), orjson.dumps(data).decode(), "{}",
         None, None, "test", position, 1)
        for position, (event_type, data) in enumerate(log, start=1)
    ]  # fmt: skip
    store.con.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    return store


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs)
def test_shapes_counts_and_first_and_last_events_are_exact(log):
    expected: dict[tuple[str, tuple], list[int]] = {}
    for position, (event_type, data) in enumerate(log, start=1):
        key = (event_type, tuple(sorted(shape_of(data).items())))
        expected.setdefault(key, []).append(position)
    frame = payload_shapes(make_store(log))
    found = {
        (r.type, tuple(sorted(r.shape.items()))): (
            r.count,
            r.first_position,
            r.last_position,
            r.first_time,
            r.last_time,
        )
        for r in frame.itertuples()
    }
    assert found == {
        key: (
            len(positions),
            positions[0],
            positions[-1],
            T0 + timedelta(seconds=positions[0]),
            T0 + timedelta(seconds=positions[-1]),
        )
        for key, positions in expected.items()
    }
    assert len(frame) == len(found)  # (no shape listed twice)


def test_the_command_is_documented():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "tracer schema" in readme and "tracer compare" in readme


def test_the_table_shows_twenty_shapes_a_type_and_counts_the_rest(capsys, tmp_path):
    db = str(tmp_path / "many.duckdb")
    with tracer.open(db) as store:
        source = tmp_path / "many.jsonl"
        source.write_text(
            "".join(f'{{"stream": "s", "type": "M", "data": {{"k{i}": 1}}}}\n' for i in range(30))
        )
        store.load(str(source))
    code, out, _ = run(capsys, "schema", "--db", db)
    assert code == 0
    assert sum(": integer" in line for line in out.splitlines()) == 20
    assert "… 10 more (--json lists all)" in out
    code, out, _ = run(capsys, "schema", "--db", db, "--json")
    assert len(json.loads(out)) == 30
