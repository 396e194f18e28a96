"""kurrent_all.jsonl: a KurrentDB (EventStoreDB) ``$all`` dump of a warehouse, as a subscription
that writes each record as one JSON line would produce it.

Record fields: ``eventId``, ``eventType``, ``streamId``, ``eventNumber`` (0-based), ``created``
(ISO-8601, 7 fractional digits), ``position`` ``{"commit", "prepare"}``, ``isJson``, ``data``,
``metadata`` (``$correlationId``, ``$causationId``, ``user``). Besides the warehouse's streams
(``inventory-<sku>``, ``order-<n>``), ``$all`` holds system records: ``$settings`` in
``$$$settings``, ``$statsCollected`` in ``$stats-127.0.0.1:2113``, ``$metadata`` in two metadata
streams and ``$>`` link events in ``$ce-order``.

Planted: one shipment appended twice (a retried command: a new event id, the same order, the same
correlation and causation ids), which takes one SKU's stock below zero; and three goods receipts
(several events in one transaction, sharing their commit position) whose lines the dumper wrote
in reverse order. See README.md.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20260301
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SKUS = [f"{1001 + i}" for i in range(36)]
ORDERS = 420
STATS = "$stats-127.0.0.1:2113"
SCRAMBLED = 3  # receipts whose lines the dumper wrote in reverse order
USERS = ["picker.ana", "picker.ben", "picker.chen", "clerk.dora"]


@dataclass
class Write:
    """One append: events of one stream, written in one transaction (one commit position)."""

    at: datetime
    stream: str
    events: list[dict[str, Any]]  # {type, data, meta}
    tag: str = ""


@dataclass
class Sim:
    rng: random.Random
    at: datetime = START
    writes: list[Write] = field(default_factory=list)
    on_hand: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self, low: float, high: float) -> datetime:
        self.at += timedelta(seconds=self.rng.uniform(low, high))
        return self.at

    def write(self, stream: str, events: list[tuple[str, dict]], meta: dict, tag: str = "") -> None:
        items = [{"type": t, "data": d, "meta": dict(meta)} for t, d in events]
        self.writes.append(Write(self.at, stream, items, tag))


def simulate(rng: random.Random) -> list[Write]:
    sim = Sim(rng)
    for sku in SKUS:  # opening stock, one receipt of two or three pallets each
        sim.tick(20, 90)
        pallets = [rng.randint(4, 12) for _ in range(rng.randint(2, 3))]
        sim.on_hand[sku] = sum(pallets)
        sim.reserved[sku] = 0
        meta = {"$correlationId": sim.uid(), "user": "clerk.dora"}
        events = [
            ("StockReceived", {"sku": sku, "quantity": q, "batch": f"B{rng.randrange(10**5):05d}"})
            for q in pallets
        ]
        sim.write(f"inventory-{sku}", events, meta, tag="receipt")
    open_orders: list[tuple[int, list[tuple[str, int]]]] = []
    for n in range(ORDERS):
        sim.tick(300, 1500)
        order = 5001 + n
        lines = []
        for sku in rng.sample(SKUS, rng.choice([1, 1, 2, 3])):
            free = sim.on_hand[sku] - sim.reserved[sku]
            if free >= 1:
                lines.append((sku, rng.randint(1, min(free, 4))))
        if not lines:
            continue
        command = sim.uid()
        meta = {"$correlationId": command, "$causationId": command, "user": "shop-api"}
        sim.write(
            f"order-{order}",
            [
                (
                    "OrderPlaced",
                    {"order_id": order, "lines": [{"sku": s, "quantity": q} for s, q in lines]},
                )
            ],
            meta,
        )
        for sku, qty in lines:
            sim.reserved[sku] += qty
            sim.write(
                f"inventory-{sku}",
                [("StockReserved", {"sku": sku, "quantity": qty, "order_id": order})],
                meta,
            )
        open_orders.append((order, lines))
        while len(open_orders) > rng.randint(3, 8):  # older orders ship (or are cancelled)
            done, done_lines = open_orders.pop(0)
            sim.tick(30, 400)
            cancel = rng.random() < 0.1
            kind = "ReservationReleased" if cancel else "StockShipped"
            meta = {"$correlationId": sim.uid(), "user": rng.choice(USERS)}
            meta["$causationId"] = meta["$correlationId"]
            for sku, qty in done_lines:
                sim.reserved[sku] -= qty
                if not cancel:
                    sim.on_hand[sku] -= qty
                sim.write(
                    f"inventory-{sku}",
                    [(kind, {"sku": sku, "quantity": qty, "order_id": done})],
                    meta,
                )
            sim.write(
                f"order-{done}",
                [("OrderCancelled" if cancel else "OrderShipped", {"order_id": done})],
                meta,
            )
        for sku in SKUS:  # restock what runs low, in a receipt of one to three pallets
            if sim.on_hand[sku] - sim.reserved[sku] < 3 and rng.random() < 0.35:
                sim.tick(60, 600)
                pallets = [rng.randint(6, 14) for _ in range(rng.randint(1, 3))]
                sim.on_hand[sku] += sum(pallets)
                meta = {"$correlationId": sim.uid(), "user": "clerk.dora"}
                events = [
                    (
                        "StockReceived",
                        {"sku": sku, "quantity": q, "batch": f"B{rng.randrange(10**5):05d}"},
                    )
                    for q in pallets
                ]
                sim.write(f"inventory-{sku}", events, meta, tag="receipt")
    return sim.writes


def plant_duplicate(writes: list[Write]) -> int:
    """Append a shipment a second time, 6.2 s later, where it takes the stock below zero and
    nothing else does until a receipt; returns the index of the duplicate write."""
    for index in range(len(writes) // 2, len(writes)):
        write = writes[index]
        event = write.events[0]
        if event["type"] != "StockShipped":
            continue
        stock = _stock_after(writes[: index + 1], write.stream)
        if stock >= event["data"]["quantity"] or stock < 0:
            continue
        retry = Write(write.at + timedelta(seconds=6.2), write.stream, [dict(event)], "duplicate")
        at = next(
            (j for j in range(index + 1, len(writes)) if writes[j].at > retry.at), len(writes)
        )
        trial = [*writes[:at], retry, *writes[at:]]
        if _negative_windows(trial, write.stream) == 1 and _negative_streams(trial) == {
            write.stream
        }:
            writes[:] = trial
            return at
    raise AssertionError("no shipment to duplicate")


def _stock_after(writes: list[Write], stream: str) -> int:
    sign = {"StockReceived": 1, "StockShipped": -1}
    return sum(
        sign[e["type"]] * e["data"]["quantity"]
        for w in writes
        if w.stream == stream
        for e in w.events
        if e["type"] in sign
    )


def _negative_windows(writes: list[Write], stream: str) -> int:
    stock, below, windows = 0, False, 0
    for write in writes:
        if write.stream == stream:
            stock = _stock_after([write], stream) + stock
            if stock < 0 and not below:
                windows += 1
            below = stock < 0
    return windows


def _negative_streams(writes: list[Write]) -> set[str]:
    stock: dict[str, int] = {}
    found = set()
    for write in writes:
        stock[write.stream] = stock.get(write.stream, 0) + _stock_after([write], write.stream)
        if stock[write.stream] < 0:
            found.add(write.stream)
    return found


def with_system(writes: list[Write], rng: random.Random) -> list[Write]:
    """The system records ``$all`` holds around the application's writes."""
    out = [
        Write(
            START - timedelta(minutes=5),
            "$$$settings",
            [
                {
                    "type": "$settings",
                    "data": {
                        "$userStreamAcl": {"$r": "$all", "$w": "$all"},
                        "$systemStreamAcl": {"$r": "$admins", "$w": "$admins"},
                    },
                    "meta": {},
                }
            ],
        )
    ]
    for sku in ("1003", "1021"):
        out.append(
            Write(
                START - timedelta(minutes=4),
                f"$$inventory-{sku}",
                [{"type": "$metadata", "data": {"$maxAge": 31536000}, "meta": {}}],
            )
        )
    next_stats = START
    for write in writes:
        while write.at >= next_stats:
            stats = {
                "proc-cpu": round(rng.uniform(1, 30), 2),
                "proc-mem": rng.randint(180, 260) * 2**20,
                "es-queue-Main-length": rng.randint(0, 9),
            }
            out.append(
                Write(next_stats, STATS, [{"type": "$statsCollected", "data": stats, "meta": {}}])
            )
            next_stats += timedelta(hours=4)
        out.append(write)
        if write.stream.startswith("order-"):  # the $by_category projection's links
            out.append(
                Write(
                    write.at + timedelta(milliseconds=rng.randint(2, 40)),
                    "$ce-order",
                    [
                        {
                            "type": "$>",
                            "data": write.stream,
                            "meta": {"$v": "1:-1:1:4"},
                            "link": True,
                        }
                    ],
                )
            )
    return out


