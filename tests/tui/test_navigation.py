"""Moving through time: steps, pages, ends, the same stream, go to, and the virtualized rows."""

from __future__ import annotations

import pytest

import tracer
from tracer.synthetic import fill_store
from tracer.tui.timeline import MAX_PAGES, PAGE

from .conftest import account_projection, press, settle, started, type_prompt

pytestmark = pytest.mark.asyncio


def stream_positions(store, stream: str) -> list[int]:
    rows = store.con.execute(
        "SELECT position FROM events WHERE stream = ? ORDER BY position", [stream]
    ).fetchall()
    return [p for (p,) in rows]


async def test_first_screen_shows_the_first_event_with_its_state_and_change(
    synthetic_store, make_app
):
    app = make_app(synthetic_store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        assert app.timeline.position == 1
        assert app.detail.position == 1 and app.detail.error is None
        first = synthetic_store.event(1)
        assert app.detail.event["stream"] == first["stream"]
        # the default projection merges data: the state holds the first event's data
        assert app.detail.state == first["data"]
        assert {c.path for c in app.detail.changes} == set(first["data"])
        assert "300 events" in str(app.query_one("#status").render())


async def test_up_down_j_k_pages_and_ends(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await press(pilot, "down", "j", "j")
        assert app.timeline.position == 4 and app.detail.position == 4
        await press(pilot, "k", "up")
        assert app.timeline.position == 2
        await press(pilot, "pagedown")
        page = app.timeline.size.height - 2
        assert app.timeline.position == 2 + page
        await press(pilot, "pageup")
        assert app.timeline.position == 2
        await press(pilot, "G")
        assert app.timeline.position == 300 and app.detail.position == 300
        await press(pilot, "down")
        assert app.timeline.position == 300  # stays on the last event
        await press(pilot, "g")
        assert app.timeline.position == 1
        await press(pilot, "end")
        assert app.timeline.position == 300
        await press(pilot, "home")
        assert app.timeline.position == 1


async def test_brackets_move_within_the_cursor_stream(synthetic_store, make_app):
    app = make_app(synthetic_store)
    own = stream_positions(synthetic_store, "account-3")
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(own[2]))
        assert app.timeline.position == own[2]
        await press(pilot, "right_square_bracket")
        assert app.timeline.position == own[3]
        await press(pilot, "right_square_bracket")
        assert app.timeline.position == own[4]
        await press(pilot, "left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert app.timeline.position == own[1]
        assert app.detail.event["stream"] == "account-3"


async def test_go_to_a_position_an_offset_and_a_time(synthetic_store, make_app):
    app = make_app(synthetic_store)
    time = synthetic_store.con.execute("SELECT time FROM events WHERE position = 200").fetchone()[0]
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", "150")
        assert app.timeline.position == 150 and app.detail.position == 150
        assert not app.prompt.display
        await type_prompt(pilot, "colon", "-20")
        assert app.timeline.position == 130
        await type_prompt(pilot, "colon", time.isoformat())
        assert app.timeline.position == 200


async def test_a_bad_go_to_shows_an_inline_message_and_keeps_the_cursor(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", "9999")
        assert app.prompt.display
        error = app.query_one("#prompt-error")
        assert error.display and "no event at position 9999" in str(error.render())
        assert app.timeline.position == 1
        await press(pilot, "escape")
        assert not app.prompt.display and app.focused is app.timeline


async def test_clicking_a_row_moves_the_cursor(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        # row 0 of the widget is its header; row 3 shows the third event (inside the border)
        await pilot.click("#timeline", offset=(10, 4))
        await settle(pilot)
        assert app.timeline.position == 3


async def test_only_the_rows_on_screen_are_fetched(make_app):
    store = tracer.open(None)
    fill_store(store, 20_000, 100, seed=1)
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        timeline = app.timeline
        assert timeline.row_count == 20_000
        assert sum(len(rows) for rows in timeline._pages.values()) <= 2 * PAGE
        await type_prompt(pilot, "colon", "15000")
        await press(pilot, "down")
        assert timeline.position == 15_001
        row = timeline.row(timeline.cursor)
        assert row is not None and row.position == 15_001
        # the pages around 15000 and the first screen: a few hundred rows of 20,000
        assert len(timeline._pages) <= 4 < MAX_PAGES
        await press(pilot, "pagedown", "pagedown", "pagedown")
        assert app.detail.position == timeline.position == 15_001 + 3 * (timeline.size.height - 2)
    store.close()


async def test_clicking_the_time_strip_jumps_to_that_time(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        strip = app.query_one("#strip")
        when = strip.time_at(49)  # the time strip has one column of padding
        await pilot.click("#strip", offset=(50, 0))
        await settle(pilot)
        expected = synthetic_store.con.execute(
            "SELECT max(position) FROM events WHERE time <= ?", [when]
        ).fetchone()[0]
        assert 100 < expected < 200 and app.timeline.position == expected
        assert strip.cursor_column in (48, 49)


async def test_go_to_within_a_filter_stays_on_the_events_it_shows(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    own = stream_positions(bank_store, "account-7")
    notes: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        app.notify = lambda message, **kwargs: notes.append(str(message))  # type: ignore[method-assign]
        await type_prompt(pilot, "f", "stream:account-7")
        assert app.timeline.row_count == len(own)
        await type_prompt(pilot, "colon", "end")
        assert app.timeline.position == own[-1] and app.filter.label == "stream:account-7"
        # 10:17 in account-7 is #793 (#796 is another stream's)
        await type_prompt(pilot, "colon", "2026-03-04T10:17")
        assert app.timeline.position == 793 and app.timeline.row_count == len(own)
        await type_prompt(pilot, "colon", "-2")  # rows of the filtered timeline
        assert app.timeline.position == own[own.index(793) - 2]
        assert not notes
        await type_prompt(pilot, "colon", "796")  # an explicit hidden position clears it
        assert app.timeline.position == 796 and app.filter.empty
        assert notes == ["#796 was hidden by the filter: showing every event"]
