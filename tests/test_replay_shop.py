"""The shop sample through its projections: an Order aggregate and a read model keyed by day."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracer
from tracer.replay import Replay

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "sample_logs" / "projections" / "shop.py"


@pytest.fixture(scope="module")
def store():
    store = tracer.open()
    store.load(str(ROOT / "sample_logs" / "shop.csv"), mapping=["stream=order_id", "version=seq"])
    yield store
    store.close()


def test_revenue_per_day_adds_up_to_the_shops_totals(store):
    days = Replay(store, f"{SHOP}:RevenuePerDay").state().state
    assert round(sum(d["paid"] for d in days.values()), 2) == 48583.60
    assert round(sum(d["refunded"] for d in days.values()), 2) == 2165.10


def test_days_are_the_shops_local_days(store):
    replay = Replay(store, f"{SHOP}:RevenuePerDay")
    # The first order is paid at 23:26 UTC on January 31: February 1 in Berlin.
    assert "2026-01-31" not in replay.state().state
    first = replay.state("2026-02-01", at="pos:6")
    assert first.state == {"orders": 1, "paid": 46.8, "refunded": 0, "net": 46.8}
    assert first.stream == "2026-02-01" and first.position == 6


def test_skipping_a_payment_changes_only_its_day(store):
    result = Replay(store, f"{SHOP}:RevenuePerDay").whatif(skip=[6])
    assert set(result.differences["stream"]) == {"2026-02-01"}
    paid = result.differences.set_index("path").loc["paid"]
    assert round(paid["real"] - paid["whatif"], 2) == 46.8


def test_orders_keep_their_invariants(store):
    replay = Replay(store, f"{SHOP}:Order")
    violations = replay.check(
        [
            "state['total'] >= 0",
            "state['status'] not in ('shipped', 'refunded') or state['paid'] > 0",
            "state['refunded'] <= state['paid']",
        ]
    )
    assert violations.empty
    order = replay.state("order-1001").state
    assert (order["status"], order["customer"], order["total"]) == ("shipped", "cust-036", 46.8)
