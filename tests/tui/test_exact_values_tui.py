"""The TUI shows integers beyond 64 bits as they are, in every panel, and a store holding a NaN
(written by an older tracer) opens."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

import tracer

from .conftest import started

pytestmark = pytest.mark.asyncio

BIG = 1180591620717411303425  # (no float holds it)
PROJECTION = """
from tracer import Projection, on

class Account(Projection):
    def initial(self):
        return {"balance": 0}

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]
"""


def _texts(app) -> str:
    """What the change panel and the state tree show, as text."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(app.query_one("#change-body").content)
    tree = app.query_one("#state-tree")
    return console.export_text() + "\n".join(str(node.label) for node in tree.root.children)


async def test_big_integers_show_exactly_in_the_panels(make_app, tmp_path: Path) -> None:
    log = tmp_path / "bank.jsonl"
    rows = [{"stream": "acct-1", "type": "Deposited", "version": 1, "data": {"amount": BIG}}]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    projection = tmp_path / "p.py"
    projection.write_text(PROJECTION)
    store = tracer.open(tmp_path / "t.duckdb")
    store.load(log)
    app = make_app(store, f"{projection}:Account")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        text = _texts(app)
        assert text.count(str(BIG)) >= 2, text  # (the change panel and the state tree)
        assert "e+21" not in text
    store.close()


async def test_a_store_holding_nan_from_an_older_load_opens(make_app, tmp_path: Path) -> None:
    store = tracer.open(tmp_path / "t.duckdb")
    store.con.execute(
        """INSERT INTO events VALUES (1, 'e1', 'acct-1', 'acct', 1, 'Deposited', NULL,
               '{"amount": NaN}', '{"note": Infinity}', NULL, NULL, 'hand', 1, 1)"""
    )
    projection = tmp_path / "p.py"
    projection.write_text(PROJECTION)
    app = make_app(store, f"{projection}:Account")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot)
        assert app.detail is not None and app.detail.error is None
        text = _texts(app)
        assert "NaN" in text and "null" not in text, text
    store.close()
