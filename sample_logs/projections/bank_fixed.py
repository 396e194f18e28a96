"""The bank ``Account`` projection with the double-withdrawal fix, to compare with the old one.

An ATM retry re-sent the same request (same ``request_id``) and ``Withdrawn`` was applied twice
(account-7, position 798). The fix ignores a ``Withdrawn`` whose request was the last one
applied; everything else is ``sample_logs/projections/bank.py`` unchanged, so comparing the two
shows exactly what the fix changes, and where:

    tracer compare --projection sample_logs/projections/bank.py:Account \\
                   --against sample_logs/projections/bank_fixed.py:Account
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
        request = event.data.get("request_id")
        if request is not None and request == state.get("last_request"):
            return  # a retried request: already applied
        state["balance"] -= event.data["amount"]
        state["withdrawals"] += 1
        state["last_request"] = request

    @on("TransferSent")
    def transfer_sent(self, state, event):
        state["balance"] -= event.data["amount"]

    @on("AccountClosed")
    def closed(self, state, event):
        state["status"] = "closed"
