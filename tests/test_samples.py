"""Properties of the committed sample logs that the docs, the demos and users rely on.

Checked with the standard library and DuckDB only, not with tracer's loader.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from contextlib import closing
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
BANK = SAMPLES / "bank.jsonl"
SHOP_CSV = SAMPLES / "shop.csv"
SHOP_PARQUET = SAMPLES / "shop.parquet"
STORE = SAMPLES / "eventstore.sqlite"

# The overdraft story as documented in sample_logs/README.md.
OVERDRAWN = "account-7"
FIRST_LINE, DUPLICATE_LINE, RECOVERY_LINE = 797, 798, 916
FIRST_ID = "0d1fe58e-dbba-41a9-ac54-1c21ea76bbe3"
DUPLICATE_ID = "8cc82b16-d5cd-4e36-bcb8-7a2d524217ff"
REQUEST_ID = "ac76cb2d-e775-41f5-a5a4-a0768876b900"
AMOUNT, BALANCE_BEFORE, BALANCE_AFTER_FIRST, BALANCE_AFTER_DUPLICATE = 410, 688, 278, -132

SIGN = {"Deposited": 1, "TransferReceived": 1, "Withdrawn": -1, "TransferSent": -1}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def bank() -> list[dict]:
    with BANK.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def shop() -> list[dict[str, str]]:
    with SHOP_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _versions_gapless(rows: list[tuple[str, int]]) -> dict[str, int]:
    """Check versions in file order run 1, 2, 3, ... per stream; returns the last per stream."""
    last: dict[str, int] = defaultdict(int)
    for stream, version in rows:
        assert version == last[stream] + 1, (stream, version, last[stream])
        last[stream] = version
    return last


def test_committed_samples_are_small() -> None:
    files = [BANK, SHOP_CSV, SHOP_PARQUET, STORE]
    for path in files:
        assert path.exists(), path
        assert path.stat().st_size < 2_000_000, (path, path.stat().st_size)


# -- bank.jsonl ---------------------------------------------------------------------------------
def test_bank_envelope_and_order(bank: list[dict]) -> None:
    assert 1500 <= len(bank) <= 3000
    keys = {"id", "stream", "version", "type", "time", "data", "meta"}
    assert all(set(e) == keys for e in bank)
    assert len({e["id"] for e in bank}) == len(bank)
    assert all(re.fullmatch(r"account-\d+", e["stream"]) for e in bank)
    assert 20 <= len({e["stream"] for e in bank}) <= 30
    assert all(re.fullmatch(r"2026-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["time"]) for e in bank)
    times = [_time(e["time"]) for e in bank]
    assert times == sorted(times)
    assert all({"correlation_id", "causation_id"} <= set(e["meta"]) for e in bank)
    assert all("user" in e["meta"] or "source" in e["meta"] for e in bank)


def test_bank_streams_open_first_and_versions_are_gapless(bank: list[dict]) -> None:
    _versions_gapless([(e["stream"], e["version"]) for e in bank])
    first = {}
    for e in bank:
        first.setdefault(e["stream"], e)
    assert all(e["type"] == "AccountOpened" for e in first.values())
    for e in first.values():
        assert e["data"] == {"owner": e["data"]["owner"], "currency": "EUR", "overdraft_limit": 0}
    closed = [e["stream"] for e in bank if e["type"] == "AccountClosed"]
    last_type = {e["stream"]: e["type"] for e in bank}
    assert all(last_type[s] == "AccountClosed" for s in closed)


def test_bank_amounts_are_whole_euros(bank: list[dict]) -> None:
    moves = [e for e in bank if e["type"] in SIGN]
    assert all(type(e["data"]["amount"]) is int and e["data"]["amount"] > 0 for e in moves)


def test_transfer_legs_are_linked(bank: list[dict]) -> None:
    sent = {e["data"]["transfer_id"]: e for e in bank if e["type"] == "TransferSent"}
    received = [e for e in bank if e["type"] == "TransferReceived"]
    assert len(sent) > 100
    assert len(received) == len(sent)
    position = {e["id"]: i for i, e in enumerate(bank)}
    for leg in received:
        out = sent[leg["data"]["transfer_id"]]
        assert (
            leg["meta"]["correlation_id"]
            == out["meta"]["correlation_id"]
            == out["data"]["transfer_id"]
        )
        assert leg["meta"]["causation_id"] == out["id"]
        assert leg["data"]["amount"] == out["data"]["amount"]
        assert leg["stream"] == out["data"]["to"] and out["stream"] == leg["data"]["from"]
        assert position[leg["id"]] > position[out["id"]]


def test_exactly_one_account_goes_negative_where_documented(bank: list[dict]) -> None:
    balance: dict[str, int] = defaultdict(int)
    negative: list[tuple[int, str, int]] = []  # (line, stream, balance) when first below zero
    history: dict[int, int] = {}
    for line, e in enumerate(bank, start=1):
        stream = e["stream"]
        was = balance[stream]
        balance[stream] += SIGN.get(e["type"], 0) * e["data"].get("amount", 0)
        if stream == OVERDRAWN:
            history[line] = balance[stream]
        if balance[stream] < 0 <= was:
            negative.append((line, stream, balance[stream]))
    assert negative == [(DUPLICATE_LINE, OVERDRAWN, BALANCE_AFTER_DUPLICATE)]
    assert history[FIRST_LINE] == BALANCE_AFTER_FIRST
    assert history[FIRST_LINE] + AMOUNT == BALANCE_BEFORE
    assert history[RECOVERY_LINE] >= 0
    assert all(
        v == BALANCE_AFTER_DUPLICATE
        for k, v in history.items()
        if DUPLICATE_LINE <= k < RECOVERY_LINE
    )
    assert all(e["data"] == {} for e in bank if e["type"] == "AccountClosed")
    assert balance["account-19"] == balance["account-23"] == 0  # closed accounts were emptied


def test_the_double_withdrawal(bank: list[dict]) -> None:
    first, dup = bank[FIRST_LINE - 1], bank[DUPLICATE_LINE - 1]
    assert (first["id"], dup["id"]) == (FIRST_ID, DUPLICATE_ID)
    for e in (first, dup):
        assert e["stream"] == OVERDRAWN and e["type"] == "Withdrawn"
        assert e["data"] == {"amount": AMOUNT, "channel": "atm", "request_id": REQUEST_ID}
    assert first["meta"] == dup["meta"]
    assert dup["version"] == first["version"] + 1
    gap = (_time(dup["time"]) - _time(first["time"])).total_seconds()
    assert 1 <= gap <= 10
    assert first["time"].startswith("2026-03-0")
    requests = Counter(e["data"]["request_id"] for e in bank if e["type"] == "Withdrawn")
    assert [r for r, n in requests.items() if n > 1] == [REQUEST_ID]
    assert requests[REQUEST_ID] == 2


def test_readme_tells_the_same_story() -> None:
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for fact in (OVERDRAWN, FIRST_ID, DUPLICATE_ID, REQUEST_ID, f"Line {FIRST_LINE}**",
                 f"Line {DUPLICATE_LINE}**", f"line {RECOVERY_LINE}", "−132", "688", "278"):  # fmt: skip
        assert fact in text, fact
    assert "tracer load sample_logs/bank.jsonl" in text
    assert "--map stream=order_id --map version=seq" in text


# -- shop.csv / shop.parquet --------------------------------------------------------------------
SHOP_COLUMNS = ["event_id", "order_id", "seq", "event_type", "occurred_at", "customer",
                "sku", "quantity", "unit_price", "amount", "reason"]  # fmt: skip


def test_shop_shape(shop: list[dict[str, str]]) -> None:
    with SHOP_CSV.open(encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n").split(",") == SHOP_COLUMNS
    assert 3000 <= len(shop) <= 8000
    assert len({r["event_id"] for r in shop}) == len(shop)
    assert len({r["order_id"] for r in shop}) >= 500
    assert len({r["customer"] for r in shop if r["customer"]}) >= 90
    _versions_gapless([(r["order_id"], int(r["seq"])) for r in shop])
    pattern = r"2026-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00"
    assert all(re.fullmatch(pattern, r["occurred_at"]) for r in shop)
    instants = [datetime.fromisoformat(r["occurred_at"]) for r in shop]
    assert instants == sorted(instants)
    span = instants[-1] - instants[0]
    assert 50 <= span.days <= 70
    offsets = Counter(r["occurred_at"][-6:] for r in shop)
    assert offsets["+01:00"] > 0 and offsets["+02:00"] > 0
    switch = datetime.fromisoformat("2026-03-29T01:00:00+00:00")
    assert all(
        (t >= switch) == (r["occurred_at"].endswith("+02:00"))
        for r, t in zip(shop, instants, strict=True)
    )


def test_shop_flows_are_valid(shop: list[dict[str, str]]) -> None:
    orders: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in shop:
        orders[r["order_id"]].append(r)
    outcomes: Counter[str] = Counter()
    for order, rows in orders.items():
        types = [r["event_type"] for r in rows]
        assert types[0] == "OrderPlaced" and rows[0]["customer"], order
        assert all(not r["customer"] for r in rows[1:]), order
        lines: Counter[str] = Counter()
        state = "open"
        total = 0.0
        for r in rows[1:]:
            kind = r["event_type"]
            if kind in ("ItemAdded", "ItemRemoved"):
                assert state == "open", (order, kind, state)
                qty = int(r["quantity"])
                assert qty > 0 and r["sku"]
                lines[r["sku"]] += qty if kind == "ItemAdded" else -qty
                assert lines[r["sku"]] >= 0, order
                if kind == "ItemAdded":
                    total += qty * float(r["unit_price"])
                else:
                    total -= qty * _price_of(rows, r["sku"])
            elif kind == "OrderPaid":
                assert state == "open" and sum(lines.values()) > 0, order
                assert float(r["amount"]) == pytest.approx(total, abs=0.005), order
                state = "paid"
            elif kind == "OrderShipped":
                assert state == "paid", (order, state)
                state = "shipped"
            elif kind == "OrderRefunded":
                assert state == "shipped", (order, state)
                assert 0 < float(r["amount"]) <= total + 0.005 and r["reason"], order
                state = "refunded"
            elif kind == "OrderCancelled":
                assert state == "open" and r["reason"], (order, state)
                state = "cancelled"
            else:
                pytest.fail(f"unknown type {kind}")
        outcomes[state] += 1
    assert outcomes["shipped"] > 0.7 * len(orders)
    assert outcomes["cancelled"] >= 20 and outcomes["refunded"] >= 20


def _price_of(rows: list[dict[str, str]], sku: str) -> float:
    return next(
        float(r["unit_price"]) for r in rows if r["event_type"] == "ItemAdded" and r["sku"] == sku
    )


def test_shop_parquet_holds_the_same_events() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = "event_id, order_id, seq, event_type, occurred_at::TIMESTAMPTZ AS at, customer, sku, quantity, unit_price, amount, reason"
    csv_rows = con.execute(
        f"SELECT {cols} FROM read_csv('{SHOP_CSV}', all_varchar=true)"
    ).fetchall()
    pq_rows = con.execute(f"SELECT {cols} FROM read_parquet('{SHOP_PARQUET}')").fetchall()
    assert len(csv_rows) == len(pq_rows)

    def norm(row: tuple) -> tuple:
        event_id, order, seq, kind, at, customer, sku, qty, price, amount, reason = row
        num = lambda v: None if v in (None, "") else round(float(v), 2)  # noqa: E731
        return (event_id, order, int(seq), kind, at, customer or None, sku or None,
                None if qty in (None, "") else int(qty), num(price), num(amount), reason or None)  # fmt: skip

    assert [norm(r) for r in csv_rows] == [norm(r) for r in pq_rows]


# -- eventstore.sqlite --------------------------------------------------------------------------
def test_stored_events_has_the_eventsourcing_layout() -> None:
    with closing(sqlite3.connect(STORE)) as con:
        columns = [(r[1], r[2], r[5]) for r in con.execute("PRAGMA table_info(stored_events)")]
        rows = con.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
        ).fetchall()
    assert columns == [("originator_id", "TEXT", 1), ("originator_version", "INTEGER", 2),
                       ("topic", "TEXT", 0), ("state", "BLOB", 0)]  # fmt: skip
    assert 200 <= len(rows) <= 1000
    _versions_gapless([(r[0], r[1]) for r in rows])
    stamps = []
    for originator, _version, topic, state in rows:
        assert re.fullmatch(r"[0-9a-f]{32}", originator)
        assert re.fullmatch(r"library:(Book|Member)\.[A-Z]\w+", topic)
        assert isinstance(state, bytes)
        decoded = json.loads(state)
        assert decoded["timestamp"]["_type_"] == "datetime_iso"
        stamps.append(datetime.fromisoformat(decoded["timestamp"]["_data_"]))
    assert stamps == sorted(stamps)
    topics = {r[2] for r in rows}
    assert {"library:Member.FineCharged", "library:Book.Lent", "library:Book.Returned"} <= topics


def test_stored_events_is_readable_by_the_eventsourcing_library(tmp_path: Path) -> None:
    pytest.importorskip("eventsourcing")
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(STORE.read_bytes())
    script = f"""
