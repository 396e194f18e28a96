"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from samples import BANK

import tracer


@pytest.fixture(scope="module")
def bank_store() -> Iterator[tracer.Store]:
    """An in-memory store holding the bank sample, shared by one module's tests (read only)."""
    store = tracer.open()
    store.load(str(BANK))
    yield store
    store.close()
