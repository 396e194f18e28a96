"""The canonical columns a load produces: positions, versions, ids, categories, times, payloads,
correlation and causation ids, and provenance down to the exact line."""

from __future__ import annotations

import json
import sqlite3
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import tracer
from tracer.replay import Replay
from tracer.replay.points import PointError


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def column(store: tracer.Store, expr: str) -> list[Any]:
    return [
        r[0] for r in store.con.execute(f"SELECT {expr} FROM events ORDER BY position").fetchall()
    ]


# -- positions, versions, ids --------------------------------------------------------------------
def test_positions_are_gapless_across_loads(tmp_path: Path) -> None:
    store = tracer.open()
    a = write_jsonl(
        tmp_path / "a.jsonl", [{"stream": "s-1", "type": "T", "data": {"i": i}} for i in range(3)]
    )
    b = write_jsonl(
        tmp_path / "b.jsonl",
        ["", {"stream": "s-2", "type": "T"}, "not json", {"stream": "s-2", "type": "U"}],
    )
    first = store.load(a)
    assert (first.first_position, first.last_position) == (1, 3)
    second = store.load(b)  # a rejected row and a blank line leave no hole
    assert (second.loaded, second.rejected, second.first_position, second.last_position) == (
        2,
        1,
        4,
        5,
    )
    store.load(a)  # all duplicates: nothing appended
    third = store.load(write_jsonl(tmp_path / "c.jsonl", [{"stream": "s-3", "type": "T"}]))
    assert column(store, "position") == [1, 2, 3, 4, 5, 6]
    assert third.first_position == 6


def test_positions_follow_a_mapped_position_column(tmp_path: Path) -> None:
    rows = [
        {"global_position": p, "stream": "s-1", "type": "T", "data": {"p": p}} for p in (30, 10, 20)
    ]
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    assert column(store, "position") == [1, 2, 3]
    assert column(store, "data->>'p'") == ["10", "20", "30"]
    assert column(store, "source_row") == [2, 3, 1]


def test_versions_derived_per_stream_and_continued(tmp_path: Path) -> None:
    store = tracer.open()
    rows = [
        {"stream": s, "type": "T", "data": {"i": i}}
        for i, s in enumerate(["a-1", "b-1", "a-1", "a-1"])
    ]
    store.load(write_jsonl(tmp_path / "one.jsonl", rows))
    assert column(store, "version") == [1, 1, 2, 3]
    more = [
        {"stream": s, "type": "T", "data": {"i": i}}
        for i, s in enumerate(["b-1", "a-1", "c-1"], 10)
    ]
    store.load(write_jsonl(tmp_path / "two.jsonl", more))
    assert column(store, "stream || ':' || version") == [
        "a-1:1",
        "b-1:1",
        "a-1:2",
        "a-1:3",
        "b-1:2",
        "a-1:4",
        "c-1:1",
    ]


def test_source_versions_are_kept(tmp_path: Path) -> None:
    rows = [{"stream": "a-1", "type": "T", "revision": v} for v in (0, 1, 5)]
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    assert column(store, "version") == [0, 1, 5]


def test_derived_event_ids_are_deterministic(tmp_path: Path) -> None:
    rows = [
        {
            "stream": "a-1",
            "type": "Deposited",
            "time": "2026-01-01T00:00:00Z",
            "data": {"amount": 5},
        },
        {
            "stream": "a-1",
            "type": "Deposited",
            "time": "2026-01-01T00:00:00Z",
            "data": {"amount": 5},
        },
        {"stream": "a-2", "type": "Deposited", "data": {"amount": 5}},
    ]
    path = write_jsonl(tmp_path / "a.jsonl", rows)
    one, two = tracer.open(), tracer.open()
    one.load(path)
    two.load(path)
    ids = column(one, "event_id")
    assert len(set(ids)) == 3  # two identical lines are two events
    assert column(two, "event_id") == ids
    again = one.load(path)
    assert (again.loaded, again.duplicates) == (0, 3)


