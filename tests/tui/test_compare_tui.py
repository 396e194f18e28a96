"""``tracer tui --projection OLD --against NEW``: the divergences marked in the timeline, n / N
step between them, v lists them with both versions' values, Enter jumps there."""

from __future__ import annotations

import pytest

from tracer.replay import Replay
from tracer.tui.compare import MARK, CompareApp
from tracer.tui.screens import ResultScreen

from .conftest import BANK_PROJECTION, account_projection, press, started, wait_until

FIXED = f"{BANK_PROJECTION.parent / 'bank_fixed.py'}:Account"


def make(store, against: str) -> CompareApp:
    replay = Replay(store, account_projection())
    return CompareApp(store, against=against, replay=replay, name="test")


@pytest.mark.asyncio
async def test_the_divergence_is_marked_and_n_steps_to_it(bank_store):
    app = make(bank_store, FIXED)
    async with app.run_test(size=(120, 34)) as pilot:
        await started(pilot)
        await wait_until(pilot, lambda: app.comparison is not None, "the comparison")
        assert app.divergences == [798]
        assert app.timeline.marks == {798: MARK}
        assert app.timeline.position == 1
        await press(pilot, "n")
        assert app.timeline.position == 798
        await press(pilot, "N")  # (wraps around: the only one)
        assert app.timeline.position == 798
        await press(pilot, "m")  # a mark keeps the divergence marked
        assert app.timeline.marks[798] == MARK


@pytest.mark.asyncio
async def test_v_lists_the_differing_paths_side_by_side_and_enter_jumps(bank_store):
    app = make(bank_store, FIXED)
    async with app.run_test(size=(120, 34)) as pilot:
        await started(pilot)
        await wait_until(pilot, lambda: app.comparison is not None, "the comparison")
        await press(pilot, "v")
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        assert screen.title_text == "1 of 26 diverge"
        cells = [[str(c) for c in cells] for _, cells in screen.rows]
        assert cells == [
            ["account-7", "798", "Withdrawn", "balance", "-132", "278"],
            ["", "", "", "withdrawals", "10", "9"],
        ]
        await press(pilot, "enter")
        assert not isinstance(app.screen, ResultScreen)
        assert app.timeline.position == 798


@pytest.mark.asyncio
async def test_versions_that_agree_say_so(bank_store):
    app = make(bank_store, account_projection())
    async with app.run_test(size=(120, 34)) as pilot:
        await started(pilot)
        await wait_until(pilot, lambda: app.comparison is not None, "the comparison")
        assert app.divergences == [] and app.timeline.marks == {}
        await press(pilot, "n")
        assert app.timeline.position == 1


def test_a_version_that_cannot_load_is_an_error_before_the_ui_opens(bank_db, capsys):
    from tracer.cli import main

    args = ["tui", "--db", str(bank_db), "--projection", account_projection()]
    code = main([*args, "--against", f"{BANK_PROJECTION.parent / 'nope.py'}:Account"])
    assert code == 2
    assert "no projection file" in capsys.readouterr().err
