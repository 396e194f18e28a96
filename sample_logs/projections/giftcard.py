"""Projections for the Axon ``domain_event_entry`` table in sample_logs/eventstore.sqlite.

tracer check --invariant "state['remaining'] >= 0" --projection sample_logs/projections/giftcard.py:GiftCard
"""

from tracer import Projection, on


class GiftCard(Projection):
    """One gift card: its issued and remaining value, how often it was redeemed, its status."""

    def initial(self):
        return {"issued": 0, "remaining": 0, "redemptions": 0, "status": "new"}

    @on("CardIssuedEvent")
    def issued(self, state, event):
        state["issued"] = state["remaining"] = event.data["amount"]
        state["status"] = "active"

    @on("CardRedeemedEvent")
    def redeemed(self, state, event):
        state["remaining"] -= event.data["amount"]
        state["redemptions"] += 1

    @on("CardCancelledEvent")
    def cancelled(self, state, event):
        state["status"] = "cancelled"
