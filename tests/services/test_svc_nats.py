"""NATS JetStream streams, published to a real server and loaded: JSON and protobuf payloads."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

import tracer
from tracer.errors import TracerError

pytestmark = pytest.mark.services

PROTO = Path(__file__).resolve().parents[2] / "sample_logs" / "proto" / "bank_events.desc"


def _envelope(i: int, etype: str = "Deposited", **extra: Any) -> bytes:
    return orjson.dumps(
        {
            "id": f"e-{i}",
            "type": etype,
            "timestamp": f"2026-04-01T12:00:{i:02d}Z",
            "data": {"amount": i},
            **extra,
        }
    )


def _rows(store: tracer.Store, where: str = "true") -> list[dict[str, Any]]:
    frame = store.sql(f"SELECT * FROM events WHERE {where} ORDER BY position")
    rows = frame.to_dict("records")
    for row in rows:
        for key in ("data", "meta"):
            row[key] = json.loads(row[key]) if isinstance(row[key], str) else None
    return rows


def test_json_envelopes_map_subject_headers_and_sequence(jetstream: Any, services: Any) -> None:
    jetstream.publish(
        [
            (
                "account.7",
                _envelope(1, "Opened"),
                {"Nats-Msg-Id": "msg-1", "Correlation-Id": "c-1"},
            ),
            ("account.7", _envelope(2), {"Nats-Msg-Id": "msg-2"}),
            ("account.9", _envelope(3, meta={"correlation_id": "c-3", "user": "ana"}), None),
        ]
    )
    store = tracer.open()
    report = store.load(services.nats_url, stream=jetstream.name)

    assert (report.rows_read, report.loaded, report.rejected) == (3, 3, 0)
    rows = _rows(store)
    assert [(r["stream"], r["category"], r["type"], r["version"]) for r in rows] == [
        ("account-7", "account", "Opened", 1),
        ("account-7", "account", "Deposited", 2),
        ("account-9", "account", "Deposited", 1),
    ]
    assert [r["event_id"] for r in rows] == ["msg-1", "msg-2", "e-3"]  # Nats-Msg-Id, else the id
    assert rows[0]["meta"]["Nats-Msg-Id"] == "msg-1"
    assert rows[0]["correlation_id"] == "c-1"  # from the Correlation-Id header
    assert rows[2]["correlation_id"] == "c-3"  # from the envelope's meta
    assert rows[2]["meta"] == {"correlation_id": "c-3", "user": "ana"}
    assert rows[1]["data"] == {"amount": 2}
    assert str(rows[2]["time"]) == "2026-04-01 12:00:03+00:00"  # the payload's own time
    assert [r["source_row"] for r in rows] == [1, 2, 3]  # the stream sequence
    assert rows[0]["source"] == f"{services.nats_url}/{jetstream.name}"


def test_plain_payloads_take_type_from_header_and_time_from_jetstream(
    jetstream: Any, services: Any
) -> None:
    before = datetime.now(UTC)
    jetstream.publish([("order.1", b'{"sku": "A", "qty": 2}', {"Event-Type": "ItemAdded"})])
    store = tracer.open()
    store.load(services.nats_url, stream=jetstream.name)
    (row,) = _rows(store)
    assert (row["stream"], row["type"], row["data"]) == (
        "order-1",
        "ItemAdded",
        {"sku": "A", "qty": 2},
    )
    assert row["time"] >= before.replace(microsecond=0)


def test_second_load_resumes_after_the_last_sequence(jetstream: Any, services: Any) -> None:
    jetstream.publish([("account.1", _envelope(i), None) for i in range(1, 6)])
    store = tracer.open()
    assert store.load(services.nats_url, stream=jetstream.name).loaded == 5

    again = store.load(services.nats_url, stream=jetstream.name)
    assert (again.rows_read, again.loaded) == (0, 0)

    jetstream.publish([("account.1", _envelope(i), None) for i in range(6, 9)])
    more = store.load(services.nats_url, stream=jetstream.name)
    assert (more.rows_read, more.loaded, more.duplicates) == (3, 3, 0)
    assert store.count() == 8


def test_from_seq_and_since_choose_where_to_start(jetstream: Any, services: Any) -> None:
    jetstream.publish([("account.1", _envelope(i), None) for i in range(1, 6)])
    store = tracer.open()
    report = store.load(services.nats_url, stream=jetstream.name, from_seq=4)
    assert report.loaded == 2
    assert store.sql("SELECT list(source_row ORDER BY position) AS r FROM events")["r"][
        0
    ].tolist() == [4, 5]

    later = tracer.open()
    assert (
        later.load(services.nats_url, stream=jetstream.name, since="2000-01-01T00:00:00Z").loaded
        == 5
    )
    future = tracer.open()
    assert (
        future.load(services.nats_url, stream=jetstream.name, since="2999-01-01T00:00:00").loaded
        == 0
    )


def test_subject_filter_and_subject_pattern(jetstream: Any, services: Any) -> None:
    jetstream.publish(
        [
            ("bank.account.1.Opened", b"{}", None),
            ("bank.account.1.Deposited", b'{"amount": 5}', None),
            ("shop.order.4.Placed", b"{}", None),
        ]
    )
    store = tracer.open()
    report = store.load(
        services.nats_url,
        stream=jetstream.name,
        subject=f"{jetstream.prefix}.bank.>",
        subject_pattern="*.*.{category}.{id}.{type}",
    )
    assert report.loaded == 2
    rows = _rows(store)
    assert [(r["stream"], r["category"], r["type"]) for r in rows] == [
        ("account-1", "account", "Opened"),
        ("account-1", "account", "Deposited"),
    ]


def test_undecodable_messages_are_rejected_with_their_sequence(
    jetstream: Any, services: Any
) -> None:
    seqs = jetstream.publish(
        [
            ("account.1", _envelope(1), None),
            ("account.1", b"{not json", None),
            ("account.1", b"\xff\xfe\x00", None),
            ("account.1", _envelope(4), None),
        ]
    )
    store = tracer.open()
    report = store.load(services.nats_url, stream=jetstream.name)

    assert (report.rows_read, report.loaded, report.rejected) == (4, 2, 2)
    assert report.loaded + report.rejected + report.duplicates == report.rows_read
    rejected = store.rejected().sort_values("source_row")
    assert rejected["source_row"].tolist() == [seqs[1], seqs[2]]
    assert rejected["reason"].tolist() == ["payload is not valid JSON", "payload is not UTF-8 text"]
    assert "{not json" in rejected["raw"].iloc[0]
    # the rejected messages are behind the cursor: the next load does not read them again
    assert store.load(services.nats_url, stream=jetstream.name).rows_read == 0


def _proto_classes() -> dict[str, Any]:
    from google.protobuf import message_factory

    from tracer.sources.protobuf import load_pool

    pool = load_pool(PROTO)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"bank.v1.{name}"))
        for name in ("Envelope", "MoneyDeposited", "AccountFrozen")
    }


def test_protobuf_envelopes_decode_payloads_by_type(jetstream: Any, services: Any) -> None:
    pb = _proto_classes()

    def envelope(i: int, etype: str, payload: bytes) -> bytes:
        env = pb["Envelope"](id=f"p-{i}", type=etype, payload=payload)
        env.timestamp.FromDatetime(datetime(2026, 5, 1, 9, 0, i, tzinfo=UTC))
        return env.SerializeToString()

    seqs = jetstream.publish(
        [
            ("account.3", envelope(1, "MoneyDeposited", pb["MoneyDeposited"](account_id="3", amount_cents=500).SerializeToString()), None),
            ("account.3", envelope(2, "Frozen", pb["AccountFrozen"](account_id="3", reason=2).SerializeToString()), None),
            ("account.3", envelope(3, "NoteAdded", b'{"note": "hi"}'), None),
            ("account.3", b"\x0a\xff\xff", None),  # not an envelope at all
            ("account.3", envelope(5, "Mystery", b"\x01\x02\x03"), None),  # unknown payload type
        ]
    )  # fmt: skip
    store = tracer.open()
    report = store.load(
        services.nats_url,
        stream=jetstream.name,
        proto=str(PROTO),
        proto_message="bank.v1.Envelope",
        type_map="Frozen=bank.v1.AccountFrozen",
    )

    assert (report.rows_read, report.loaded, report.rejected) == (5, 3, 2)
    rows = _rows(store)
    assert [(r["event_id"], r["stream"], r["type"]) for r in rows] == [
        ("p-1", "account-3", "MoneyDeposited"),
        ("p-2", "account-3", "Frozen"),
        ("p-3", "account-3", "NoteAdded"),
    ]
    assert rows[0]["data"] == {"account_id": "3", "amount_cents": 500}
    assert rows[1]["data"] == {"account_id": "3", "reason": "REASON_FRAUD"}
    assert rows[2]["data"] == {"note": "hi"}
    assert str(rows[0]["time"]) == "2026-05-01 09:00:01+00:00"
    rejected = store.rejected().sort_values("source_row")
    assert rejected["source_row"].tolist() == [seqs[3], seqs[4]]
    assert "not a bank.v1.Envelope message" in rejected["reason"].iloc[0]
    assert "--type-map Mystery=" in rejected["reason"].iloc[1]


def test_missing_stream_and_unreachable_server_are_clear_errors(
    services: Any, closed_port: int
) -> None:
    store = tracer.open()
    with pytest.raises(TracerError, match="no JetStream stream 'NO_SUCH'"):
        store.load(services.nats_url, stream="NO_SUCH")
    started = time.monotonic()
    with pytest.raises(TracerError, match="cannot connect to NATS") as failure:
        store.load(f"nats://127.0.0.1:{closed_port}", stream="X")
    assert time.monotonic() - started < 10
    assert "\n" not in str(failure.value)
    assert store.count() == 0


class PrivateServer:
    """A nats-server of this test's own (the shared one must stay up), on a free port."""

    def __init__(self, store_dir: Path, port: int):
        import shutil

        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.args = [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store_dir)]
        self.url = f"nats://127.0.0.1:{port}"
        self.process: Any = None

    def start(self) -> None:
        import socket
        import subprocess

        self.process = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(
                    ("127.0.0.1", int(self.url.rsplit(":", 1)[1])), 0.2
                ).close()
                return
            except OSError:
                time.sleep(0.02)
        pytest.fail("the private nats-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def test_connection_lost_mid_load_keeps_nothing_half_loaded(
    tmp_path: Path, closed_port: int
) -> None:
    import threading

    from tests.services.conftest import JetStream

    server = PrivateServer(tmp_path / "js", closed_port)
    server.start()
    try:
        stream = JetStream(server.url)
        stream.create()
        stream.publish(
            [
                ("account.1", orjson.dumps({"type": "T", "data": {"i": i}}), None)
                for i in range(4000)
            ]
        )
        store = tracer.open()
        first = store.load(server.url, stream=stream.name, from_seq=3001)
        assert first.loaded == 1000  # committed before the trouble: must stay

        failure: list[BaseException] = []

        def load() -> None:  # two messages per request: reading takes a while
            try:
                store.load(server.url, stream=stream.name, from_seq=1, batch_size=2)
            except BaseException as exc:
                failure.append(exc)

        async def delivered(js: Any) -> int:
            infos = await js.consumers_info(stream.name)
            return max((c.delivered.stream_seq for c in infos), default=0)

        loader = threading.Thread(target=load)
        loader.start()
        deadline = time.monotonic() + 20
        while stream.run(delivered) < 50:  # the load is reading
            assert time.monotonic() < deadline, "the load never started reading"
        server.kill()
        loader.join(30)
        assert not loader.is_alive()
        assert failure and isinstance(failure[0], TracerError), failure
        assert "lost the connection" in str(failure[0])
        assert store.count() == 1000

        server.start()  # the stream is on disk: the next load reads what the failed one did not
        again = store.load(server.url, stream=stream.name)
        assert (again.loaded, again.duplicates) == (0, 0)  # resumes after 4000: nothing new
        refill = store.load(server.url, stream=stream.name, from_seq=1)
        assert (refill.loaded, refill.duplicates) == (3000, 1000)
        assert store.count() == 4000
    finally:
        server.kill()


def test_bad_subject_pattern_and_type_map_are_clear_errors(jetstream: Any, services: Any) -> None:
    jetstream.publish([("account.1", _envelope(1), None)])
    store = tracer.open()
    with pytest.raises(TracerError, match=r"unknown part \{tenant\}"):
        store.load(services.nats_url, stream=jetstream.name, subject_pattern="*.{tenant}.{id}")
    with pytest.raises(TracerError, match="bad --type-map entry"):
        store.load(services.nats_url, stream=jetstream.name, proto=str(PROTO), type_map="Deposited")
    with pytest.raises(TracerError, match=r"no such message"):
        store.load(
            services.nats_url,
            stream=jetstream.name,
            proto=str(PROTO),
            type_map="Deposited=bank.v1.Nope",
        )
    assert store.count() == 0
