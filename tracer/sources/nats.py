"""NATS JetStream: read a stream's messages (JSON or protobuf payloads) from where the last load stopped.

``tracer load nats://HOST:PORT --stream NAME [--subject FILTER] [--from-seq N | --since TIME]``.
An ephemeral pull consumer reads the messages that are in the stream when the load starts (up to
its last sequence then), in stream order; the stream sequence is the global order and ``_row``.
Staged columns: ``nats_seq``, ``nats_subject``, ``nats_time`` (the JetStream timestamp),
``nats_headers`` (JSON), ``nats_msg_id`` (the ``Nats-Msg-Id`` header, the event id), then either
``payload`` (JSON text) or, with ``--proto``, the envelope's fields (see
:mod:`tracer.sources.protobuf`). The preset (:mod:`tracer.sources.nats_preset`) maps them.

The sequence of the last message read is remembered in ``cursors`` (under the server, stream and
subject filter) when the load commits; the next load resumes after it. ``from_seq``/``since``
override it. A message that cannot be decoded is rejected with its sequence and the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa

from tracer.errors import SourceError
from tracer.sources.base import Rejection, Staged, cut, stage_arrow, stage_name
from tracer.sources.jetstream import META_FIELDS, Reader, Target
from tracer.sources.message_presets import json_preset, proto_preset
from tracer.sources.protobuf import Decoder, drop_empty_columns


def target(spec: str, options: dict[str, Any]) -> Target:
    """Server, stream and subject filter from ``nats://HOST:PORT[/STREAM]`` and the options."""
    parts = urlsplit(spec)
    if not parts.hostname:
        raise SourceError(f"bad NATS address {spec}: expected nats://HOST:PORT")
    stream = options.get("stream") or parts.path.strip("/") or None
    subject = options.get("subject") or None
    host = f"{parts.hostname}:{parts.port or 4222}"
    url = f"nats://{parts.netloc}"
    return Target(url, f"nats://{host}", stream, subject)


def stage(con: duckdb.DuckDBPyConnection, spec: str, options: dict[str, Any]) -> list[Staged]:
    tgt = target(spec, options)
    decoder = None
    if options.get("proto"):
        decoder = Decoder(options["proto"], options.get("proto_message"), options.get("type_map"))
    reader = Reader(tgt, options, decoder, _resume_point(con, tgt, options))
    table = stage_name("nats")
    schema = pa.schema(
        META_FIELDS + (decoder.arrow_fields if decoder else [pa.field("payload", pa.string())])
    )
    stage_arrow(con, table, reader.batches(), schema)
    rejections = reader.rejections
    if decoder is None:
        rejections += _reject_invalid_json(con, table)
        preset = json_preset(con, table, options.get("subject_pattern"))
        json_columns = frozenset({"payload", "nats_headers"})
    else:
        present = drop_empty_columns(con, table, [f.name for f in decoder.arrow_fields])
        preset = proto_preset(decoder, present, options.get("subject_pattern"))
        json_columns = (decoder.json_columns & set(present)) | {"nats_headers"}
    label = reader.label
    cursor = (reader.cursor_key, str(reader.last_seq)) if reader.last_seq else None
    return [
        Staged(
            table,
            source=label,
            format="nats-protobuf" if decoder else "nats",
            rows_read=reader.rows_read,
            preset=preset,
            json_columns=json_columns,
            rejections=rejections,
            cursor=cursor,
        )
    ]


def _resume_point(
    con: duckdb.DuckDBPyConnection, tgt: Target, options: dict[str, Any]
) -> tuple[str, Any]:
    """Where to start: ``("seq", n)``, ``("time", datetime)``, or ``("cursor", saved cursors)``."""
    if options.get("from_seq") is not None:
        seq = int(options["from_seq"])
        if seq < 1:
            raise SourceError(f"--from-seq must be 1 or more, not {seq}")
        return "seq", seq
    if options.get("since") is not None:
        return "time", parse_since(options["since"], options.get("tz"))
    saved = con.execute(
        "SELECT source, cursor FROM cursors WHERE starts_with(source, ?)", [tgt.label + "/"]
    ).fetchall()
    return "cursor", {key: int(value) for key, value in saved if value}


def parse_since(value: Any, tz: str | None = None) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise SourceError(f"--since {value}: expected an ISO-8601 time") from None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(tz) if tz else UTC)
        except ZoneInfoNotFoundError:
            raise SourceError(f"unknown time zone {tz}") from None
    return moment.astimezone(UTC)


def _reject_invalid_json(con: duckdb.DuckDBPyConnection, table: str) -> list[Rejection]:
    bad = con.execute(
        f'SELECT _row, payload FROM "{table}" WHERE payload IS NOT NULL AND NOT json_valid(payload)'
    ).fetchall()
    if bad:
        con.execute(f'DELETE FROM "{table}" WHERE payload IS NOT NULL AND NOT json_valid(payload)')
    return [Rejection(row, cut(text), "payload is not valid JSON") for row, text in bad]
