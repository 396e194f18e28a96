"""The canonical event fields and the names event stores and exports give them.

The vocabulary shared by the sources (which pick their columns by these names) and the loader
(which maps staged columns onto the fields). Plain data and two SQL quoting helpers: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Canonical fields a mapping can set, with the source names recognised for each, in preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "position": (
        "position",
        "global_position",
        "seq_id",
        "notification_id",
        "global_index",  # Axon
        "commit_position",  # KurrentDB (EventStoreDB) clients
        "commitPosition",
    ),
    "event_id": (
        "event_id",
        "eventId",
        "id",
        "message_id",
        "messageId",
        "uuid",
        "eventIdentifier",  # Axon
        "event_identifier",
    ),
    "stream": (
        "stream",
        "streamId",
        "stream_id",
        "stream_name",
        "streamName",
        "aggregate_id",
        "aggregateId",
        "originator_id",
        "eventStreamId",  # EventStoreDB
        "aggregateIdentifier",  # Axon
        "aggregate_identifier",
    ),
    "category": ("category",),
    "version": (
        "version",
        "stream_version",
        "streamVersion",
        "revision",
        "stream_position",
        "streamPosition",
        "event_number",
        "eventNumber",  # KurrentDB (EventStoreDB): 0-based, as are the next two
        "streamRevision",
        "stream_revision",
        "sequence",
        "originator_version",
        "sequenceNumber",  # Axon
        "sequence_number",
    ),
    "type": (
        "type",
        "event_type",
        "eventType",
        "message_type",
        "messageType",
        "topic",
        "payloadType",  # Axon
        "payload_type",
    ),
    "time": (
        "time",
        "timestamp",
        "created",
        "created_at",
        "createdAt",
        "occurred_at",
        "occurredAt",
        "recorded_at",
        "recordedAt",
        "updated",  # the KurrentDB (EventStoreDB) HTTP API's event JSON
        "event_time",
        "eventTime",
        "ts",
    ),
    "data": ("data", "payload", "body", "state", "json_data", "event_data"),
    "meta": ("meta", "metadata", "headers", "json_metadata", "event_metadata"),
    "correlation_id": ("correlation_id", "correlationId"),
    "causation_id": ("causation_id", "causationId"),
}

FIELDS = tuple(ALIASES)

#: Columns that break ties between rows sharing a position (KurrentDB's prepare position: events
#: written in one transaction share their commit position).
TIE_BREAKS = ("prepare_position", "preparePosition")

#: Where correlation and causation ids are found inside ``meta`` when no column holds them.
META_KEYS = {
    "correlation_id": ("correlation_id", "correlationId", "$correlationId"),
    "causation_id": ("causation_id", "causationId", "$causationId"),
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def auto_detect(columns: Mapping[str, str], taken: Iterable[str] = ()) -> dict[str, str]:
    """``{field: column}`` for the canonical fields whose usual names appear among ``columns``."""
    used = set(taken)
    found: dict[str, str] = {}
    for field_name, names in ALIASES.items():
        for name in names:
            column = find_column(name, columns)
            if column is not None and column not in used:
                found[field_name] = column
                used.add(column)
                break
    return found


def find_column(name: str, columns: Mapping[str, str]) -> str | None:
    if name in columns:
        return name
    lowered = name.lower()
    for column in columns:
        if column.lower() == lowered:
            return column
    return None
