"""Reading a JetStream stream: an ephemeral pull consumer on an asyncio loop in a thread.

:class:`Reader` pulls the messages that are in the stream when the load starts (up to its last
sequence then), in stream order, and hands them to the loader as Arrow batches over a bounded
queue, so memory holds a few batches whatever the stream's length. :mod:`tracer.sources.nats`
stages them.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from tracer.errors import SourceError
from tracer.sources.base import ROW, Rejection, cut
from tracer.sources.protobuf import DecodeFailure, Decoder

CONNECT_TIMEOUT = 3.0  # seconds until an unreachable server is reported
FETCH_TIMEOUT = 2.0
DEFAULT_BATCH = 5_000
TYPE_HEADERS = ("type", "Type", "Event-Type", "event-type", "ce-type", "ce_type")

META_FIELDS = [
    pa.field(ROW, pa.int64()),
    pa.field("nats_seq", pa.int64()),
    pa.field("nats_subject", pa.string()),
    pa.field("nats_time", pa.timestamp("ns", tz="UTC")),
    pa.field("nats_headers", pa.string()),
    pa.field("nats_msg_id", pa.string()),
]


@dataclass
class Target:
    url: str  # as given, credentials included, to connect
    label: str  # without credentials: the source name and cursor key
    stream: str | None
    subject: str | None


def cursor_key(tgt: Target, stream: str) -> str:
    """Where a load of ``stream`` (with its subject filter) remembers its last sequence."""
    key = f"{tgt.label}/{stream}"
    return f"{key}?subject={tgt.subject}" if tgt.subject else key


_DONE = object()


class Reader:
    """Reads messages on an asyncio loop in a thread; hands Arrow batches over a bounded queue."""

    def __init__(
        self, tgt: Target, options: dict[str, Any], decoder: Decoder | None, start: tuple[str, Any]
    ):
        self.tgt = tgt
        self.decoder = decoder
        self.start = start
        self.batch_size = int(options.get("batch_size") or DEFAULT_BATCH)
        self.rejections: list[Rejection] = []
        self.rows_read = 0
        self.last_seq = 0
        self.label = f"{tgt.label}/{tgt.stream or ''}"
        self.cursor_key = cursor_key(tgt, tgt.stream or "")
        moment = start[1] if start[0] == "time" else None
        self.since_ns = int(moment.timestamp() * 1e6) * 1000 if moment else 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        self._stop = threading.Event()

    def batches(self) -> Iterator[pa.RecordBatch]:
        thread = threading.Thread(target=self._run, name="tracer-nats", daemon=True)
        thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()
            while thread.is_alive():  # unblock a producer waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    self._queue.get(timeout=0.05)
            thread.join()

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            asyncio.run(self._read())
            self._put(_DONE)
        except SourceError as exc:
            self._put(exc)
        except Exception as exc:
            from nats.errors import ConnectionClosedError, StaleConnectionError, UnexpectedEOF

            if isinstance(
                exc, ConnectionClosedError | StaleConnectionError | UnexpectedEOF | OSError
            ):
                self._put(self._lost())
            else:
                self._put(SourceError(f"reading {self.label} failed: {type(exc).__name__}: {exc}"))

    def _lost(self) -> SourceError:
        return SourceError(
            f"lost the connection to {self.label} after sequence {self.last_seq}; "
            "nothing of this load was kept: load again to read it"
        )

    async def _read(self) -> None:
        import nats
        from nats.js import api
        from nats.js.errors import NotFoundError

        async def quiet(_exc: Exception) -> None:
            return None

        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    self.tgt.url,
                    connect_timeout=CONNECT_TIMEOUT,
                    allow_reconnect=False,
                    max_reconnect_attempts=1,  # 0 would mean "retry forever" in nats-py
                    reconnect_time_wait=0.2,
                    error_cb=quiet,
                ),
                CONNECT_TIMEOUT + 1,
            )
        except TimeoutError:
            raise SourceError(
                f"cannot connect to NATS at {self.tgt.label}: no answer within {CONNECT_TIMEOUT:g}s"
            ) from None
        except Exception as exc:
            detail = str(exc).replace("nats: ", "", 1) or type(exc).__name__
            raise SourceError(f"cannot connect to NATS at {self.tgt.label}: {detail}") from None
        try:
            js = nc.jetstream(timeout=CONNECT_TIMEOUT)
            stream = self.tgt.stream or await _only_stream(js, self.tgt.label)
            self.label = f"{self.tgt.label}/{stream}"
            self.cursor_key = cursor_key(self.tgt, stream)
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                raise SourceError(f"no JetStream stream '{stream}' at {self.tgt.label}") from None
            last = info.state.last_seq
            kind, value = self.start
            if kind == "cursor":
                saved = value.get(self.cursor_key)
                kind, value = ("seq", saved + 1) if saved else ("all", None)
            if last == 0 or (kind == "seq" and value > last):
                return
            config = api.ConsumerConfig(
                ack_policy=api.AckPolicy.NONE,
                inactive_threshold=60.0,
                mem_storage=True,
                filter_subject=self.tgt.subject,
            )
            if kind == "seq":
                config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
                config.opt_start_seq = value
            elif kind == "time":
                config.deliver_policy = api.DeliverPolicy.BY_START_TIME
                config.opt_start_time = value
            consumer = await js.add_consumer(stream, config=config)
            try:
                if consumer.num_pending:
                    await self._drain(nc, stream, consumer.name, last)
            finally:
                with contextlib.suppress(Exception):  # else the server drops it when inactive
                    await js.delete_consumer(stream, consumer.name)
        finally:
            await nc.close()

    async def _drain(self, nc: Any, stream: str, consumer: str, last: int) -> None:
        """Pull batches with explicit requests, collected by a callback (cheaper than fetch())."""
        inbox = nc.new_inbox()
        received: list[Any] = []
        ended = asyncio.Event()
        want = self.batch_size

        async def collect(msg: Any) -> None:
            if not msg.reply and not msg.data and msg.headers and "Status" in msg.headers:
                ended.set()  # 404 no messages / 408 request timeout: this request is over
                return
            received.append(msg)
            if len(received) >= want:
                ended.set()

        sub = await nc.subscribe(inbox, cb=collect, pending_msgs_limit=4 * want)
        request = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        idle = 0
        try:
            while not self._stop.is_set():
                ended.clear()
                await nc.publish(
                    request, orjson.dumps({"batch": want, "no_wait": True}), reply=inbox
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), FETCH_TIMEOUT)
                msgs = received[:]
                received.clear()
                if not msgs:
                    if not nc.is_connected:
                        raise self._lost()
                    idle += 1
                    if idle >= 3:  # messages removed under us (retention): what was read stands
                        return
                    continue
                idle = 0
                batch, done = self._batch(msgs, last)
                if batch is not None:
                    self._put(batch)
                if done:
                    return
        finally:
            await sub.unsubscribe()

    def _batch(self, msgs: list[Any], last: int) -> tuple[pa.RecordBatch | None, bool]:
        seqs, subjects, times, headers, ids, values = [], [], [], [], [], []
        done = False
        for msg in msgs:
            seq, stamp, pending = _reply_meta(msg.reply)
            if seq > last:
                done = True
                break
            if pending == 0 or seq >= last:
                done = True
            if stamp < self.since_ns:  # some servers start a by-time consumer too early
                self.last_seq = seq
                continue
            self.rows_read += 1
            self.last_seq = seq
            head = msg.headers
            if self.decoder is None:
                try:
                    value: Any = msg.data.decode()
                except UnicodeDecodeError:
                    self.rejections.append(
                        Rejection(seq, cut(msg.data.hex()), "payload is not UTF-8 text")
                    )
                    continue
            else:
                hint = next((head[h] for h in TYPE_HEADERS if head and h in head), None)
                try:
                    value = self.decoder.decode(msg.data, hint)
                except DecodeFailure as exc:
                    self.rejections.append(Rejection(seq, cut(msg.data.hex()), str(exc)))
                    continue
            seqs.append(seq)
            subjects.append(msg.subject)
            times.append(stamp)
            headers.append(orjson.dumps(head).decode() if head else None)
            ids.append(head.get("Nats-Msg-Id") if head else None)
            values.append(value)
        if not seqs:
            return None, done
        arrays = [
            pa.array(seqs, pa.int64()),
            pa.array(seqs, pa.int64()),
            pa.array(subjects, pa.string()),
            pa.array(times, pa.timestamp("ns", tz="UTC")),
            pa.array(headers, pa.string()),
            pa.array(ids, pa.string()),
        ]
        if self.decoder is None:
            arrays.append(pa.array(values, pa.string()))
            names = [f.name for f in META_FIELDS] + ["payload"]
        else:
            arrays.extend(
                pa.array([v[i] for v in values], f.type)
                for i, f in enumerate(self.decoder.arrow_fields)
            )
            names = [f.name for f in META_FIELDS] + [f.name for f in self.decoder.arrow_fields]
        return pa.RecordBatch.from_arrays(arrays, names=names), done


def _reply_meta(reply: str) -> tuple[int, int, int]:
    """(stream sequence, timestamp in ns, pending) from a JetStream ``$JS.ACK...`` reply subject."""
    tokens = reply.split(".")
    if len(tokens) == 9:  # $JS.ACK.stream.consumer.delivered.sseq.cseq.time.pending
        return int(tokens[5]), int(tokens[7]), int(tokens[8])
    # $JS.ACK.domain.account.stream.consumer.delivered.sseq.cseq.time.pending[.token]
    return int(tokens[7]), int(tokens[9]), int(tokens[10])


async def _only_stream(js: Any, label: str) -> str:
    names = [s.config.name for s in await js.streams_info()]
    if len(names) == 1:
        return names[0]
    listed = ", ".join(names) or "none"
    raise SourceError(f"name the JetStream stream with --stream (streams at {label}: {listed})")
