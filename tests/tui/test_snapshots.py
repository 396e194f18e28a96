"""Snapshots of the main screens (pytest-textual-snapshot), on the bank sample at fixed sizes.

Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at every new
picture before committing it.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from .conftest import account_projection, settle

OVERDRAFT = 798


def quiet(app: Any) -> Any:
    """No toasts: they come and go on timers, which would make pictures differ run to run."""
    app.notify = lambda *args, **kwargs: None
    return app


def goto(position: int, *extra: str):
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("colon", *str(position), "enter")
        await settle(pilot)
        for key in extra:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_main_screen_80x24(snap_compare, bank_store, make_app):
    app = quiet(make_app(bank_store, account_projection()))
    assert snap_compare(app, terminal_size=(80, 24), run_before=goto(OVERDRAFT))


def test_main_screen_with_streams_marks_and_breakpoints_160x45(snap_compare, bank_store, make_app):
    app = quiet(make_app(bank_store, account_projection()))

    async def run_before(pilot: Pilot[Any]) -> None:
        await goto(OVERDRAFT - 1, "m")(pilot)
        await pilot.press("b", *"type:AccountClosed", "enter")
        await settle(pilot)
        await pilot.press("x")
        await goto(OVERDRAFT)(pilot)

    assert snap_compare(app, terminal_size=(160, 45), run_before=run_before)


def test_search_highlights_in_a_light_theme_120x36(snap_compare, bank_store, make_app):
    app = quiet(make_app(bank_store, account_projection()))

    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.theme = "textual-light"
        await goto(OVERDRAFT - 10)(pilot)
        await pilot.press("slash", *"stream:account-7", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_diff_between_marks_120x36(snap_compare, bank_store, make_app):
    app = quiet(make_app(bank_store, account_projection()))

    async def run_before(pilot: Pilot[Any]) -> None:
        await goto(OVERDRAFT - 2, "m")(pilot)
        await goto(OVERDRAFT, "M", "d")(pilot)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_whatif_120x36(snap_compare, bank_store, make_app):
    app = quiet(make_app(bank_store, account_projection()))
    assert snap_compare(app, terminal_size=(120, 36), run_before=goto(OVERDRAFT, "x", "w"))


def test_help_100x40(snap_compare, bank_store, make_app):
    app = quiet(make_app(bank_store, account_projection()))
    assert snap_compare(app, terminal_size=(100, 40), run_before=goto(1, "question_mark"))


def test_findings_of_the_stream_120x36(snap_compare, bank_store, make_app):
    app = quiet(make_app(bank_store, account_projection()))
    assert snap_compare(app, terminal_size=(120, 36), run_before=goto(OVERDRAFT, "a"))
