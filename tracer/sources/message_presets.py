"""Presets of NATS messages: which part of a JetStream message gives each canonical field.

A JSON payload with a type key and a data key is an envelope whose keys name the fields
(:func:`json_preset`); a protobuf envelope's fields are matched by name (:func:`proto_preset`);
subjects such as ``events.order.42`` give the stream (:func:`subject_parts`). The SPECs are the
same as ``--map`` takes, over the staged columns ``nats_seq``, ``nats_subject``, ``nats_time``,
``nats_headers``, ``nats_msg_id`` and ``payload``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracer.fields import ALIASES, META_KEYS
from tracer.fields import quote as _q

#: Keys of a JSON envelope ``{"id", "type", "timestamp", "data", ...}`` for each canonical field.
ENVELOPE_KEYS: dict[str, tuple[str, ...]] = {
    "event_id": ("id", "event_id", "eventId", "message_id", "messageId"),
    "stream": ("stream", "stream_id", "streamId", "stream_name", "aggregate_id", "aggregateId"),
    "type": ("type", "event_type", "eventType", "message_type", "messageType"),
    "time": ("timestamp", "time", "occurred_at", "occurredAt", "created_at", "createdAt"),
    "version": ("version", "stream_version", "streamVersion", "revision"),
    "data": ("data", "payload", "body"),
    "meta": ("metadata", "meta"),
    "correlation_id": ("correlation_id", "correlationId"),
    "causation_id": ("causation_id", "causationId"),
}
#: Message headers that name the type and the linked ids.
HEADER_KEYS: dict[str, tuple[str, ...]] = {
    "type": ("type", "Type", "Event-Type", "event-type", "ce-type", "ce_type"),
    "correlation_id": ("Correlation-Id", "X-Correlation-Id", "correlation_id", "correlationId"),
    "causation_id": ("Causation-Id", "X-Causation-Id", "causation_id", "causationId"),
}
_SUBJECT_PARTS = ("stream", "category", "id", "type", "version")
_ISO_Z = "'%Y-%m-%dT%H:%M:%S.%fZ'"


def _path(column: str, key: str) -> str:
    return f"""json_extract_string({_q(column)}, '$."{key}"')"""


def _coalesce(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def subject_parts(pattern: str | None) -> dict[str, str]:
    """SQL over ``nats_subject`` for stream, category and type, from a subject pattern.

    ``events.{category}.{id}`` gives stream ``<category>-<id>``; ``{stream}``, ``{type}`` and
    ``{version}`` name those directly; ``*`` skips a token. Without a pattern, a subject's last two
    tokens give the stream (``events.order.42`` -> ``order-42``) and a single token is the stream.
    """
    subject = '"nats_subject"'
    if not pattern:
        two = r"'([^.]+)\.([^.]+)$'"
        stream = (
            f"CASE WHEN contains({subject}, '.') THEN regexp_extract({subject}, {two}, 1) || '-' "
            f"|| regexp_extract({subject}, {two}, 2) ELSE {subject} END"
        )
        return {"stream": stream}
    tokens = pattern.split(".")
    found: dict[str, str] = {}
    for i, token in enumerate(tokens, start=1):
        if token.startswith("{") and token.endswith("}"):
            name = token[1:-1]
            if name not in _SUBJECT_PARTS:
                from tracer.errors import MappingError

                known = ", ".join("{" + p + "}" for p in _SUBJECT_PARTS)
                raise MappingError(
                    f"subject pattern {pattern}: unknown part {token} (known: {known})"
                )
            found[name] = f"nullif(split_part({subject}, '.', {i}), '')"
    result = {}
    if "stream" in found:
        result["stream"] = found["stream"]
    elif "category" in found and "id" in found:
        result["stream"] = f"{found['category']} || '-' || {found['id']}"
    elif "id" in found:
        result["stream"] = found["id"]
    for name in ("category", "type", "version"):
        if name in found:
            result[name] = found[name]
    if "stream" not in result:
        result["stream"] = subject
    return result


def _header(field: str) -> list[str]:
    return [_path("nats_headers", h) for h in HEADER_KEYS.get(field, ())]


def json_preset(con: Any, table: str, pattern: str | None = None) -> dict[str, str]:
    """The mapping of NATS messages with JSON payloads, from the keys their payloads have.

    A payload with a type key and a data key is an envelope whose keys name the fields; any other
    payload is the event's data itself, its type taken from a header or the subject.
    """
    keys = {
        row[0]
        for row in con.execute(
            f"""SELECT DISTINCT unnest(json_keys(payload)) FROM (SELECT payload FROM "{table}"
                WHERE json_type(payload) = 'OBJECT' LIMIT 2000)"""
        ).fetchall()
    }

    def key(field: str) -> str | None:
        return next((k for k in ENVELOPE_KEYS[field] if k in keys), None)

    envelope = key("type") is not None and key("data") is not None
    subject = subject_parts(pattern)
    spec = {"position": "nats_seq"}

    def from_payload(field: str) -> list[str]:
        k = key(field)
        return [_path("payload", k)] if k else []

    spec["event_id"] = _coalesce(["nats_msg_id", *(from_payload("event_id") if envelope else [])])
    spec["stream"] = _coalesce(
        [*from_payload("stream"), subject["stream"]]
        if envelope
        else [subject["stream"], *from_payload("stream")]
    )
    spec["type"] = _coalesce(
        [*(from_payload("type") if envelope else []), *_header("type"), subject.get("type", ""),
         *(from_payload("type") if not envelope else [])]
    )  # fmt: skip
    if "category" in subject:
        spec["category"] = subject["category"]
    spec["time"] = _time_spec(con, table, key("time"))
    if envelope:
        spec["data"] = f"""json_extract("payload", '$."{key("data")}"')"""
        if key("version"):
            spec["version"] = _path("payload", key("version"))
        elif "version" in subject:
            spec["version"] = subject["version"]
    else:
        spec["data"] = "payload"
        if "version" in subject:
            spec["version"] = subject["version"]
    meta_key = key("meta") if envelope else None
    spec["meta"] = _merge_meta(
        f"""json_extract("payload", '$."{meta_key}"')""" if meta_key else None
    )
    for field in ("correlation_id", "causation_id"):
        inside_meta = [
            f"""json_extract_string("payload", '$."{meta_key}"."{k}"')""" for k in META_KEYS[field]
        ] if meta_key else []  # fmt: skip
        spec[field] = _coalesce(
            [*_header(field), *(from_payload(field) if envelope else []), *inside_meta, "NULL"]
        )
    return spec


def _time_spec(con: Any, table: str, key: str | None) -> str:
    """The payload's own time when it has one, else the JetStream timestamp."""
    if key is None:
        return "nats_time"
    numeric, total = con.execute(
        f"""SELECT count(*) FILTER (WHERE json_type(payload, '$."{key}"') IN
                   ('UBIGINT', 'BIGINT', 'DOUBLE', 'HUGEINT')),
                   count(json_extract(payload, '$."{key}"'))
            FROM (SELECT payload FROM "{table}" WHERE json_type(payload) = 'OBJECT' LIMIT 2000)"""
    ).fetchall()[0]
    own = _path("payload", key)
    if total and numeric * 2 > total:  # epoch numbers: fall back to epoch microseconds
        return f"coalesce({own}, CAST(epoch_us(nats_time) AS VARCHAR))"
    return f"coalesce({own}, strftime(nats_time, {_ISO_Z}))"


