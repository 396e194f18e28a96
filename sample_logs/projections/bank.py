"""Projections for sample_logs/bank.jsonl.

tracer state account-7 --projection sample_logs/projections/bank.py:Account
tracer states --projection sample_logs/projections/bank.py:Balances
"""

from tracer import Projection, on


class Account(Projection):
    """One bank account: owner, balance, status and how many withdrawals it saw."""

    def initial(self):
        return {"owner": None, "balance": 0, "status": "new", "withdrawals": 0}

    @on("AccountOpened")
    def opened(self, state, event):
        state["owner"] = event.data["owner"]
        state["currency"] = event.data.get("currency", "EUR")
        state["overdraft_limit"] = event.data.get("overdraft_limit", 0)
        state["status"] = "open"

    @on("Deposited", "TransferReceived")
    def credited(self, state, event):
        state["balance"] += event.data["amount"]

    @on("Withdrawn")
    def withdrawn(self, state, event):
        state["balance"] -= event.data["amount"]
        state["withdrawals"] += 1
        state["last_request"] = event.data.get("request_id")

    @on("TransferSent")
    def transfer_sent(self, state, event):
        state["balance"] -= event.data["amount"]

    @on("AccountClosed")
    def closed(self, state, event):
        state["status"] = "closed"


class Balances(Projection):
    """A read model: every account's balance, and the bank's total, in one state."""

    read_model = True

    def initial(self):
        return {"total": 0, "accounts": {}}

    def _add(self, state, stream, amount):
        state["accounts"][stream] = state["accounts"].get(stream, 0) + amount
        state["total"] += amount

    @on("AccountOpened")
    def opened(self, state, event):
        state["accounts"].setdefault(event.stream, 0)

    @on("Deposited", "TransferReceived")
    def credited(self, state, event):
        self._add(state, event.stream, event.data["amount"])

    @on("Withdrawn", "TransferSent")
    def debited(self, state, event):
        self._add(state, event.stream, -event.data["amount"])
