"""Follow mode: events that arrive after following started appear in the store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

import tracer
from tracer.errors import TracerError
from tracer.load.follow import follow, follow_in_thread

pytestmark = pytest.mark.services


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` when it does not in ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


class Rounds:
    """Counts follow rounds, so a test can wait until the follower has looked again."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, n: int) -> None:
        with self.lock:
            self.count = n

    def wait_more(self, rounds: int = 2) -> None:
        start = self.count
        wait_for(lambda: self.count >= start + rounds, f"{rounds} more follow rounds")


def test_follow_jetstream_loads_messages_published_later(jetstream: Any, services: Any) -> None:
    store = tracer.open()
    reports: list[Any] = []
    thread, stop = follow_in_thread(
        store, [services.nats_url], options={"stream": jetstream.name}, interval=0.05,
        on_report=reports.append,
    )  # fmt: skip
    try:
        for i in range(1, 4):
            jetstream.publish(
                [(f"account.{i % 2}", orjson.dumps({"type": "Deposited", "data": {"n": i}}), None)]
            )
        wait_for(lambda: store.count() == 3, "3 events")
        jetstream.publish([("account.5", orjson.dumps({"type": "Opened", "data": {}}), None)])
        wait_for(lambda: store.count() == 4, "the 4th event")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert sum(r.loaded for r in reports) == 4
    assert store.sql("SELECT list(source_row ORDER BY position) AS r FROM events")["r"][
        0
    ].tolist() == [1, 2, 3, 4]


def test_follow_postgres_table_loads_rows_inserted_later(pg: Any, pg_db: str) -> None:
    pg.execute(
        """CREATE TABLE mt_events (seq_id bigint PRIMARY KEY, id uuid, stream_id varchar,
               version bigint, data jsonb, type varchar, timestamp timestamptz DEFAULT now())"""
    )
    store = tracer.open()
    thread, stop = follow_in_thread(store, [pg_db], options={"table": "mt_events"}, interval=0.05)
    try:
        for seq in range(1, 4):
            pg.execute(
                "INSERT INTO mt_events VALUES (%s, gen_random_uuid(), 'order-1', %s, '{}', 'changed')",
                [seq, seq],
            )
        wait_for(lambda: store.count() == 3, "3 rows")
        pg.execute(
            "INSERT INTO mt_events VALUES (4, gen_random_uuid(), 'order-2', 1, '{}', 'placed')"
        )
        wait_for(lambda: store.count() == 4, "the 4th row")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert store.sql("SELECT count(*) AS n FROM rejected")["n"][0] == 0


def _line(i: int) -> bytes:
    return orjson.dumps({"stream": f"cart-{i % 2}", "type": "ItemAdded", "data": {"i": i}}) + b"\n"


def test_follow_growing_jsonl_waits_for_complete_lines(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_bytes(_line(1) + _line(2))
    store = tracer.open()
    rounds = Rounds()
    thread, stop = follow_in_thread(store, [str(log)], interval=0.02, on_round=rounds)
    try:
        wait_for(lambda: store.count() == 2, "the first 2 lines")
        with log.open("ab") as out:
            out.write(_line(3))
            out.write(_line(4)[:10])  # a writer in the middle of line 4
            out.flush()
            rounds.wait_more()
            assert store.count() == 2  # not read while a line is incomplete
            out.write(_line(4)[10:])
        wait_for(lambda: store.count() == 4, "lines 3 and 4")
    finally:
        stop.set()
        thread.join(10)
    assert store.sql("SELECT count(*) AS n FROM rejected")["n"][0] == 0
    rows = store.sql("SELECT data FROM events ORDER BY position")["data"].tolist()
    assert [json.loads(d)["i"] for d in rows] == [1, 2, 3, 4]


def test_follow_reports_source_errors_and_keeps_going(closed_port: int) -> None:
    store = tracer.open()
    errors: list[tuple[str, TracerError]] = []
    rounds = Rounds()
    thread, stop = follow_in_thread(
        store, [f"nats://127.0.0.1:{closed_port}"], options={"stream": "X"}, interval=0.02,
        on_error=lambda spec, exc: errors.append((spec, exc)), on_round=rounds,
    )  # fmt: skip
    try:
        rounds.wait_more(2)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(errors) >= 2
    assert "cannot connect to NATS" in str(errors[0][1])


def test_follow_without_error_handler_raises_the_source_error(closed_port: int) -> None:
    with pytest.raises(TracerError, match="cannot connect to PostgreSQL"):
        follow(tracer.open(), [f"postgresql://127.0.0.1:{closed_port}/x"], options={"table": "t"})


def test_follow_from_seq_starts_there_once_then_resumes(jetstream: Any, services: Any) -> None:
    jetstream.publish(
        [("account.1", orjson.dumps({"type": "T", "data": {"i": i}}), None) for i in range(3)]
    )
    store = tracer.open()
    reports: list[Any] = []
    thread, stop = follow_in_thread(
        store, [services.nats_url], options={"stream": jetstream.name, "from_seq": 2},
        interval=0.02, on_report=reports.append,
    )  # fmt: skip
    try:
        wait_for(lambda: store.count() == 2, "messages 2 and 3")
        jetstream.publish([("account.1", orjson.dumps({"type": "T", "data": {"i": 9}}), None)])
        wait_for(lambda: store.count() == 3, "message 4")
    finally:
        stop.set()
        thread.join(10)
    assert sum(r.duplicates for r in reports) == 0  # later rounds resume, not restart at 2
    assert store.sql("SELECT list(source_row ORDER BY position) AS r FROM events")["r"][
        0
    ].tolist() == [2, 3, 4]
