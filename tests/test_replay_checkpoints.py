"""Checkpoints: saved in the store every K events, never served stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

import tracer
from tracer import Projection, on
from tracer.replay import Replay

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def insert(
    store: tracer.Store, events: list[tuple[str, int]], first: int = 1, tag: str = "a"
) -> None:
    """``(stream, amount)`` Deposited events from position ``first``."""
    rows = []
    for offset, (stream, amount) in enumerate(events):
        position = first + offset
        rows.append(
            (
                position,
                f"{tag}-{position}",
                stream,
                "acc",
                position,
                "Deposited",
                T0 + timedelta(seconds=position),
                orjson.dumps({"amount": amount}).decode(),
                "{}",
                None,
                None,
                "test",
                position,
                1,
            )
        )
    store.con.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )


class Sum(Projection):
    def initial(self):
        return {"total": 0}

    @on("Deposited")
    def deposited(self, state, event):
        state["total"] += event.data["amount"]


class Double(Projection):
    def initial(self):
        return {"total": 0}

    @on("Deposited")
    def deposited(self, state, event):
        state["total"] += 2 * event.data["amount"]


def checkpoint_positions(store: tracer.Store) -> list[int]:
    rows = store.con.execute("SELECT position FROM replay_checkpoints ORDER BY position").fetchall()
    return [r[0] for r in rows]


def test_checkpoints_are_saved_every_k_events_and_used():
    store = tracer.open()
    insert(store, [(f"s-{i % 3}", i) for i in range(1, 21)])
    replay = Replay(store, Sum, every=5)
    assert replay.build_checkpoints() == 20
    assert checkpoint_positions(store) == [5, 10, 15, 20]
    # Only streams with events since the previous checkpoint get a row.
    rows = store.con.execute(
        "SELECT count(*) FROM replay_checkpoint_states WHERE position = 5"
    ).fetchall()[0][0]
    assert rows == 3
    assert Replay(store, Sum, every=5).state("s-1", at=12).state == {"total": 1 + 4 + 7 + 10}


def test_a_changed_projection_never_reads_another_ones_checkpoints():
    store = tracer.open()
    insert(store, [("s-1", 1)] * 10)
    Replay(store, Sum, every=5).build_checkpoints()
    assert Replay(store, Double, every=5).state("s-1").state == {"total": 20}
    assert Replay(store, Sum, every=5).state("s-1").state == {"total": 10}


def test_reloaded_events_invalidate_checkpoints():
    store = tracer.open()
    insert(store, [("s-1", 1)] * 10)
    Replay(store, Sum, every=5).build_checkpoints()
    store.con.execute("DELETE FROM events")
    insert(store, [("s-1", 100)] * 10, tag="b")  # same positions, other events
    replay = Replay(store, Sum, every=5)
    assert replay.state("s-1", at=7).state == {"total": 700}
    assert replay.states(at=10)["state"].tolist() == [{"total": 1000}]


def test_appended_events_keep_earlier_checkpoints():
    store = tracer.open()
    insert(store, [("s-1", 1)] * 10)
    Replay(store, Sum, every=5).build_checkpoints()
    insert(store, [("s-2", 3)] * 7, first=11)
    replay = Replay(store, Sum, every=5)
    assert replay.states()["state"].tolist() == [{"total": 10}, {"total": 21}]
    assert checkpoint_positions(store) == [5, 10, 15]


def test_states_that_are_not_json_get_no_checkpoints_and_the_same_results():
    class WithDates(Projection):
        def initial(self):
            return {"seen": []}

        @on("Deposited")
        def deposited(self, state, event):
            state["seen"].append(event.time)

    store = tracer.open()
    insert(store, [("s-1", 1)] * 6)
    replay = Replay(store, WithDates, every=2)
    assert replay.build_checkpoints() == 0
    assert "not JSON" in replay.checkpoints.reason
    assert replay.state("s-1").state["seen"][-1] == T0 + timedelta(seconds=6)


def test_a_read_only_store_is_queried_without_writing(tmp_path):
    path = tmp_path / "ro.duckdb"
    with tracer.open(path) as store:
        insert(store, [("s-1", 2)] * 6)
        Replay(store, Sum, every=2).build_checkpoints()
    with tracer.open(path, read_only=True) as store:
        replay = Replay(store, Double, every=2)
        assert replay.state("s-1", at=5).state == {"total": 20}
        assert replay.build_checkpoints() == 0
        assert Replay(store, Sum, every=2).state("s-1", at=5).state == {"total": 10}