# -- category --------------------------------------------------------------------------------------
def test_category_derived_from_the_stream(tmp_path: Path) -> None:
    streams = [
        "account-42",
        "order-2026-01",
        "singleton",
        "2f0e8a1c-6b1d-4c5e-9a51-0c8c2b7f5d10",
        "-x",
    ]
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "a.jsonl", [{"stream": s, "type": "T"} for s in streams]))
    assert column(store, "category") == ["account", "order", None, None, None]


def test_category_from_map(tmp_path: Path) -> None:
    rows = [
        {"stream": "42", "type": "T", "kind": "account"},
        {"stream": "account_9", "type": "T", "kind": "x"},
    ]
    path = write_jsonl(tmp_path / "a.jsonl", rows)
    store = tracer.open()
    store.load(path, mapping=["category=kind"])
    assert column(store, "category") == ["account", "x"]
    store = tracer.open()
    store.load(path, mapping=["category=split_part(stream, '_', 1)"])
    assert column(store, "category") == ["42", "account"]


# -- times ---------------------------------------------------------------------------------------
TEN_UTC = "2026-01-01 10:00:00+00"
EPOCH_S = 1767261600  # 2026-01-01T10:00:00Z


@pytest.mark.parametrize(
    ("value", "utc", "paris"),
    [
        ("2026-01-01T10:00:00Z", TEN_UTC, TEN_UTC),
        ("2026-01-01T10:00:00.250Z", "2026-01-01 10:00:00.25+00", "2026-01-01 10:00:00.25+00"),
        ("2026-01-01T12:00:00+02:00", TEN_UTC, TEN_UTC),
        ("2026-01-01T10:00:00", TEN_UTC, "2026-01-01 09:00:00+00"),
        ("2026-01-01 10:00:00", TEN_UTC, "2026-01-01 09:00:00+00"),
        ("2026-07-01T10:00:00", "2026-07-01 10:00:00+00", "2026-07-01 08:00:00+00"),
        (EPOCH_S, TEN_UTC, TEN_UTC),
        (EPOCH_S * 1000 + 5, "2026-01-01 10:00:00.005+00", "2026-01-01 10:00:00.005+00"),
        (EPOCH_S * 1_000_000 + 7, "2026-01-01 10:00:00.000007+00", "2026-01-01 10:00:00.000007+00"),
        (EPOCH_S * 1_000_000_000, TEN_UTC, TEN_UTC),
        (str(EPOCH_S), TEN_UTC, TEN_UTC),
        (str(EPOCH_S * 1000), TEN_UTC, TEN_UTC),
        (EPOCH_S + 0.5, "2026-01-01 10:00:00.5+00", "2026-01-01 10:00:00.5+00"),
    ],
)
def test_times(tmp_path: Path, value: Any, utc: str, paris: str) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"stream": "s-1", "type": "T", "time": value}])
    for tz, expected in ((None, utc), ("Europe/Paris", paris)):
        store = tracer.open()
        report = store.load(path, tz=tz)
        assert report.loaded == 1, report.reasons
        assert column(store, "time::VARCHAR") == [expected], tz