import sys; sys.path.insert(0, {str(SAMPLES)!r})
import library, sqlite3
app = library.Library(env={{"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": {str(copy)!r}}})
con = sqlite3.connect({str(copy)!r})
ids = [r[0] for r in con.execute("SELECT DISTINCT originator_id FROM stored_events")]
import uuid
aggregates = [app.repository.get(uuid.UUID(i)) for i in ids]
print(len(aggregates), sum(a.version for a in aggregates))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    with closing(sqlite3.connect(STORE)) as con:
        streams, events = con.execute(
            "SELECT count(DISTINCT originator_id), count(*) FROM stored_events"
        ).fetchone()
    assert out.stdout.split() == [str(streams), str(events)]


def test_mt_events_has_the_marten_layout() -> None:
    con = sqlite3.connect(STORE)
    con.row_factory = sqlite3.Row
    columns = [r[1] for r in con.execute("PRAGMA table_info(mt_events)")]
    assert columns == ["seq_id", "id", "stream_id", "version", "data", "type", "timestamp",
                       "tenant_id", "mt_dotnet_type", "is_archived", "correlation_id",
                       "causation_id", "headers", "user_name"]  # fmt: skip
    rows = [dict(r) for r in con.execute("SELECT * FROM mt_events ORDER BY seq_id")]
    con.close()
    assert [r["seq_id"] for r in rows] == list(range(1, len(rows) + 1))
    tombstones = [r for r in rows if r["type"] == "tombstone"]
    assert [r["seq_id"] for r in tombstones] == [58, 182]
    events = [r for r in rows if r["type"] != "tombstone"]
    assert 200 <= len(events) <= 1000
    _versions_gapless([(r["stream_id"], r["version"]) for r in events])
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    assert all(s.utcoffset() is not None for s in stamps) and stamps == sorted(stamps)
    by_id = {r["id"]: r for r in events}
    previous: dict[str, dict] = {}
    for r in events:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", r["type"])
        data, headers = json.loads(r["data"]), json.loads(r["headers"])
        assert data["shipmentId"] == r["stream_id"] and headers["user"] == r["user_name"]
        before = previous.get(r["stream_id"])
        if before is None:
            assert r["causation_id"] not in by_id  # caused by a message outside the store
        else:
            assert r["causation_id"] == before["id"]
            assert r["correlation_id"] == before["correlation_id"]
        previous[r["stream_id"]] = r
    assert sum(r["is_archived"] for r in events) == 5


