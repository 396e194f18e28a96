"""bank.jsonl: a small bank whose one overdraft comes from an ATM withdrawal applied twice.

Every account keeps a balance >= 0 (withdrawals and transfers happen only when funds allow),
except the double-applied ATM withdrawal planted in early March 2026 (see README.md).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20260105
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
END = datetime(2026, 4, 30, 20, 0, tzinfo=UTC)
OVERDRAWN = 7  # account-7
OVERDRAFT_AT = datetime(2026, 3, 4, 10, 17, 5, 412000, tzinfo=UTC)
DUPLICATE_DELAY = timedelta(seconds=4, milliseconds=873)
CLOSED = (19, 23)  # accounts closed in April

OWNERS = [
    "Alice Martin", "Bruno Keller", "Chloé Dubois", "Dmitri Volkov", "Emma Schulz",
    "Farid Haddad", "Greta Lindqvist", "Hugo Moreau", "Ines Carvalho", "Jonas Weber",
    "Katarzyna Nowak", "Luca Bianchi", "Mia Jensen", "Noah Fischer", "Olivia Brown",
    "Pablo García", "Quentin Roux", "Rosa Fernández", "Sven Olsen", "Tara O'Neill",
    "Umar Siddiqui", "Vera Horváth", "Wim de Vries", "Xenia Petrova", "Yusuf Demir",
    "Zoë Brandt",
]  # fmt: skip
CLERKS = ["clerk.anna", "clerk.boris", "clerk.carla"]


@dataclass
class Account:
    n: int
    owner: str
    login: str
    opened: datetime
    salary: int
    balance: int = 0
    version: int = 0
    closed: bool = False
    history: list[int] = field(default_factory=list)


class Bank:
    """Turns scheduled actions into events, in time order, keeping balances honest."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[dict[str, Any]] = []
        self.clock = START
        self.accounts: dict[int, Account] = {}

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self, at: datetime) -> datetime:
        """The time of the next event: ``at``, or just after the previous event."""
        self.clock = max(at, self.clock + timedelta(milliseconds=self.rng.randint(300, 2500)))
        return self.clock

    def emit(self, acc: Account, type_: str, at: datetime, data: dict, meta: dict) -> str:
        acc.version += 1
        event_id = self.uid()
        self.events.append(
            {
                "id": event_id,
                "stream": f"account-{acc.n}",
                "version": acc.version,
                "type": type_,
                "time": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
                "data": data,
                "meta": meta,
            }
        )
        return event_id

    def command_meta(self, source: str, user: str) -> dict[str, str]:
        command = self.uid()
        return {"correlation_id": command, "causation_id": command, "source": source, "user": user}

    # -- actions ----------------------------------------------------------------------------
    def open(self, acc: Account, at: datetime) -> None:
        clerk = self.rng.choice(CLERKS)
        data = {"owner": acc.owner, "currency": "EUR", "overdraft_limit": 0}
        self.emit(acc, "AccountOpened", self.tick(at), data, self.command_meta("branch", clerk))
        first = self.rng.choice([100, 200, 250, 500, 800, 1000, 1500])
        self.deposit(acc, self.clock + timedelta(minutes=self.rng.randint(1, 9)), first, "branch")

    def deposit(self, acc: Account, at: datetime, amount: int, source: str) -> None:
        user = {"branch": self.rng.choice(CLERKS), "payroll": "payroll"}.get(source, acc.login)
        self.emit(
            acc, "Deposited", self.tick(at), {"amount": amount}, self.command_meta(source, user)
        )
        acc.balance += amount

    def withdraw(self, acc: Account, at: datetime, amount: int, channel: str) -> None:
        if amount > acc.balance:
            return
        request = self.uid()
        user = self.rng.choice(CLERKS) if channel == "branch" else acc.login
        meta = {"correlation_id": request, "causation_id": request, "source": channel, "user": user}
        data = {"amount": amount, "channel": channel, "request_id": request}
        self.emit(acc, "Withdrawn", self.tick(at), data, meta)
        acc.balance -= amount

    def transfer(self, src: Account, dst: Account, at: datetime, amount: int) -> None:
        if amount > src.balance or src is dst:
            return
        transfer_id = self.uid()
        meta = {"correlation_id": transfer_id, "causation_id": transfer_id, "source": "web"}
        meta["user"] = src.login
        data = {"to": f"account-{dst.n}", "amount": amount, "transfer_id": transfer_id}
        sent = self.emit(src, "TransferSent", self.tick(at), data, meta)
        src.balance -= amount
        meta = {"correlation_id": transfer_id, "causation_id": sent, "source": "transfers"}
        meta["user"] = "system"
        data = {"from": f"account-{src.n}", "amount": amount, "transfer_id": transfer_id}
        self.emit(dst, "TransferReceived", self.tick(self.clock), data, meta)
        dst.balance += amount

    def double_withdrawal(self, acc: Account, at: datetime) -> None:
        """The planted bug: one ATM request applied twice, a few seconds apart."""
        amount = max(20, int(acc.balance * 0.6) // 10 * 10)
        assert acc.balance >= amount and 2 * amount > acc.balance, acc.balance
        request = self.uid()
        meta = {"correlation_id": request, "causation_id": request, "source": "atm"}
        meta["user"] = acc.login
        data = {"amount": amount, "channel": "atm", "request_id": request}
        self.emit(acc, "Withdrawn", self.tick(at), data, dict(meta))
        self.emit(acc, "Withdrawn", self.tick(at + DUPLICATE_DELAY), dict(data), dict(meta))
        acc.balance -= 2 * amount

    def close(self, acc: Account, at: datetime) -> None:
        if acc.balance:
            self.withdraw(acc, at, acc.balance, "branch")
        clerk = self.rng.choice(CLERKS)
        self.emit(acc, "AccountClosed", self.tick(at), {}, self.command_meta("branch", clerk))
        acc.closed = True


def generate(seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    bank = Bank(rng)
    accounts = []
    for n, owner in enumerate(OWNERS, start=1):
        days = rng.uniform(0, 14) if n <= 18 else rng.uniform(15, 68)
        opened = START + timedelta(days=days, hours=rng.uniform(0, 9))
        salary = 0 if n % 9 == 0 else rng.randrange(1600, 4200, 50)
        login = owner.split()[0].lower().replace("é", "e").replace("ë", "e") + str(n)
        accounts.append(Account(n, owner, login, opened, salary))
    bank.accounts = {a.n: a for a in accounts}
    bank.accounts[OVERDRAWN].salary = 650  # a student allowance: a small balance to overdraw

    actions: list[tuple[datetime, int, str, Account, Any]] = []
    for a in accounts:
        actions.append((a.opened, 0, "open", a, None))
        month = 1
        while month <= 4:
            payday = datetime(2026, month, 25, 6, 30, tzinfo=UTC) + timedelta(minutes=a.n)
            if a.salary and a.opened < payday < END:
                actions.append((payday, 1, "salary", a, a.salary))
            month += 1
        span = (END - a.opened).total_seconds()
        for _ in range(int(span / 86400 * rng.uniform(0.45, 0.8))):
            at = a.opened + timedelta(seconds=rng.uniform(3600, span))
            roll = rng.random()
            kind = "withdraw" if roll < 0.55 else "deposit" if roll < 0.72 else "transfer"
            actions.append((at, 2, kind, a, None))
    for n, day in zip(CLOSED, (14, 22), strict=True):
        actions.append((datetime(2026, 4, day, 11, 5, tzinfo=UTC), 3, "close", bank.accounts[n], 0))
    actions.append((OVERDRAFT_AT, 3, "double", bank.accounts[OVERDRAWN], None))
    actions.sort(key=lambda x: (x[0], x[1], x[3].n))

    for at, _, kind, acc, arg in actions:
        if acc.closed:
            continue
        if kind == "open":
            bank.open(acc, at)
        elif kind == "salary":
            bank.deposit(acc, at, arg, "payroll")
        elif kind == "deposit":
            bank.deposit(acc, at, rng.choice([20, 50, 50, 100, 150, 200, 300, 500]), "web")
        elif kind == "withdraw":
            channel = rng.choices(["atm", "web", "branch"], [6, 3, 1])[0]
            amount = rng.randrange(20, 300, 10) if channel == "atm" else rng.randint(5, 450)
            bank.withdraw(acc, at, amount, channel)
        elif kind == "transfer":
            others = [b for b in accounts if b.version and not b.closed and b is not acc]
            bank.transfer(acc, rng.choice(others), at, rng.randint(10, 600))
        elif kind == "double":
            bank.double_withdrawal(acc, at)
        elif kind == "close":
            bank.close(acc, at)
    return bank.events


def write(path: Path, seed: int = SEED) -> list[dict[str, Any]]:
    events = generate(seed)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for e in events:
            fh.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
    return events
