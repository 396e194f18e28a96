"""Replay on every core: the fold split in partitions gives what the serial fold gives.

Test logs are small, so ``parallel_min=0`` forces the process pool. Projections reach the workers
as ``FILE.py:Name`` specs, as users give them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_replay_properties import event_strategy, make_store

import tracer
from tracer import Projection, on
from tracer.cli import main
from tracer.errors import TracerError
from tracer.replay import Replay
from tracer.replay.partition import KEY, MERGE, SERIAL, STREAM

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

SOURCE = '''
from tracer import Projection, ReadModel, on


class Bag(Projection):
    def initial(self):
        return {"n": 0, "tags": {}, "log": []}

    @on("Add")
    def add(self, state, event):
        state["n"] += event.data["k"]

    @on("Tag")
    def tag(self, state, event):
        state["tags"][event.data["name"]] = {"k": event.data["k"]}

    @on("Push")
    def push(self, state, event):
        state["log"].append(event.data["k"])

    @on("Reset")
    def reset(self, state, event):
        return {"n": event.data["k"], "tags": {}, "log": [event.data["k"]]}


class ByName(ReadModel):
    """Keyed: one state per name."""

    def key(self, event):
        return event.data["name"] if event.data["k"] != 0 else None

    def initial(self):
        return {"sum": 0, "streams": []}

    @on("Add", "Tag", "Push")
    def count(self, state, event):
        state["sum"] += event.data["k"]
        state["streams"].append(event.stream)


class Totals(ReadModel):
    """One state, with an associative merge."""

    def initial(self):
        return {"sum": 0, "order": []}

    @on("Add", "Push")
    def add(self, state, event):
        state["sum"] += event.data["k"]
        state["order"].append(event.position)

    def merge(self, a, b):
        return {"sum": a["sum"] + b["sum"], "order": a["order"] + b["order"]}


class Sequence(ReadModel):
    """Neither key nor merge: the order of every event matters."""

    def initial(self):
        return {"last": None, "steps": 0}

    @on("*")
    def step(self, state, event):
        state["steps"] = state["steps"] * 2 % 1009 + event.position
        state["last"] = event.type


class ByIdAndMeta(ReadModel):
    """Keyed by what workers are sent only when a handler asks: event ids and meta."""

    def key(self, event):
        return event.id[-1]

    @on("*")
    def count(self, state, event):
        state["n"] = state.get("n", 0) + 1
        state["meta"] = event.meta


class Fragile(Projection):
    @on("Add")
    def add(self, state, event):
        if event.data["k"] == 3:
            raise ValueError("three is too many")
        state["n"] = state.get("n", 0) + event.data["k"]
'''
NAMES = ["Bag", "ByName", "Totals", "Sequence", "ByIdAndMeta"]


@pytest.fixture(scope="module")
def projections(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("projections") / "parallel_projections.py"
    path.write_text(SOURCE)
    return path


def frames_equal(a, b) -> None:
    assert a["stream"].tolist() == b["stream"].tolist()
    assert a["state"].tolist() == b["state"].tolist()
    assert a["position"].tolist() == b["position"].tolist()
    assert a["version"].tolist() == b["version"].tolist()
    assert a["time"].tolist() == b["time"].tolist()


def saved_rows(store: tracer.Store, replay: Replay) -> list[tuple[Any, ...]]:
    rows = store.con.execute(
        "SELECT position, bucket, state, last_position, last_version, last_time "
        "FROM replay_checkpoint_states WHERE fingerprint = ?",
        [replay.checkpoints.key],
    ).fetchall()
    return sorted(rows, key=repr)


@SETTINGS
@given(
    events=st.lists(event_strategy(), min_size=1, max_size=60),
    name=st.sampled_from(NAMES),
    workers=st.integers(1, 4),
    every=st.none() | st.integers(1, 12),
    data=st.data(),
)
def test_parallel_fold_equals_serial(projections, events, name, workers, every, data):
    spec = f"{projections}:{name}"
    serial_store, parallel_store = make_store(events), make_store(events)
    options: dict[str, Any] = (
        {"checkpoints": False} if every is None else {"checkpoints": True, "every": every}
    )
    serial = Replay(serial_store, spec, workers=1, **options)
    parallel = Replay(parallel_store, spec, workers=workers, parallel_min=0, **options)
    if every is not None:  # checkpoints built on every core are the serial ones
        assert parallel.build_checkpoints() == serial.build_checkpoints()
        assert saved_rows(parallel_store, parallel) == saved_rows(serial_store, serial)
    at = data.draw(st.integers(1, len(events)))
    for point in ("end", at):
        frames_equal(parallel.states(point), serial.states(point))
    assert [r.to_dict() for r in parallel.state_results()] == [
        r.to_dict() for r in serial.state_results()
    ]


@SETTINGS
@given(events=st.lists(event_strategy(), min_size=1, max_size=60), workers=st.integers(2, 4))
def test_a_handler_that_raises_in_a_worker_gives_the_serial_error(projections, events, workers):
    spec = f"{projections}:Fragile"
    store = make_store(events)
    errors = []
    for replay in (
        Replay(store, spec, workers=1, checkpoints=False),
        Replay(store, spec, workers=workers, parallel_min=0, checkpoints=False),
    ):
        try:
            replay.states()
            errors.append(None)
        except TracerError as exc:
            errors.append(str(exc))
    assert errors[0] == errors[1]
    if errors[0] is not None:
        assert "handler add failed on event at position" in errors[0]
        assert "\n" not in errors[0]


def test_how_projections_split(projections):
    store = tracer.open()
    expected = {"Bag": STREAM, "ByName": KEY, "Totals": MERGE, "Sequence": SERIAL}
    for name, mode in expected.items():
        replay = Replay(store, f"{projections}:{name}", workers=2, parallel_min=0)
        assert replay.plan.mode == mode
    assert "no key() and no merge()" in Replay(store, f"{projections}:Sequence").plan.note
    assert Replay(store, None).plan.mode == STREAM  # the default projection, spec "default"

    class Local(Projection):  # defined here: cannot be imported by name in a worker
        @on("Add")
        def add(self, state, event):
            pass

    plan = Replay(store, Local).plan
    assert plan.mode == SERIAL
    assert "cannot be imported by name" in plan.note


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> str:
    """60,000 events: above the 50,000 where the CLI starts using workers."""
    path = tmp_path_factory.mktemp("parallel") / "big.duckdb"
    with tracer.open(path) as store:
        store.con.execute(
            """INSERT INTO events SELECT i, 'ev-' || i, 'acct-' || (i % 97), 'acct',
                   (i // 97) + 1, CASE WHEN i % 5 = 0 THEN 'Tag' ELSE 'Add' END,
                   TIMESTAMPTZ '2026-01-01' + to_seconds(i), '{"k": ' || ((i % 7) - 3)::VARCHAR
                   || ', "name": "n' || (i % 13)::VARCHAR || '"}', '{}', NULL, NULL, 'test', i, 1
               FROM range(1, 60001) t(i)"""
        )
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_states_on_two_workers_prints_what_one_prints(capsys, big_db, projections):
    outputs = []
    for workers in ("1", "2"):
        code, out, err = run(
            capsys,
            "states",
            "--db",
            big_db,
            "-p",
            f"{projections}:Bag",
            "--workers",
            workers,
            "--json",
        )
        assert code == 0, err
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 97


def test_cli_checkpoints_on_two_workers_then_find_and_check(capsys, big_db, projections):
    spec = f"{projections}:Bag"
    code, out, err = run(
        capsys, "checkpoints", "--db", big_db, "-p", spec, "--every", "20000", "--workers", "2"
    )
    assert code == 0, err
    assert "the last at 60,000" in out
    code, out, _ = run(
        capsys,
        "find",
        "--db",
        big_db,
        "-p",
        spec,
        "--where",
        "event.position >= 59000",
        "--workers",
        "2",
        "--json",
    )
    assert code == 0 and json.loads(out)["position"] == 59000
    code, out, _ = run(
        capsys, "check", "--db", big_db, "-p", spec, "-i", "state['n'] > -1000", "-w", "2"
    )
    assert code == 0 and "hold after every event" in out


def test_cli_says_when_a_read_model_runs_on_one_core(capsys, big_db, projections):
    code, out, err = run(
        capsys,
        "states",
        "--db",
        big_db,
        "-p",
        f"{projections}:Sequence",
        "--workers",
        "2",
        "--json",
    )
    assert code == 0
    assert "no key() and no merge(): one core" in err
    assert json.loads(out)[0]["state"]["steps"] >= 0
    _, _, quiet = run(capsys, "states", "--db", big_db, "-p", f"{projections}:Bag", "-w", "2")
    assert "one core" not in quiet
    spec = f"{projections}:Sequence"
    code, _, err = run(capsys, "checkpoints", "--db", big_db, "-p", spec, "-w", "2")
    assert code == 0 and "no key() and no merge(): one core" in err
    code, _, err = run(capsys, "checkpoints", "--db", big_db, "-p", spec, "-w", "1")
    assert code == 0 and "one core" not in err


@pytest.mark.parametrize("workers", [2, 3])
def test_a_worker_that_stops_early_leaves_the_others_to_finish(big_db, projections, workers):
    """One partition fails at its first events while the main process still folds (and saves
    checkpoints): the run ends with the serial error, it does not wait forever."""
    spec = f"{projections}:Fragile"
    with tracer.open(big_db) as store:
        serial = Replay(store, spec, workers=1, every=1000)
        with pytest.raises(TracerError) as expected:
            serial.states()
        parallel = Replay(store, spec, workers=workers, parallel_min=0, every=1000)
        with pytest.raises(TracerError) as raised:
            parallel.states()
    assert str(raised.value) == str(expected.value)
    assert "failed on event at position 6 (stream acct-6, type Add)" in str(raised.value)


def test_cli_whatif_on_two_workers_prints_what_one_prints(capsys, big_db, projections):
    outputs = []
    for workers in ("1", "2"):
        code, out, err = run(
            capsys,
            "whatif",
            "--skip",
            "6",
            "--db",
            big_db,
            "-p",
            f"{projections}:Totals",
            "--workers",
            workers,
            "--json",
        )
        assert code == 0, err
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1]
    assert outputs[0]["differences"]
