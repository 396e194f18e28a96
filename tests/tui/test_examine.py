"""Examining an event beyond its state: the log's integrity findings (``a``, ``!`` in the
timeline), its payload shape and where its type's shape changes (``p``), its cause (``<``),
what it caused (``>``) and its causation tree (``t``); Enter in each list jumps to an event."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest
from rich.console import Console

import tracer
from tracer.replay import Replay
from tracer.tui import TracerApp
from tracer.tui import findings as examined
from tracer.tui.commands import ACTIONS
from tracer.tui.screens import ResultScreen
from tracer.tui.trace import TraceScreen

from .conftest import account_projection, press, settle, started, type_prompt, wait_until

OVERDRAFT = 798  # account-7 v33: the ATM withdrawal applied twice (a retried write)


def timeline_text(app) -> list[str]:
    timeline = app.timeline
    return [timeline.render_line(y).text for y in range(timeline.size.height)]


def status(app) -> str:
    return str(app.query_one("#status").render())


def cells(screen: ResultScreen) -> list[list[str]]:
    return [[str(cell) for cell in row] for _, row in screen.rows]


def event(n: int, stream: str, version: int, type_: str, data: dict, **meta: str) -> dict:
    return {
        "id": f"e{n}",
        "stream": stream,
        "version": version,
        "type": type_,
        "time": f"2026-01-01T00:00:{n:02d}Z",
        "data": data,
        "meta": meta,
    }


def open_log(tmp_path: Path, events: list[dict]) -> tracer.Store:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(orjson.dumps(e).decode() + "\n" for e in events))
    store = tracer.open(None)
    store.load(str(path))
    return store


def app_for(store: tracer.Store) -> TracerApp:
    return TracerApp(store, replay=Replay(store, None), name="test")


async def audited(pilot) -> TracerApp:
    app = await started(pilot)
    await wait_until(pilot, lambda: app.audit is not None, "the findings")
    return app


# -- integrity findings ---------------------------------------------------------------------
@pytest.mark.asyncio
async def test_the_retried_write_is_marked_and_a_lists_the_streams_findings(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await audited(pilot)
        assert list(app.timeline.findings) == [OVERDRAFT]
        await type_prompt(pilot, "colon", str(OVERDRAFT - 1))
        lines = timeline_text(app)
        [marked] = [line for line in lines if f" {OVERDRAFT} " in line]
        [before] = [line for line in lines if f" {OVERDRAFT - 1} " in line]
        assert marked.startswith(f" ! {OVERDRAFT} ")
        assert before.startswith(f"   {OVERDRAFT - 1} ")
        assert not app.query_one("#change-finding").display  # (none on this event)
        await press(pilot, "a")  # on account-7's withdrawal before the retry
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        assert screen.title_text == "Integrity findings · account-7"
        assert screen.summary == "1 finding in account-7; none elsewhere in the log"
        [row] = cells(screen)
        assert row[:4] == ["retried_write", str(OVERDRAFT), "33", "Withdrawn"]
        assert row[4] == (  # (the id cut short to fit; `tracer audit` prints it whole)
            f"causation id ac76cb2d… also caused position {OVERDRAFT - 1} (Withdrawn)"
        )
        await press(pilot, "enter")
        assert not isinstance(app.screen, ResultScreen)
        assert app.timeline.position == OVERDRAFT
        finding = app.query_one("#change-finding")  # the event panel says what sits here
        assert finding.display
        console = Console(width=100, record=True)
        console.print(finding.content)
        assert console.export_text().strip() == (
            f"! retried_write: causation id ac76cb2d… also caused position {OVERDRAFT - 1} "
            "(Withdrawn in account-7)"
        )


@pytest.mark.asyncio
async def test_the_status_line_says_so_while_the_log_is_audited(bank_store, make_app, monkeypatch):
    gate = threading.Event()  # holds the audit back until the test has looked
    real = examined.findings

    def held(store):
        gate.wait(timeout=30)
        return real(store)

    monkeypatch.setattr(examined, "findings", held)
    app = make_app(bank_store, account_projection())
    notes: list[str] = []
    app.notify = lambda message, **kwargs: notes.append(message)
    async with app.run_test(size=(120, 36)) as pilot:
        try:
            await wait_until(pilot, lambda: "auditing…" in status(app), "the status line")
            await pilot.press("a")
            assert notes[-1] == "still auditing the log: try again in a moment"
            assert not isinstance(app.screen, ResultScreen)
        finally:
            gate.set()
        await wait_until(pilot, lambda: app.audit is not None, "the findings")
        await settle(pilot)
        assert "auditing" not in status(app)
        assert list(app.timeline.findings) == [OVERDRAFT]


@pytest.mark.asyncio
async def test_a_stream_without_findings_says_so_and_counts_the_others(bank_store, make_app):
    app = make_app(bank_store, account_projection())
    async with app.run_test(size=(120, 36)) as pilot:
        await audited(pilot)  # (on #1, account-3)
        await press(pilot, "a")
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        assert screen.rows == [] and screen.empty == "no finding in account-3"
        assert screen.summary == "0 findings in account-3; elsewhere in the log: 1 retried_write"


@pytest.mark.asyncio
async def test_version_gaps_and_time_going_back_are_marked_where_they_sit(tmp_path):
    events = [
        event(1, "a", 1, "Opened", {}),
        event(2, "a", 2, "Paid", {"amount": 1}),
        event(3, "a", 4, "Paid", {"amount": 2}),  # version 3 missing
        event(4, "b", 1, "Opened", {}),
        {**event(5, "b", 2, "Paid", {"amount": 3}), "time": "2026-01-01T00:00:00Z"},  # back 4 s
    ]
    store = open_log(tmp_path, events)
    app = app_for(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await audited(pilot)
        assert list(app.timeline.findings) == [3, 5]
        gutters = {line[2:].split()[0]: line[:2] for line in timeline_text(app)[1:6]}
        assert gutters == {"1": "  ", "2": "  ", "3": " !", "4": "  ", "5": " !"}
        await press(pilot, "G")  # b's event, its time 4 s before the one before it
        await press(pilot, "a")
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        [row] = cells(screen)
        assert row[:2] == ["time_back", "5"]
        assert screen.summary == "1 finding in b; elsewhere in the log: 1 version_gap"
    store.close()


# -- payload shapes -------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_p_shows_the_events_shape_and_where_its_types_shape_changes(tmp_path):
    events = [
        event(1, "a", 1, "Paid", {"amount": 1}),
        event(2, "a", 2, "Paid", {"amount": 2}),
        event(3, "a", 3, "Paid", {"amount": 2.5, "currency": "EUR"}),
        event(4, "a", 4, "Paid", {"amount": 4}),
        event(5, "a", 5, "Paid", {"amount": {"value": 5, "unit": "EUR"}}),
    ]
    store = open_log(tmp_path, events)
    app = app_for(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", "3")
        await press(pilot, "p")
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        assert screen.title_text == "Payload shape · #3 Paid"
        assert cells(screen) == [
            ["", "1", "4", "3", "(the first shape)"],
            ["▶", "3", "3", "1", "+currency: string, amount: integer→number"],
            ["", "5", "5", "1", "+amount.value: integer, +amount.unit: string, -amount, -currency"],
        ]
        console = Console(width=100, record=True)
        console.print(screen.summary)
        summary = console.export_text()
        assert "#3 Paid: one of 3 shapes of Paid" in summary
        assert "amount    number" in summary and "currency  string" in summary
        await press(pilot, "down", "down", "enter")
        assert not isinstance(app.screen, ResultScreen)
        assert app.timeline.position == 5
    store.close()


# -- causes and effects ---------------------------------------------------------------------
def causal_log() -> list[dict]:
    """e1 (a command's) caused e2, e3 and e5; e2 caused e4; e6 shares the correlation."""
    c = {"correlation_id": "flow"}
    return [
        event(1, "order", 1, "Placed", {}, causation_id="cmd-1", **c),
        event(2, "stock", 1, "Reserved", {}, causation_id="e1", **c),
        event(3, "pay", 1, "Charged", {}, causation_id="e1", **c),
        event(4, "ship", 1, "Packed", {}, causation_id="e2", **c),
        event(5, "mail", 1, "Sent", {}, causation_id="e1", **c),
        event(6, "audit", 1, "Logged", {}, causation_id="cmd-2", **c),
    ]


@pytest.mark.asyncio
async def test_gt_steps_through_what_an_event_caused_and_lt_climbs_to_its_cause(tmp_path):
    store = open_log(tmp_path, causal_log())
    app = app_for(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        visited = []
        for _ in range(4):
            await press(pilot, "greater_than_sign")
            visited.append(app.timeline.position)
        assert visited == [2, 3, 5, 2]  # what e1 caused, wrapping around
        await type_prompt(pilot, "colon", "4")
        await press(pilot, "less_than_sign")
        assert app.timeline.position == 2
        await press(pilot, "less_than_sign")
        assert app.timeline.position == 1
        await press(pilot, "less_than_sign")  # its cause is a command outside the log
        assert app.timeline.position == 1
        await press(pilot, "G", "greater_than_sign")  # e6 caused nothing
        assert app.timeline.position == 6
    store.close()


@pytest.mark.asyncio
async def test_t_shows_the_causation_tree_and_enter_jumps_to_an_event(tmp_path):
    store = open_log(tmp_path, causal_log())
    app = app_for(store)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        await type_prompt(pilot, "colon", "4")
        await press(pilot, "t")
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        tree = screen.query_one("#trace-tree")
        shown = []
        for line in range(tree.last_line + 1):
            node = tree.get_node_at_line(line)
            shown.append((node.data, str(node.label).split(" ◀")[0]))
        assert [data for data, _ in shown] == [1, 2, 4, 3, 5, None, 6]
        assert shown[2][1].startswith("#4 Packed ship")
        assert "caused by cmd-1, not in the log" in str(
            screen.query_one("#result-summary").render()
        )
        assert tree.cursor_node.data == 4  # the traced event
        await press(pilot, "down", "enter")  # #3
        assert not isinstance(app.screen, TraceScreen)
        assert app.timeline.position == 3
    store.close()


# -- keys -----------------------------------------------------------------------------------
def test_every_key_does_one_thing():
    keys = [key for action in ACTIONS for key in action.keys.split(",")]
    assert len(keys) == len(set(keys))
    assert {"a", "p", "t", "less_than_sign", "greater_than_sign"} <= set(keys)
