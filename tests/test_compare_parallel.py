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
    serial = compare_projections(store, old, new, category=category, workers=1)
    parallel = compare_projections(
        store, old, new, category=category, workers=workers, parallel_min=0
    )
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
