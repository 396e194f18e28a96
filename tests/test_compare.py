"""``tracer compare``: two versions of a projection over the whole history, where they diverge.

The property: on a random log, with a projection and a copy of it whose handler for one type
behaves differently under a condition (or raises), the reported position for every stream is
the first event after which a linear replay of the two differs (or where the copy raised).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from samples import ACCOUNT, BALANCES, BANK, BANK_PROJECTIONS

import tracer
from tracer import Projection, ReadModel, on, upcaster
from tracer.cli import main
from tracer.errors import TracerError
from tracer.replay import diff_states
from tracer.replay.compare import compare_projections, same_state

FIXED = f"{BANK_PROJECTIONS.parent / 'bank_fixed.py'}:Account"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
STREAMS = ["s-1", "s-2", "s-3"]


# -- the bank sample: the double ATM withdrawal and its fix ---------------------------------
@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("compare") / "bank.duckdb"
    with tracer.open(path) as store:
        store.load(str(BANK))
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_fix_diverges_on_account_7_at_the_duplicate_withdrawal_and_exits_1(capsys, db):
    code, out, _ = run(capsys, "compare", "-p", ACCOUNT, "--against", FIXED, "--db", db, "--json")
    assert code == 1
    doc = json.loads(out)
    assert (doc["streams"], doc["diverged"]) == (26, 1)
    [first] = doc["first"]
    assert {k: first[k] for k in ("stream", "position", "version", "type", "time")} == {
        "stream": "account-7",
        "position": 798,
        "version": 33,
        "type": "Withdrawn",
        "time": "2026-03-04T10:17:10.285000+00:00",
    }
    assert first["event_id"] == "8cc82b16-d5cd-4e36-bcb8-7a2d524217ff"
    assert (first["kind"], first["error"], first["agree_at_end"]) == ("state", None, False)
    assert first["diff"] == [
        {"path": "balance", "op": "change", "old": -132, "new": 278},
        {"path": "withdrawals", "op": "change", "old": 10, "new": 9},
    ]


def test_the_table_names_the_stream_the_event_and_both_values(capsys, db):
    code, out, _ = run(capsys, "compare", "-p", ACCOUNT, "--against", FIXED, "--db", db)
    assert code == 1
    assert "1 of 26 stream(s) diverge" in out
    assert "account-7" in out and "#798 Withdrawn" in out
    balance = next(line for line in out.splitlines() if "balance" in line).split()
    assert balance == ["balance", "change", "-132", "278"]


def test_a_version_compared_with_itself_agrees_and_exits_0(capsys, db):
    code, out, _ = run(capsys, "compare", "-p", ACCOUNT, "--against", ACCOUNT, "--db", db, "--json")
    assert code == 0
    assert json.loads(out) == {"streams": 26, "diverged": 0, "first": []}
    code, out, _ = run(capsys, "compare", "-p", ACCOUNT, "--against", ACCOUNT, "--db", db)
    assert code == 0 and "agree on 26 stream(s)" in out


def test_stream_and_category_limit_what_is_compared(capsys, db):
    args = ("compare", "-p", ACCOUNT, "--against", FIXED, "--db", db, "--json")
    code, out, _ = run(capsys, *args, "--stream", "account-3")
    assert (code, json.loads(out)) == (0, {"streams": 1, "diverged": 0, "first": []})
    code, out, _ = run(capsys, *args, "--stream", "account-7")
    assert code == 1 and json.loads(out)["first"][0]["position"] == 798
    code, out, _ = run(capsys, *args, "--category", "account")
    assert code == 1 and json.loads(out)["streams"] == 26
    code, _, err = run(capsys, *args, "--category", "acount")
    assert (code, err.strip()) == (
        2,
        "error: no events of category 'acount' in the store, did you mean account?",
    )


def test_bad_input_is_one_line_and_exit_2(capsys, db):
    code, _, err = run(capsys, "compare", "-p", ACCOUNT, "--against", BALANCES, "--db", db)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: cannot compare: Account keeps one state per stream and Balances is a read model "
        "with one state"
    ]
    code, _, err = run(
        capsys, "compare", "-p", ACCOUNT, "--against", FIXED, "--db", db, "--stream", "nope"
    )
    assert code == 2 and "no stream 'nope'" in err
    missing = f"{BANK_PROJECTIONS.parent / 'missing.py'}:Account"
    code, _, err = run(capsys, "compare", "-p", ACCOUNT, "--against", missing, "--db", db)
    assert code == 2 and "no projection file" in err


class Fragile(Projection):
    """The bank account, whose new withdrawal handler raises on one account's big withdrawals
    and counts deposits differently from position 1000 on."""

    def initial(self):
        return {"balance": 0, "deposits": 0}

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]
        state["deposits"] += 1 if event.position < 1000 else 2

    @on("Withdrawn")
    def withdrawn(self, state, event):
        if event.stream == "account-7" and event.data["amount"] > 300:
            raise ValueError("amount too large")
        state["balance"] -= event.data["amount"]


class Plain(Projection):
    def initial(self):
        return {"balance": 0, "deposits": 0}

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]
        state["deposits"] += 1

    @on("Withdrawn")
    def withdrawn(self, state, event):
        state["balance"] -= event.data["amount"]


def test_a_raising_handler_is_an_error_divergence_and_the_others_go_on(bank_store):
    result = compare_projections(bank_store, Plain, Fragile)
    frame = result.divergences
    errors = frame[frame["kind"] == "error"]
    assert errors["stream"].tolist() == ["account-7"]
    error = errors.iloc[0]
    first_big = bank_store.sql(
        "SELECT min(position) FROM events WHERE stream = 'account-7' AND type = 'Withdrawn' "
        "AND CAST(data->>'amount' AS INT) > 300"
    ).iloc[0, 0]
    assert error["position"] == first_big
    assert error["error"].startswith("new: projection Fragile: handler withdrawn failed")
    assert "ValueError: amount too large" in error["error"]
    assert not error["agree_at_end"]
    states = frame[frame["kind"] == "state"]
    assert len(states) > 10  # every other account that got a deposit from 1000 on
    assert (states["position"] >= 1000).all()
    assert set(states["type"]) == {"Deposited"}
    assert states["position"].is_monotonic_increasing
    first = states.iloc[0]["diff"]
    assert [(c["path"], c["op"], c["new"] - c["old"]) for c in first] == [("deposits", "change", 1)]


def test_states_equal_to_python_but_not_as_json_diverge():
    assert not same_state({"open": 1}, {"open": True})
    assert not same_state([0], [False])
    assert same_state({"a": 1, "b": [1.0]}, {"b": [1], "a": 1.0})
    assert same_state({"s": {1, 2}}, {"s": {2, 1}})


class Cents(Projection):
    """The same account, reading amounts through an upcaster into cents: agrees in euros."""

    def initial(self):
        return {"balance": 0, "deposits": 0}

    @upcaster("Deposited")
    def to_cents(self, data):
        return {"cents": data["amount"] * 100}

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["cents"] // 100
        state["deposits"] += 1

    @on("Withdrawn")
    def withdrawn(self, state, event):
        state["balance"] -= event.data["amount"]


def test_each_version_runs_its_own_upcasters(bank_store):
    result = compare_projections(bank_store, Plain, Cents)
    assert result.diverged == 0 and result.streams == 26 and bool(result)


class Balances2(ReadModel):
    """The sample's Balances read model, with transfers received forgotten after March."""

    def initial(self):
        return {"total": 0, "accounts": {}}

    def _add(self, state, stream, amount):
        state["accounts"][stream] = state["accounts"].get(stream, 0) + amount
        state["total"] += amount

    @on("AccountOpened")
    def opened(self, state, event):
        state["accounts"].setdefault(event.stream, 0)

    @on("Deposited", "TransferReceived")
    def credited(self, state, event):
        if event.type == "TransferReceived" and event.time >= datetime(2026, 4, 1, tzinfo=UTC):
            return
        self._add(state, event.stream, event.data["amount"])

    @on("Withdrawn", "TransferSent")
    def debited(self, state, event):
        self._add(state, event.stream, -event.data["amount"])


