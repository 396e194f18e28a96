"""Projections for sample_logs/kurrent_all.jsonl (a KurrentDB ``$all`` dump of a warehouse).

tracer check --invariant "state['on_hand'] >= 0" --projection sample_logs/projections/inventory.py:Stock
tracer state inventory-1001 --projection sample_logs/projections/inventory.py:Stock
"""

from tracer import Projection, on


class Stock(Projection):
    """One SKU's stock: units on hand, units reserved for open orders, and the last order shipped."""

    def initial(self):
        return {"sku": None, "on_hand": 0, "reserved": 0, "shipments": 0, "last_order": None}

    @on("StockReceived")
    def received(self, state, event):
        state["sku"] = event.data["sku"]
        state["on_hand"] += event.data["quantity"]

    @on("StockReserved")
    def reserved(self, state, event):
        state["reserved"] += event.data["quantity"]

    @on("ReservationReleased")
    def released(self, state, event):
        state["reserved"] -= event.data["quantity"]

    @on("StockShipped")
    def shipped(self, state, event):
        state["on_hand"] -= event.data["quantity"]
        state["reserved"] -= event.data["quantity"]
        state["shipments"] += 1
        state["last_order"] = event.data["order_id"]
