"""``before`` and ``changed('path')`` in conditions, ``check --by`` and category scopes.

Laws checked on random logs (hypothesis): ``find`` with ``before``/``changed`` stops where a
linear replay that keeps the previous state first sees the condition hold; a replay scoped to a
category gives the states of a store that holds only that category's events, serially and on
two workers, with and without checkpoints.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer import Projection, on
from tracer.cli import main
from tracer.errors import TracerError
from tracer.replay import Replay, violation_groups

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STREAMS = ["order-1", "order-2", "payment-1", "payment-2"]
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Tally(Projection):
    def initial(self):
        return {"n": 0, "items": []}

    @on("Add")
    def add(self, state, event):
        state["n"] += event.data["k"]

    @on("Push")
    def push(self, state, event):
        state["items"].append(event.data["k"])

    @on("Reset")
    def reset(self, state, event):
        return {"n": event.data["k"], "items": []}


class Orders(Tally):
    category = "order"


class Totals(Projection):
    """A read model keyed by category: its states show which events it was given."""

    read_model = True

    def key(self, event):
        return event.stream.split("-")[0]

    @on("*")
    def any(self, state, event):
        state["events"] = state.get("events", 0) + 1


events_st = st.lists(
    st.tuples(
        st.sampled_from(STREAMS),
        st.sampled_from(["Add", "Push", "Reset"]),
        st.integers(-3, 3),
        st.sampled_from(["1.0", "1.1", "2.0"]),
    ),
    min_size=1,
    max_size=40,
)


def _rows(events: list[tuple[str, str, int, str]]) -> list[dict[str, Any]]:
    versions: Counter[str] = Counter()
    rows = []
    for i, (stream, type_, k, app_version) in enumerate(events):
        versions[stream] += 1
        rows.append(
            {
                "id": f"e{i}",
                "stream": stream,
                "version": versions[stream],
                "type": type_,
                "time": (T0 + timedelta(minutes=i)).isoformat(),
                "data": {"k": k},
                "meta": {"appVersion": app_version},
            }
        )
    return rows


def _store(rows: list[dict[str, Any]], path: Path) -> tracer.Store:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    store = tracer.open()
    store.load(str(path))
    return store


def _linear(rows: list[dict[str, Any]], condition) -> int | None:
    """The first position where ``condition(before, after, event)`` holds, replaying by hand."""
    projection = Tally()
    states: dict[str, Any] = {}
    for position, row in enumerate(rows, start=1):
        before = copy.deepcopy(states.get(row["stream"], projection.initial()))
        after = copy.deepcopy(before)
        handler = {"Add": projection.add, "Push": projection.push, "Reset": projection.reset}
        result = handler[row["type"]](after, _Ev(row))
        after = result if result is not None else after
        states[row["stream"]] = after
        if condition(before, after, row):
            return position
    return None


class _Ev:
    def __init__(self, row: dict[str, Any]) -> None:
        self.data = row["data"]


@SETTINGS
@given(events=events_st)
def test_find_with_before_and_changed_agrees_with_a_linear_replay(tmp_path_factory, events):
    rows = _rows(events)
    store = _store(rows, tmp_path_factory.mktemp("log") / "log.jsonl")
    replay = Replay(store, Tally, workers=1)
    cases = [
        ("before['n'] <= 0 and state['n'] > 0", lambda b, a, r: b["n"] <= 0 < a["n"]),
        ("changed('n')", lambda b, a, r: b["n"] != a["n"]),
        ("changed('items') and not changed('n')", lambda b, a, r: b["items"] != a["items"]),
        # the condition also sees the state after a Reset replaced the state object
        (
            "event.type == 'Reset' and before == state",
            lambda b, a, r: r["type"] == "Reset" and b == a,
        ),
    ]
    for where, by_hand in cases:
        match = replay.find(where)
        assert (match.position if match else None) == _linear(rows, by_hand), where
    # changed() on a path that no state before or after any event has is an error
    if _linear(rows, lambda b, a, r: b["items"] or a["items"]) is None:
        with pytest.raises(TracerError, match=r"changed\('items\[0\]'\).* could not be evaluated"):
            replay.find("changed('items[0]')")
    else:
        match = replay.find("changed('items[0]')")
        expected = _linear(rows, lambda b, a, r: b["items"][:1] != a["items"][:1])
        assert (match.position if match else None) == expected
    store.close()


def test_a_callable_condition_gets_before_when_it_asks_for_it(bank_store):
    replay = Replay(bank_store, "sample_logs/projections/bank.py:Account", workers=1)
    match = replay.find(lambda state, event, before: before["balance"] >= 0 > state["balance"])
    assert (match.stream, match.position) == ("account-7", 798)


def test_check_by_counts_violations_per_group(tmp_path):
    rows = _rows(
        [(s, "Add", -1, v) for s, v in zip(STREAMS * 3, ["1.0", "1.1", "2.0"] * 4, strict=True)]
    )
    store = _store(rows, tmp_path / "log.jsonl")
    replay = Replay(store, Tally, workers=1)
    frame = replay.check("state['n'] >= 0", by="event.meta['appVersion']")
    # every stream breaks at its first event and never recovers: one violation per stream
    assert len(frame) == len(STREAMS)
    expected = Counter(rows[i]["meta"]["appVersion"] for i in range(len(STREAMS)))
    groups = violation_groups(frame)
    assert dict(zip(groups["by"], groups["violations"], strict=True)) == expected
    assert list(groups["violations"]) == sorted(groups["violations"], reverse=True)
    store.close()


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_by_in_the_cli_prints_groups_and_exits_1(capsys, tmp_path, monkeypatch):
    rows = _rows([("order-1", "Add", -1, "1.0"), ("order-2", "Add", -2, "2.0")])
    (tmp_path / "log.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    (tmp_path / "p.py").write_text(
        "from tracer import Projection, on\n"
        "class C(Projection):\n"
        "    def initial(self):\n        return {'n': 0}\n"
        "    @on('Add')\n    def add(self, s, e):\n        s['n'] += e.data['k']\n"
    )
    db = str(tmp_path / "t.duckdb")
    assert _cli(capsys, "load", str(tmp_path / "log.jsonl"), "--db", db)[0] == 0
    args = ["check", "-i", "state['n'] >= 0", "--by", "event.meta['appVersion']"]
    args += ["-p", f"{tmp_path / 'p.py'}:C", "--db", db]
    code, out, _ = _cli(capsys, *args, "--json")
    assert code == 1
    document = json.loads(out)
    assert {(g["by"], g["violations"]) for g in document["groups"]} == {("1.0", 1), ("2.0", 1)}
    assert [v["by"] for v in document["violations"]] == ["1.0", "2.0"]
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = _cli(capsys, *args)
    assert code == 1
    assert "violations by event.meta['appVersion']" in out
    assert "2 violation(s)" in out


@SETTINGS
@given(events=events_st, workers=st.sampled_from([1, 2]), every=st.sampled_from([3, 1000]))
def test_a_category_replay_equals_a_store_of_that_category_only(
    tmp_path_factory, events, workers, every
):
    rows = _rows(events)
    tmp = tmp_path_factory.mktemp("log")
    whole = _store(rows, tmp / "all.jsonl")
    orders = [r for r in rows if r["stream"].startswith("order-")]
    if not orders:
        with pytest.raises(TracerError, match="no events of category 'order'"):
            Replay(whole, Tally, category="order")
        whole.close()
        return
    alone = _store(orders, tmp / "orders.jsonl")
    for projection in (Tally, Totals):
        scoped = Replay(
            whole, projection, category="order", workers=workers, every=every, parallel_min=1
        )
        scoped.build_checkpoints()
        expected = Replay(alone, projection, workers=1).states()
        for replay in (scoped, Replay(whole, projection, category="order", every=every)):
            got = replay.states()  # (the second from the checkpoints the first saved)
            assert list(got["stream"]) == list(expected["stream"])
            assert list(got["state"]) == list(expected["state"])
            assert list(got["position"]) == [
                rows.index(orders[p - 1]) + 1 for p in expected["position"]
            ]
    # the unscoped replay saw its own checkpoints, not the category's
    totals = Replay(whole, Totals, workers=1).states()
    assert sum(s["events"] for s in totals["state"]) == len(rows)
    alone.close()
    whole.close()


def test_category_errors_are_one_line_with_the_close_names(tmp_path):
    rows = _rows([("order-1", "Add", 1, "1.0"), ("payment-1", "Add", 2, "1.0")])
    store = _store(rows, tmp_path / "log.jsonl")
    with pytest.raises(TracerError, match=r"no events of category 'ordr'.*did you mean order"):
        Replay(store, Tally, category="ordr")
    with pytest.raises(TracerError, match=r"'giftcard' in the store \(its categories: "):
        Replay(store, Tally, category="giftcard")
    with pytest.raises(TracerError, match=r"declares category 'order'.*'payment'"):
        Replay(store, Orders, category="payment")
    replay = Replay(store, Orders)  # the declared category
    assert list(replay.states()["stream"]) == ["order-1"]
    with pytest.raises(TracerError, match="stream 'payment-1' is of category 'payment'"):
        replay.state("payment-1")
    assert replay.state("order-1").state == {"n": 1, "items": []}
    store.close()


def test_category_in_the_cli(capsys, tmp_path):
    rows = _rows([("order-1", "Add", 1, "1.0"), ("payment-1", "Add", -2, "1.0")])
    (tmp_path / "log.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    db = str(tmp_path / "t.duckdb")
    assert _cli(capsys, "load", str(tmp_path / "log.jsonl"), "--db", db)[0] == 0
    code, out, _ = _cli(capsys, "states", "--category", "order", "--db", db, "--json")
    assert [s["stream"] for s in json.loads(out)] == ["order-1"]
    args = ["check", "-i", "state['k'] >= 0", "--db", db, "--json"]
    assert _cli(capsys, *args)[0] == 1  # payment-1 has k = -2
    assert _cli(capsys, *args, "--category", "order")[0] == 0
    code, out, _ = _cli(capsys, "find", "--where", "state['k'] < 0", "-c", "order", "--db", db)
    assert "no event matches" in out
    code, out, err = _cli(capsys, "states", "--category", "orders", "--db", db)
    assert code != 0
    assert "no events of category 'orders' in the store, did you mean order?" in err
    assert "Traceback" not in err


def test_misspelt_fields_in_by_and_changed_are_errors_not_silent_answers(bank_store):
    replay = Replay(bank_store, "sample_logs/projections/bank.py:Account", workers=1)
    with pytest.raises(TracerError, match=r"--by expression .*KeyError: 'chanel'"):
        replay.check("state['balance'] >= 0", by="event.meta['chanel']")
    with pytest.raises(TracerError, match=r"condition \"changed\('balanse'\)\" could not be"):
        replay.find("changed('balanse')")
    with pytest.raises(TracerError, match=r"^changed\(\) takes one path"):
        replay.find("changed('balance', 1)")
    with pytest.raises(TracerError, match=r"^invariant .* does not parse"):
        replay.check("state['balance'] >= (")
    # a path one state lacks and the other has is a change (added or removed)
    assert replay.find("changed('owner') and before['owner'] is None").position == 1


def test_a_condition_undefined_on_some_events_says_so_on_stderr(capsys, tmp_path):
    rows = _rows([("order-1", "Add", 1, "1.0"), ("order-1", "Push", 2, "1.0")])
    rows[1]["data"] = {"k": 2, "extra": 5}
    (tmp_path / "log.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    db = str(tmp_path / "t.duckdb")
    assert _cli(capsys, "load", str(tmp_path / "log.jsonl"), "--db", db)[0] == 0
    code, out, err = _cli(capsys, "check", "-i", "event.data['extra'] < 5", "--db", db)
    assert code == 1
    assert "could not be evaluated on 1 of 2 events (KeyError: 'extra'): it counted as " in err
    code, out, err = _cli(capsys, "find", "--where", "event.data['extra'] > 9", "--db", db)
    assert code == 0 and "no event matches" in out
    assert "1 of 2 events (KeyError: 'extra'): they counted as no match there" in err
    code, out, err = _cli(capsys, "find", "--where", "event.data['k'] > 9", "--db", db)
    assert "note" not in err
