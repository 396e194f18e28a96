"""shop.csv / shop.parquet: an online shop's order events as a flat tabular export.

Times are Berlin wall-clock with their offset (``+01:00``, and ``+02:00`` after the switch to
summer time on 2026-03-29 01:00 UTC), so a day in local time is not a day in UTC.
The export was taken at 2026-04-01 00:00 local time: later events are not in it.
"""

from __future__ import annotations

import csv
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20260201
FIRST_ORDER = 1001
ORDERS = 840
CUSTOMERS = 110
PLACED_FROM = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)  # 2026-02-01 00:00 +01:00
EXPORTED_AT = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # 2026-04-01 00:00 +02:00
SUMMER_TIME = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)

COLUMNS = [
    "event_id", "order_id", "seq", "event_type", "occurred_at", "customer",
    "sku", "quantity", "unit_price", "amount", "reason",
]  # fmt: skip

CATALOG = {
    "TEA-GREEN-100": 6.90, "TEA-BLACK-250": 9.50, "TEA-CHAI-200": 8.40, "COF-BEANS-500": 14.90,
    "COF-BEANS-1K": 27.50, "COF-GROUND-250": 7.95, "MUG-STONE": 12.00, "MUG-GLASS-2": 18.90,
    "KETTLE-1L": 39.00, "GRINDER-HAND": 44.50, "FILTER-100": 3.20, "PRESS-800": 29.99,
    "SUGAR-CANE": 2.80, "HONEY-500": 11.40, "COCOA-250": 6.30, "SPOON-SET": 9.90,
    "TRAY-BAMBOO": 21.00, "CADDY-TIN": 7.50, "GIFT-BOX": 34.00, "SCALE-DIGI": 24.90,
}  # fmt: skip
CANCEL_REASONS = ["customer request", "payment failed", "out of stock", "duplicate order"]
REFUND_REASONS = ["damaged in transit", "wrong item", "not as described", "late delivery"]


def local_iso(at: datetime) -> str:
    """Berlin wall-clock time with its offset, to the second."""
    offset = timedelta(hours=2 if at >= SUMMER_TIME else 1)
    wall = (at + offset).replace(tzinfo=None)
    return wall.strftime("%Y-%m-%dT%H:%M:%S") + ("+02:00" if offset.seconds == 7200 else "+01:00")


def _placement_times(rng: random.Random) -> list[datetime]:
    span = (EXPORTED_AT - PLACED_FROM).total_seconds()
    times: list[datetime] = []
    while len(times) < ORDERS:
        at = PLACED_FROM + timedelta(seconds=int(rng.uniform(0, span - 3600)))
        hour = (at + timedelta(hours=1)).hour
        weight = 0.15 if 2 <= hour < 7 else 1.0 if hour >= 19 or hour < 1 else 0.6
        if rng.random() < weight:
            times.append(at)
    return sorted(times)


def _order(rng: random.Random, n: int, placed: datetime, customer: str) -> list[dict[str, Any]]:
    order = f"order-{n}"
    rows: list[dict[str, Any]] = []
    clock = placed

    def add(event_type: str, **fields: Any) -> None:
        row = dict.fromkeys(COLUMNS)
        row.update(event_type=event_type, order_id=order, seq=len(rows) + 1, at=clock, **fields)
        rows.append(row)

    add("OrderPlaced", customer=customer)
    lines: dict[str, int] = {}
    for sku in rng.sample(sorted(CATALOG), rng.choices([1, 2, 3, 4, 5], [30, 30, 20, 12, 8])[0]):
        clock += timedelta(seconds=rng.randint(8, 600))
        qty = rng.choices([1, 2, 3, 4], [60, 25, 10, 5])[0]
        lines[sku] = qty
        add("ItemAdded", sku=sku, quantity=qty, unit_price=CATALOG[sku])
    if len(lines) > 1 and rng.random() < 0.15:
        clock += timedelta(seconds=rng.randint(5, 400))
        sku = rng.choice(sorted(lines))
        qty = rng.randint(1, lines[sku])
        lines[sku] -= qty
        add("ItemRemoved", sku=sku, quantity=qty)
    total = round(sum(CATALOG[s] * q for s, q in lines.items()), 2)

    roll = rng.random()
    if roll < 0.09:
        clock += timedelta(minutes=rng.randint(3, 2880))
        add("OrderCancelled", reason=rng.choice(CANCEL_REASONS))
    elif roll < 0.12:
        pass  # abandoned: never paid
    else:
        clock += timedelta(seconds=rng.randint(40, 1800))
        add("OrderPaid", amount=total)
        clock += timedelta(minutes=rng.randint(240, 4300))
        add("OrderShipped")
        if rng.random() < 0.08:
            clock += timedelta(minutes=rng.randint(2880, 20000))
            partial = rng.random() < 0.4 and len([s for s in lines if lines[s]]) > 1
            sku = rng.choice(sorted(s for s in lines if lines[s]))
            amount = round(CATALOG[sku] * lines[sku], 2) if partial else total
            add("OrderRefunded", amount=amount, reason=rng.choice(REFUND_REASONS))
    return [r for r in rows if r["at"] < EXPORTED_AT]


def generate(seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    customers = [f"cust-{i:03d}" for i in range(1, CUSTOMERS + 1)]
    weights = [1.0 / (i**0.5) for i in range(1, CUSTOMERS + 1)]
    rows: list[dict[str, Any]] = []
    for i, placed in enumerate(_placement_times(rng)):
        customer = rng.choices(customers, weights)[0]
        rows.extend(_order(rng, FIRST_ORDER + i, placed, customer))
    rows.sort(key=lambda r: (r["at"], int(r["order_id"].split("-")[1]), r["seq"]))
    for r in rows:
        r["event_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        r["occurred_at"] = local_iso(r["at"])
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(COLUMNS)
        for r in rows:
            out.writerow([_cell(r[c]) for c in COLUMNS])


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    """The same events with typed columns; ``occurred_at`` is a UTC-adjusted timestamp."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("event_id", pa.string()),
            ("order_id", pa.string()),
            ("seq", pa.int64()),
            ("event_type", pa.string()),
            ("occurred_at", pa.timestamp("us", tz="UTC")),
            ("customer", pa.string()),
            ("sku", pa.string()),
            ("quantity", pa.int64()),
            ("unit_price", pa.float64()),
            ("amount", pa.float64()),
            ("reason", pa.string()),
        ]
    )
    columns = {c: [r[c] for r in rows] for c in COLUMNS}
    columns["occurred_at"] = [r["at"] for r in rows]
    table = pa.table(columns, schema=schema)
    pq.write_table(table, path, compression="zstd")


def write(csv_path: Path, parquet_path: Path, seed: int = SEED) -> list[dict[str, Any]]:
    rows = generate(seed)
    write_csv(csv_path, rows)
    write_parquet(parquet_path, rows)
    return rows
