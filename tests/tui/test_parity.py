"""The terminal UI agrees with the command line: breakpoints refused as ``find`` refuses their
condition, bare type names, ``version:N`` as everywhere, search in meta and by stream prefix,
long names and dates in the timeline, copy that says what it did, notices out of the panels."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest

import tracer
from tracer.replay import ConditionError, Replay
from tracer.tui.panels import ChangePanel, StatePanel

from .conftest import account_projection, press, settle, started, type_prompt

pytestmark = pytest.mark.asyncio

OVERDRAFT = 798  # account-7 v33, the ATM withdrawal applied twice
FIRST_WITHDRAWAL = 797  # account-7 v32


def positions(store, where: str, params: list | None = None) -> list[int]:
    rows = store.con.execute(f"SELECT position FROM events WHERE {where} ORDER BY position", params)
    return [p for (p,) in rows.fetchall()]


def prompt_error(app) -> str:
    return str(app.query_one("#prompt-error").render())


def timeline_text(app) -> list[str]:
    timeline = app.timeline
    return [timeline.render_line(y).text for y in range(timeline.size.height)]


def write_log(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(orjson.dumps(e).decode() + "\n" for e in events))
    return path


# -- breakpoints --------------------------------------------------------------------------------
async def test_a_condition_undefined_on_every_event_is_refused_with_finds_message(
    bank_store, make_app
):
    with pytest.raises(ConditionError) as refused:
        Replay(bank_store, account_projection()).find("state['balanse'] < 0")
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "state['balanse'] < 0")
        assert app.prompt.display and app.session.breakpoints == []
        assert prompt_error(app) == str(refused.value)
        assert "could not be evaluated on any of the 1,929 events" in prompt_error(app)
        await type_prompt(pilot, "b", "state.balance < 0")  # raises on the first event
        assert app.prompt.display and app.session.breakpoints == []
        assert "AttributeError" in prompt_error(app)
        await type_prompt(pilot, "b", "state['balance'] < 0")  # defined: accepted
        assert not app.prompt.display
        assert [b.text for b in app.session.breakpoints] == ["state['balance'] < 0"]


async def test_a_bare_type_name_is_a_type_breakpoint(bank_store, make_app):
    deposits = positions(bank_store, "type = 'Deposited'")
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "b", "Deposted")
        assert app.prompt.display and app.session.breakpoints == []
        assert "no event has type Deposted (did you mean Deposited?)" in prompt_error(app)
        await type_prompt(pilot, "b", "Deposited")
        assert not app.prompt.display
        [breakpoint] = app.session.breakpoints
        assert (breakpoint.kind, breakpoint.types) == ("type", ("Deposited",))
        assert app.timeline.breakpoint_types == {"Deposited"}
        await press(pilot, "c")
        assert app.timeline.position == deposits[0]
        await press(pilot, "c")
        assert app.timeline.position == deposits[1]


# -- go to a version ----------------------------------------------------------------------------
async def test_version_n_is_the_event_of_that_version_and_a_missing_one_is_an_error(
    bank_store, make_app
):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        await type_prompt(pilot, "colon", "version:32")
        assert app.timeline.position == FIRST_WITHDRAWAL and not app.prompt.display
        await type_prompt(pilot, "colon", "version:999")
        assert app.timeline.position == FIRST_WITHDRAWAL  # did not move
        assert app.prompt.display
        assert "stream 'account-7' has no version 999: its last version is" in prompt_error(app)
        await type_prompt(pilot, "colon", "version:0")  # account-7 counts from 1
        assert app.timeline.position == FIRST_WITHDRAWAL
        assert "has no version 0: its versions run from 1 to" in prompt_error(app)


async def test_version_0_of_a_stream_counted_from_0_is_its_first_event(make_app, tmp_path):
    log = write_log(
        tmp_path / "zero.jsonl",
        [
            {"stream": s, "version": v, "type": "Tick", "time": f"2026-03-0{p}T10:00:00Z"}
            for p, (s, v) in enumerate([("a", 0), ("b", 0), ("a", 1), ("a", 2)], start=1)
        ],
    )
    store = tracer.open(None)
    store.load(str(log))
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", "4")
        await type_prompt(pilot, "colon", "version:0")
        assert app.timeline.position == 1
        await type_prompt(pilot, "colon", "version:1")
        assert app.timeline.position == 3
    store.close()


# -- search ------------------------------------------------------------------------------------
async def test_search_finds_a_correlation_id_copied_from_the_meta_panel(bank_store, make_app):
    correlation = bank_store.event(OVERDRAFT)["meta"]["correlation_id"]
    carrying = positions(bank_store, "CAST(meta AS VARCHAR) LIKE ?", [f"%{correlation}%"])
    assert OVERDRAFT in carrying
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "slash", correlation)
        assert list(app.matches) == carrying
        assert app.timeline.position == carrying[0]


async def test_search_by_stream_prefix_unless_a_stream_has_that_name(make_app, tmp_path):
    names = ["inventory-0040", "inventory-0041", "order-1", "order-10"]
    log = write_log(
        tmp_path / "shop.jsonl",
        [{"stream": n, "type": "Created", "time": "2026-03-01T10:00:00Z"} for n in names],
    )
    store = tracer.open(None)
    store.load(str(log))
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "slash", "stream:inv")
        assert list(app.matches) == [1, 2]
        await type_prompt(pilot, "slash", "stream:order-1")  # that stream, not order-10
        assert list(app.matches) == [3]
        await type_prompt(pilot, "f", "stream:order")
        assert app.timeline.row_count == 2
    store.close()


# -- the timeline's columns ---------------------------------------------------------------------
async def test_long_names_and_dates_in_the_timeline_at_80_columns(make_app, tmp_path):
    stream = "inventory-warehouse-north-0040"
    kind = "InventoryQuantityAdjusted"
    days = [f"2026-03-0{d}T10:17:10Z" for d in (1, 2)]
    log = write_log(
        tmp_path / "long.jsonl",
        [{"stream": stream, "type": kind, "time": t, "data": {"qty": 3}} for t in days],
    )
    store = tracer.open(None)
    store.load(str(log))
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        first = timeline_text(app)[1]
        assert kind in first  # whole, not cut to 14 characters
        assert "…0040" in first and stream not in first  # cut in the middle
        assert "03-01 10:17:10" in first  # the log spans days: the date shows
    store.close()

    one_day = write_log(
        tmp_path / "day.jsonl",
        [{"stream": "s", "type": "T", "time": f"2026-03-01T10:17:1{i}Z"} for i in range(2)],
    )
    store = tracer.open(None)
    store.load(str(one_day))
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        first = timeline_text(app)[1]
        assert " 10:17:10 " in first and "03-01" not in first
    store.close()


# -- copy ---------------------------------------------------------------------------------------
def fake_program(folder: Path, name: str, target: Path) -> None:
    """A clipboard program that keeps what it is given in ``target``."""
    folder.mkdir(exist_ok=True)
    program = folder / name
    program.write_text(f"#!/bin/sh\nexec /bin/cat > '{target}'\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


async def test_copy_uses_a_clipboard_program_or_says_it_could_not_copy(
    bank_store, make_app, tmp_path, monkeypatch
):
    app = make_app(bank_store, account_projection())
    notes: list[tuple[str, str]] = []
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        app.notify = lambda message, **kw: notes.append((str(message), kw.get("severity", "")))  # type: ignore[method-assign]
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        await press(pilot, "y")  # no clipboard program, no terminal (headless)
        message, severity = notes[-1]
        assert message.startswith("could not copy the state") and severity == "warning"
        assert "e exports it to a file" in message
        copied = tmp_path / "clipboard.json"
        fake_program(tmp_path / "bin", "xclip", copied)
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{empty}")
        await press(pilot, "y")
        assert notes[-1][0] == "state copied to the clipboard (xclip)"
        assert orjson.loads(copied.read_bytes())["balance"] == -132


# -- notices ------------------------------------------------------------------------------------
async def test_notices_do_not_cover_the_panels_at_80x24(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", str(OVERDRAFT))
        await press(pilot, "m", "M")
        app.notify("a longer notice, as when a breakpoint is disabled: " + "word " * 12)
        await settle(pilot)
        toasts = list(app.screen.query("Toast"))
        assert len(toasts) == 3
        for panel in (app.query_one(ChangePanel), app.query_one(StatePanel)):
            assert not any(t.region.overlaps(panel.region) for t in toasts)
