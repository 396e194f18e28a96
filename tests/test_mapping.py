"""Mapping source fields to canonical columns: the names event stores use are found on their
own; ``--map FIELD=SPEC`` takes a column, a dotted path into JSON, or a SQL expression."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import tracer
from tracer.cli import main
from tracer.errors import MappingError, TracerError
from tracer.load.mapping import parse_mapping

# The names the issue lists, field by field.
ALIASES = {
    "stream": [
        "stream",
        "streamId",
        "stream_id",
        "stream_name",
        "aggregate_id",
        "aggregateId",
        "originator_id",
    ],
    "version": [
        "version",
        "stream_version",
        "revision",
        "stream_position",
        "event_number",
        "sequence",
        "originator_version",
    ],
    "type": ["type", "event_type", "eventType", "message_type", "topic"],
    "time": ["time", "timestamp", "created", "created_at", "occurred_at", "recorded_at"],
    "data": ["data", "payload", "body", "state", "json_data"],
    "meta": ["meta", "metadata", "headers", "json_metadata"],
    "event_id": ["id", "event_id", "eventId", "message_id"],
    "position": ["position", "global_position", "seq_id", "notification_id", "commit_position"],
}
BASE = {"stream": "s-1", "type": "T"}
VALUES: dict[str, tuple[Any, str, Any]] = {
    # field: (value in the file, SQL over events, expected)
    "stream": ("account-7", "stream", "account-7"),
    "version": (7, "version", 7),
    "type": ("Deposited", "type", "Deposited"),
    "time": ("2026-03-04T10:17:05Z", "time::VARCHAR", "2026-03-04 10:17:05+00"),
    "data": ({"amount": 5}, "data::VARCHAR", '{"amount":5}'),
    "meta": ({"user": "ann"}, "meta::VARCHAR", '{"user":"ann"}'),
    "event_id": ("evt-1", "event_id", "evt-1"),
    "position": (1, "source_row", 1),
}


def one(store: tracer.Store, expr: str) -> Any:
    return store.con.execute(f"SELECT {expr} FROM events").fetchone()[0]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("field", "alias"), [(field, alias) for field, names in ALIASES.items() for alias in names]
)
def test_alias_is_detected(tmp_path: Path, field: str, alias: str) -> None:
    value, expr, expected = VALUES[field]
    record = {k: v for k, v in BASE.items() if k != field}
    record[alias] = value
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "a.jsonl", [record]))
    assert report.loaded == 1, report.reasons
    assert report.sources[0].mapping[field] == alias
    assert one(store, expr) == expected


@pytest.mark.parametrize("alias", ["correlation_id", "correlationId"])
def test_correlation_and_causation_columns(tmp_path: Path, alias: str) -> None:
    record = {**BASE, alias: "c-1", alias.replace("correlation", "causation"): "k-1"}
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "a.jsonl", [record]))
    assert (one(store, "correlation_id"), one(store, "causation_id")) == ("c-1", "k-1")


@pytest.mark.parametrize(
    "record",
    [
        # EventStoreDB's JSON of a resolved event
        {
            "eventId": "e-1",
            "eventStreamId": "order-1",
            "eventNumber": 0,
            "eventType": "Placed",
            "created": "2026-01-01T00:00:00Z",
            "data": {"n": 1},
            "metadata": {"correlationId": "c"},
        },
        # Axon's domain event entry
        {
            "eventIdentifier": "e-1",
            "aggregateIdentifier": "order-1",
            "sequenceNumber": 0,
            "payloadType": "Placed",
            "timeStamp": "2026-01-01T00:00:00Z",
            "payload": {"n": 1},
            "metaData": {"correlationId": "c"},
        },
    ],
)
def test_event_store_exports(tmp_path: Path, record: dict[str, Any]) -> None:
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "a.jsonl", [record]))
    assert report.loaded == 1, report.sources[0].mapping
    event = store.event(1)
    assert event is not None
    assert (event["event_id"], event["stream"], event["version"], event["type"]) == (
        "e-1",
        "order-1",
        0,
        "Placed",
    )
    assert (event["data"], event["correlation_id"]) == ({"n": 1}, "c")
    assert event["time"].isoformat() == "2026-01-01T00:00:00+00:00"


def test_aliases_in_csv_are_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("StreamId,EventType,OccurredAt,Amount\norder-1,Placed,2026-01-01T00:00:00Z,3\n")
    store = tracer.open()
    report = store.load(path)
    assert report.sources[0].mapping == {
        "stream": "StreamId",
        "type": "EventType",
        "time": "OccurredAt",
    }
    assert one(store, "data::VARCHAR") == '{"Amount":3}'


# -- --map ---------------------------------------------------------------------------------------
def test_map_a_column(tmp_path: Path) -> None:
    rows = [{"order_id": "o-1", "kind": "Placed", "seq": 4, "stream": "not this one"}]
    store = tracer.open()
    report = store.load(
        write_jsonl(tmp_path / "a.jsonl", rows),
        mapping=["stream=order_id", "type=kind", "version=seq"],
    )
    assert report.loaded == 1
    assert (one(store, "stream"), one(store, "type"), one(store, "version")) == ("o-1", "Placed", 4)
    assert report.sources[0].mapping["stream"] == "order_id"


def test_map_a_dict_in_the_python_api(tmp_path: Path) -> None:
    store = tracer.open()
    store.load(
        write_jsonl(tmp_path / "a.jsonl", [{"k": "s-1", "t": "T"}]),
        mapping={"stream": "k", "type": "t"},
    )
    assert (one(store, "stream"), one(store, "type")) == ("s-1", "T")


def test_map_a_dotted_json_path(tmp_path: Path) -> None:
    """``state.timestamp._data_``: the eventsourcing library's time inside its JSON state."""
    path = tmp_path / "es.sqlite"
    state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-02T03:04:05+00:00"},
        "who": {"name": "ann"},
    }
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (aggregate TEXT, kind TEXT, state BLOB)")
        db.execute("INSERT INTO t VALUES ('a-1', 'Opened', ?)", [json.dumps(state).encode()])
        db.commit()
    store = tracer.open()
    report = store.load(
        path,
        mapping=[
            "stream=aggregate",
            "type=kind",
            "time=state.timestamp._data_",
            "correlation_id=state.who.name",
        ],
    )
    assert report.loaded == 1, report.reasons
    assert one(store, "time::VARCHAR") == "2026-01-02 03:04:05+00"
    assert one(store, "correlation_id") == "ann"
    assert json.loads(one(store, "data")) == state


