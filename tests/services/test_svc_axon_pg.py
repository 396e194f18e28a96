"""Axon Framework's ``domain_event_entry`` on a real PostgreSQL server: ``bytea`` payloads (Axon's
JDBC engine) and ``oid`` large objects (JPA with Hibernate), JSON and XML, with no ``--map``."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tracer

pytestmark = pytest.mark.services

API = "io.axoniq.demo.giftcard.api."
XML_ISSUED = (
    f"<{API}CardIssuedEvent><id>GC-9</id><amount>75</amount></{API}CardIssuedEvent>"
).encode()
XML_META = (
    b"<meta-data><entry><string>traceId</string><string>t-1</string></entry>"
    b"<entry><string>correlationId</string><string>c-1</string></entry></meta-data>"
)


def _table(pg: Any, blob: str) -> None:
    pg.execute(
        f"""CREATE TABLE domain_event_entry (
               global_index bigint PRIMARY KEY, event_identifier varchar(255) NOT NULL UNIQUE,
               meta_data {blob}, payload {blob} NOT NULL, payload_revision varchar(255),
               payload_type varchar(255) NOT NULL, time_stamp varchar(255) NOT NULL,
               aggregate_identifier varchar(255) NOT NULL, sequence_number bigint NOT NULL,
               type varchar(255), UNIQUE (aggregate_identifier, sequence_number))"""
    )


def _rows() -> list[tuple[int, str, bytes | None, bytes, str, str, int]]:
    redeemed = json.dumps({"id": "GC-9", "amount": 20}).encode()
    meta = json.dumps({"traceId": "t-1", "correlationId": "ev-1"}).encode()
    return [
        (1, "ev-1", XML_META, XML_ISSUED, "CardIssuedEvent", "2026-01-26T10:00:00.125Z", 0),
        (4, "ev-2", meta, redeemed, "CardRedeemedEvent", "2026-01-26T11:00:00Z", 1),
        (5, "ev-3", None, f"<{API}CardRedeemedEvent><amount>".encode(), "CardRedeemedEvent",
         "2026-01-26T12:00:00Z", 2),
    ]  # fmt: skip


def _check(store: tracer.Store, report: Any) -> None:
    assert (report.rows_read, report.loaded, report.rejected) == (3, 2, 1)
    assert report.sources[0].format == "postgres:axon"
    rows = store.con.execute(
        """SELECT position, stream, category, version, type, data, meta, correlation_id,
                  causation_id, strftime(time, '%H:%M:%S.%f') FROM events ORDER BY position"""
    ).fetchall()
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("GC-9", "GiftCard", 0, "CardIssuedEvent"),
        ("GC-9", "GiftCard", 1, "CardRedeemedEvent"),
    ]
    assert json.loads(rows[0][5]) == {"id": "GC-9", "amount": 75}  # XML converted
    assert json.loads(rows[1][5]) == {"id": "GC-9", "amount": 20}
    assert json.loads(rows[0][6])["payload_type"] == API + "CardIssuedEvent"
    assert (rows[0][7], rows[0][8]) == ("t-1", "c-1")
    assert (rows[1][7], rows[1][8]) == ("t-1", "ev-1")
    assert rows[0][9] == "10:00:00.125000"
    (reason,) = store.con.execute("SELECT reason FROM rejected").fetchone()
    assert reason.startswith("XML payload could not be converted to JSON")


def test_axon_jdbc_table_with_bytea_payloads(pg: Any, pg_db: str) -> None:
    _table(pg, "bytea")
    for index, event_id, meta, payload, kind, at, seq in _rows():
        pg.execute(
            "INSERT INTO domain_event_entry VALUES (%s, %s, %s, %s, NULL, %s, %s, 'GC-9', %s, "
            "'GiftCard')",
            [index, event_id, meta, payload, API + kind, at, seq],
        )
    store = tracer.open()
    report = store.load(pg_db)  # the one event table of the database: no --table, no --map
    _check(store, report)
    again = store.load(pg_db)  # resumed after the last global_index: nothing new
    assert again.rows_read == 0


def test_axon_jpa_table_with_large_object_payloads(pg: Any, pg_db: str) -> None:
    _table(pg, "oid")
    for index, event_id, meta, payload, kind, at, seq in _rows():
        pg.execute(
            "INSERT INTO domain_event_entry VALUES (%s, %s, "
            "CASE WHEN %s::bytea IS NULL THEN NULL ELSE lo_from_bytea(0, %s::bytea) END, "
            "lo_from_bytea(0, %s), NULL, %s, %s, 'GC-9', %s, 'GiftCard')",
            [index, event_id, meta, meta, payload, API + kind, at, seq],
        )
    store = tracer.open()
    report = store.load(pg_db, table="domain_event_entry")
    _check(store, report)
