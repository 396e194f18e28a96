"""Projections for sample_logs/shop.csv (load it with --map stream=order_id --map version=seq).

tracer state order-1001 --projection sample_logs/projections/shop.py:Order
tracer state 2026-03-29 --projection sample_logs/projections/shop.py:RevenuePerDay
tracer states --projection sample_logs/projections/shop.py:RevenuePerDay
"""

from zoneinfo import ZoneInfo

from tracer import Projection, ReadModel, on


def cents(value):
    return round(value, 2)


class Order(Projection):
    """One order: customer, lines by SKU, total, and what was paid and refunded."""

    def initial(self):
        return {
            "status": "new",
            "customer": None,
            "items": {},
            "total": 0,
            "paid": 0,
            "refunded": 0,
        }

    @on("OrderPlaced")
    def placed(self, state, event):
        state["status"] = "placed"
        state["customer"] = event.data["customer"]

    @on("ItemAdded")
    def item_added(self, state, event):
        data = event.data
        line = state["items"].setdefault(
            data["sku"], {"quantity": 0, "unit_price": data["unit_price"]}
        )
        line["quantity"] += data["quantity"]
        state["total"] = cents(state["total"] + data["quantity"] * data["unit_price"])

    @on("ItemRemoved")
    def item_removed(self, state, event):
        data = event.data
        line = state["items"][data["sku"]]
        line["quantity"] -= data["quantity"]
        state["total"] = cents(state["total"] - data["quantity"] * line["unit_price"])
        if line["quantity"] <= 0:
            del state["items"][data["sku"]]

    @on("OrderPaid")
    def paid(self, state, event):
        state["status"] = "paid"
        state["paid"] = cents(state["paid"] + event.data["amount"])

    @on("OrderShipped")
    def shipped(self, state, event):
        state["status"] = "shipped"

    @on("OrderCancelled")
    def cancelled(self, state, event):
        state["status"] = "cancelled"
        state["reason"] = event.data.get("reason")

    @on("OrderRefunded")
    def refunded(self, state, event):
        state["status"] = "refunded"
        state["refunded"] = cents(state["refunded"] + event.data["amount"])


class RevenuePerDay(ReadModel):
    """A read model keyed by the shop's local calendar day (Berlin): revenue paid and refunded."""

    zone = ZoneInfo("Europe/Berlin")

    def initial(self):
        return {"orders": 0, "paid": 0, "refunded": 0, "net": 0}

    def key(self, event):
        return event.time.astimezone(self.zone).date().isoformat()

    @on("OrderPaid")
    def paid(self, state, event):
        state["orders"] += 1
        state["paid"] = cents(state["paid"] + event.data["amount"])
        state["net"] = cents(state["paid"] - state["refunded"])

    @on("OrderRefunded")
    def refunded(self, state, event):
        state["refunded"] = cents(state["refunded"] + event.data["amount"])
        state["net"] = cents(state["paid"] - state["refunded"])
