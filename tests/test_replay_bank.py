"""The bank story of sample_logs/bank.jsonl, told through the replay API:
the overdrawn account, its balance history, the guilty event, and the balance without it."""

from __future__ import annotations

import pytest
from samples import ACCOUNT, BALANCES

from tracer.replay import Replay

DUPLICATE = "8cc82b16-d5cd-4e36-bcb8-7a2d524217ff"


@pytest.fixture(scope="module")
def store(bank_store):
    return bank_store


def test_find_names_the_overdrawn_account(store):
    match = Replay(store, ACCOUNT).find("state['balance'] < 0")
    assert (match.stream, match.position, match.version) == ("account-7", 798, 33)
    assert match.event_id == DUPLICATE
    assert match.state["balance"] == -132


def test_the_balance_history_shows_the_dip_and_the_recovery(store):
    frame = Replay(store, ACCOUNT).history("account-7", "balance").set_index("position")
    assert frame.loc[797, "value"] == 278
    assert frame.loc[798, "value"] == -132
    assert frame.loc[916, "value"] == 208
    assert (frame["value"] < 0).sum() == 1


def test_blame_names_the_duplicated_withdrawal(store):
    frame = Replay(store, ACCOUNT).blame("account-7", at="pos:798").set_index("path")
    assert frame.loc["balance", "event_id"] == DUPLICATE
    assert frame.loc["balance", "type"] == "Withdrawn"


def test_whatif_without_the_duplicate_the_account_never_goes_negative(store):
    replay = Replay(store, ACCOUNT)
    result = replay.whatif(skip=[798])
    balance = result.differences.set_index("path").loc["balance"]
    assert (balance["stream"], balance["real"], balance["whatif"]) == ("account-7", 3251, 3661)
    assert replay.check(["state['balance'] >= 0"])["position"].tolist() == [798]


def test_the_time_travel_point_between_the_two_withdrawals(store):
    replay = Replay(store, ACCOUNT)
    assert replay.state("account-7", at="time:2026-03-04T10:17:06Z").state["balance"] == 278


def test_the_balances_read_model_agrees_with_the_accounts(store):
    accounts = Replay(store, ACCOUNT).states()
    balances = Replay(store, BALANCES).state().state
    expected = {s["stream"]: s["state"]["balance"] for _, s in accounts.iterrows()}
    assert balances["accounts"] == expected
    assert balances["total"] == sum(expected.values())