def test_a_read_model_diverges_once_with_the_event_that_parted_them(bank_store):
    result = compare_projections(bank_store, BALANCES, Balances2)
    first_april_transfer = bank_store.sql(
        "SELECT min(position) FROM events WHERE type = 'TransferReceived' "
        "AND time >= TIMESTAMPTZ '2026-04-01 00:00:00+00'"
    ).iloc[0, 0]
    assert result.read_model and result.streams == 1
    [row] = result.divergences.to_dict(orient="records")
    assert row["key"] is None and row["position"] == first_april_transfer
    assert row["type"] == "TransferReceived"
    assert {c["path"] for c in row["diff"]} == {"total", f"accounts.{row['stream']}"}
    doc = result.to_dict()
    assert doc["first"][0]["key"] is None and doc["first"][0]["stream"] == row["stream"]
    html = result._repr_html_()
    assert "TransferReceived" in html and "accounts." in html and "Balances2 (new)" in html


# -- the property ---------------------------------------------------------------------------
class Bag(Projection):
    """Numbers, nested dicts and lists."""

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
        return {"n": event.data["k"], "tags": {}, "log": []}


def mutant(event_type: str, k: int, how: str) -> type[Bag]:
    """Bag, whose handler of ``event_type`` behaves otherwise when ``data.k >= k``."""
    name = {"Add": "add", "Tag": "tag", "Push": "push", "Reset": "reset"}[event_type]
    original = getattr(Bag, name)

    def handler(self, state, event):
        if event.data["k"] < k:
            return original(self, state, event)
        if how == "raise":
            raise RuntimeError(f"k is {k}")
        if how == "skip":
            return None
        result = original(self, state, event)
        state = state if result is None else result
        state["n"] = state["n"] + 1
        return state

    return type("Mutant", (Bag,), {name: handler})


