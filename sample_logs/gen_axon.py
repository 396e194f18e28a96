"""domain_event_entry in eventstore.sqlite: Axon Framework's event table, for a gift-card service.

The columns of Axon's JPA/JDBC ``domain_event_entry``: ``global_index`` (global order, with the
gaps a rolled-back transaction leaves), ``event_identifier``, ``aggregate_identifier``,
``sequence_number`` (0-based), ``type`` (``GiftCard``), ``payload_type``
(``io.axoniq.demo.giftcard.api.CardIssuedEvent``, ...), ``payload_revision``, ``payload`` and
``meta_data`` (bytes), ``time_stamp`` (ISO-8601 text, as ``Instant.toString()`` writes it).

The service serialised with XStream (XML) until it switched to Jackson (JSON) on 2026-01-29:
the first events are XML. Planted: one redemption accepted past the card's remaining value by
the release deployed on 2026-02-06 (it checked the issued amount, not the remaining one).
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 20260120
START = datetime(2026, 1, 26, 9, 0, tzinfo=UTC)
JACKSON_FROM = datetime(2026, 1, 29, tzinfo=UTC)  # XStream (XML) before, Jackson (JSON) after
BUGGY_RELEASE = datetime(2026, 2, 6, 14, 0, tzinfo=UTC)
API = "io.axoniq.demo.giftcard.api."
CARDS = 60
GAPS_AFTER = {37, 151}  # global_index values a rolled-back transaction burnt

DDL = """
CREATE TABLE domain_event_entry (
    global_index         INTEGER PRIMARY KEY,
    event_identifier     TEXT NOT NULL UNIQUE,
    meta_data            BLOB,
    payload              BLOB NOT NULL,
    payload_revision     TEXT,
    payload_type         TEXT NOT NULL,
    time_stamp           TEXT NOT NULL,
    aggregate_identifier TEXT NOT NULL,
    sequence_number      INTEGER NOT NULL,
    type                 TEXT,
    UNIQUE (aggregate_identifier, sequence_number)
)
"""


def _instant(at: datetime) -> str:
    """Java's ``Instant.toString()``: milliseconds, trailing zero groups left out."""
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    millis = at.microsecond // 1000
    return text + (f".{millis:03d}" if millis else "") + "Z"


def _xml(kind: str, fields: dict) -> bytes:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f"<{API}{kind}>{body}</{API}{kind}>".encode()


def _xml_meta(meta: dict) -> bytes:
    entries = "".join(
        f"<entry><string>{k}</string><string>{v}</string></entry>" for k, v in meta.items()
    )
    return f"<meta-data>{entries}</meta-data>".encode()


def events(seed: int = SEED) -> list[dict]:
    """The gift cards' events in time order (before global indexes are given)."""
    rng = random.Random(seed)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    at = START
    cards: dict[str, dict] = {}
    out: list[dict] = []
    planted = False

    def emit(card: str, kind: str, fields: dict) -> None:
        command = uid()
        state = cards[card]
        out.append({"id": uid(), "card": card, "seq": state["seq"], "kind": kind, "at": at,
                    "fields": fields, "meta": {"traceId": command, "correlationId": command}})  # fmt: skip
        state["seq"] += 1

    while len(out) < 320:
        at += timedelta(seconds=rng.uniform(600, 9000))
        open_cards = [c for c, s in cards.items() if not s["cancelled"] and s["remaining"] > 0]
        if len(cards) < CARDS and (rng.random() < 0.3 or len(open_cards) < 5):
            card = f"GC-{rng.getrandbits(24):06X}"
            amount = rng.choice([25, 50, 50, 100, 100, 150])
            cards[card] = {"seq": 0, "issued": amount, "remaining": amount, "cancelled": False}
            emit(card, "CardIssuedEvent", {"id": card, "amount": amount})
            continue
        if not open_cards:
            break
        card = rng.choice(open_cards)
        state = cards[card]
        if rng.random() < 0.04:
            state["cancelled"] = True
            emit(card, "CardCancelledEvent", {"id": card})
            continue
        amount = rng.randint(1, min(state["remaining"], 40))
        if not planted and at > BUGGY_RELEASE and state["remaining"] < state["issued"] // 2:
            # The buggy release checks the issued amount: it accepts more than what remains.
            amount = state["remaining"] + rng.randint(10, 20)
            planted = True
        state["remaining"] -= amount
        emit(card, "CardRedeemedEvent", {"id": card, "amount": amount})
    return out


def write_axon(path: Path, seed: int = SEED) -> int:
    """(Re)write the ``domain_event_entry`` table of the database at ``path``; returns its rows."""
    rows = []
    index = 0
    for event in events(seed):
        index += 1 + (index in GAPS_AFTER)
        xml = event["at"] < JACKSON_FROM
        payload = (
            _xml(event["kind"], event["fields"])
            if xml
            else json.dumps(event["fields"], separators=(",", ":")).encode()
        )
        meta = _xml_meta(event["meta"]) if xml else json.dumps(event["meta"]).encode()
        rows.append((index, event["id"], meta, payload, None, API + event["kind"],
                     _instant(event["at"]), event["card"], event["seq"], "GiftCard"))  # fmt: skip
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("DROP TABLE IF EXISTS domain_event_entry")
        con.execute(DDL)
        con.executemany(f"INSERT INTO domain_event_entry VALUES ({', '.join('?' * 10)})", rows)
    return len(rows)
