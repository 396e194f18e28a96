"""Properties of the replay engine, checked on random logs (hypothesis):

* the state at any point equals folding the events up to it, one by one;
* applying a diff's changes to the "from" state gives the "to" state;
* ``find`` agrees with a linear scan, for conditions that turn true and false again;
* checkpoints change no result;
* ``time:T`` means every event at or before T, even when times go back in the log.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer import Projection, on
from tracer.replay import Replay, apply_changes, diff_states

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STREAMS = ["s-1", "s-2", "s-3"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Bag(Projection):
    """Touches numbers, nested dicts and lists, so that diffs have every shape."""

    def initial(self):
        return {"n": 0, "tags": {}, "log": []}

    @on("Add")
    def add(self, state, event):
        state["n"] += event.data["k"]

    @on("Tag")
    def tag(self, state, event):
        state["tags"][event.data["name"]] = {"k": event.data["k"]}

    @on("Untag")
    def untag(self, state, event):
        state["tags"].pop(event.data["name"], None)

    @on("Push")
    def push(self, state, event):
        state["log"].append(event.data["k"])

    @on("Pop")
    def pop(self, state, event):
        if state["log"]:
            state["log"].pop(0)

    @on("Reset")
    def reset(self, state, event):
        return {"n": event.data["k"], "tags": {}, "log": [event.data["k"]]}


class Adds(Projection):
    """A read model: one state for the whole log."""

    read_model = True

    def initial(self):
        return {"sum": 0, "order": []}

    @on("Add")
    def add(self, state, event):
        state["sum"] += event.data["k"]
        state["order"].append(event.position)


def event_strategy() -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    return st.tuples(
        st.sampled_from(STREAMS),
        st.sampled_from(["Add", "Tag", "Untag", "Push", "Pop", "Reset", "Ignored"]),
        st.fixed_dictionaries(
            {"k": st.integers(-3, 3), "name": st.sampled_from(["a", "b", "c.d", "e f"])}
        ),
    )


logs = st.lists(event_strategy(), min_size=1, max_size=40)


def make_store(
    events: list[tuple[str, str, dict[str, Any]]], seconds: list[int] | None = None
) -> tracer.Store:
    """The events at positions 1..N; event i at T0 + i seconds, or + ``seconds[i]``."""
    store = tracer.open()
    versions: dict[str, int] = {}
    rows = []
    for position, (stream, event_type, data) in enumerate(events, start=1):
        versions[stream] = versions.get(stream, 0) + 1
        rows.append(
            (
                position,
                f"ev-{position}",
                stream,
                "s",
                versions[stream],
                event_type,
                T0 + timedelta(seconds=position if seconds is None else seconds[position - 1]),
                orjson.dumps(data).decode(),
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
    return store


class _Event:
    def __init__(self, stream: str, event_type: str, data: dict[str, Any]) -> None:
        self.stream, self.type, self.data = stream, event_type, data


def linear_states(events, upto: int) -> list[dict[str, Any]]:
    """After each of the first ``upto`` events: every stream's state, folded by hand."""
    return _fold_by_hand(events[:upto])


def _fold_by_hand(events) -> list[dict[str, Any]]:
    projection = Bag()
    handlers = projection.handlers()
    states: dict[str, Any] = {}
    after = []
    for stream, event_type, data in events:
        handler = handlers.get(event_type)
        if handler is not None:
            state = states.get(stream, projection.initial())
            result = handler(state, _Event(stream, event_type, copy.deepcopy(data)))
            states[stream] = state if result is None else result
        after.append(copy.deepcopy(states))
    return after


@SETTINGS
@given(logs, st.data())
def test_state_at_a_point_is_the_fold_of_the_events_up_to_it(events, data):
    replay = Replay(make_store(events), Bag, checkpoints=False)
    position = data.draw(st.integers(0, len(events)), label="position")
    expected = linear_states(events, position)[-1] if position else {}
    for stream in sorted({s for s, _, _ in events}):
        assert replay.state(stream, position).state == expected.get(stream, Bag().initial())
    frame = replay.states(position)
    assert dict(zip(frame["stream"], frame["state"], strict=True)) == {
        s: expected.get(s, Bag().initial()) for s in {s for s, _, _ in events[:position]}
    }


