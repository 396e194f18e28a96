"""Columns that hold objects where a canonical field wants one value: the obvious member is
taken (a commit position, a single member, seconds and nanoseconds), or the load stops before it
starts with one line naming the ``--map`` that would work, and the store stays as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tracer
from tracer.cli import main
from tracer.errors import MappingError


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def events(store: tracer.Store) -> list[dict[str, Any]]:
    rows = store.con.execute(
        """SELECT stream, type, event_id, version, strftime(time, '%Y-%m-%dT%H:%M:%S.%f')
           FROM events ORDER BY position"""
    ).fetchall()
    keys = ("stream", "type", "event_id", "version", "time")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def test_a_single_member_object_gives_its_member(tmp_path: Path) -> None:
    rows = [
        {"stream": {"value": "cart-1"}, "type": {"name": "Added"}, "id": {"uuid": f"u{n}"},
         "data": {"n": n}}
        for n in range(2)
    ]  # fmt: skip
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    assert (report.loaded, report.rejected) == (2, 0)
    assert [(e["stream"], e["type"], e["event_id"]) for e in events(store)] == [
        ("cart-1", "Added", "u0"),
        ("cart-1", "Added", "u1"),
    ]


def test_objects_with_no_obvious_member_stop_before_loading_with_the_map_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.duckdb")
    good = write_jsonl(tmp_path / "good.jsonl", [{"stream": "s-1", "type": "T", "data": {}}])
    assert run(capsys, "load", str(good), "--db", db)[0] == 0
    rows = [
        {"stream": {"tenant": "acme", "key": f"cart-{n}"}, "type": "Added", "data": {"n": n}}
        for n in range(5000)
    ]
    log = write_jsonl(tmp_path / "objects.jsonl", rows)
    code, out, err = run(capsys, "load", str(log), "--db", db)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "stream holds objects {tenant, key}" in err
    assert "use --map stream=stream.tenant" in err
    with tracer.open(db) as store:  # the store is as it was: one event, one load, no rejections
        assert store.con.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        assert store.con.execute("SELECT count(*) FROM loads").fetchone()[0] == 1
        assert store.con.execute("SELECT count(*) FROM rejected").fetchone()[0] == 0

    code, out, err = run(capsys, "load", str(log), "--db", db, "--map", "stream=stream.key")
    assert code == 0, err
    assert "5,000 loaded" in out


def test_a_column_of_arrays_names_the_first_element(tmp_path: Path) -> None:
    rows = [{"stream": ["s-1", "x"], "type": "T", "data": {}}]
    store = tracer.open()
    with pytest.raises(MappingError, match=r"use --map stream=stream\[0\]"):
        store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    assert store.con.execute("SELECT count(*) FROM loads").fetchone()[0] == 0


def test_a_struct_column_in_parquet_gives_its_commit_member(tmp_path: Path) -> None:
    table = pa.table(
        {
            "eventId": ["a", "b", "c"],
            "eventType": ["T", "T", "T"],
            "streamId": ["s-1", "s-1", "s-1"],
            "eventNumber": [2, 0, 1],
            "position": [
                {"commit": 30, "prepare": 30},
                {"commit": 20, "prepare": 11},
                {"commit": 20, "prepare": 12},
            ],
        }
    )
    path = tmp_path / "all.parquet"
    pq.write_table(table, path)
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (3, 0)
    assert [e["version"] for e in events(store)] == [0, 1, 2]


def test_a_time_split_into_seconds_and_nanoseconds(tmp_path: Path) -> None:
    rows = [
        {"stream": "s-1", "type": "T", "time": {"seconds": 1772445600, "nanos": 123456789}},
        {"stream": "s-1", "type": "T", "time": {"epochSecond": 1772445601, "nano": 5000}},
    ]
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    assert (report.loaded, report.rejected) == (2, 0)
    assert [e["time"] for e in events(store)] == [
        "2026-03-02T10:00:00.123456",
        "2026-03-02T10:00:01.000005",
    ]


def test_nested_objects_name_the_path_to_a_value(tmp_path: Path) -> None:
    rows = [{"stream": {"ref": {"tenant": "acme", "id": "c-1"}, "at": {"x": 1}}, "type": "T"}]
    store = tracer.open()
    with pytest.raises(MappingError, match=r"use --map stream=stream\.ref\.tenant;"):
        store.load(write_jsonl(tmp_path / "a.jsonl", rows))
    report = store.load(tmp_path / "a.jsonl", mapping=["stream=stream.ref.id"])
    assert report.loaded == 1
    assert events(store)[0]["stream"] == "c-1"