def test_map_a_path_into_a_json_lines_object(tmp_path: Path) -> None:
    rows = [{"envelope": {"stream": "s-9", "kind": "Paid", "items": [{"sku": "x"}]}, "data": {}}]
    store = tracer.open()
    store.load(
        write_jsonl(tmp_path / "a.jsonl", rows),
        mapping=["stream=envelope.stream", "type=envelope.kind", "event_id=envelope.items[0].sku"],
    )
    assert (one(store, "stream"), one(store, "type"), one(store, "event_id")) == (
        "s-9",
        "Paid",
        "x",
    )


def test_map_a_sql_expression(tmp_path: Path) -> None:
    rows = [
        {"stream": "s-1", "topic": "bank.accounts.Deposited"},
        {"stream": "s-1", "topic": "bank.accounts.Opened"},
    ]
    store = tracer.open()
    store.load(
        write_jsonl(tmp_path / "a.jsonl", rows),
        mapping=[r"type=regexp_extract(topic, '\.(\w+)$', 1)"],
    )
    assert [
        r[0] for r in store.con.execute("SELECT type FROM events ORDER BY position").fetchall()
    ] == [
        "Deposited",
        "Opened",
    ]


def test_map_wins_over_auto_detection_and_presets() -> None:
    sample = Path(__file__).resolve().parent.parent / "sample_logs" / "eventstore.sqlite"
    store = tracer.open()
    report = store.load(sample, table="stored_events", mapping=["type=topic"])
    assert report.sources[0].mapping["type"] == "topic"
    assert one(store, "min(type)").count(":") == 1  # the whole topic, module:Class.Event


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["stream"], "expected FIELD=SPEC"),
        (["colour=red"], "unknown field 'colour'"),
        (["stream="], "SPEC after '=' is empty"),
        (["stream=  "], "SPEC after '=' is empty"),
    ],
)
def test_malformed_map(tmp_path: Path, items: list[str], message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(items)
    path = write_jsonl(tmp_path / "a.jsonl", [BASE])
    with pytest.raises(MappingError, match=message):
        tracer.open().load(path, mapping=items)


def test_map_sql_that_does_not_bind(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [BASE])
    with pytest.raises(MappingError, match=r"--map stream=nosuch \|\| 'x'") as info:
        tracer.open().load(path, mapping=["stream=nosuch || 'x'"])
    assert "\n" not in str(info.value)
    # the columns there are, not the binder's wording
    assert "no such column or expression (columns: " in str(info.value)
    assert "Binder" not in str(info.value)
    with pytest.raises(MappingError, match="--map type="):
        tracer.open().load(path, mapping=["type=lower("])


def test_no_stream_column_says_what_to_do(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"what": "x", "type": "T"}])
    with pytest.raises(
        TracerError, match=r"no column for stream.*columns: what, type.*--map stream="
    ):
        tracer.open().load(path)


@pytest.mark.parametrize(
    "args",
    [
        ["--map", "stream"],
        ["--map", "colour=red"],
        ["--map", "stream="],
        ["--map", "stream=nosuch || 'x'"],
    ],
)
def test_malformed_map_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [BASE])
    db = tmp_path / "t.duckdb"
    assert main(["load", str(path), "--db", str(db), *args]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_a_malformed_value_under_a_json_path_rejects_its_row_only(tmp_path: Path) -> None:
    """The eventsourcing layout takes the time from ``state.timestamp._data_``: a corrupt state
    rejects that row, the others load."""
    path = tmp_path / "es.sqlite"
    good = json.dumps(
        {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-02T03:04:05+00:00"}}
    )
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE stored_events (originator_id, originator_version, topic, state)")
        db.executemany(
            "INSERT INTO stored_events VALUES (?, ?, ?, ?)",
            [
                ("a", 1, "m:A.Created", good.encode()),
                ("a", 2, "m:A.Changed", b"\x00corrupt"),
                ("a", 3, "m:A.Changed", good),
            ],
        )
        db.commit()
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (2, 1)
    assert store.rejected()[["source_row", "reason"]].values.tolist() == [
        [2, "data is not valid JSON"]
    ]
