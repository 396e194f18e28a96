"""The load's accounting in the header, the notice when rows were rejected, and the screen that
lists them: a log that loads badly never looks like an empty log with no word of why."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracer
from tracer.load import LoadReport
from tracer.tui.accounting import Accounting
from tracer.tui.screens import ResultScreen

from .conftest import BANK, press, started

BAD_ROWS = [
    '{"stream": "account-x", "type": "Oops", "version": "abc", "data": {}}',
    "not json at all",
    '{"stream": "account-y", "type": "Oops", "version": "def", "data": {}}',
]


def status(app) -> str:
    return str(app.query_one("#status").render())


def partly_bad(tmp_path: Path, good: int = 50) -> Path:
    lines = BANK.read_text().splitlines()[:good] + BAD_ROWS
    path = tmp_path / "partly-bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.asyncio
async def test_the_header_counts_the_load_and_a_notice_names_the_reasons(make_app, tmp_path):
    store = tracer.open(None)
    app = make_app(store, sources=[str(partly_bad(tmp_path))])
    notes: list[tuple[str, str]] = []
    app.notify = lambda message, **kw: notes.append((str(message), kw.get("severity", "")))  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        assert "50 loaded · 3 rejected (R)" in status(app)
        [(notice, severity)] = [n for n in notes if "rejected" in n[0]]
        assert severity == "warning"
        assert notice.splitlines()[:3] == [
            "3 rows rejected",
            "  2 × version is not an integer",
            "  1 × invalid JSON",
        ]
        assert "R lists them" in notice
        await press(pilot, "R")
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        table = screen.query_one("#result-table")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[1] for r in rows] == ["51", "52", "53"]  # the lines of the file
        assert rows[1][2] == "invalid JSON" and rows[1][3] == "not json at all"
        assert rows[0][2].startswith("version is not an integer")
        await press(pilot, "escape")
        assert not isinstance(app.screen, ResultScreen)
    store.close()


@pytest.mark.asyncio
async def test_a_load_that_rejects_every_row_says_why_in_the_panel(make_app, tmp_path):
    path = tmp_path / "all-bad.jsonl"
    path.write_text("\n".join(BAD_ROWS) + "\n")
    store = tracer.open(None)
    app = make_app(store, sources=[str(path)])
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        assert "0 loaded · 3 rejected (R)" in status(app)
        message = str(app.query_one("#state-message").render())
        assert message.startswith("no event loaded\n3 rows rejected, none loaded\n")
        assert "2 × version is not an integer" in message
    store.close()


@pytest.mark.asyncio
async def test_an_opened_store_shows_its_last_load_and_R_says_nothing_was_rejected(
    bank_store, make_app
):
    app = make_app(bank_store)
    notes: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        line = status(app)
        assert "1,929 loaded" in line and "rejected" not in line
        await press(pilot, "R")
        assert not isinstance(app.screen, ResultScreen)
        assert notes == ["no rejected rows: every row read was accounted for"]


@pytest.mark.asyncio
async def test_system_events_kept_out_are_counted_in_the_header(make_app, tmp_path):
    path = tmp_path / "all.jsonl"
    path.write_text(
        '{"stream": "order-1", "type": "Placed", "data": {}}\n'
        '{"stream": "$$$settings", "type": "$settings", "data": {}}\n'
        '{"stream": "order-1", "type": "Paid", "data": {}}\n'
    )
    store = tracer.open(None)
    app = make_app(store, sources=[str(path)])
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        assert "2 events · 2 loaded, 1 system · #1" in status(app)
    store.close()


def test_duplicates_and_system_events_are_counted_apart():
    report = LoadReport(load_id=4, rows_read=20, loaded=12, rejected=3, duplicates=2, system=3)
    report.reasons = [("invalid JSON", 3)]
    accounting = Accounting.of_report(report)
    assert accounting.summary() == "12 loaded, 2 duplicates, 3 system"
    more = Accounting.of_report(LoadReport(load_id=5, rows_read=1, loaded=1))
    both = accounting.plus(more)
    assert (both.loaded, both.rejected, both.load_ids) == (13, 3, (4, 5))