events = st.lists(
    st.tuples(
        st.sampled_from(STREAMS),
        st.sampled_from(["Add", "Tag", "Push", "Reset", "Ignored"]),
        st.fixed_dictionaries({"k": st.integers(-2, 2), "name": st.sampled_from(["a", "b"])}),
    ),
    min_size=1,
    max_size=40,
)


def make_store(log: list[tuple[str, str, dict[str, Any]]]) -> tracer.Store:
    store = tracer.open()
    versions: dict[str, int] = {}
    rows = []
    for position, (stream, event_type, data) in enumerate(log, start=1):
        versions[stream] = versions.get(stream, 0) + 1
        rows.append(
            (position, f"ev-{position}", stream, "s", versions[stream], event_type,
             T0 + timedelta(seconds=position), orjson.dumps(data).decode(), "{}",
             None, None, "test", position, 1)
        )  # fmt: skip
    store.con.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    return store


class _Event:
    def __init__(self, position: int, stream: str, event_type: str, data: Any) -> None:
        self.position, self.stream, self.type, self.data = position, stream, event_type, data


def linear_first(log, old: Projection, new: Projection) -> dict[str, tuple[int, str]]:
    """Folding both by hand, event by event: per stream, the first position after which the
    states differ (``state``) or where either raised (``error``); every stream checked after
    every event."""
    states: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    first: dict[str, tuple[int, str]] = {}
    for position, (stream, event_type, data) in enumerate(log, start=1):
        if stream in first:
            continue
        for projection, side in zip((old, new), states, strict=True):
            handler = projection.handlers().get(event_type)
            if handler is None:
                continue
            state = side.get(stream, projection.initial())
            try:
                result = handler(state, _Event(position, stream, event_type, copy.deepcopy(data)))
            except RuntimeError:
                first.setdefault(stream, (position, "error"))
                continue
            side[stream] = state if result is None else result
        for name in STREAMS:
            if name in first:
                continue
            a = states[0].get(name, old.initial())
            b = states[1].get(name, new.initial())
            if diff_states(a, b):
                first[name] = (position, "state")
    return first


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events,
    st.sampled_from(["Add", "Tag", "Push", "Reset"]),
    st.integers(-2, 2),
    st.sampled_from(["plus", "skip", "raise"]),
)
def test_the_first_divergence_of_each_stream_is_where_a_linear_replay_of_both_differs(
    log, event_type, k, how
):
    new = mutant(event_type, k, how)
    expected = linear_first(log, Bag(), new())
    if all(t == "Ignored" for _, t, _ in log):
        with pytest.raises(TracerError, match="nothing to compare"):
            compare_projections(make_store(log), Bag, new)
        return
    result = compare_projections(make_store(log), Bag, new)
    found = {
        r["stream"]: (r["position"], r["kind"])
        for r in result.divergences.to_dict(orient="records")
    }
    assert found == expected
    assert result.divergences["position"].is_monotonic_increasing
    assert result.streams == len({s for s, t, _ in log if t != "Ignored"})


class KeyedBag(ReadModel):
    """A keyed read model: one state per ``data.name``."""

    def key(self, event):
        return event.data["name"]

    def initial(self):
        return {"n": 0}

    @on("Add", "Push")
    def add(self, state, event):
        state["n"] += event.data["k"]


class KeyedMutant(KeyedBag):
    def key(self, event):
        return event.data["name"] if event.data["k"] != 2 else "b"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_a_keyed_read_model_reports_each_key_where_it_first_differs(log):
    expected: dict[str, int] = {}
    old: dict[str, int] = {}
    new: dict[str, int] = {}
    for position, (_, event_type, data) in enumerate(log, start=1):
        if event_type not in ("Add", "Push"):
            continue
        old[data["name"]] = old.get(data["name"], 0) + data["k"]
        key = data["name"] if data["k"] != 2 else "b"
        new[key] = new.get(key, 0) + data["k"]
        for name in ("a", "b"):
            if old.get(name, 0) != new.get(name, 0):
                expected.setdefault(name, position)
    if not any(t in ("Add", "Push") for _, t, _ in log):
        with pytest.raises(TracerError, match="nothing to compare"):
            compare_projections(make_store(log), KeyedBag, KeyedMutant)
        return
    result = compare_projections(make_store(log), KeyedBag, KeyedMutant)
    found = {r["key"]: r["position"] for r in result.divergences.to_dict(orient="records")}
    assert found == expected