def test_times_as_numbers_in_parquet_and_csv(tmp_path: Path) -> None:
    import duckdb

    parquet = tmp_path / "a.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT 's-1' AS stream, 'T' AS type, {EPOCH_S * 1000}::BIGINT AS timestamp,
                 TIMESTAMP '2026-01-01 10:00:00' AS occurred_at) TO '{parquet}' (FORMAT parquet)"""
    )
    store = tracer.open()
    store.load(parquet)
    assert column(store, "time::VARCHAR") == [TEN_UTC]
    store = tracer.open()  # a naive TIMESTAMP column is in the load's time zone
    store.load(parquet, mapping=["time=occurred_at"], tz="Europe/Paris")
    assert column(store, "time::VARCHAR") == ["2026-01-01 09:00:00+00"]

    csv = tmp_path / "a.csv"
    csv.write_text(f"stream,type,created_at\ns-1,T,{EPOCH_S}\ns-1,T,2026-01-01T10:00:00Z\ns-1,T,\n")
    store = tracer.open()
    report = store.load(csv)
    assert (report.loaded, report.rejected) == (3, 0)
    assert column(store, "time::VARCHAR") == [TEN_UTC, TEN_UTC, None]


def test_the_time_zone_is_restored_after_a_load(tmp_path: Path) -> None:
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "a.jsonl", [{"stream": "s", "type": "T"}]), tz="Asia/Tokyo")
    assert store.sql("SELECT current_setting('TimeZone') AS tz")["tz"][0] == "UTC"


# -- payloads --------------------------------------------------------------------------------------
def test_payload_shapes(tmp_path: Path) -> None:
    payload = {"amount": 5, "tags": ["a"]}
    text = json.dumps(payload)
    rows = [
        {"stream": "s-1", "type": "T", "data": payload},
        {"stream": "s-1", "type": "T", "data": text},  # JSON text
        {"stream": "s-1", "type": "T", "payload": payload},  # another alias, through --map
        {"stream": "s-1", "type": "T", "data": [1, 2]},
        {"stream": "s-1", "type": "T", "data": "just words"},
        {"stream": "s-1", "type": "T", "data": None},
    ]
    store = tracer.open()
    report = store.load(
        write_jsonl(tmp_path / "a.jsonl", rows), mapping=["data=coalesce(data, payload)"]
    )
    assert report.loaded == 6, report.reasons
    assert [store.event(p)["data"] for p in range(1, 7)] == [
        payload,
        payload,
        payload,
        [1, 2],
        "just words",
        None,
    ]


def test_payload_bytes_in_sqlite(tmp_path: Path) -> None:
    payload = {"amount": 5, "note": "é"}
    raw = json.dumps(payload).encode()
    path = tmp_path / "events.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE events (stream TEXT, type TEXT, data BLOB, metadata BLOB)")
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            [
                ("s-1", "T", raw, b'{"correlationId": "c-1"}'),
                ("s-1", "T", zlib.compress(raw), None),
                ("s-1", "T", raw.decode(), None),
                ("s-1", "T", json.dumps(raw.decode()), None),  # double-encoded JSON text
            ],
        )
        db.commit()
    store = tracer.open()
    assert store.load(path).loaded == 4
    assert [store.event(p)["data"] for p in (1, 2, 3, 4)] == [payload] * 4
    assert store.event(1)["meta"] == {"correlationId": "c-1"}
    assert store.event(1)["correlation_id"] == "c-1"


def test_flat_rows_become_the_payload(tmp_path: Path) -> None:
    rows = [
        {"stream": "s-1", "type": "T", "amount": 5, "nested": {"k": 1, "z": None}, "nothing": None}
    ]
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    # (a JSON null is a value the record holds: it reads back, as every value does)
    assert store.event(1)["data"] == {"amount": 5, "nested": {"k": 1, "z": None}, "nothing": None}


# -- correlation and causation -------------------------------------------------------------------
def test_correlation_and_causation(tmp_path: Path) -> None:
    rows = [
        {"stream": "s-1", "type": "T", "meta": {"correlation_id": "c1", "causation_id": "k1"}},
        {"stream": "s-1", "type": "T", "meta": {"correlationId": "c2", "causationId": "k2"}},
        {"stream": "s-1", "type": "T", "meta": {"$correlationId": "c3", "$causationId": "k3"}},
        {"stream": "s-1", "type": "T", "meta": json.dumps({"correlation_id": "c4"})},
        {
            "stream": "s-1",
            "type": "T",
            "meta": {"correlation_id": "ignored"},
            "correlation_id": "c5",
            "causationId": "k5",
        },
        {"stream": "s-1", "type": "T", "meta": {"user": "ann"}},
    ]
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    assert column(store, "correlation_id") == ["c1", "c2", "c3", "c4", "c5", None]
    assert column(store, "causation_id") == ["k1", "k2", "k3", None, "k5", None]
    assert store.event(4)["meta"] == {"correlation_id": "c4"}


# -- provenance ----------------------------------------------------------------------------------
def test_source_row_is_the_line_after_blank_lines(tmp_path: Path) -> None:
    lines = [
        "",
        {"stream": "s-1", "type": "A"},
        "",
        "",
        {"stream": "s-1", "type": "B"},
        "{oops",
        {"stream": "s-1", "type": "C"},
    ]
    path = write_jsonl(tmp_path / "a.jsonl", lines)
    store = tracer.open()
    report = store.load(path)
    assert (report.rows_read, report.loaded, report.rejected) == (4, 3, 1)
    assert column(store, "type || '@' || source_row") == ["A@2", "B@5", "C@7"]
    assert set(column(store, "source")) == {str(path)}
    assert store.rejected()[["source_row", "raw"]].values.tolist() == [[6, "{oops"]]


def test_source_row_in_csv_after_blank_lines_multiline_values_and_bad_rows(tmp_path: Path) -> None:
    text = (
        "stream,type,note\n"  # 1
        "s-1,A,plain\n"  # 2
        "\n"  # 3
        's-1,B,"two\nlines"\n'  # 4-5
        "s-1,C,x,EXTRA\n"  # 6: one column too many
        "\n"  # 7
        "s-1,D,last\n"  # 8
    )
    path = tmp_path / "a.csv"
    path.write_text(text)
    store = tracer.open()
    report = store.load(path)
    assert (report.rows_read, report.loaded, report.rejected) == (4, 3, 1)
    assert column(store, "type || '@' || source_row") == ["A@2", "B@4", "D@8"]
    rejected = store.rejected()
    assert rejected[["source_row", "raw"]].values.tolist() == [[6, "s-1,C,x,EXTRA"]]
    assert rejected["reason"][0].startswith("malformed CSV row")
    assert store.event(2)["data"] == {"note": "two\nlines"}


def test_source_row_in_csv_after_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("stream,type,n\ns-1,A,1\ns-1,B,2,2\ns-1,C,3\ns-1\ns-1,D,4\n")
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (3, 2)
    assert column(store, "type || '@' || source_row") == ["A@2", "C@4", "D@6"]
    assert store.rejected()["source_row"].tolist() == [3, 5]


def test_gzip_source_rows_are_lines(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b'\n{"stream":"s","type":"A"}\n\n{"stream":"s","type":"B"}\n'))
    store = tracer.open()
    store.load(path)
    assert column(store, "source_row") == [2, 4]


@pytest.mark.parametrize("shape", ["jsonl", "jsonl-with-blank-line", "array"])
def test_keys_first_seen_after_the_sample_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    """Columns come from a sample of the first records; a canonical key that first appears
    later (metadata added in a newer version of the app) is not lost."""
    import tracer.sources.jsonfiles as files

    monkeypatch.setattr(files, "SAMPLE_ROWS", 2)
    rows: list[Any] = [{"stream": "s-1", "type": "T", "data": {"i": i}} for i in range(3)]
    rows.append(
        {
            "stream": "s-1",
            "type": "T",
            "data": {"i": 3},
            "metadata": {"correlationId": "c"},
            "causation_id": "k",
        }
    )
    if shape == "array":
        path = tmp_path / "a.json"
        path.write_text(json.dumps(rows))
    else:
        if shape == "jsonl-with-blank-line":
            rows.insert(1, "")
        path = write_jsonl(tmp_path / "a.jsonl", rows)
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rows_read) == (4, 4)
    last = store.event(4)
    assert last is not None
    assert (last["meta"], last["correlation_id"], last["causation_id"]) == (
        {"correlationId": "c"},
        "c",
        "k",
    )
    assert last["data"] == {"i": 3}
    assert last["source_row"] == (5 if shape == "jsonl-with-blank-line" else 4)


def test_keys_differing_only_in_case(tmp_path: Path) -> None:
    """DuckDB column names ignore case; a record with ``stream`` and ``Stream`` still loads."""
    rows = [
        {"stream": "s-1", "Stream": "other", "type": "T"},
        {"stream": "s-1", "type": "T", "ID": 7},
    ]
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    assert report.loaded == 2
    assert column(store, "stream") == ["s-1", "s-1"]
    assert store.event(1)["data"] == {"Stream": "other"}  # kept in the flat record's payload


def test_fields_beside_the_payload_are_kept_in_meta(tmp_path: Path) -> None:
    """A record's top-level keys that no canonical field takes are not lost: they go to meta."""
    path = write_jsonl(
        tmp_path / "extra.jsonl",
        [
            {"id": "e1", "stream": "a-1", "type": "T", "data": {"x": 1}, "tenant": "acme"},
            {
                "id": "e2",
                "stream": "a-1",
                "type": "T",
                "data": {"x": 2},
                "meta": {"user": "u"},
                "tenant": "acme",
            },
            {"id": "e3", "stream": "a-1", "type": "T", "data": {"x": 3}, "tenant": None},
        ],
    )
    store = tracer.open()
    store.load(str(path))
    metas = [None if m is None else json.loads(m) for m in column(store, "meta")]
    assert metas == [{"tenant": "acme"}, {"user": "u", "tenant": "acme"}, None]
    assert [json.loads(d) for d in column(store, "data")] == [{"x": 1}, {"x": 2}, {"x": 3}]


