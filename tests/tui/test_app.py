"""The app around the panels: loading with progress, errors that keep it running, help and the
command palette, read models, themes, and --follow."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from rich.table import Table
from textual.command import CommandPalette

import tracer
from tracer.tui.commands import ACTIONS
from tracer.tui.screens import HelpScreen

from .conftest import (
    BANK,
    BANK_PROJECTION,
    account_projection,
    press,
    settle,
    started,
    type_prompt,
    wait_until,
)

pytestmark = pytest.mark.asyncio

FAILING = """
from tracer import Projection, on

class Fragile(Projection):
    def initial(self):
        return {"balance": 0}

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]

    @on("Withdrawn")
    def withdrawn(self, state, event):
        raise ValueError("cannot withdraw")
"""


async def test_sources_load_first_behind_a_progress_screen(make_app):
    store = tracer.open(None)
    app = make_app(store, sources=[str(BANK)])
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        assert app.screen.__class__.__name__ == "Screen"  # the load screen is gone
        assert app.timeline.row_count == 1929
        assert app.detail.position == 1
    store.close()


async def test_a_source_that_cannot_load_ends_the_app_with_its_error(make_app, tmp_path):
    store = tracer.open(None)
    app = make_app(store, sources=[str(tmp_path / "missing.jsonl")])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
    assert app.load_error is not None and "missing.jsonl" in app.load_error
    assert app.return_code == 2
    store.close()


async def test_a_failing_projection_shows_an_error_naming_the_event(bank_store, make_app, tmp_path):
    projection = tmp_path / "fragile.py"
    projection.write_text(FAILING)
    app = make_app(bank_store, f"{projection}:Fragile")
    withdrawn = bank_store.con.execute(
        "SELECT min(position) FROM events WHERE type = 'Withdrawn'"
    ).fetchone()[0]
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        assert app.detail.error is None
        await press(pilot, "colon", *str(withdrawn), "enter")
        assert app.detail.error is not None
        assert f"position {withdrawn}" in app.detail.error and "withdrawn" in app.detail.error
        message = app.query_one("#state-message")
        assert message.display and "cannot withdraw" in str(message.render())
        await press(pilot, "g")  # the app keeps running and recovers on a good event
        assert app.detail.error is None and app.query_one("#state-tree").display


async def test_a_read_model_shows_its_whole_state(bank_store, make_app):
    app = make_app(bank_store, f"{BANK_PROJECTION}:Balances")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await press(pilot, "colon", *"798", "enter")
        assert app.detail.state["accounts"]["account-7"] == -132
        assert "accounts.account-7" in {c.path for c in app.detail.changes}


async def test_help_lists_every_action_with_its_key(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await started(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table").content
        assert isinstance(table, Table)
        keys, helps = (list(column.cells) for column in table.columns)
        shown = {(str(k), str(h)) for k, h in zip(keys, helps, strict=True)}
        assert {(a.display, a.help) for a in ACTIONS} <= shown
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_the_command_palette_offers_every_action(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await started(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for action in ACTIONS:
            if action.action != "command_palette":
                assert f"{action.label}  ({action.display})" in titles
        await press(pilot, "ctrl+p")
        assert CommandPalette.is_open(app)
        await pilot.press(*"Go  (:)")
        await settle(pilot)
        await press(pilot, "enter")
        assert app.prompt.display and app.prompt.mode == "goto"


async def test_themes_apply(synthetic_store, make_app):
    app = make_app(synthetic_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        app.theme = "textual-light"
        await settle(pilot)
        assert app.current_theme.dark is False
        await press(pilot, "j")
        assert app.detail.position == 2


async def test_follow_adds_new_events_without_moving_the_cursor(make_app, tmp_path: Path):
    lines = BANK.read_text().splitlines(keepends=True)
    log = tmp_path / "live.jsonl"
    log.write_text("".join(lines[:100]))
    store = tracer.open(None)
    app = make_app(store, sources=[str(log)], follow=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.ready and app.detail is not None, "the first screen")
        assert app.timeline.row_count == 100
        await pilot.press("colon", *"40", "enter")
        await wait_until(pilot, lambda: app.timeline.position == 40, "the jump")
        with log.open("a") as handle:
            handle.write("".join(lines[100:250]))
        await wait_until(pilot, lambda: app.timeline.row_count == 250, "the new events")
        assert app.timeline.position == 40
        await wait_until(
            pilot, lambda: "following (+150)" in str(app.query_one("#status").render()), "status"
        )
        assert "250 loaded" in str(app.query_one("#status").render())  # the loads together
        await pilot.press("G")
        await wait_until(pilot, lambda: app.timeline.position == 250, "the last event")
        with log.open("a") as handle:  # a bad row while following: counted, and said
            handle.write("not json at all\n")
        await wait_until(pilot, lambda: app.accounting.rejected == 1, "the rejected row")
        assert "1 rejected (R)" in str(app.query_one("#status").render())
    # the app's threads end before the store closes (as when asyncio.run ends, in the CLI)
    await asyncio.get_running_loop().shutdown_default_executor()
    store.close()


async def test_marks_diff_a_read_model_as_a_whole(bank_store, make_app):
    app = make_app(bank_store, f"{BANK_PROJECTION}:Balances")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await press(pilot, "colon", *"797", "enter", "m", "colon", *"798", "enter", "M", "d")
        rows = app.screen.query_one("#result-table")
        cells = [[str(c) for c in rows.get_row_at(i)] for i in range(rows.row_count)]
        assert ["accounts.account-7", "change", "278", "-132"] in cells
        assert any(r[:2] == ["total", "change"] for r in cells)


async def test_at_80_columns_the_status_shortens_the_name_and_keeps_the_debugger_state(
    bank_store, make_app
):
    app = make_app(bank_store, account_projection())
    app.source_name = "sample_logs/bank.jsonl"
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "f", "stream:account-7")
        await type_prompt(pilot, "colon", "797")
        await press(pilot, "M", "x", "k", "m")
        await type_prompt(pilot, "b", "type:AccountClosed")
        await pilot.press("space")
        status = app.query_one("#status")
        line = str(status.render())
        assert len(line) <= status.content_size.width
        # (playback may have moved the cursor on: any position)
        assert re.search(r" · stream:account… · #\d+ · ▶ 10/s · A #793 · B #797 · ● 1 · ✗ 1$", line)
        assert "bank.jsonl" not in line  # the name gave way first
        await pilot.resize_terminal(100, 24)
        await settle(pilot)
        line = str(status.render())
        assert line.startswith("tracer …/bank.jsonl · ") and line.endswith("● 1 · ✗ 1"), line
        await pilot.press("space")
        await pilot.resize_terminal(160, 24)
        await settle(pilot)
        line = str(status.render())  # room again: everything whole
        assert line.startswith("tracer sample_logs/bank.jsonl · ") and "stream:account-7 · " in line
