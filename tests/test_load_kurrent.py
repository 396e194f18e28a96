"""KurrentDB (EventStoreDB) dumps load with no ``--map``: every shape users dump ``$all`` in, its
0-based versions, 7-digit and tick times, commit/prepare order and system events; and the general
rule behind it: a column of objects gives its obvious member, or the load stops before it starts
with the ``--map`` that would work."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
KURRENT = SAMPLES / "kurrent_all.jsonl"
STOCK = f"{SAMPLES / 'projections' / 'inventory.py'}:Stock"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def events(store: tracer.Store) -> list[dict[str, Any]]:
    rows = store.con.execute(
        """SELECT position, event_id, stream, version, type, strftime(time, '%Y-%m-%dT%H:%M:%S.%f'),
                  data, meta, correlation_id, causation_id, source_row
           FROM events ORDER BY position"""
    ).fetchall()
    keys = ("position", "event_id", "stream", "version", "type", "time", "data", "meta",
            "correlation_id", "causation_id", "row")  # fmt: skip
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    for e in found:
        e["data"] = json.loads(e["data"]) if e["data"] is not None else None
        e["meta"] = json.loads(e["meta"]) if e["meta"] is not None else None
    return found


def record(n: int, stream: str = "inventory-1", number: int | None = None, **extra: Any) -> dict:
    """One line of a subscription's dump, as the .NET and Node clients' users write them."""
    return {
        "eventId": f"00000000-0000-4000-8000-{n:012d}",
        "eventType": "StockReceived",
        "streamId": stream,
        "eventNumber": n if number is None else number,
        "created": f"2026-03-02T10:00:{n:02d}.123456{n % 10}Z",
        "position": {"commit": 1000 * (n + 1), "prepare": 1000 * (n + 1)},
        "isJson": True,
        "data": {"quantity": n + 1},
        "metadata": {"$correlationId": f"corr-{n}", "$causationId": f"cause-{n}", "user": "ana"},
        **extra,
    }


# -- the shapes -----------------------------------------------------------------------------------
def test_a_subscription_dump_loads_with_no_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_jsonl(tmp_path / "all.jsonl", [record(n) for n in range(3)])
    db = str(tmp_path / "t.duckdb")
    code, out, err = run(capsys, "load", str(log), "--db", db)
    assert code == 0, err
    assert "3 loaded, 0 rejected, 0 duplicates of 3 rows read" in out
    with tracer.open(db) as store:
        found = events(store)
    assert [e["version"] for e in found] == [0, 1, 2]  # 0-based, as KurrentDB numbers them
    assert [e["time"] for e in found] == [  # 7 fractional digits: exact to the microsecond
        "2026-03-02T10:00:00.123456",
        "2026-03-02T10:00:01.123456",
        "2026-03-02T10:00:02.123456",
    ]
    first = found[0]
    assert first["event_id"] == "00000000-0000-4000-8000-000000000000"
    assert first["stream"] == "inventory-1" and first["type"] == "StockReceived"
    assert first["data"] == {"quantity": 1}
    assert (first["correlation_id"], first["causation_id"]) == ("corr-0", "cause-0")
    assert first["meta"]["user"] == "ana"


@pytest.mark.parametrize("stream_key", ["streamId", "streamName", "stream_name"])
@pytest.mark.parametrize("number_key", ["eventNumber", "streamRevision", "stream_position"])
@pytest.mark.parametrize("time_key", ["created", "recorded_at"])
def test_every_clients_field_names_load_with_no_map(
    tmp_path: Path, stream_key: str, number_key: str, time_key: str
) -> None:
    rows = []
    for n in range(2):
        line = record(n)
        line[stream_key] = line.pop("streamId")
        line[number_key] = line.pop("eventNumber")
        line[time_key] = line.pop("created")
        rows.append(line)
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "all.jsonl", rows))
    assert (report.loaded, report.rejected) == (2, 0)
    found = events(store)
    assert [(e["stream"], e["version"]) for e in found] == [("inventory-1", 0), ("inventory-1", 1)]
    assert found[1]["time"] == "2026-03-02T10:00:01.123456"


def test_the_python_clients_records_ticks_and_base64_payloads(tmp_path: Path) -> None:
    """``id``, ``stream_name``, ``stream_position``, ``commit_position``, ``prepare_position``,
    ``type``, ``created`` in 100-ns ticks since 1970, ``data``/``metadata`` bytes as base64."""

    def b64(value: dict) -> str:
        return base64.b64encode(json.dumps(value).encode()).decode()

    ticks = 17_724_240_001_234_567  # 2026-03-02T04:00:00.1234567Z
    rows = [
        {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "stream_name": "order-7",
            "stream_position": n,
            "commit_position": 500 + n,
            "prepare_position": 500 + n,
            "type": "OrderPlaced" if n == 0 else "OrderPaid",
            "content_type": "application/json",
            "created": ticks + n * 10_000_000,
            "data": b64({"order": 7, "n": n}),
            "metadata": b64({"$correlationId": "c-7", "$causationId": f"k-{n}"}),
        }
        for n in range(2)
    ]
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "records.jsonl", rows))
    assert (report.loaded, report.rejected) == (2, 0)
    found = events(store)
    assert [e["time"] for e in found] == [
        "2026-03-02T04:00:00.123456",
        "2026-03-02T04:00:01.123456",
    ]
    assert [e["version"] for e in found] == [0, 1]
    assert found[1]["data"] == {"order": 7, "n": 1}
    assert (found[1]["correlation_id"], found[1]["causation_id"]) == ("c-7", "k-1")
    assert found[0]["meta"]["content_type"] == "application/json"  # nothing lost


def test_the_http_apis_event_json(tmp_path: Path) -> None:
    """``eventNumber``, ``positionEventNumber``, ``positionStreamId``, ``updated``, ``metaData``."""
    rows = [
        {
            "eventId": f"e-{n}",
            "eventType": "Opened" if n == 0 else "Deposited",
            "eventNumber": n,
            "streamId": "account-3",
            "data": {"amount": 10 * n},
            "metaData": {"$correlationId": "corr", "$causationId": f"e-{n - 1}"},
            "isJson": True,
            "positionEventNumber": n,
            "positionStreamId": "account-3",
            "updated": f"2026-03-02T11:00:0{n}.9999999Z",
            "title": f"{n}@account-3",
        }
        for n in range(2)
    ]
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "http.jsonl", rows))
    assert (report.loaded, report.rejected) == (2, 0)
    found = events(store)
    assert [(e["version"], e["type"]) for e in found] == [(0, "Opened"), (1, "Deposited")]
    assert found[1]["time"] == "2026-03-02T11:00:01.999999"
    assert found[1]["causation_id"] == "e-0"
    assert found[1]["meta"]["positionStreamId"] == "account-3"


# -- order ----------------------------------------------------------------------------------------
def test_commit_position_orders_ties_broken_by_prepare_then_file_order(tmp_path: Path) -> None:
    """Events of one transaction share a commit position; the dump may list them in any order."""
    placed = [  # (commit, prepare, name) in file order
        (300, 300, "c"),
        (200, 230, "b3"),
        (200, 210, "b1"),
        (100, 100, "a"),
        (200, 220, "b2"),
        (400, 400, "d1"),
        (400, 400, "d2"),  # same commit and prepare: file order
    ]
    rows = [
        record(i, stream=f"s-{name}", number=0, data={"name": name})
        | {"position": {"commit": commit, "prepare": prepare}}
        for i, (commit, prepare, name) in enumerate(placed)
    ]
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "all.jsonl", rows))
    found = events(store)
    assert [e["data"]["name"] for e in found] == ["a", "b1", "b2", "b3", "c", "d1", "d2"]
    assert [e["position"] for e in found] == [1, 2, 3, 4, 5, 6, 7]  # gapless, from the order


def test_flat_commit_and_prepare_positions_order_the_same_way(tmp_path: Path) -> None:
    rows = [
        {"id": f"i{n}", "stream_name": f"s-{n}", "stream_position": 0, "type": "T",
         "commit_position": commit, "prepare_position": prepare, "data": {"n": n}}
        for n, (commit, prepare) in enumerate([(50, 52), (50, 51), (10, 10)])
    ]  # fmt: skip
    store = tracer.open()
    store.load(write_jsonl(tmp_path / "all.jsonl", rows))
    assert [e["data"]["n"] for e in events(store)] == [2, 1, 0]


def test_mapping_position_to_the_commit_member_keeps_the_prepare_tie_break(tmp_path: Path) -> None:
    rows = [
        record(0, stream="s-1", number=1) | {"position": {"commit": 9, "prepare": 9}},
        record(1, stream="s-1", number=0) | {"position": {"commit": 9, "prepare": 5}},
    ]
    store = tracer.open()
    report = store.load(
        write_jsonl(tmp_path / "all.jsonl", rows), mapping=["position=position.commit"]
    )
    assert [e["version"] for e in events(store)] == [0, 1]
    assert report.warnings == []


def test_a_position_written_as_text_gives_commit_then_prepare(tmp_path: Path) -> None:
    """``Position.ToString()`` in the .NET client: ``C:1234/P:1230``."""
    rows = [
        record(0, stream="s-1", number=1) | {"position": "C:200/P:190"},
        record(1, stream="s-1", number=0) | {"position": "C:200/P:180"},
        record(2, stream="s-1", number=2) | {"position": "C:300/P:300"},
    ]
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "all.jsonl", rows))
    assert (report.loaded, report.rejected, report.warnings) == (3, 0, [])
    assert [e["version"] for e in events(store)] == [0, 1, 2]


def test_a_tie_break_costs_no_more_than_a_flat_position(tmp_path: Path) -> None:
    """Single-event writes have equal commit and prepare positions: they load in one bulk pass,
    about as fast as a flat position (a naive encoding made counting distinct orders quadratic:
    30 s for 100,000 events)."""
    n = 60_000
    base = record(1)
    objects = [
        base | {"eventId": f"i{i}", "streamId": f"s-{i}", "position": {"commit": 7 * i, "prepare": 7 * i}}
        for i in range(n)
    ]  # fmt: skip
    flat = [
        {k: v for k, v in r.items() if k != "position"} | {"global_position": 7 * i}
        for i, r in enumerate(objects)
    ]
    seconds = []
    for name, rows in (("flat", flat), ("objects", objects)):
        report = tracer.open().load(write_jsonl(tmp_path / f"{name}.jsonl", rows))
        assert report.loaded == n
        seconds.append(report.seconds)
    assert seconds[1] < 3 * seconds[0] + 1, seconds


# -- system events --------------------------------------------------------------------------------
def _with_system(tmp_path: Path) -> Path:
    rows = [
        record(0, stream="$$$settings", eventType="$settings", number=0),
        record(1, number=0),
        record(2, stream="$stats-127.0.0.1:2113", eventType="$statsCollected", number=0),
        record(3, number=1),
        record(4, stream="$ce-inventory", eventType="$>", number=0, data="1@inventory-1"),
        record(5, stream="inventory-1", eventType="$metadata", number=2),
    ]
    return write_jsonl(tmp_path / "all.jsonl", rows)


def test_system_events_are_counted_and_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.duckdb")
    code, out, err = run(capsys, "load", str(_with_system(tmp_path)), "--db", db)
    assert code == 0, err
    assert "2 loaded, 0 rejected, 0 duplicates, 4 system of 6 rows read" in out
    assert "--include-system" in out
    with tracer.open(db) as store:
        found = events(store)
        assert [(e["stream"], e["version"], e["position"]) for e in found] == [
            ("inventory-1", 0, 1),
            ("inventory-1", 1, 2),
        ]
        assert store.con.execute("SELECT count(*) FROM rejected").fetchone()[0] == 0
        assert store.con.execute("SELECT system FROM loads").fetchone()[0] == 4

    code, out, _ = run(capsys, "load", str(_with_system(tmp_path)), "--db", db, "--json")
    report = json.loads(out)
    assert (report["loaded"], report["duplicates"], report["system"], report["rows_read"]) == (
        0,
        2,
        4,
        6,
    )
    assert report["sources"][0]["system"] == 4


def test_include_system_keeps_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.duckdb")
    code, out, err = run(
        capsys, "load", str(_with_system(tmp_path)), "--db", db, "--include-system"
    )
    assert code == 0, err
    assert "6 loaded, 0 rejected, 0 duplicates of 6 rows read" in out
    with tracer.open(db) as store:
        found = events(store)
    assert [e["type"] for e in found][:3] == ["$settings", "StockReceived", "$statsCollected"]
    link = next(e for e in found if e["type"] == "$>")
    assert link["data"] == "1@inventory-1"  # a link's data: the event it points to

    store = tracer.open()  # the API's option
    report = store.load(_with_system(tmp_path), include_system=True)
    assert (report.loaded, report.system) == (6, 0)


@pytest.mark.parametrize(("flags", "events_loaded"), [([], 2), (["--include-system"], 6)])
def test_the_tui_command_takes_include_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], events_loaded: int
) -> None:
    """``tracer tui dump.jsonl --include-system`` loads as ``tracer load`` does (the UI's own
    run is replaced by the load it starts with)."""
    from tracer.tui import TracerApp

    def load_only(app: TracerApp, *args: Any, **kwargs: Any) -> None:
        app.store.load(*app.sources, **app.load_options)

    monkeypatch.setattr(TracerApp, "run", load_only)
    db = tmp_path / "t.duckdb"
    assert main(["tui", str(_with_system(tmp_path)), "--db", str(db), *flags]) == 0
    with tracer.open(db) as store:
        assert store.con.execute("SELECT count(*) FROM events").fetchone()[0] == events_loaded


def test_a_store_made_before_the_system_count_takes_it(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:  # the ``loads`` table as it was, without ``system``
        con.execute(
            """CREATE TABLE events (position BIGINT NOT NULL, event_id VARCHAR NOT NULL,
                   stream VARCHAR NOT NULL, category VARCHAR, version BIGINT NOT NULL,
                   type VARCHAR NOT NULL, time TIMESTAMPTZ, data JSON, meta JSON,
                   correlation_id VARCHAR, causation_id VARCHAR, source VARCHAR,
                   source_row BIGINT, load_id INTEGER);
               CREATE TABLE loads (load_id INTEGER PRIMARY KEY, started TIMESTAMPTZ,
                   finished TIMESTAMPTZ, source VARCHAR, format VARCHAR, rows_read BIGINT,
                   loaded BIGINT, rejected BIGINT, duplicates BIGINT, options JSON)"""
        )
    with tracer.open(path) as store:
        report = store.load(_with_system(tmp_path))
        assert (report.loaded, report.system) == (2, 4)
        assert store.con.execute("SELECT rows_read, system FROM loads").fetchall() == [(6, 4)]


# -- laws -------------------------------------------------------------------------------------------
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # commit
            st.integers(0, 3),  # prepare
            st.sampled_from(["inventory-1", "order-2", "$stats-x", "$ce-order"]),
            st.sampled_from(["T", "$>"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_order_and_accounting_laws(tmp_path: Path, rows: list[tuple[int, int, str, str]]) -> None:
    """Whatever the file order: events come in (commit, prepare, line) order, positions run
    1..N, and loaded + rejected + duplicates + system == rows read."""
    lines = [
        {"eventId": f"e{i}", "eventType": kind, "streamId": stream, "data": {"i": i},
         "position": {"commit": commit, "prepare": prepare}}
        for i, (commit, prepare, stream, kind) in enumerate(rows)
    ]  # fmt: skip
    store = tracer.open()
    report = store.load(write_jsonl(tmp_path / "law.jsonl", lines))
    assert report.balanced and report.rejected == 0
    system = [r for r in rows if r[2].startswith("$") or r[3].startswith("$")]
    assert report.system == len(system)
    kept = [i for i, r in enumerate(rows) if not (r[2].startswith("$") or r[3].startswith("$"))]
    expected = sorted(kept, key=lambda i: (rows[i][0], rows[i][1], i))
    found = events(store)
    assert [e["data"]["i"] for e in found] == expected
    assert [e["position"] for e in found] == list(range(1, len(expected) + 1))
