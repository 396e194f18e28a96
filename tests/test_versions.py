"""``version:N`` is the stream's event whose version is N, whether it counts from 0 or from 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tracer
from tracer.cli import main
from tracer.replay import Replay
from tracer.replay.points import PointError, resolve_version

ROWS = [
    # zero: 0-based (KurrentDB, many exports); one: 1-based (Marten, eventsourcing)
    {"stream": "zero", "version": 0, "type": "Opened", "data": {"balance": 10}},
    {"stream": "one", "version": 1, "type": "Opened", "data": {"balance": 100}},
    {"stream": "zero", "version": 1, "type": "Deposited", "data": {"balance": 15}},
    {"stream": "one", "version": 2, "type": "Deposited", "data": {"balance": 150}},
    {"stream": "zero", "version": 2, "type": "Deposited", "data": {"balance": 20}},
]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("versions")
    source = folder / "v.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    path = folder / "v.duckdb"
    with tracer.open(path) as store:
        store.load(str(source))
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def state(capsys, db: str, stream: str, at: str) -> dict:
    code, out, err = run(capsys, "state", stream, "--at", at, "--db", db, "--json")
    assert code == 0, err
    return json.loads(out)


def test_version_0_of_a_0_based_stream_is_the_state_after_its_first_event(capsys, db):
    doc = state(capsys, db, "zero", "version:0")
    assert (doc["position"], doc["version"], doc["state"]) == (1, 0, {"balance": 10})
    assert state(capsys, db, "zero", "version:2")["state"] == {"balance": 20}


def test_version_n_of_a_1_based_stream_is_its_event_of_version_n(capsys, db):
    doc = state(capsys, db, "one", "version:1")
    assert (doc["position"], doc["version"], doc["state"]) == (2, 1, {"balance": 100})


def test_version_0_of_a_1_based_stream_is_its_state_before_any_event(capsys, db):
    assert state(capsys, db, "one", "version:0")["state"] == {}


def test_diff_from_version_0_does_not_count_the_first_event_of_a_0_based_stream(capsys, db):
    code, out, _ = run(capsys, "diff", "zero", "--from", "version:0", "--db", db, "--json")
    assert code == 0
    assert json.loads(out) == [{"path": "balance", "op": "change", "old": 10, "new": 20}]
    code, out, _ = run(capsys, "diff", "one", "--from", "version:0", "--db", db, "--json")
    assert json.loads(out) == [{"path": "balance", "op": "add", "old": None, "new": 150}]


@pytest.mark.parametrize(
    ("stream", "at", "message"),
    [
        ("zero", "version:3", "stream 'zero' has no version 3: its last version is 2"),
        ("one", "version:7", "stream 'one' has no version 7: its last version is 2"),
        ("nobody", "version:1", "no stream 'nobody' in the store"),
    ],
)
def test_a_version_that_does_not_exist_is_a_one_line_error(capsys, db, stream, at, message):
    code, out, err = run(capsys, "state", stream, "--at", at, "--db", db)
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_the_api_and_the_public_resolver_agree(db):
    with tracer.open(db, read_only=True) as store:
        replay = Replay(store)
        assert replay.state("zero", "version:0").state == {"balance": 10}
        assert replay.state("one", "version:0").state == {}
        cur = store.cursor()
        assert resolve_version(cur, "zero", 0) == 1
        assert resolve_version(cur, "zero", 1) == 3
        assert resolve_version(cur, "one", 2) == 4
        assert resolve_version(cur, "one", 0) == 1  # just before its first event, position 2
        with pytest.raises(PointError, match="has no version 3"):
            resolve_version(cur, "zero", 3)
        with pytest.raises(PointError, match="no stream 'x'"):
            resolve_version(cur, "x", 0)


def test_resolver_names_gaps(tmp_path: Path):
    rows = [{"stream": "g", "version": v, "type": "A", "data": {}} for v in (0, 1, 3)]
    source = tmp_path / "g.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with tracer.open() as store:
        store.load(str(source))
        with pytest.raises(PointError, match="its versions run from 0 to 3 with gaps"):
            resolve_version(store.con, "g", 2)
