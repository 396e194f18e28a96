"""``compare`` on several cores reports exactly what it reports on one (hypothesis), also for
divergences of kind ``error``, a category scope and handlers that read event ids and meta."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer import Projection, on
from tracer.errors import TracerError
from tracer.replay import compare_projections

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STREAMS = [f"{c}-{i}" for c in ("order", "cart") for i in range(6)]


class Bag(Projection):
    def initial(self):
        return {"n": 0, "log": [], "by": None}

    @on("Add")
    def add(self, state, event):
        state["n"] += event.data["k"]

    @on("Push")
    def push(self, state, event):
        state["log"].append(event.data["k"])

    @on("Reset")
    def reset(self, state, event):
        return {"n": event.data["k"], "log": [], "by": state["by"]}


class Plus(Bag):
    @on("Add")
    def add(self, state, event):
        state["n"] += event.data["k"] + (1 if event.data["k"] >= 2 else 0)


class Raises(Bag):
    @on("Push")
    def push(self, state, event):
        if event.data["k"] < 0:
            raise ValueError("negative push")
        state["log"].append(event.data["k"])


class ReadsMeta(Bag):
    """Reads event ids and meta: the workers get them with the events."""

    @on("Reset")
    def reset(self, state, event):
        return {"n": event.data["k"], "log": [], "by": event.meta.get("user") or event.id}


SIDES = ["Plus", "Raises", "ReadsMeta", "Bag"]

log_st = st.lists(
    st.tuples(
        st.sampled_from(STREAMS),
        st.sampled_from(["Add", "Push", "Reset", "Other"]),
        st.integers(-2, 2),
        st.sampled_from(["ann", "bob", None]),
    ),
    min_size=1,
    max_size=60,
)


def make_store(log: list[tuple[str, str, int, str | None]]) -> tracer.Store:
    store = tracer.open()
    versions: dict[str, int] = {}
    rows = []
    for position, (stream, event_type, k, user) in enumerate(log, start=1):
        versions[stream] = versions.get(stream, 0) + 1
        meta = orjson.dumps({"user": user} if user else {}).decode()
        rows.append(
            (position, f"ev-{position}", stream, stream.split("-")[0], versions[stream],
             event_type, T0 + timedelta(seconds=position), orjson.dumps({"k": k}).decode(),
             meta, None, None, "test", position, 1)
        )  # fmt: skip
    store.con.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    return store


def records(frame: Any) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_st, st.sampled_from(SIDES), st.sampled_from([None, "order"]), st.integers(2, 3))
def test_compare_on_several_cores_equals_compare_on_one(log, new, category, workers):
    store = make_store(log)
    if category is not None and not any(s.startswith(category) for s, *_ in log):
        return
    old, new = f"{__name__}:Bag", f"{__name__}:{new}"

    def run(**options: Any) -> Any:
        try:
            return compare_projections(store, old, new, category=category, **options)
        except TracerError as exc:  # (nothing to compare: a log of events no one handles)
            return str(exc)

    serial = run(workers=1)
    parallel = run(workers=workers, parallel_min=0)
    if isinstance(serial, str):
        assert parallel == serial and serial.startswith("nothing to compare")
        return
    assert records(parallel.divergences) == records(serial.divergences)
    assert parallel.streams == serial.streams
    assert parallel.to_dict() == serial.to_dict()
    store.close()


class Pid(Bag):
    """Writes the process that folded the stream into its state."""

    @on("Reset")
    def reset(self, state, event):
        return {"n": event.data["k"], "log": [], "by": os.getpid()}


def test_the_streams_are_compared_in_several_processes():
    store = make_store([(stream, "Reset", 1, None) for stream in STREAMS])
    result = compare_projections(
        store, f"{__name__}:Bag", f"{__name__}:Pid", workers=2, parallel_min=0
    )
    pids = {change["new"] for diff in result.divergences["diff"] for change in diff}
    assert len(result.divergences) == len(STREAMS)
    assert os.getpid() in pids and len(pids) == 2
    serial = compare_projections(store, f"{__name__}:Bag", f"{__name__}:Pid", workers=1)
    assert {change["new"] for diff in serial.divergences["diff"] for change in diff} == {
        os.getpid()
    }
    store.close()


class Trail(Bag):
    """Keeps every event type in order, in place."""

    def initial(self):
        return {"n": 0, "log": [], "by": None, "trail": []}

    @on("Add", "Push", "Reset", "Other")
    def any(self, state, event):
        state["trail"].append(event.type)


class TrailFixed(Trail):
    """Also lists, in place, every event from the first Push on, and counts events (a field
    the old version has not)."""

    @on("Add", "Push", "Reset", "Other")
    def any(self, state, event):
        state["seen"] = state.get("seen", 0) + 1
        state["trail"].append(event.type)
        if event.type == "Push" or "since_push" in state:
            state.setdefault("since_push", []).append(event.type)


def test_the_diff_at_a_divergence_shows_the_values_then_not_at_the_end():
    log = [("order-1", t, 1, None) for t in ("Add", "Push", "Add", "Other", "Add")]
    store = make_store(log)
    for workers in (1, 2):
        result = compare_projections(
            store,
            f"{__name__}:Trail",
            f"{__name__}:TrailFixed",
            workers=workers,
            parallel_min=0,
            ignore=["seen"],
        )
        (row,) = result.divergences.to_dict(orient="records")
        assert row["position"] == 2  # the Push
        assert row["diff"] == [{"path": "since_push", "op": "add", "old": None, "new": ["Push"]}]
        assert result.end["order-1"][1]["since_push"] == ["Push", "Add", "Other", "Add"]
    store.close()


def test_ignored_paths_do_not_count_and_without_them_every_stream_diverges():
    log = [(stream, "Add", 1, None) for stream in STREAMS]
    store = make_store(log)
    old, new = f"{__name__}:Trail", f"{__name__}:TrailFixed"
    assert compare_projections(store, old, new, workers=1).diverged == len(STREAMS)
    assert compare_projections(store, old, new, workers=1, ignore=["seen"]).diverged == 0
    store.close()
