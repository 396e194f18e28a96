"""Finding events: search with next/previous match, filters that narrow the timeline, and the
streams panel."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from tracer.tui.streams import StreamsPanel

from .conftest import press, settle, started, type_prompt

pytestmark = pytest.mark.asyncio


def positions(store, where: str) -> list[int]:
    rows = store.con.execute(f"SELECT position FROM events WHERE {where} ORDER BY position")
    return [p for (p,) in rows.fetchall()]


async def test_search_jumps_to_matches_and_n_N_walk_them(synthetic_store, make_app):
    app = make_app(synthetic_store)
    hits = positions(synthetic_store, "type = 'TransferSent'")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "slash", "type:TransferSent")
        assert list(app.matches) == hits
        assert app.timeline.position == hits[0]
        assert app.timeline.row_count == 300  # a search does not narrow the timeline
        await press(pilot, "n")
        assert app.timeline.position == hits[1]
        await press(pilot, "n", "n")
        assert app.timeline.position == hits[3]
        await press(pilot, "N")
        assert app.timeline.position == hits[2]
        await press(pilot, "G", "n")
        assert app.timeline.position == hits[0]  # wraps around
        assert f"({len(hits)})" in str(app.query_one("#status").render())


async def test_search_by_data_condition_and_by_text(synthetic_store, make_app):
    app = make_app(synthetic_store)
    big = positions(synthetic_store, "CAST(data->>'amount' AS INTEGER) > 400")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "slash", "data.amount > 400")
        assert list(app.matches) == big and app.timeline.position == big[0]
        await type_prompt(pilot, "slash", "account-6")
        text = positions(
            synthetic_store, "stream = 'account-6' OR CAST(data AS VARCHAR) LIKE '%account-6%'"
        )
        assert list(app.matches) == text
        # the first match at or after the cursor
        assert app.timeline.position == next(p for p in text if p >= big[0])


async def test_a_search_without_match_or_a_bad_one_says_so_inline(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "slash", "type:NoSuchType")
        error = app.query_one("#prompt-error")
        assert error.display and "no event matches" in str(error.render())
        app.prompt.input.value = "data.amount >>> 1"
        await press(pilot, "enter")
        assert "bad condition" in str(error.render())
        app.prompt.input.value = "sql: nope = 1"
        await press(pilot, "enter")
        assert "bad filter" in str(error.render())
        assert app.timeline.position == 1 and app.is_running


async def test_filter_narrows_the_timeline_and_F_clears_it(synthetic_store, make_app):
    app = make_app(synthetic_store)
    kept = positions(synthetic_store, "type = 'Withdrawn' AND stream = 'account-2'")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "f", "type:Withdrawn stream:account-2")
        assert app.timeline.row_count == len(kept)
        assert app.timeline.position == kept[0]
        await press(pilot, "j")
        assert app.timeline.position == kept[1] and app.detail.position == kept[1]
        await press(pilot, "G")
        assert app.timeline.position == kept[-1]
        status = str(app.query_one("#status").render())
        assert f"{len(kept)} of 300" in status and "type:Withdrawn stream:account-2" in status
        await press(pilot, "F")
        assert app.timeline.row_count == 300
        assert app.timeline.position == kept[-1]  # the cursor stays on the same event


async def test_streams_panel_lists_counts_and_narrows_the_timeline(synthetic_store, make_app):
    app = make_app(synthetic_store)
    own = positions(synthetic_store, "stream = 'account-4'")
    async with app.run_test(size=(140, 40)) as pilot:
        await started(pilot)
        panel = app.query_one(StreamsPanel)
        assert panel.display  # wide terminals show it
        names = [e.name for e in panel.entries if e.kind == "stream"]
        assert names == [f"account-{i}" for i in range(1, 7)]
        panel.query_one("#streams-filter").focus()
        await pilot.press(*"unt-4")
        await settle(pilot)
        assert [e.name for e in panel.entries if e.kind == "stream"] == ["account-4"]
        await press(pilot, "enter")  # to the list
        options = panel.query_one(OptionList)
        options.highlighted = 2  # all, category "account", then account-4
        await press(pilot, "enter")
        assert app.timeline.row_count == len(own)
        assert app.timeline.position == own[0] or app.timeline.position in own
        assert app.focused is app.timeline
        await press(pilot, "j")
        assert app.detail.event["stream"] == "account-4"


async def test_streams_panel_toggles_and_starts_hidden_at_80_columns(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        panel = app.query_one(StreamsPanel)
        assert not panel.display
        await press(pilot, "s")
        assert panel.display and app.focused.id == "streams-filter"
        await press(pilot, "escape")  # leaves the filter box untouched
        app.timeline.focus()
        await press(pilot, "s")
        assert not panel.display
