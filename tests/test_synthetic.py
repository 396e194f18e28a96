"""The synthetic log generator: deterministic, well-formed, the same events in files and stores."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

import tracer
from tracer import synthetic
from tracer.errors import TracerError

EVENTS, STREAMS = 10_000, 300


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.write_jsonl(
        tmp_path_factory.mktemp("syn") / "bank.jsonl", EVENTS, STREAMS, seed=7
    )


@pytest.fixture(scope="module")
def events(jsonl: Path) -> list[dict]:
    with jsonl.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_same_seed_same_bytes_other_seed_other_bytes(jsonl: Path, tmp_path: Path) -> None:
    again = synthetic.write_jsonl(tmp_path / "again.jsonl", EVENTS, STREAMS, seed=7)
    other = synthetic.write_jsonl(tmp_path / "other.jsonl", EVENTS, STREAMS, seed=8)
    assert again.read_bytes() == jsonl.read_bytes()
    assert other.read_bytes() != jsonl.read_bytes()


def test_envelope_counts_and_ids(events: list[dict]) -> None:
    assert len(events) == EVENTS
    assert all(
        list(e) == ["id", "stream", "version", "type", "time", "data", "meta"] for e in events
    )
    assert len({e["id"] for e in events}) == EVENTS
    assert {e["stream"] for e in events} == {f"account-{i}" for i in range(1, STREAMS + 1)}
    types = {e["type"] for e in events}
    assert types == {"AccountOpened", "Deposited", "Withdrawn", "TransferSent"}


def test_streams_open_first_and_versions_are_gapless(events: list[dict]) -> None:
    assert [e["stream"] for e in events[:STREAMS]] == [
        f"account-{i}" for i in range(1, STREAMS + 1)
    ]
    last: dict[str, int] = defaultdict(int)
    for e in events:
        assert e["version"] == last[e["stream"]] + 1
        assert (e["type"] == "AccountOpened") == (e["version"] == 1)
        last[e["stream"]] = e["version"]


def test_times_increase_and_amounts_are_integers(events: list[dict]) -> None:
    times = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in events]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert times[0].isoformat() == "2026-01-01T00:00:00+00:00"
    moves = [e for e in events if e["type"] != "AccountOpened"]
    assert all(type(e["data"]["amount"]) is int and e["data"]["amount"] > 0 for e in moves)
    for e in events:
        if e["type"] == "TransferSent":
            assert e["data"]["to"].startswith("account-")
            assert e["meta"]["correlation_id"] == e["data"]["transfer_id"]


def test_fill_store_inserts_the_same_events(events: list[dict]) -> None:
    store = tracer.open()
    assert synthetic.fill_store(store, EVENTS, STREAMS, seed=7) == EVENTS
    cursor = store.con.execute("SELECT * FROM events ORDER BY position")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    assert [r["position"] for r in rows] == list(range(1, EVENTS + 1))
    for r, e in zip(rows, events, strict=True):
        assert (r["event_id"], r["stream"], r["version"], r["type"]) == (
            e["id"], e["stream"], e["version"], e["type"]
        )  # fmt: skip
        assert r["category"] == "account" and r["source"] == "synthetic"
        assert r["source_row"] == r["position"] and r["load_id"] == 1
        assert r["time"] == datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
        assert json.loads(r["data"]) == e["data"] and json.loads(r["meta"]) == e["meta"]
        assert r["correlation_id"] == e["meta"]["correlation_id"]
        assert r["causation_id"] == e["meta"]["causation_id"]
    assert store.loads()["loaded"].tolist() == [EVENTS]


def test_fill_store_refuses_a_store_with_events() -> None:
    store = tracer.open()
    synthetic.fill_store(store, 100, 10)
    with pytest.raises(TracerError, match="empty store"):
        synthetic.fill_store(store, 100, 10)
    assert store.count() == 100


@pytest.mark.parametrize(
    ("events", "streams", "seed"), [(10, 0, 0), (5, 10, 0), (10, 2, -1), (10.5, 2, 0)]
)
def test_bad_arguments_are_one_clear_error(
    tmp_path: Path, events: object, streams: int, seed: int
) -> None:
    with pytest.raises(TracerError, match="synthetic: "):
        synthetic.write_jsonl(tmp_path / "x.jsonl", events, streams, seed)  # type: ignore[arg-type]
    assert not (tmp_path / "x.jsonl").exists()


def test_csv_and_parquet_hold_the_same_events(jsonl: Path, tmp_path: Path) -> None:
    csv_path = synthetic.write(tmp_path / "bank.csv", EVENTS, STREAMS, seed=7)
    pq_path = synthetic.write(tmp_path / "bank.parquet", EVENTS, STREAMS, seed=7)
    con = duckdb.connect()
    columns = "id, stream, version, type, time, data::JSON::VARCHAR, meta::JSON::VARCHAR"
    reference = con.execute(
        f"""SELECT {columns} FROM read_json('{jsonl}', columns={{id: 'VARCHAR', stream: 'VARCHAR',
            version: 'BIGINT', type: 'VARCHAR', time: 'VARCHAR', data: 'JSON', meta: 'JSON'}})"""
    ).fetchall()
    csv_rows = con.execute(
        f"SELECT {columns} FROM read_csv('{csv_path}', all_varchar=true)"
    ).fetchall()
    pq_rows = con.execute(f"SELECT {columns} FROM read_parquet('{pq_path}')").fetchall()
    normalise = lambda rows: [(*r[:2], int(r[2]), *r[3:]) for r in rows]  # noqa: E731
    assert normalise(csv_rows) == normalise(pq_rows) == normalise(reference)
    assert len(reference) == EVENTS


def test_command_line_writes_the_format_of_the_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli.parquet"
    assert (
        synthetic.main(["--events", "500", "--streams", "20", "--seed", "3", "--out", str(out)])
        == 0
    )
    assert "500 events" in capsys.readouterr().out
    query = f"SELECT count(*), count(DISTINCT stream) FROM '{out}'"
    count, streams = duckdb.connect().execute(query).fetchone()
    assert (count, streams) == (500, 20)
    with pytest.raises(SystemExit) as exit_info:
        synthetic.main(["--events", "500", "--streams", "20", "--out", str(tmp_path / "x.xml")])
    assert exit_info.value.code == 2
    assert "cannot tell the format" in capsys.readouterr().err