def test_stream_does_not_apply_to_a_read_model_with_one_state(bank_store):
    with pytest.raises(TracerError, match="--stream does not apply"):
        compare_projections(bank_store, BALANCES, Balances2, stream="account-7")


class OnlyX(Bag):
    category = "x"


class OnlyY(Bag):
    category = "y"


class OnlyXMutant(mutant("Add", -2, "plus")):  # type: ignore[misc]
    category = "x"


def test_a_category_both_versions_declare_limits_the_comparison():
    store = make_store([("s-1", "Add", {"k": 1, "name": "a"})] * 4)
    store.con.execute("UPDATE events SET category = 'x', stream = 'x-1' WHERE position <= 2")
    store.con.execute("UPDATE events SET category = 'y', stream = 'y-1' WHERE position > 2")
    declared = compare_projections(store, OnlyX, OnlyXMutant)
    assert (declared.streams, declared.divergences["stream"].tolist()) == (1, ["x-1"])
    everything = compare_projections(store, Bag, mutant("Add", -2, "plus"))
    assert everything.divergences["stream"].tolist() == ["x-1", "y-1"]
    with pytest.raises(TracerError, match=r"OnlyX \(old\) declares 'x'.*fold different"):
        compare_projections(store, OnlyX, OnlyY)
    # a version that declares a category sees nothing else, whatever --category says
    with pytest.raises(TracerError, match=r"cannot compare category 'y': .* declare category 'x'"):
        compare_projections(store, OnlyX, OnlyXMutant, category="y")
    # comparing nothing is no pass: neither version handles the events of category y
    store.con.execute("UPDATE events SET type = 'Unknown' WHERE category = 'y'")
    with pytest.raises(TracerError, match=r"nothing to compare: .* of category 'y'"):
        compare_projections(store, Bag, Bag, category="y")
    with pytest.raises(TracerError, match="stream 'y-1' is of category 'y'"):
        compare_projections(store, OnlyX, OnlyXMutant, stream="y-1")


def test_compare_ignore_and_names_of_two_files_with_one_class_name(capsys, db, tmp_path):
    (tmp_path / "counted.py").write_text(
        f"import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('bank_old', {str(BANK_PROJECTIONS)!r})\n"
        "bank = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(bank)\n"
        "class Account(bank.Account):\n"
        "    def initial(self):\n"
        "        return {**super().initial(), 'events': 0}\n"
    )
    args = ["compare", "-p", ACCOUNT, "--against", f"{tmp_path / 'counted.py'}:Account"]
    code, out, _ = run(capsys, *args, "--db", db)
    assert code == 1 and "26 of 26 stream(s) diverge (bank.py:Account → counted.py:Account)" in out
    code, out, _ = run(capsys, *args, "--ignore", "events", "--db", db)
    assert code == 0 and "agree on 26 stream(s)" in out
    code, _, err = run(capsys, *args, "--ignore", "a[", "--db", db)
    assert code == 2 and err.startswith("error: --ignore 'a['")


def test_notebook_view_and_figure_of_the_divergences(bank_store):
    tn = pytest.importorskip("tracer.notebook")
    result = compare_projections(bank_store, ACCOUNT, FIXED)
    html = result._repr_html_()
    assert "account-7" in html and "position 798" in html
    assert "<code>-132</code>" in html and "<code>278</code>" in html
    figure = tn.divergence_timeline(result)
    [markers] = figure.data
    assert list(markers.y) == ["account-7"]
    assert pd.Timestamp(markers.x[0]) == pd.Timestamp("2026-03-04T10:17:10.285")  # (UTC)
    assert "balance: -132 → 278" in markers.hovertext[0]
    many = compare_projections(bank_store, Plain, Fragile)
    counted = tn.divergence_timeline(many, max_lanes=3)  # (more streams: counts per bucket)
    assert {bar.type for bar in counted.data} == {"bar"}
    assert sum(sum(bar.y) for bar in counted.data) == many.diverged > 3
    agree = compare_projections(bank_store, ACCOUNT, ACCOUNT)
    assert "agree after every event" in agree._repr_html_()
    assert tn.divergence_timeline(agree).data == ()


def test_the_table_shows_an_error_divergence_with_its_message(capsys, db):
    here = Path(__file__)
    code, out, _ = run(capsys, "compare", "-p", f"{here}:Plain", "--against", f"{here}:Fragile",
                       "--db", db)  # fmt: skip
    assert code == 1
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("account-7"))
    assert "Withdrawn" in lines[at] and "still differ at the end" in lines[at]
    assert lines[at + 1].split()[:2] == ["error", "new:"]
    assert "ValueError: amount too large" in " ".join(lines[at + 1 : at + 4])
