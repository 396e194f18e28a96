"""PostgreSQL event tables, loaded from a real server in each layout the presets recognise."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

import tracer
from tracer.errors import TracerError

pytestmark = pytest.mark.services


def _events(store: tracer.Store) -> list[dict[str, Any]]:
    frame = store.sql(
        """SELECT position, event_id, stream, category, version, type, time, data, meta,
                  correlation_id, causation_id, source, source_row FROM events ORDER BY position"""
    )
    rows = frame.to_dict("records")
    for row in rows:
        for key in ("data", "meta"):
            row[key] = json.loads(row[key]) if isinstance(row[key], str) else None
    return rows


def _marten(pg: Any) -> None:
    pg.execute(
        """CREATE TABLE mt_events (
               seq_id bigint PRIMARY KEY, id uuid NOT NULL, stream_id varchar NOT NULL,
               version bigint NOT NULL, data jsonb NOT NULL, type varchar(500) NOT NULL,
               timestamp timestamptz NOT NULL DEFAULT now(), tenant_id varchar DEFAULT '*DEFAULT*',
               mt_dotnet_type varchar, is_archived bool DEFAULT false, headers jsonb,
               correlation_id varchar, causation_id varchar)"""
    )


def _insert_marten(pg: Any, seq: int, stream: str, version: int, etype: str, data: dict) -> None:
    pg.execute(
        """INSERT INTO mt_events (seq_id, id, stream_id, version, data, type, timestamp,
                                  mt_dotnet_type, headers, correlation_id, causation_id)
           VALUES (%s, gen_random_uuid(), %s, %s, %s, %s,
                   timestamptz '2026-02-01 10:00:00+00' + make_interval(secs => %s),
                   'Shop.Events', %s, %s, %s)""",
        [seq, stream, version, json.dumps(data), etype, seq, json.dumps({"user": "ana"}),
         f"corr-{stream}", None if version == 1 else f"cause-{seq - 1}"],
    )  # fmt: skip


def test_marten_table_loads_with_tombstones_rejected_as_not_events(pg: Any, pg_db: str) -> None:
    _marten(pg)
    _insert_marten(pg, 1, "order-1", 1, "order_placed", {"total": 30})
    _insert_marten(pg, 2, "order-2", 1, "order_placed", {"total": 12})
    _insert_marten(pg, 3, "order-1", 2, "tombstone", {})
    _insert_marten(pg, 4, "order-1", 3, "order_shipped", {"carrier": "ups"})

    store = tracer.open()
    report = store.load(pg_db, table="mt_events")

    assert (report.rows_read, report.loaded, report.rejected) == (4, 3, 1)
    events = _events(store)
    assert [(e["stream"], e["version"], e["type"]) for e in events] == [
        ("order-1", 1, "order_placed"),
        ("order-2", 1, "order_placed"),
        ("order-1", 3, "order_shipped"),
    ]
    first = events[0]
    assert first["category"] == "order"
    assert first["data"] == {"total": 30}
    assert first["meta"] == {"user": "ana"}
    assert first["correlation_id"] == "corr-order-1"
    assert events[2]["causation_id"] == "cause-3"
    assert str(first["time"]) == "2026-02-01 10:00:01+00:00"
    assert [e["source_row"] for e in events] == [1, 2, 4]  # seq_id: the row can be found again
    assert events[0]["source"].endswith("/public.mt_events")
    rejected = store.rejected()
    assert rejected["source_row"].tolist() == [3]
    assert "tombstone" in rejected["reason"][0]


def test_second_load_reads_only_new_rows_and_from_seq_rereads(pg: Any, pg_db: str) -> None:
    _marten(pg)
    for seq in (1, 2, 3):
        _insert_marten(pg, seq, f"cart-{seq}", 1, "cart_opened", {"n": seq})
    store = tracer.open()
    assert store.load(pg_db, table="mt_events").loaded == 3

    again = store.load(pg_db, table="mt_events")
    assert (again.rows_read, again.loaded) == (0, 0)

    _insert_marten(pg, 4, "cart-1", 2, "item_added", {"sku": "A"})
    more = store.load(pg_db, table="mt_events")
    assert (more.rows_read, more.loaded) == (1, 1)
    assert store.count() == 4

    replay = store.load(pg_db, table="mt_events", from_seq=3)
    assert (replay.rows_read, replay.loaded, replay.duplicates) == (2, 0, 2)


def test_since_reads_rows_from_a_time_on(pg: Any, pg_db: str) -> None:
    _marten(pg)
    for seq in range(1, 6):
        _insert_marten(pg, seq, "order-9", seq, "order_changed", {"n": seq})
    store = tracer.open()
    report = store.load(pg_db, table="mt_events", since="2026-02-01T10:00:04Z")
    assert report.loaded == 2
    assert store.sql("SELECT list(version ORDER BY version) AS v FROM events")["v"][0].tolist() == [
        4,
        5,
    ]


def test_eventsourcing_library_tables_load_compressed_state(pg_db: str) -> None:
    """Tables written by the real ``eventsourcing`` library, with zlib-compressed state."""
    from tests.services.es_bank import Bank

    dbname = pg_db.rsplit("/", 1)[1]
    port = pg_db.rsplit(":", 1)[1].split("/")[0]
    app = Bank(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": port,
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "unused",
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        }
    )
    ada = app.open_account("Ada")
    app.deposit(ada, 100)
    app.deposit(ada, 25)
    bob = app.open_account("Bob")
    app.close()

    store = tracer.open()
    report = store.load(pg_db, table="bank_events")

    assert (report.rows_read, report.loaded, report.rejected) == (4, 4, 0)
    events = _events(store)
    assert [(e["stream"], e["version"], e["type"]) for e in events] == [
        (str(ada), 1, "Opened"),
        (str(ada), 2, "Deposited"),
        (str(ada), 3, "Deposited"),
        (str(bob), 1, "Opened"),
    ]
    assert {e["category"] for e in events} == {"account"}
    assert events[1]["data"]["amount"] == 100  # decompressed and decoded
    assert events[0]["time"] is not None
    assert events[0]["time"].year >= 2026


def test_eventuous_messages_join_stream_names(pg: Any, pg_db: str) -> None:
    pg.execute("CREATE SCHEMA eventuous")
    pg.execute(
        """CREATE TABLE eventuous.streams (
               stream_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
               stream_name varchar(1000) NOT NULL, version integer NOT NULL)"""
    )
    pg.execute(
        """CREATE TABLE eventuous.messages (
               message_id uuid NOT NULL, message_type varchar(128) NOT NULL,
               stream_id integer NOT NULL, stream_position integer NOT NULL,
               global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
               json_data jsonb NOT NULL, json_metadata jsonb, created timestamp NOT NULL)"""
    )
    pg.execute(
        "INSERT INTO eventuous.streams (stream_name, version) VALUES ('Booking-1', 1), ('Booking-2', 0)"
    )
    rows = [
        (1, 0, "V1.RoomBooked", {"room": "12"}, {"$correlationId": "c-1"}),
        (2, 0, "V1.RoomBooked", {"room": "14"}, {"$correlationId": "c-2"}),
        (
            1,
            1,
            "V1.PaymentRecorded",
            {"amount": 90},
            {"$correlationId": "c-1", "$causationId": "m-1"},
        ),
    ]
    for stream_id, position, etype, data, meta in rows:
        pg.execute(
            """INSERT INTO eventuous.messages (message_id, message_type, stream_id, stream_position,
                                               json_data, json_metadata, created)
               VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, timestamp '2026-03-01 08:00:00')""",
            [etype, stream_id, position, json.dumps(data), json.dumps(meta)],
        )

    store = tracer.open()
    report = store.load(pg_db, table="eventuous.messages")

    assert report.loaded == 3
    events = _events(store)
    assert [(e["stream"], e["version"], e["type"]) for e in events] == [
        ("Booking-1", 0, "V1.RoomBooked"),
        ("Booking-2", 0, "V1.RoomBooked"),
        ("Booking-1", 1, "V1.PaymentRecorded"),
    ]
    assert events[2]["correlation_id"] == "c-1"
    assert events[2]["causation_id"] == "m-1"
    assert events[2]["data"] == {"amount": 90}
    assert str(events[0]["time"]) == "2026-03-01 08:00:00+00:00"


def test_generic_table_is_mapped_by_column_names_and_resumes_by_id(pg: Any, pg_db: str) -> None:
    pg.execute(
        """CREATE TABLE domain_events (id bigserial PRIMARY KEY, aggregate_id text,
               event_type text, occurred_at timestamptz, payload jsonb)"""
    )
    pg.execute(
        """INSERT INTO domain_events (aggregate_id, event_type, occurred_at, payload)
           SELECT 'invoice-' || (i % 3), 'InvoiceLine', timestamptz '2026-01-01 00:00:00+00'
                  + make_interval(mins => i), jsonb_build_object('line', i)
           FROM generate_series(1, 30) AS i"""
    )
    store = tracer.open()
    assert store.load(pg_db, table="domain_events").loaded == 30
    pg.execute(
        """INSERT INTO domain_events (aggregate_id, event_type, occurred_at, payload)
           VALUES ('invoice-0', 'InvoicePaid', now(), '{"paid": true}')"""
    )
    report = store.load(pg_db, table="domain_events")
    assert (report.rows_read, report.loaded) == (1, 1)
    last = store.event(31)
    assert (last["stream"], last["type"], last["data"]) == (
        "invoice-0",
        "InvoicePaid",
        {"paid": True},
    )


def test_table_is_found_without_table_option_when_only_one_looks_like_an_event_store(
    pg: Any, pg_db: str
) -> None:
    _marten(pg)
    _insert_marten(pg, 1, "order-1", 1, "order_placed", {})
    pg.execute("CREATE TABLE customers (id int, name text)")
    store = tracer.open()
    assert store.load(pg_db).loaded == 1

    pg.execute(
        "CREATE TABLE app_events (originator_id uuid, originator_version bigint, topic text, state bytea)"
    )
    with pytest.raises(TracerError, match="--table"):
        store.load(pg_db)
    with pytest.raises(TracerError, match="no table nope"):
        store.load(pg_db, table="nope")


def test_unreachable_server_fails_fast_with_one_line(closed_port: int) -> None:
    store = tracer.open()
    started = time.monotonic()
    with pytest.raises(TracerError) as failure:
        store.load(f"postgresql://postgres:secret@127.0.0.1:{closed_port}/db", table="t")
    assert time.monotonic() - started < 10
    message = str(failure.value)
    assert "cannot connect to PostgreSQL" in message and "\n" not in message
    assert "secret" not in message


def test_connection_lost_mid_load_leaves_store_consistent(
    pg: Any, pg_db: str, services: Any
) -> None:
    """The server ends the load's session while it waits for the table: nothing half-loaded."""
    _marten(pg)
    for seq in (1, 2):
        _insert_marten(pg, seq, "order-1", seq, "order_placed", {})
    store = tracer.open()
    assert store.load(pg_db, table="mt_events").loaded == 2
    for seq in (3, 4, 5):
        _insert_marten(pg, seq, "order-1", seq, "order_changed", {})

    import psycopg

    blocker = psycopg.connect(pg_db)  # holds a lock so the load's COPY waits, visibly
    blocker.execute("LOCK TABLE mt_events IN ACCESS EXCLUSIVE MODE")
    failure: list[BaseException] = []

    def load() -> None:
        try:
            store.load(pg_db, table="mt_events")
        except BaseException as exc:
            failure.append(exc)

    loader = threading.Thread(target=load)
    loader.start()
    deadline = time.monotonic() + 20
    waiting = []
    while not waiting and time.monotonic() < deadline:
        waiting = pg.execute(
            """SELECT pid FROM pg_stat_activity WHERE application_name = 'tracer'
               AND wait_event_type = 'Lock' AND query ILIKE 'COPY%'"""
        ).fetchall()
    assert waiting, "the load never reached the table"
    pg.execute("SELECT pg_terminate_backend(%s)", [waiting[0][0]])
    loader.join(30)
    blocker.close()

    assert failure and isinstance(failure[0], TracerError)
    assert store.count() == 2  # what was committed stays
    assert store.sql("SELECT cursor FROM cursors")["cursor"].tolist() == ["2"]
    report = store.load(pg_db, table="mt_events")  # the rest is read again
    assert (report.rows_read, report.loaded) == (3, 3)
    assert store.count() == 5


