"""Fixtures for the terminal UI: small deterministic stores, an app factory, and waiting helpers
that wait for the app's workers and messages (never for a fixed time)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

import tracer
from tracer.api import Store
from tracer.replay import Replay
from tracer.synthetic import fill_store
from tracer.tui import TracerApp

ROOT = Path(__file__).resolve().parents[2]
BANK = ROOT / "sample_logs" / "bank.jsonl"
BANK_PROJECTION = ROOT / "sample_logs" / "projections" / "bank.py"


@pytest.fixture(scope="session")
def bank_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bank sample loaded once into a store file; tests open copies of it.

    Loaded by its path relative to the checkout, which the events keep as their source: the
    screens then look the same wherever the repository is cloned (snapshots compare them)."""
    path = tmp_path_factory.mktemp("bank") / "bank.duckdb"
    with contextlib.chdir(ROOT), tracer.open(path) as store:
        store.load(str(BANK.relative_to(ROOT)))
    return path


@pytest.fixture
def bank_store(bank_db: Path, tmp_path: Path) -> Store:
    copy = tmp_path / "bank.duckdb"
    copy.write_bytes(bank_db.read_bytes())
    store = tracer.open(copy)
    yield store
    store.close()


@pytest.fixture
def synthetic_store() -> Store:
    """300 synthetic events over 6 streams (account-1 .. account-6), in memory."""
    store = tracer.open(None)
    fill_store(store, 300, 6, seed=7)
    yield store
    store.close()


@pytest.fixture
def make_app() -> Callable[..., TracerApp]:
    def make(store: Store, projection: Any = None, **kwargs: Any) -> TracerApp:
        return TracerApp(store, replay=Replay(store, projection), name="test", **kwargs)

    return make


def account_projection() -> str:
    return f"{BANK_PROJECTION}:Account"


async def settle(pilot: Pilot[Any], rounds: int = 200) -> None:
    """Wait until no worker runs and every message they posted has been handled."""
    app = pilot.app
    for _ in range(rounds):
        if not app.is_running:
            return
        # a superseded (exclusive) or failed worker: the app shows its error
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(w.is_running for w in app.workers)
        if not busy and not getattr(app, "_detail_busy", False):
            await pilot.pause()
            if not any(w.is_running for w in app.workers):
                return
    raise AssertionError("the app did not settle")


async def started(pilot: Pilot[Any]) -> TracerApp:
    """Wait for the first screen: the timeline and the panels of the first event."""
    await settle(pilot)
    app = pilot.app
    assert app.ready, "the first view never arrived"
    return app


async def press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def type_prompt(pilot: Pilot[Any], key: str, text: str) -> None:
    """Open a prompt with ``key``, type ``text``, press Enter and wait for the result."""
    await pilot.press(key)
    await pilot.pause()
    prompt = pilot.app.prompt
    prompt.input.value = text
    await pilot.press("enter")
    await settle(pilot)


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], bool], what: str) -> None:
    """Poll a state of the app (for timers such as playback, which never go idle)."""
    for _ in range(1000):
        if predicate():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")
