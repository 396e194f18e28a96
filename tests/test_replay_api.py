"""The replay engine's Python API: states at points, diffs, history, blame, find, what-if,
invariants, read models, upcasters and errors, on small stores built event by event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

import tracer
from tracer import Projection, ReadModel, on, upcaster
from tracer.errors import TracerError
from tracer.replay import (
    DefaultProjection,
    Replay,
    apply_changes,
    load_projection,
    parse_point,
)
from tracer.replay.conditions import ConditionError
from tracer.replay.fold import ProjectionError
from tracer.replay.points import Point, PointError

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def make_store(events: list[tuple[str, str, Any]], meta: list[Any] | None = None) -> tracer.Store:
    """A store holding ``(stream, type, data)`` events, one second apart, versions per stream."""
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
                stream.split("-")[0],
                versions[stream],
                event_type,
                T0 + timedelta(seconds=position),
                orjson.dumps(data).decode(),
                orjson.dumps(meta[position - 1] if meta else {}).decode(),
                None,
                None,
                "test",
                position,
                1,
            )
        )
    if rows:
        store.con.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    return store


class Account(Projection):
    def initial(self):
        return {"balance": 0}

    @on("Opened")
    def opened(self, state, event):
        state["owner"] = event.data["owner"]

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]

    @on("Withdrawn")
    def withdrawn(self, state, event):
        state["balance"] -= event.data["amount"]


BANK = [
    ("acc-1", "Opened", {"owner": "ann"}),  # 1
    ("acc-2", "Opened", {"owner": "bob"}),  # 2
    ("acc-1", "Deposited", {"amount": 100}),  # 3
    ("acc-2", "Deposited", {"amount": 50}),  # 4
    ("acc-1", "Noted", {"text": "hello"}),  # 5
    ("acc-1", "Withdrawn", {"amount": 30}),  # 6
    ("acc-2", "Withdrawn", {"amount": 80}),  # 7  bob goes to -30
    ("acc-2", "Deposited", {"amount": 100}),  # 8  back to 70
    ("acc-1", "Withdrawn", {"amount": 100}),  # 9  ann goes to -30
]


@pytest.fixture
def bank() -> Replay:
    return Replay(make_store(BANK), Account)


# -- points -------------------------------------------------------------------------------------
def test_points_parse_every_form():
    assert parse_point("pos:5") == Point("pos", 5)
    assert parse_point(7) == Point("pos", 7)
    assert parse_point("version:3") == Point("version", 3)
    assert parse_point("end") == Point("end")
    assert parse_point("time:2026-03-01T00:00:05Z").value == T0 + timedelta(seconds=5)
    assert parse_point(datetime(2026, 3, 1)).value == T0  # naive means UTC


@pytest.mark.parametrize("spec", ["pos:x", "version:-1", "time:yesterday", "tomorrow", "pos:-2"])
def test_bad_points_raise_a_clear_error(spec):
    with pytest.raises(PointError, match="bad point"):
        parse_point(spec)


def test_state_at_each_kind_of_point_is_inclusive(bank):
    assert bank.state("acc-1", at="pos:3").state == {"balance": 100, "owner": "ann"}
    assert bank.state("acc-1", at="pos:5").version == 3  # the Noted event is the last one
    assert bank.state("acc-1", at="version:2").state["balance"] == 100
    assert bank.state("acc-1", at="time:2026-03-01T00:00:06Z").state["balance"] == 70
    assert bank.state("acc-1", at="time:2026-03-01T00:00:05.999Z").state["balance"] == 100
    assert bank.state("acc-1", at=T0 + timedelta(seconds=9)).state["balance"] == -30


def test_state_before_a_streams_first_event_is_its_initial_state(bank):
    result = bank.state("acc-2", at="pos:1")
    assert result.state == {"balance": 0}
    assert result.position is None and result.version is None


def test_state_carries_the_last_event_of_the_stream(bank):
    result = bank.state("acc-2", at="end")
    assert (result.position, result.version) == (8, 4)
    assert result.time == T0 + timedelta(seconds=8)
    assert result.to_dict()["time"] == "2026-03-01T00:00:08+00:00"


def test_points_that_do_not_exist_are_errors(bank):
    with pytest.raises(PointError, match="log ends at 9"):
        bank.state("acc-1", at="pos:10")
    with pytest.raises(PointError, match="last version is 5"):
        bank.state("acc-1", at="version:6")
    with pytest.raises(PointError, match="needs a stream"):
        bank.states(at="version:2")
    with pytest.raises(TracerError, match="no stream 'acc-9'"):
        bank.state("acc-9")


def test_states_has_one_row_per_stream(bank):
    frame = bank.states(at="pos:4")
    assert list(frame.columns) == ["stream", "position", "version", "time", "state"]
    assert frame["stream"].tolist() == ["acc-1", "acc-2"]
    assert frame["state"].tolist() == [
        {"balance": 100, "owner": "ann"},
        {"balance": 50, "owner": "bob"},
    ]
    assert frame["position"].tolist() == [3, 4]


def test_handlers_may_return_a_new_state_and_unhandled_types_change_nothing():
    class Counter(Projection):
        def initial(self):
            return 0

        @on("A", "B")
        def count(self, state, event):
            return state + 1

    replay = Replay(make_store([("s-1", "A", {}), ("s-1", "C", {}), ("s-1", "B", {})]), Counter)
    assert replay.state("s-1").state == 2
    assert replay.state("s-1").version == 3


# -- default projection -------------------------------------------------------------------------
def test_default_projection_deep_merges_data():
    store = make_store(
        [
            ("o-1", "Placed", {"customer": "c1", "items": {"a": {"qty": 1}}}),
            ("o-1", "ItemAdded", {"items": {"b": {"qty": 2}}}),
            ("o-1", "ItemChanged", {"items": {"a": {"qty": 5}}, "note": None}),
        ]
    )
    replay = Replay(store)
    assert isinstance(replay.projection, DefaultProjection)
    assert replay.state("o-1").state == {
        "customer": "c1",
        "items": {"a": {"qty": 5}, "b": {"qty": 2}},
        "note": None,
    }


# -- diffs --------------------------------------------------------------------------------------
def test_diff_lists_added_removed_and_changed_paths():
    store = make_store(
        [
            ("s-1", "Set", {"a": 1, "b": {"c": [1, 2, 3]}, "gone": True}),
            ("s-1", "Set", {"a": 2, "b": {"c": [1, 9]}, "new": "x"}),
        ]
    )

    class Replace(Projection):
        @on("Set")
        def set(self, state, event):
            return event.data

    replay = Replay(store, Replace)
    diff = replay.diff("s-1", "pos:1", "pos:2")
    assert diff.to_list() == [
        {"path": "gone", "op": "remove", "old": True, "new": None},
        {"path": "a", "op": "change", "old": 1, "new": 2},
        {"path": "b.c[1]", "op": "change", "old": 2, "new": 9},
        {"path": "b.c[2]", "op": "remove", "old": 3, "new": None},
        {"path": "new", "op": "add", "old": None, "new": "x"},
    ]
    before = replay.state("s-1", "pos:1").state
    assert apply_changes(before, diff) == replay.state("s-1", "pos:2").state


def test_event_change_shows_what_one_event_did(bank):
    assert bank.event_change(7).to_list() == [
        {"path": "balance", "op": "change", "old": 50, "new": -30}
    ]
    assert bank.event_change(5).to_list() == []  # Noted has no handler
    assert bank.event_change(1).to_list() == [
        {"path": "owner", "op": "add", "old": None, "new": "ann"}
    ]


def test_diff_all_names_the_streams_that_changed(bank):
    frame = bank.diff_all("pos:4", "pos:6")
    assert frame["stream"].tolist() == ["acc-1"]
    assert frame.loc[0, "changed"] == 1
    assert bank.diff_all("pos:6", "pos:8")["stream"].tolist() == ["acc-2"]


# -- history and blame --------------------------------------------------------------------------
def test_history_lists_each_value_with_the_event_that_set_it(bank):
    frame = bank.history("acc-2", "balance")
    assert frame["position"].tolist() == [4, 7, 8]
    assert frame["value"].tolist() == [50, -30, 70]
    assert frame["type"].tolist() == ["Deposited", "Withdrawn", "Deposited"]
    assert bank.history("acc-2", "owner")["op"].tolist() == ["add"]


def test_blame_names_the_last_writer_of_every_leaf(bank):
    frame = bank.blame("acc-1", at="pos:6").set_index("path")
    assert frame.loc["balance", "position"] == 6
    assert frame.loc["balance", "event_id"] == "ev-6"
    assert frame.loc["owner", "position"] == 1
    assert frame.loc["owner", "type"] == "Opened"


def test_blame_credits_a_container_write_to_the_leaves_inside_it():
    class Replace(Projection):
        @on("Set")
        def set(self, state, event):
            state["cart"] = event.data

        @on("Bump")
        def bump(self, state, event):
            state["cart"]["n"] += 1

    store = make_store([("c-1", "Set", {"n": 1, "sku": "x"}), ("c-1", "Bump", {})])
    frame = Replay(store, Replace).blame("c-1").set_index("path")
    assert frame.loc["cart.n", "position"] == 2
    assert frame.loc["cart.sku", "position"] == 1


# -- find ---------------------------------------------------------------------------------------
def test_find_the_first_event_after_which_a_condition_holds(bank):
    match = bank.find("state['balance'] < 0")
    assert (match.position, match.stream, match.type) == (7, "acc-2", "Withdrawn")
    assert match.state == {"balance": -30, "owner": "bob"}


def test_find_from_a_point_and_backward(bank):
    assert bank.find("state['balance'] < 0", start="pos:7").position == 9
    assert bank.find("state['balance'] < 0", start="pos:8", backward=True).position == 7
    assert bank.find("state['balance'] < 0", backward=True).position == 9
    assert bank.find("state['balance'] < 0", stream="acc-1").position == 9
    assert bank.find("state['balance'] > 1000") is None


def test_find_sees_the_event_and_accepts_a_callable(bank):
    match = bank.find("event.type == 'Deposited' and event.data['amount'] >= 100")
    assert match.position == 3
    assert bank.find(lambda state, event: state.get("owner") == "bob").position == 2


def test_a_condition_on_a_missing_field_is_undefined_not_an_error(bank):
    assert bank.find("state['owner'] == 'bob'").position == 2


def test_a_condition_that_does_not_parse_is_a_clear_error(bank):
    with pytest.raises(ConditionError, match="does not parse"):
        bank.find("state['balance'] <")


def test_a_condition_that_raises_names_the_event(bank):
    with pytest.raises(ConditionError, match=r"position 1 .*ZeroDivisionError"):
        bank.find("1 / 0")


# -- check --------------------------------------------------------------------------------------
def test_check_reports_each_violation_with_the_event_that_caused_it(bank):
    frame = bank.check(["state['balance'] >= 0"])
    rows = frame[["stream", "position", "events", "until"]].astype(object)
    assert rows.where(rows.notna(), None).values.tolist() == [
        ["acc-2", 7, 1, 8],
        ["acc-1", 9, 1, None],  # still broken at the end
    ]
    assert frame.loc[0, "state"] == {"balance": -30, "owner": "bob"}
    assert bank.check(["state['balance'] > -100"]).empty


# -- what-if ------------------------------------------------------------------------------------
def test_whatif_skip_edit_and_insert(bank):
    skipped = bank.whatif(skip=[9])
    assert skipped.differences[["stream", "path", "real", "whatif"]].values.tolist() == [
        ["acc-1", "balance", -30, 70]
    ]
    edited = bank.whatif(edit={7: {"amount": 10}})
    assert edited.whatif["acc-2"]["balance"] == 140
    inserted = bank.whatif(
        insert=[(2, {"stream": "acc-3", "type": "Opened", "data": {"owner": "cy"}})]
    )
    assert inserted.differences[["stream", "path", "op"]].values.tolist() == [
        ["acc-3", "owner", "add"]
    ]
    assert bank.whatif(skip=[5]).differences.empty  # an event the projection ignores
    at_seven = bank.whatif(skip=[7], at="pos:7")  # compared at a point, not at the end
    assert at_seven.differences[["real", "whatif"]].values.tolist() == [[-30, 50]]
    with pytest.raises(TracerError, match="no event at position 99"):
        bank.whatif(skip=[99])


# -- read models --------------------------------------------------------------------------------
class Totals(ReadModel):
    def initial(self):
        return {"deposits": 0, "count": 0}

    @on("Deposited")
    def deposited(self, state, event):
        state["deposits"] += event.data["amount"]
        state["count"] += 1


class DepositsPerOwnerStream(ReadModel):
    def initial(self):
        return {"total": 0}

    def key(self, event):
        return event.stream.upper()

    @on("Deposited")
    def deposited(self, state, event):
        state["total"] += event.data["amount"]


def test_a_read_model_keeps_one_state_for_the_log():
    replay = Replay(make_store(BANK), Totals)
    assert replay.is_read_model
    result = replay.state(at="pos:4")
    assert result.state == {"deposits": 150, "count": 2}
    assert (result.stream, result.position) == (None, 4)
    assert replay.find("state['deposits'] > 200").position == 8
    assert replay.history(None, "deposits")["value"].tolist() == [100, 150, 250]


def test_a_keyed_read_model_keeps_one_state_per_key():
    replay = Replay(make_store(BANK), DepositsPerOwnerStream)
    assert replay.state().state == {"ACC-1": {"total": 100}, "ACC-2": {"total": 150}}
    assert replay.state(key="ACC-2", at="pos:4").state == {"total": 50}
    assert replay.states()["stream"].tolist() == ["ACC-1", "ACC-2"]
    assert replay.event_change(8).to_list() == [
        {"path": "ACC-2.total", "op": "change", "old": 50, "new": 150}
    ]
    whatif = replay.whatif(skip=[3])
    assert whatif.differences[["stream", "path", "real", "whatif"]].values.tolist() == [
        ["ACC-1", "total", 100, 0]
    ]


# -- upcasters ----------------------------------------------------------------------------------
class UpcastAccount(Projection):
    def initial(self):
        return {"balance": 0}

    @upcaster("Deposited", version=1)
    def cents_to_euros(self, data):
        return {"amount": data["cents"] / 100, "schema_version": 2}

    @upcaster("MoneyIn", to="Deposited")
    def renamed(self, data):
        return data

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]


def test_upcasters_turn_old_shapes_into_the_current_one():
    store = make_store(
        [
            ("a-1", "Deposited", {"cents": 1050}),  # schema 1 (no version): upcast
            ("a-1", "Deposited", {"amount": 5, "schema_version": 2}),  # current shape
            ("a-1", "MoneyIn", {"amount": 1, "schema_version": 2}),  # old type name
        ]
    )
    replay = Replay(store, UpcastAccount)
    assert replay.state("a-1").state == {"balance": 16.5}
    assert replay.history("a-1", "balance")["type"].tolist() == ["Deposited"] * 3


def test_the_schema_version_can_come_from_meta():
    store = make_store(
        [("a-1", "Deposited", {"amount": 7}), ("a-1", "Deposited", {"cents": 300})],
        meta=[{"schema_version": 2}, {"schema_version": 1}],
    )
    assert Replay(store, UpcastAccount).state("a-1").state == {"balance": 10}


# -- errors -------------------------------------------------------------------------------------
class Broken(Projection):
    @on("Withdrawn")
    def withdrawn(self, state, event):
        state["balance"] -= event.data["missing"]


def test_a_handler_that_raises_names_projection_handler_and_event():
    replay = Replay(make_store(BANK), Broken)
    with pytest.raises(ProjectionError) as info:
        replay.states()
    message = str(info.value)
    assert message.startswith("projection Broken: handler withdrawn failed on event at position 6")
    assert "stream acc-1, type Withdrawn" in message and "KeyError" in message
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(ProjectionError, match="handler withdrawn failed on event at position 7"):
        replay.state("acc-2")


def test_an_upcaster_that_raises_is_named():
    class BadUpcast(UpcastAccount):
        @upcaster("Deposited", version=1)
        def cents_to_euros(self, data):
            return {"amount": data["nope"]}

    with pytest.raises(
        ProjectionError, match="upcaster cents_to_euros failed on event at position 1"
    ):
        Replay(make_store([("a-1", "Deposited", {"cents": 1})]), BadUpcast).state("a-1")


# -- loading projections ------------------------------------------------------------------------
def test_projections_load_from_a_file_or_a_module(tmp_path):
    source = tmp_path / "mine.py"
    source.write_text(
        "from tracer import Projection, on\n"
        "class Count(Projection):\n"
        "    def initial(self):\n        return {'n': 0}\n"
        "    @on('*')\n    def any(self, state, event):\n        state['n'] += 1\n"
    )
    assert load_projection(f"{source}:Count").name == "Count"
    assert load_projection(str(source)).name == "Count"  # the only projection in the file
    assert load_projection("tracer.replay.projection:DefaultProjection").name == "DefaultProjection"
    assert Replay(make_store(BANK), f"{source}:Count").state("acc-1").state == {"n": 5}
    with pytest.raises(TracerError, match="no 'Nope'"):
        load_projection(f"{source}:Nope")
    with pytest.raises(TracerError, match="no projection file"):
        load_projection(str(tmp_path / "absent.py") + ":X")
    with pytest.raises(TracerError, match="cannot import module"):
        load_projection("no_such_module_here:X")
    # a fix subclasses the projection of the file beside it, as a script would import it
    (tmp_path / "mine_fixed.py").write_text(
        "import mine\nclass Count(mine.Count):\n    def initial(self):\n        return {'n': 100}\n"
    )
    fixed = Replay(make_store(BANK), f"{tmp_path / 'mine_fixed.py'}:Count", workers=1)
    assert fixed.state("acc-1").state == {"n": 105}


def test_results_render_as_html(bank):
    assert "acc-1" in bank.state("acc-1")._repr_html_()
    assert "balance" in bank.diff("acc-1", 0, "end")._repr_html_()
    assert "match" in bank.find("state['balance'] < 0")._repr_html_()