def records(writes: list[Write], rng: random.Random) -> list[dict[str, Any]]:
    numbers: dict[str, int] = {}
    prepare = 61_827_389
    lines: list[dict[str, Any]] = []
    receipts = [i for i, w in enumerate(writes) if w.tag == "receipt" and len(w.events) > 1]
    scrambled = set(rng.sample(receipts[len(receipts) // 3 :], SCRAMBLED))
    for index, write in enumerate(writes):
        prepare += rng.randint(180, 900)
        commit = prepare
        created = write.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{write.at.microsecond:06d}"
        batch = []
        cause = None
        for event in write.events:
            number = numbers.get(write.stream, 0)
            numbers[write.stream] = number + 1
            data = event["data"]
            if event.get("link"):  # data is "N@stream" of the event linked to
                data = f"{numbers[data] - 1}@{data}"
            meta = dict(event["meta"])
            if cause and "$correlationId" in meta:
                meta["$causationId"] = cause
            record = {
                "eventId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "eventType": event["type"],
                "streamId": write.stream,
                "eventNumber": number,
                "created": created + str(rng.randint(0, 9)) + "Z",
                "position": {"commit": commit, "prepare": prepare},
                "isJson": not event.get("link"),
                "data": data,
                "metadata": meta,
            }
            cause = record["eventId"]
            batch.append(record)
            prepare += rng.randint(180, 600)
        if index in scrambled:
            batch.reverse()
        lines.extend(batch)
    return lines


def write(path: Path, seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    writes = simulate(rng)
    plant_duplicate(writes)
    lines = records(with_system(writes, rng), rng)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return lines