def _merge_meta(extra: str | None) -> str:
    if extra is None:
        return "nats_headers"
    headers = 'CAST("nats_headers" AS JSON)'
    other = f"CAST({extra} AS JSON)"
    return (
        f"CASE WHEN nats_headers IS NULL THEN {other} WHEN {extra} IS NULL THEN {headers} "
        f"ELSE json_merge_patch({headers}, {other}) END"
    )


def proto_preset(
    decoder: Any, present: Iterable[str], pattern: str | None = None
) -> dict[str, str]:
    """The mapping of NATS messages whose payload is a protobuf envelope.

    ``present`` names the envelope fields staged as columns (fields no message set are dropped).
    """
    staged = set(present)
    names = {f.name: f for f in decoder.fields if f.name in staged}

    def field(canonical: str) -> str | None:
        return next((n for n in ALIASES[canonical] if n in names), None)

    subject = subject_parts(pattern)
    spec = {"position": "nats_seq"}
    own_id = field("event_id")
    spec["event_id"] = _coalesce([_q(own_id) if own_id else "", "nats_msg_id"])
    own_stream = field("stream")
    spec["stream"] = _coalesce([_q(own_stream) if own_stream else "", subject["stream"]])
    own_type = decoder.type_field if decoder.type_field in names else None
    spec["type"] = _coalesce(
        [_q(own_type) if own_type else "", *_header("type"), subject.get("type", "")]
    )
    if "category" in subject:
        spec["category"] = subject["category"]
    own_time = field("time")
    if own_time is None:
        spec["time"] = "nats_time"
    elif names[own_time].message_type is not None:  # a google.protobuf.Timestamp
        spec["time"] = f"coalesce({_q(own_time)}, nats_time)"
    if decoder.payload in names:
        spec["data"] = decoder.payload
    own_meta = field("meta")
    spec["meta"] = _merge_meta(_q(own_meta) if own_meta else None)
    return spec