# -- regeneration -------------------------------------------------------------------------------
def _make_samples(out: Path, only: str) -> None:
    command = [sys.executable, str(SAMPLES / "make_samples.py"), "--out", str(out), "--only", only]
    subprocess.run(command, check=True, capture_output=True)


def test_make_samples_regenerates_bank_and_shop_byte_identically(tmp_path: Path) -> None:
    _make_samples(tmp_path, "bank,shop")
    assert (tmp_path / "bank.jsonl").read_bytes() == BANK.read_bytes()
    assert (tmp_path / "shop.csv").read_bytes() == SHOP_CSV.read_bytes()
    con = duckdb.connect()
    fresh = con.execute(f"SELECT * FROM read_parquet('{tmp_path / 'shop.parquet'}')").fetchall()
    assert fresh == con.execute(f"SELECT * FROM read_parquet('{SHOP_PARQUET}')").fetchall()


def test_make_samples_regenerates_the_same_event_store_rows(tmp_path: Path) -> None:
    pytest.importorskip("eventsourcing")
    _make_samples(tmp_path, "stores")
    for table in ("stored_events", "mt_events"):
        query = f"SELECT * FROM {table} ORDER BY rowid"
        with closing(sqlite3.connect(tmp_path / "eventstore.sqlite")) as fresh:
            rows = fresh.execute(query).fetchall()
        with closing(sqlite3.connect(STORE)) as committed:
            assert rows == committed.execute(query).fetchall(), table
