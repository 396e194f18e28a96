"""eventstore.sqlite: tables in the shape of three real event stores.

* ``stored_events``: written by the real ``eventsourcing`` library (9.x) with SQLite
  persistence, from the lending library in ``library.py``.
* ``mt_events``: a Marten-like table of shipment events, with two ``tombstone`` rows
  (Marten's filler for sequence numbers lost to failed transactions; they are not events).
* ``domain_event_entry``: Axon Framework's table, for a gift-card service (``gen_axon.py``).
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

LIBRARY_SEED = 20260202
SHIPPING_SEED = 20260210

TITLES = [
    ("978-0-14-044913-6", "Crime and Punishment", "Fyodor Dostoevsky"),
    ("978-0-14-303943-3", "The Grapes of Wrath", "John Steinbeck"),
    ("978-0-06-112008-4", "To Kill a Mockingbird", "Harper Lee"),
    ("978-0-452-28423-4", "Nineteen Eighty-Four", "George Orwell"),
    ("978-0-7432-7356-5", "The Great Gatsby", "F. Scott Fitzgerald"),
    ("978-0-14-118776-1", "Middlemarch", "George Eliot"),
    ("978-0-679-72020-1", "The Stranger", "Albert Camus"),
    ("978-0-14-028329-7", "Of Mice and Men", "John Steinbeck"),
    ("978-0-553-21311-7", "Frankenstein", "Mary Shelley"),
    ("978-0-14-143951-8", "Pride and Prejudice", "Jane Austen"),
    ("978-0-486-41587-4", "Dracula", "Bram Stoker"),
    ("978-0-06-093546-7", "One Hundred Years of Solitude", "Gabriel García Márquez"),
    ("978-0-14-044926-6", "The Brothers Karamazov", "Fyodor Dostoevsky"),
    ("978-0-316-76948-0", "The Catcher in the Rye", "J. D. Salinger"),
    ("978-0-14-243723-0", "Moby-Dick", "Herman Melville"),
    ("978-0-618-64015-7", "The Hobbit", "J. R. R. Tolkien"),
    ("978-0-375-70402-4", "Beloved", "Toni Morrison"),
    ("978-0-14-044792-7", "The Odyssey", "Homer"),
    ("978-0-307-27767-1", "The Road", "Cormac McCarthy"),
    ("978-0-679-73452-9", "Invisible Cities", "Italo Calvino"),
    ("978-0-14-118280-3", "Mrs Dalloway", "Virginia Woolf"),
    ("978-0-8129-7449-9", "The Name of the Rose", "Umberto Eco"),
]
MEMBERS = [
    "Ada Lovelace", "Blaise Pascal", "Carl Gauss", "Dora Maar", "Emmy Noether",
    "Frida Kahlo", "Grace Hopper", "Hedy Lamarr", "Ibn Sina", "Jane Goodall",
    "Kurt Gödel", "Lise Meitner", "Marie Curie", "Niels Bohr",
]  # fmt: skip


def write_library(path: Path, seed: int = LIBRARY_SEED) -> int:
    """Run the lending library through a few months; returns the number of events stored."""
    import library

    rng = random.Random(seed)
    library.CLOCK.__init__()
    app = library.Library(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )

    def later(low: float, high: float) -> None:
        library.CLOCK.advance(round(rng.uniform(low, high), 3))

    books = []
    for isbn, title, author in TITLES:
        later(30, 400)
        books.append(app.register(isbn, title, author))
    members = []
    for i, name in enumerate(MEMBERS, start=1):
        later(600, 7200)
        members.append(app.join(f"C-{100 + i}", name))
    on_loan: dict[uuid.UUID, uuid.UUID] = {}
    withdrawn: set[uuid.UUID] = set()
    while library.CLOCK.now < datetime(2026, 5, 15, tzinfo=UTC):
        later(3 * 3600, 16 * 3600)
        roll = rng.random()
        free = [b for b in books if b not in on_loan and b not in withdrawn]
        busy = {on_loan[b] for b in on_loan}
        idle = [m for m in members if m not in busy]
        if roll < 0.45 and free and idle:
            book = rng.choice(free)
            member = rng.choice(idle)
            app.lend(book, member, days=rng.choice([7, 14, 21]))
            on_loan[book] = member
        elif roll < 0.9 and on_loan:
            book = rng.choice(sorted(on_loan))
            app.give_back(book, fine_per_day=Decimal("0.25"))
            member = on_loan.pop(book)
            owed = -app.repository.get(member).balance
            if owed and rng.random() < 0.6:
                later(60, 900)
                app.pay(member)
        elif roll < 0.92 and free and len(withdrawn) < 2:
            book = rng.choice(free)
            app.withdraw(book, rng.choice(["damaged", "lost in flood"]))
            withdrawn.add(book)
    app.close()
    with closing(sqlite3.connect(path)) as con:
        return con.execute("SELECT count(*) FROM stored_events").fetchone()[0]


MT_DDL = """
CREATE TABLE mt_events (
    seq_id         INTEGER PRIMARY KEY,
    id             TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    data           TEXT NOT NULL,
    type           TEXT NOT NULL,
    timestamp      TEXT NOT NULL,
    tenant_id      TEXT DEFAULT '*DEFAULT*',
    mt_dotnet_type TEXT,
    is_archived    INTEGER DEFAULT 0,
    correlation_id TEXT,
    causation_id   TEXT,
    headers        TEXT,
    user_name      TEXT
)
"""
# The steps of a shipment, each caused by the one before (Marten stores the causing event's id).
STEPS = [
    ("shipment_requested", "ShipmentRequested"),
    ("parcel_packed", "ParcelPacked"),
    ("label_printed", "LabelPrinted"),
    ("shipment_dispatched", "ShipmentDispatched"),
    ("delivery_attempted", "DeliveryAttempted"),
    ("shipment_delivered", "ShipmentDelivered"),
]
CARRIERS = ["DHL", "UPS", "DPD", "GLS"]
WAREHOUSE_USERS = ["wh.jana", "wh.mehmet", "wh.lotte"]
TOMBSTONE_STREAM = "00000000-0000-0000-0000-000000000000"


def write_marten(path: Path, seed: int = SHIPPING_SEED) -> int:
    """Shipments, interleaved in time, as Marten would append them; returns rows written."""
    rng = random.Random(seed)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    pending: list[tuple[datetime, int, dict]] = []  # (time, tie, event) before seq_ids are given
    start = datetime(2026, 2, 9, 7, 0, tzinfo=UTC)
    for n in range(60):
        stream, correlation = uid(), uid()
        at = start + timedelta(hours=rng.uniform(0, 24 * 40))
        order = f"order-{5000 + n}"
        last = len(STEPS) - 1 if rng.random() < 0.8 else rng.randint(1, len(STEPS) - 2)
        cause = f"msg-{uid()}"  # the checkout message that started the flow
        carrier = rng.choice(CARRIERS)
        for version, (kind, dotnet) in enumerate(STEPS[: last + 1], start=1):
            data: dict = {"shipmentId": stream}
            if kind == "shipment_requested":
                data |= {"orderId": order, "parcels": rng.randint(1, 3)}
            elif kind == "parcel_packed":
                data |= {"weightKg": round(rng.uniform(0.3, 12.0), 2)}
            elif kind == "label_printed":
                data |= {"carrier": carrier, "trackingNo": f"{carrier}{rng.randrange(10**9)}"}
            elif kind == "delivery_attempted":
                data |= {"successful": False, "note": "recipient absent"}
            user = "checkout-service" if version == 1 else rng.choice(WAREHOUSE_USERS)
            if kind in ("delivery_attempted", "shipment_delivered"):
                user = f"{carrier.lower()}-webhook"
            event = {
                "id": uid(), "stream_id": stream, "version": version, "data": data,
                "type": kind, "mt_dotnet_type": f"Shipping.Events.{dotnet}, Shipping",
                "correlation_id": correlation, "causation_id": cause,
                "headers": {"user": user, "trace-id": uid().replace("-", "")}, "user_name": user,
                "at": at,
            }  # fmt: skip
            pending.append((at, n, event))
            cause = event["id"]
            at += timedelta(minutes=rng.uniform(20, 60 * 30))
    pending.sort(key=lambda p: (p[0], p[1], p[2]["version"]))
    tombstones_after = {57, 181}  # sequence numbers a failed transaction burnt
    archived_stream = pending[0][2]["stream_id"]  # the oldest shipment was archived

    rows = []
    for at, _, event in pending:
        rows.append(event)
        if len(rows) in tombstones_after:
            rows.append({"tombstone": True, "at": at + timedelta(milliseconds=3)})
    tombstones = 0
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(MT_DDL)
        for seq_id, e in enumerate(rows, start=1):
            stamp = e["at"].isoformat(timespec="microseconds")
            if e.get("tombstone"):
                tombstones += 1
                record = (seq_id, uid(), TOMBSTONE_STREAM, tombstones, "{}", "tombstone", stamp,
                          "*DEFAULT*", "Marten.Events.Tombstone, Marten", 0, None, None, None, None)  # fmt: skip
            else:
                record = (
                    seq_id, e["id"], e["stream_id"], e["version"],
                    json.dumps(e["data"], separators=(",", ":")), e["type"], stamp,
                    "*DEFAULT*", e["mt_dotnet_type"], int(e["stream_id"] == archived_stream),
                    e["correlation_id"], e["causation_id"],
                    json.dumps(e["headers"], separators=(",", ":")), e["user_name"],
                )  # fmt: skip
            con.execute(f"INSERT INTO mt_events VALUES ({', '.join('?' * 14)})", record)
    return len(rows)


def write(path: Path) -> tuple[int, int, int]:
    import gen_axon

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    stored = write_library(path)
    marten = write_marten(path)
    axon = gen_axon.write_axon(path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("VACUUM")
    con.close()
    return stored, marten, axon
