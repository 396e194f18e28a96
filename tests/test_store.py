"""The Store API notebooks and the CLI use: filters, streams, one event, summaries, raw SQL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import tracer
from tracer.errors import TracerError

ROWS = [
    # stream, type, minute, data, meta
    ("account-1", "Opened", 0, {"owner": "ann"}, {"user": "alice"}),
    ("account-1", "Deposited", 1, {"amount": 50, "note": "salary march"}, {"user": "alice"}),
    ("account-2", "Opened", 2, {"owner": "bob"}, {"user": "bob"}),
    ("account-1", "Withdrawn", 3, {"amount": 150, "note": "rent"}, {"user": "alice"}),
    ("order-9", "Placed", 4, {"amount": 101.5, "vip": True}, {"user": "carol"}),
    ("account-2", "Deposited", 5, {"amount": 100}, {"user": "bob"}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tracer.Store:
    path = tmp_path_factory.mktemp("store") / "events.jsonl"
    lines = [
        json.dumps(
            {"stream": s, "type": t, "time": f"2026-01-01T10:0{m}:00Z", "data": d, "meta": me}
        )
        for s, t, m, d, me in ROWS
    ]
    path.write_text("\n".join(lines) + "\nnot json\n")
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (6, 1)
    return store


def positions(frame: pd.DataFrame) -> list[int]:
    return frame["position"].tolist()


def test_events_all_in_order(store: tracer.Store) -> None:
    frame = store.events()
    assert positions(frame) == [1, 2, 3, 4, 5, 6]
    assert list(frame.columns[:6]) == [
        "position",
        "event_id",
        "stream",
        "category",
        "version",
        "type",
    ]
    assert positions(store.events(descending=True, limit=2)) == [6, 5]
    assert positions(store.events(limit=2, offset=1)) == [2, 3]


def test_events_by_stream_category_and_type(store: tracer.Store) -> None:
    assert positions(store.events("account-1")) == [1, 2, 4]
    assert store.events("account-1")["version"].tolist() == [1, 2, 3]
    assert positions(store.events(category="account")) == [1, 2, 3, 4, 6]
    assert positions(store.events(type="Opened")) == [1, 3]
    assert positions(store.events(type=["Deposited", "Withdrawn"])) == [2, 4, 6]
    assert positions(store.events("account-2", type="Deposited")) == [6]
    assert store.events("nope").empty


def test_events_by_time_and_position(store: tracer.Store) -> None:
    assert positions(store.events(since="2026-01-01T10:02:00Z", until="2026-01-01T10:04:00Z")) == [
        3,
        4,
        5,
    ]
    assert positions(store.events(since="2026-01-01T11:02:00+01:00")) == [3, 4, 5, 6]
    assert positions(store.events(start=2, end=4)) == [2, 3, 4]
    assert positions(store.events(start=5)) == [5, 6]
    assert store.count_events(category="account", start=3) == 3


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("data.amount > 100", [4, 5]),
        ("data.amount >= 100", [4, 5, 6]),
        ("data.amount == 50", [2]),
        ('meta.user = "alice"', [1, 2, 4]),
        ("meta.user != 'alice'", [3, 5, 6]),
        ('data.note ~ "sal"', [2]),
        ("data.vip = true", [5]),
        ("data.owner = bob", [3]),
        ("type = 'Opened' AND stream LIKE 'account-%'", [1, 3]),  # any SQL over the columns
        ("json_extract(data, '$.amount')::DOUBLE BETWEEN 60 AND 120", [5, 6]),
    ],
)
def test_events_where(store: tracer.Store, where: str, expected: list[int]) -> None:
    assert positions(store.events(where=where)) == expected


def test_bad_where_is_one_clear_error(store: tracer.Store) -> None:
    with pytest.raises(TracerError, match="bad filter") as info:
        store.events(where="nosuch_column > 1")
    assert "\n" not in str(info.value)


def test_streams(store: tracer.Store) -> None:
    frame = store.streams()
    assert frame["stream"].tolist() == ["account-1", "account-2", "order-9"]  # by first position
    first = frame.iloc[0]
    assert (
        first["category"],
        first["events"],
        first["first_position"],
        first["last_position"],
        first["last_version"],
    ) == (
        "account",
        3,
        1,
        4,
        3,
    )
    assert store.streams(category="order")["stream"].tolist() == ["order-9"]
    assert store.streams(like="2")["stream"].tolist() == ["account-2"]


def test_event_decodes_data_and_meta(store: tracer.Store) -> None:
    event = store.event(2)
    assert event is not None
    assert event["data"] == {"amount": 50, "note": "salary march"}
    assert event["meta"] == {"user": "alice"}
    assert (event["stream"], event["version"], event["type"], event["source_row"]) == (
        "account-1",
        2,
        "Deposited",
        2,
    )
    assert event["time"].isoformat() == "2026-01-01T10:01:00+00:00"
    assert store.event(99) is None


def test_info(store: tracer.Store) -> None:
    info = store.info()
    assert {
        k: info[k] for k in ("events", "streams", "categories", "types", "rejected", "loads")
    } == {
        "events": 6,
        "streams": 3,
        "categories": 2,
        "types": 4,
        "rejected": 1,
        "loads": 1,
    }
    assert info["first_time"] == "2026-01-01T10:00:00+00:00"
    assert info["last_time"] == "2026-01-01T10:05:00+00:00"
    assert info["path"] == ":memory:"


def test_rejected_and_loads(store: tracer.Store) -> None:
    rejected = store.rejected()
    assert rejected[["source_row", "raw", "reason"]].values.tolist() == [
        [7, "not json", "invalid JSON"]
    ]
    assert store.rejected(load_id=1).shape[0] == 1
    assert store.rejected(load_id=2).empty
    loads = store.loads()
    assert loads[["rows_read", "loaded", "rejected", "duplicates"]].values.tolist() == [
        [7, 6, 1, 0]
    ]


def test_sql(store: tracer.Store) -> None:
    frame = store.sql(
        "SELECT stream, count(*) AS n FROM events GROUP BY stream ORDER BY n DESC, stream"
    )
    assert frame.values.tolist() == [["account-1", 3], ["account-2", 2], ["order-9", 1]]
    assert store.sql("SELECT ? + 1 AS x", [41])["x"][0] == 42


def test_file_store_persists(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    path = tmp_path / "a.jsonl"
    path.write_text('{"stream": "s-1", "type": "T"}\n')
    with tracer.open(db) as store:
        store.load(path)
    with tracer.open(db, read_only=True) as store:
        assert store.count() == 1 and store.max_position() == 1
    with pytest.raises(TracerError, match="no store at"):
        tracer.open(tmp_path / "missing.duckdb", read_only=True)


def test_a_large_log_gets_a_stream_index_on_first_need_and_a_small_one_does_not(
    tmp_path, monkeypatch
):
    import tracer.store as store_module
    from tracer.synthetic import fill_store

    path = tmp_path / "big.duckdb"
    store = tracer.open(path)
    fill_store(store, 2_000, 50)
    assert store.ensure_stream_index() is False  # below the threshold: scans are fast enough
    monkeypatch.setattr(store_module, "STREAM_INDEX_MIN_EVENTS", 1_000)
    assert store.ensure_stream_index() is True
    indexes = store.sql("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'events'")
    assert list(indexes["index_name"]) == ["events_stream"]
    before = store.events("account-7")
    store.close()

    reopened = tracer.open(path, read_only=True)
    assert reopened.ensure_stream_index() is True
    assert reopened.events("account-7").equals(before)


def test_a_store_held_by_another_process_is_named_with_that_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "held.duckdb"
    tracer.open(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
            "print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(TracerError, match=rf"in use by another process \(PID {holder.pid}\)"):
            tracer.open(path)
    finally:
        holder.communicate("")
