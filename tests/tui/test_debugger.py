"""Debugger features on the bank sample: breakpoints and (reverse-)continue, playback, marks and
diffs, what-if, blame, copy and export."""

from __future__ import annotations

import orjson
import pytest
from textual.widgets import DataTable

from tracer.tui.screens import BreakpointsScreen, HelpScreen, ResultScreen

from .conftest import account_projection, press, started, type_prompt, wait_until

pytestmark = pytest.mark.asyncio

OVERDRAFT = 798  # line 798 of bank.jsonl: the ATM withdrawal applied twice
FIRST_WITHDRAWAL = 797
OPENED_7 = 46  # account-7's AccountOpened
CLOSED = (1581, 1744)  # the two AccountClosed events
RAISES_LATER = "1 / (event.position - 1000) < -1"


def table_rows(screen: ResultScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_breakpoint_on_a_negative_balance_finds_the_overdraft(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "state['balance'] < 0")
        assert not app.prompt.display
        await press(pilot, "c")
        assert app.timeline.position == OVERDRAFT
        assert app.detail.event["stream"] == "account-7"
        assert app.detail.state["balance"] == -132
        assert {c.path for c in app.detail.changes} == {"balance", "withdrawals"}
        await press(pilot, "c")  # account-7 stays negative but has no event until line 916
        assert app.timeline.position == OVERDRAFT
        await press(pilot, "G", "C")  # reverse-continue from the end
        assert app.timeline.position == OVERDRAFT
        await press(pilot, "C")
        assert app.timeline.position == OVERDRAFT  # no earlier negative balance


async def test_type_breakpoints_continue_and_reverse_continue(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "type:AccountClosed")
        assert app.timeline.breakpoint_types == {"AccountClosed"}
        await press(pilot, "c")
        assert app.timeline.position == CLOSED[0]
        await press(pilot, "c")
        assert app.timeline.position == CLOSED[1]
        await press(pilot, "c")
        assert app.timeline.position == CLOSED[1]
        await press(pilot, "C")
        assert app.timeline.position == CLOSED[0]
        assert "● 1" in str(app.query_one("#status").render())


async def test_a_bad_breakpoint_is_an_inline_message(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "state['balance'] <")
        assert app.prompt.display
        assert "not a Python expression" in str(app.query_one("#prompt-error").render())
        assert app.session.breakpoints == []


async def test_breakpoints_screen_disables_and_deletes(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "type:AccountClosed")
        await type_prompt(pilot, "b", "state['balance'] < 0")
        await press(pilot, "B")
        assert isinstance(app.screen, BreakpointsScreen)
        await press(pilot, "enter")  # disable the first
        await press(pilot, "escape")
        assert [b.enabled for b in app.session.breakpoints] == [False, True]
        assert app.timeline.breakpoint_types == set()
        await press(pilot, "c")
        assert app.timeline.position == OVERDRAFT  # only the balance condition is active
        await press(pilot, "B", "down", "delete", "escape")
        assert [b.text for b in app.session.breakpoints] == ["type:AccountClosed"]


async def test_play_steps_forward_and_stops_at_a_breakpoint(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "state['balance'] < 0")
        await type_prompt(pilot, "colon", str(OVERDRAFT - 30))
        for _ in range(4):  # 10 → 20 → 50 → 100 → 200 events/s
            await pilot.press("plus")
        assert app.session.speed == 200
        await pilot.press("space")
        await wait_until(pilot, lambda: not app.playing, "playback to stop")
        assert app.timeline.position == OVERDRAFT
        await press(pilot, "minus")
        assert app.session.speed == 100


async def test_play_and_pause(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await pilot.press("space")
        assert app.playing and "▶ 10/s" in str(app.query_one("#status").render())
        await wait_until(pilot, lambda: app.timeline.position >= 3, "playback to move")
        await pilot.press("space")
        assert not app.playing
        stopped = app.timeline.position
        await press(pilot, "j")
        assert app.timeline.position == stopped + 1  # nothing moves it any more
        await type_prompt(pilot, "colon", "297")
        await pilot.press("space")
        await wait_until(pilot, lambda: not app.playing, "the end of the log")
        assert app.timeline.position == 300


async def test_marks_and_the_diff_of_a_stream_and_of_every_stream(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(FIRST_WITHDRAWAL - 1))
        await press(pilot, "m")
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        await press(pilot, "M")
        assert app.session.marks == {"A": FIRST_WITHDRAWAL - 1, "B": OVERDRAFT}
        assert app.timeline.marks == {FIRST_WITHDRAWAL - 1: "A", OVERDRAFT: "B"}
        await press(pilot, "d")
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        assert screen.title_text == f"account-7: #{FIRST_WITHDRAWAL - 1} → #{OVERDRAFT}"
        rows = {r[0]: r for r in table_rows(screen)}
        assert rows["balance"][1:] == ["change", "688", "-132"]
        assert rows["withdrawals"][1:] == ["change", "8", "10"]
        await press(pilot, "escape")
        await press(pilot, "D")
        every = app.screen
        streams = [r[0] for r in table_rows(every)]
        assert "account-7" in streams
        await press(pilot, "enter")  # the first stream's own diff
        assert isinstance(app.screen, ResultScreen) and app.screen is not every
        assert app.screen.title_text.startswith(streams[0] + ":")


async def test_skipping_an_event_shows_the_state_diverging(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        await press(pilot, "x")
        assert app.session.skipped == {OVERDRAFT} and app.timeline.skipped == {OVERDRAFT}
        await press(pilot, "w")
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        assert f"Without #{OVERDRAFT}: 1 stream(s)" in str(
            screen.query_one("#result-summary").render()
        )
        rows = {r[1]: r for r in table_rows(screen)}
        real, whatif = int(rows["balance"][2]), int(rows["balance"][3])
        assert rows["balance"][0] == "account-7" and whatif - real == 410
        await press(pilot, "escape")
        # stepping on, the panels show the stream's state diverging from the what-if state
        whatif = app.query_one("#change-whatif")
        assert app.detail.skipped == [OVERDRAFT] and whatif.display
        assert {c.path: (c.old, c.new) for c in app.detail.whatif} == {
            "balance": (-132, 278),
            "withdrawals": (10, 9),
        }
        assert "what-if differs" in app.state_panel.border_title
        await press(pilot, "k")  # before the skipped event: nothing differs yet
        assert app.detail.skipped == [] and not whatif.display
        await press(pilot, "j", "x")
        assert app.session.skipped == set() and app.detail.skipped == []


async def test_blame_jumps_to_the_event_that_set_a_field(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        app.state_panel.select(("owner",))
        await press(pilot, "o")
        assert app.timeline.position == OPENED_7
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        app.state_panel.select(("balance",))
        app.state_panel.tree.focus()
        await press(pilot, "enter")  # enter on a field blames it too
        assert app.timeline.position == OVERDRAFT


async def test_copy_and_export_the_state_as_json(bank_store, make_app, tmp_path):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        await press(pilot, "y")
        assert orjson.loads(app.clipboard)["balance"] == -132
        await pilot.press("e")
        assert app.prompt.input.value == f"account-7-{OVERDRAFT}.json"
        target = tmp_path / "overdraft.json"
        app.prompt.input.value = str(target)
        await press(pilot, "enter")
        assert orjson.loads(target.read_bytes()) == app.detail.state
        assert not app.prompt.display


async def test_a_breakpoint_that_raises_is_disabled_once_and_continue_goes_on(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    notes: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        app.notify = lambda message, **kwargs: notes.append(str(message))  # type: ignore[method-assign]
        # defined (false) on the first events, it raises on event 1000 only
        await type_prompt(pilot, "b", RAISES_LATER)
        await type_prompt(pilot, "b", "type:AccountClosed")
        await press(pilot, "c")
        assert app.timeline.position == CLOSED[0]
        assert [b.enabled for b in app.session.breakpoints] == [False, True]
        disabled = [n for n in notes if "disabled" in n]
        assert len(disabled) == 1
        assert RAISES_LATER in disabled[0] and "ZeroDivisionError" in disabled[0]
        await press(pilot, "c")
        assert app.timeline.position == CLOSED[1]
        await type_prompt(pilot, "colon", str(CLOSED[0] - 5))
        await pilot.press("space")  # play goes on too, to the next valid breakpoint
        await wait_until(pilot, lambda: not app.playing, "playback to stop")
        assert app.timeline.position == CLOSED[0]
        assert len([n for n in notes if "disabled" in n]) == 1  # said once
        await press(pilot, "B")
        options = app.screen.query_one("#breakpoints-list")
        assert str(options.get_option_at_index(0).prompt).startswith(f"○ {RAISES_LATER}")


async def test_a_dialog_or_any_other_key_pauses_playback(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(FIRST_WITHDRAWAL - 1))
        await press(pilot, "m", "j", "M")
        await pilot.press("space", "plus")  # a speed change keeps playing
        assert app.playing and app.session.speed == 20
        await wait_until(pilot, lambda: app.timeline.position > OVERDRAFT + 2, "playback")
        await press(pilot, "d")  # the diff of the stream under the cursor when d was pressed
        assert not app.playing and isinstance(app.screen, ResultScreen)
        paused = app.timeline.position
        await press(pilot, "escape")
        for key in ("question_mark", "B"):  # help, the breakpoints list
            await pilot.press("space")
            moved = lambda was=paused: app.timeline.position > was  # noqa: E731
            await wait_until(pilot, moved, "playback")
            await press(pilot, key)
            assert not app.playing and app.screen is not app.screen_stack[0]
            assert app._play_timer is None  # no tick moves the cursor behind the dialog
            paused = app.timeline.position
            await press(pilot, "escape")
        await pilot.press("space")
        app.push_screen(HelpScreen())  # a screen a worker opens (a diff, a what-if) pauses too
        assert not app.playing
        await press(pilot, "escape")
        await pilot.press("space")
        await press(pilot, "j")  # a step pauses: the cursor is the user's again
        assert not app.playing


async def test_a_type_breakpoint_on_a_type_the_log_lacks_is_refused(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "type:Withdrawnn")
        assert app.prompt.display and app.session.breakpoints == []
        error = str(app.query_one("#prompt-error").render())
        assert "no event has type Withdrawnn (did you mean Withdrawn?)" in error
        assert "AccountClosed" in error and "Deposited" in error  # the known types
        await type_prompt(pilot, "b", "type:Withdrawn, AccountClosed")
        assert not app.prompt.display
        assert [b.types for b in app.session.breakpoints] == [("Withdrawn", "AccountClosed")]
