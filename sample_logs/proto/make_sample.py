"""Write bank_events.binpb: length-delimited bank.v1.Envelope messages (seeded, reproducible).

Run from the repository root: ``python sample_logs/proto/make_sample.py``. Three accounts are
opened, money moves between them (each transfer's two legs share a correlation id), one account is
frozen for fraud; one note is carried as a JSON payload, and the last message is a heartbeat
whose payload is neither JSON nor a known message, so loading shows one rejection with its reason.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from google.protobuf import message_factory

from tracer.sources.protobuf import load_pool, write_delimited

HERE = Path(__file__).parent
pool = load_pool(HERE / "bank_events.desc")


def make(name: str, **fields: object) -> object:
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"bank.v1.{name}"))(**fields)


def main() -> None:
    rng = random.Random(7)
    clock = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    versions: dict[str, int] = {}
    out: list[bytes] = []

    def emit(
        stream: str, etype: str, payload: bytes, correlation: str = "", cause: str = ""
    ) -> str:
        nonlocal clock
        clock += timedelta(seconds=rng.randint(5, 900), milliseconds=rng.randint(0, 999))
        versions[stream] = versions.get(stream, 0) + 1
        event_id = f"evt-{len(out) + 1:04d}"
        env = make(
            "Envelope",
            id=event_id,
            type=etype,
            payload=payload,
            stream=stream,
            version=versions[stream],
            correlation_id=correlation or event_id,
            causation_id=cause,
            metadata={"user": rng.choice(["ana", "ben", "teller-2"]), "service": "accounts"},
        )
        env.timestamp.FromDatetime(clock)
        out.append(env.SerializeToString())
        return event_id

    accounts = {"acc-1": "Ada", "acc-2": "Grace", "acc-3": "Linus"}
    balance = dict.fromkeys(accounts, 0)
    for acc, owner in accounts.items():
        emit(
            f"account-{acc}",
            "AccountOpened",
            make("AccountOpened", account_id=acc, owner=owner, currency="EUR").SerializeToString(),
        )
    for _ in range(30):
        acc = rng.choice(list(accounts))
        stream = f"account-{acc}"
        roll = rng.random()
        if roll < 0.45:
            amount = rng.randint(10, 500) * 100
            balance[acc] += amount
            emit(
                stream,
                "MoneyDeposited",
                make("MoneyDeposited", account_id=acc, amount_cents=amount).SerializeToString(),
            )
        elif roll < 0.7 and balance[acc] > 0:
            amount = rng.randint(1, balance[acc] // 100) * 100
            balance[acc] -= amount
            emit(
                stream,
                "MoneyWithdrawn",
                make("MoneyWithdrawn", account_id=acc, amount_cents=amount).SerializeToString(),
            )
        elif balance[acc] > 0:
            to = rng.choice([a for a in accounts if a != acc])
            amount = rng.randint(1, balance[acc] // 100) * 100
            transfer = f"tr-{len(out) + 1:04d}"
            balance[acc] -= amount
            balance[to] += amount
            sent = emit(
                stream,
                "TransferSent",
                make(
                    "TransferSent",
                    account_id=acc,
                    to_account=to,
                    amount_cents=amount,
                    transfer_id=transfer,
                ).SerializeToString(),
                correlation=transfer,
            )
            emit(
                f"account-{to}",
                "TransferReceived",
                make(
                    "TransferReceived",
                    account_id=to,
                    from_account=acc,
                    amount_cents=amount,
                    transfer_id=transfer,
                ).SerializeToString(),
                correlation=transfer,
                cause=sent,
            )
    emit("account-acc-3", "NoteAdded", orjson.dumps({"note": "customer called about a charge"}))
    emit(
        "account-acc-3",
        "AccountFrozen",
        make("AccountFrozen", account_id="acc-3", reason=2).SerializeToString(),
    )
    emit("monitor-1", "Heartbeat", b"\xff\x00\x13")
    (HERE / "bank_events.binpb").write_bytes(write_delimited(out))
    print(f"wrote {len(out)} messages to {HERE / 'bank_events.binpb'}")


if __name__ == "__main__":
    main()