@SETTINGS
@given(logs, st.data())
def test_applying_a_diff_to_the_from_state_gives_the_to_state(events, data):
    replay = Replay(make_store(events), Bag, checkpoints=False)
    stream = data.draw(st.sampled_from(sorted({s for s, _, _ in events})), label="stream")
    frm = data.draw(st.integers(0, len(events)), label="from")
    to = data.draw(st.integers(0, len(events)), label="to")
    diff = replay.diff(stream, frm, to)
    assert apply_changes(replay.state(stream, frm).state, diff) == replay.state(stream, to).state


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text('ab.[]" ', max_size=3),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text('ab.[]" x', max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_diff_of_any_two_json_values_applies_exactly(old, new):
    changes = diff_states(old, new)
    assert apply_changes(old, changes) == new
    assert (changes == []) == (orjson.dumps(old) == orjson.dumps(new))


# A condition that turns true and false again as the log goes on.
CONDITION = "state['n'] % 3 == 1 and len(state['log']) >= 1"


def _holds(state: dict[str, Any]) -> bool:
    return state["n"] % 3 == 1 and len(state["log"]) >= 1


@SETTINGS
@given(logs, st.data())
def test_find_agrees_with_a_linear_scan(events, data):
    replay = Replay(make_store(events), Bag, checkpoints=False)
    after = linear_states(events, len(events))
    streams = [s for s, _, _ in events]
    start = data.draw(st.integers(0, len(events)), label="start")

    def hit(index: int) -> bool:
        state = after[index].get(streams[index], Bag().initial())
        return _holds(state)

    forward = next((i + 1 for i in range(start, len(events)) if hit(i)), None)
    found = replay.find(CONDITION, start=start)
    assert (found.position if found else None) == forward
    backward = next((i + 1 for i in range(start - 1, -1, -1) if hit(i)), None)
    found = replay.find(CONDITION, start=start, backward=True)
    assert (found.position if found else None) == backward
    if found is not None:
        assert found.state == after[found.position - 1][found.stream]


@SETTINGS
@given(logs, st.integers(1, 7), st.data())
def test_checkpoints_change_no_result(events, every, data):
    store = make_store(events)
    plain = Replay(store, Bag, checkpoints=False)
    saved = Replay(store, Bag, every=every)
    assert saved.build_checkpoints() == len(events) // every * every
    position = data.draw(st.integers(0, len(events)), label="position")
    stream = data.draw(st.sampled_from(sorted(set(s for s, _, _ in events))), label="stream")
    fresh = Replay(store, Bag, every=every)  # reads the checkpoints the other one saved
    for replay in (saved, fresh):
        assert replay.states(position).equals(plain.states(position))
        assert replay.state(stream, position) == plain.state(stream, position)
        assert replay.find(CONDITION, start=position) == plain.find(CONDITION, start=position)
        assert replay.diff_all(0, position).equals(plain.diff_all(0, position))


segments = st.lists(st.integers(0, 20) | st.text(min_size=0, max_size=6), min_size=0, max_size=5)


@settings(max_examples=300, deadline=None)
@given(segments)
def test_paths_round_trip_for_any_key(parts):
    from tracer.replay.paths import format_path, parse_path

    assert parse_path(format_path(parts)) == parts


@SETTINGS
@given(logs, st.data())
def test_state_at_a_time_folds_every_event_at_or_before_it(events, data):
    """Logs merged from several sources, or written by skewed clocks, have times that go back:
    ``time:T`` still folds exactly the events at or before T, with or without checkpoints."""
    seconds = data.draw(st.lists(st.integers(0, 30), min_size=len(events), max_size=len(events)))
    store = make_store(events, seconds)
    every = data.draw(st.integers(1, 7), label="every")
    at = data.draw(st.integers(0, 30), label="seconds")
    point = f"time:{(T0 + timedelta(seconds=at)).isoformat()}"
    kept = [e for e, t in zip(events, seconds, strict=True) if t <= at]
    expected = _fold_by_hand(kept)[-1] if kept else {}
    for replay in (Replay(store, Bag, checkpoints=False), Replay(store, Bag, every=every)):
        replay.build_checkpoints()
        for stream in sorted({s for s, _, _ in events}):
            assert replay.state(stream, point).state == expected.get(stream, Bag().initial())
        frame = replay.states(point)
        assert dict(zip(frame["stream"], frame["state"], strict=True)) == {
            s: expected.get(s, Bag().initial()) for s in {s for s, _, _ in kept}
        }
        changed = replay.diff_all("pos:0", point)
        assert set(changed["stream"]) == {s for s, v in expected.items() if v != Bag().initial()}
    adds = [
        i
        for i, ((_, kind, _), t) in enumerate(zip(events, seconds, strict=True), 1)
        if kind == "Add" and t <= at
    ]
    total = sum(events[i - 1][2]["k"] for i in adds)
    for model in (Replay(store, Adds, checkpoints=False), Replay(store, Adds, every=every)):
        model.build_checkpoints()
        assert model.state(at=point).state == {"sum": total, "order": adds}
