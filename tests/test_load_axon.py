"""Axon Framework's ``domain_event_entry`` loads with no ``--map`` from SQLite: Jackson (JSON) and
XStream (XML) payloads alike, XML converted to JSON, XML that is not well-formed rejected with a
reason that says so."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import tracer
from tracer.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
GIFTCARD = f"{SAMPLES / 'projections' / 'giftcard.py'}:GiftCard"
API = "io.axoniq.demo.giftcard.api."

DDL = """CREATE TABLE domain_event_entry (
    global_index INTEGER PRIMARY KEY, event_identifier TEXT NOT NULL UNIQUE, meta_data BLOB,
    payload BLOB NOT NULL, payload_revision TEXT, payload_type TEXT NOT NULL,
    time_stamp TEXT NOT NULL, aggregate_identifier TEXT NOT NULL, sequence_number INTEGER NOT NULL,
    type TEXT, UNIQUE (aggregate_identifier, sequence_number))"""


def xml(kind: str, body: str) -> bytes:
    return f"<{API}{kind}>{body}</{API}{kind}>".encode()


XML_META = (
    b"<meta-data><entry><string>traceId</string><string>trace-1</string></entry>"
    b"<entry><string>correlationId</string><string>cmd-1</string></entry></meta-data>"
)


def axon_db(path: Path, rows: list[tuple[Any, ...]]) -> Path:
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(DDL)
        con.executemany(f"INSERT INTO domain_event_entry VALUES ({', '.join('?' * 10)})", rows)
    return path


def row(index: int, seq: int, kind: str, payload: bytes, meta: bytes | None, **kw: Any) -> tuple:
    at = kw.get("at", f"2026-01-26T10:00:0{index}.250Z")
    card = kw.get("card", "GC-1")
    return (index, f"ev-{index}", meta, payload, None, API + kind, at, card, seq, "GiftCard")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def events(store: tracer.Store) -> list[dict[str, Any]]:
    rows = store.con.execute(
        """SELECT position, event_id, stream, category, version, type, time, data, meta,
                  correlation_id, causation_id FROM events ORDER BY position"""
    ).fetchall()
    keys = ("position", "event_id", "stream", "category", "version", "type", "time", "data",
            "meta", "correlation_id", "causation_id")  # fmt: skip
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    for e in found:
        e["data"], e["meta"] = json.loads(e["data"]), json.loads(e["meta"])
    return found


def test_jackson_and_xstream_rows_load_with_no_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = axon_db(
        tmp_path / "axon.sqlite",
        [
            row(1, 0, "CardIssuedEvent", xml("CardIssuedEvent", "<id>GC-1</id><amount>100</amount>"
                "<code>007</code><giftWrapped>true</giftWrapped><note/>"), XML_META),
            row(3, 1, "CardRedeemedEvent", b'{"id":"GC-1","amount":30}',
                b'{"traceId":"trace-2","correlationId":"cmd-2"}'),
            row(4, 2, "CardRedeemedEvent", b'{"id":"GC-1","amount":12.5}', None),
        ],
    )  # fmt: skip
    db = str(tmp_path / "t.duckdb")
    code, out, err = run(capsys, "load", str(path), "--db", db)
    assert code == 0, err
    assert "sqlite (axon)" in out
    assert "3 loaded, 0 rejected, 0 duplicates of 3 rows read" in out
    with tracer.open(db) as store:
        found = events(store)
    issued = found[0]
    assert issued["data"] == {"id": "GC-1", "amount": 100, "code": "007", "giftWrapped": True,
                              "note": None}  # fmt: skip
    assert (issued["stream"], issued["version"], issued["category"]) == ("GC-1", 0, "GiftCard")
    assert [e["type"] for e in found] == [
        "CardIssuedEvent",
        "CardRedeemedEvent",
        "CardRedeemedEvent",
    ]
    assert issued["meta"] == {"traceId": "trace-1", "correlationId": "cmd-1",
                              "payload_type": API + "CardIssuedEvent"}  # fmt: skip
    # Axon's traceId names the root message, its correlationId the one that caused this event.
    assert (issued["correlation_id"], issued["causation_id"]) == ("trace-1", "cmd-1")
    assert (found[1]["correlation_id"], found[1]["causation_id"]) == ("trace-2", "cmd-2")
    assert found[2]["data"] == {"id": "GC-1", "amount": 12.5}
    assert [e["version"] for e in found] == [0, 1, 2]
    assert str(found[1]["time"]) == "2026-01-26 10:00:03.250000+00:00"


def test_xml_that_is_not_well_formed_is_rejected_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = axon_db(
        tmp_path / "axon.sqlite",
        [
            row(1, 0, "CardIssuedEvent", xml("CardIssuedEvent", "<amount>50</amount>"), None),
            row(2, 1, "CardRedeemedEvent", b"<io.axoniq.demo.giftcard.api.CardRedeemedEvent><amo",
                None),
            row(3, 2, "CardRedeemedEvent", b'{"amount":5}', b"<meta-data><entry>"),
        ],
    )  # fmt: skip
    db = str(tmp_path / "t.duckdb")
    code, out, err = run(capsys, "load", str(path), "--db", db)
    assert code == 0, err
    assert "1 loaded, 2 rejected, 0 duplicates of 3 rows read" in out
    with tracer.open(db) as store:
        reasons = store.con.execute(
            "SELECT source_row, reason, raw FROM rejected ORDER BY source_row"
        ).fetchall()
    assert [r[0] for r in reasons] == [2, 3]
    assert reasons[0][1].startswith("XML payload could not be converted to JSON: not well-formed")
    assert reasons[1][1].startswith("XML payload in meta_data could not be converted to JSON")
    assert reasons[0][2].startswith("<io.axoniq.demo.giftcard.api.CardRedeemedEvent>")


def test_the_gift_card_sample_loads_with_no_map_and_tells_its_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "a.duckdb")
    store_file = str(SAMPLES / "eventstore.sqlite")
    code, out, err = run(capsys, "load", store_file, "--table", "domain_event_entry", "--db", db)
    assert code == 0, err
    assert "320 loaded, 0 rejected, 0 duplicates of 320 rows read" in out
    code, out, err = run(
        capsys, "check", "--db", db, "--invariant", "state['remaining'] >= 0",
        "--projection", GIFTCARD, "--json",
    )  # fmt: skip
    assert code == 1, err
    (violation,) = json.loads(out)
    assert (violation["stream"], violation["version"], violation["type"]) == (
        "GC-F86390",
        5,
        "CardRedeemedEvent",
    )
    assert violation["state"] == {"issued": 100, "remaining": -20, "redemptions": 5,
                                  "status": "active"}  # fmt: skip
    with tracer.open(db) as store:
        (issued,) = store.con.execute(
            "SELECT data FROM events WHERE stream = 'GC-F86390' AND version = 0"
        ).fetchone()
        assert json.loads(issued) == {"id": "GC-F86390", "amount": 100}  # converted from XML
        xml_era = store.con.execute(
            "SELECT count(*) FROM events WHERE time < TIMESTAMPTZ '2026-01-29 00:00:00+00'"
        ).fetchone()[0]
        assert xml_era == 49


def test_the_sample_tables_as_written() -> None:
    with closing(sqlite3.connect(SAMPLES / "eventstore.sqlite")) as con:
        rows = con.execute(
            "SELECT global_index, payload, time_stamp FROM domain_event_entry ORDER BY global_index"
        ).fetchall()
        assert con.execute("SELECT count(*) FROM stored_events").fetchone()[0] == 286
        assert con.execute("SELECT count(*) FROM mt_events").fetchone()[0] == 319
    assert len(rows) == 320
    xml_rows = [r for r in rows if bytes(r[1]).startswith(b"<")]
    assert len(xml_rows) == 49 and all(r[2] < "2026-01-29" for r in xml_rows)
    assert rows[-1][0] == 322  # two global indexes burnt by rolled-back transactions