def test_fields_beside_the_payload_keep_their_json_types_in_meta(tmp_path: Path) -> None:
    """Numbers stay numbers and flags stay flags, also for a key missing from the first records."""
    rows: list[dict[str, Any]] = [
        {"stream": "a-1", "type": "T", "data": {}, "shard": i, "replayed": False}
        for i in range(1, 3)
    ]
    rows.append({"stream": "a-1", "type": "T", "data": {}, "shard": 2.5, "region": {"id": 7}})
    store = tracer.open()
    store.load(str(write_jsonl(tmp_path / "typed.jsonl", rows)))
    assert [json.loads(m) for m in column(store, "meta")] == [
        {"shard": 1, "replayed": False},
        {"shard": 2, "replayed": False},
        {"shard": 2.5, "region": {"id": 7}},
    ]


def test_versions_that_go_back_or_skip_numbers_are_reported(tmp_path: Path) -> None:
    """A lost or misordered event is loaded as it is, but the load says so, and a version that
    is not there is not silently taken for the one before it."""
    rows = [
        {"stream": "c-1", "version": 2, "type": "A", "data": {}},
        {"stream": "c-1", "version": 1, "type": "A", "data": {}},
        {"stream": "c-1", "version": 4, "type": "A", "data": {}},
        {"stream": "c-2", "version": 1, "type": "A", "data": {}},
        {"stream": "c-2", "version": 2, "type": "A", "data": {}},
    ]
    path = write_jsonl(tmp_path / "v.jsonl", rows)
    store = tracer.open()
    report = store.load(str(path))
    assert report.loaded == 5
    assert [w for w in report.warnings if "no time field" not in w] == [
        "versions go back in 1 stream(s), 1 time(s); "
        f"first: c-1 version 1 comes after version 2 at {path}:2",
        "versions skip numbers in 1 stream(s), 1 time(s); "
        f"first: c-1 version 4 follows version 1 at {path}:3",
    ]
    replay = Replay(store)
    with pytest.raises(PointError, match="no version 3: its versions run from 1 to 4 with gaps"):
        replay.state("c-1", "version:3")
    # A load with clean versions says nothing.
    clean = tracer.open()
    warnings = clean.load(str(write_jsonl(tmp_path / "ok.jsonl", rows[3:]))).warnings
    assert [w for w in warnings if "no time field" not in w] == []