def test_rows_behind_an_open_transaction_wait_instead_of_being_skipped(pg: Any, pg_db: str) -> None:
    """Seq 3 is taken by a transaction that commits after seq 4: it must not be skipped."""
    import psycopg

    _marten(pg)
    for seq in (1, 2):
        _insert_marten(pg, seq, "order-1", seq, "order_placed", {})
    slow = psycopg.connect(pg_db)  # a transaction, left open
    _insert_marten(slow, 3, "order-2", 1, "order_placed", {})
    _insert_marten(pg, 4, "order-3", 1, "order_placed", {})

    store = tracer.open()
    first = store.load(pg_db, table="mt_events")
    assert first.loaded == 2  # 4 is committed, but 3 may still come before it

    slow.commit()
    slow.close()
    second = store.load(pg_db, table="mt_events")
    assert (second.rows_read, second.loaded) == (2, 2)
    assert store.sql("SELECT list(source_row ORDER BY position) AS r FROM events")["r"][
        0
    ].tolist() == [1, 2, 3, 4]


def test_a_view_without_order_column_loads_whole_each_time(pg: Any, pg_db: str) -> None:
    pg.execute("CREATE TABLE raw_log (stream text, kind text, body jsonb, at timestamptz)")
    pg.execute(
        """INSERT INTO raw_log VALUES ('cart-1', 'Opened', '{}', now()),
                                     ('cart-1', 'ItemAdded', '{"sku": "A"}', now())"""
    )
    pg.execute(
        "CREATE VIEW cart_events AS SELECT stream, kind AS type, body AS data, at AS time FROM raw_log"
    )
    store = tracer.open()
    assert store.load(pg_db, table="cart_events").loaded == 2
    again = store.load(pg_db, table="cart_events")  # no cursor without an order: read again
    assert (again.rows_read, again.loaded, again.duplicates) == (2, 0, 2)
    assert store.sql("SELECT list(source_row ORDER BY position) AS r FROM events")["r"][
        0
    ].tolist() == [1, 2]
