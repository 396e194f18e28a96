"""Mapping source columns to the canonical event fields.

A mapping says, for each canonical field, a SPEC: a source column name, a dotted path whose first
segment is a column holding JSON (``state.timestamp._data_``), or a DuckDB SQL expression over the
source columns (``regexp_extract(topic, '\\.(\\w+)$', 1)``). Fields not given explicitly are found
by the names popular event stores and exports use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tracer.errors import MappingError

#: Canonical fields a mapping can set, with the source names recognised for each, in preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "position": ("position", "global_position", "seq_id", "notification_id", "commit_position"),
    "event_id": (
        "event_id",
        "eventId",
        "id",
        "message_id",
        "messageId",
        "uuid",
        "eventIdentifier",  # Axon
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
        "eventNumber",
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
    ),
    "data": ("data", "payload", "body", "state", "json_data", "event_data"),
    "meta": ("meta", "metadata", "headers", "json_metadata", "event_metadata"),
    "correlation_id": ("correlation_id", "correlationId"),
    "causation_id": ("causation_id", "causationId"),
}

FIELDS = tuple(ALIASES)

#: Where correlation and causation ids are found inside ``meta`` when no column holds them.
META_KEYS = {
    "correlation_id": ("correlation_id", "correlationId", "$correlationId"),
    "causation_id": ("causation_id", "causationId", "$causationId"),
}

_FIELD_SYNONYMS = {"id": "event_id", "metadata": "meta", "timestamp": "time", "payload": "data"}
_IDENT = re.compile(r"^[A-Za-z_][\w$]*$")
_DOTTED = re.compile(r"^[A-Za-z_][\w$]*(\.[A-Za-z_$][\w$-]*|\[\d+\])+$")


@dataclass(frozen=True)
class Resolved:
    """The SQL expression for one canonical field, and where it came from."""

    sql: str
    spec: str
    origin: str  # 'map' (user), 'preset', 'auto'
    json: bool = False  # the expression yields JSON text


def parse_mapping(items: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """Parse ``FIELD=SPEC`` items (or a dict) into ``{canonical field: SPEC}``."""
    if items is None:
        return {}
    pairs: list[tuple[str, str]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), str(v)) for k, v in items.items()]
    else:
        for item in items:
            field_name, sep, spec = str(item).partition("=")
            if not sep:
                raise MappingError(
                    f"malformed --map '{item}': expected FIELD=SPEC, e.g. stream=order_id"
                )
            pairs.append((field_name, spec))
    mapping: dict[str, str] = {}
    for raw_field, raw_spec in pairs:
        name = _FIELD_SYNONYMS.get(raw_field.strip(), raw_field.strip())
        spec = raw_spec.strip()
        if name not in ALIASES:
            raise MappingError(
                f"unknown field '{raw_field}' in --map (fields: {', '.join(FIELDS)})"
            )
        if not spec:
            raise MappingError(f"malformed --map '{raw_field}=': the SPEC after '=' is empty")
        mapping[name] = spec
    return mapping


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def spec_sql(
    spec: str, columns: Mapping[str, str], json_columns: Iterable[str], *, as_json: bool
) -> Resolved:
    """SQL for one SPEC over the staged ``columns`` (name -> DuckDB type)."""
    json_cols = set(json_columns)
    column = _find_column(spec, columns)
    if column is not None:
        return Resolved(quote(column), spec, "map", json=column in json_cols)
    if _DOTTED.match(spec):
        head, _, rest = spec.partition(".")
        if "[" in head:
            head, _, tail = head.partition("[")
            rest = f"[{tail}" + (f".{rest}" if rest else "")
        column = _find_column(head, columns)
        if column is not None:
            path = "$" + ("" if rest.startswith("[") else ".") + rest
            source = _as_json_text(column, columns)
            fn = "json_extract" if as_json else "json_extract_string"
            # TRY: one malformed value makes this row's field NULL, not the whole load fail.
            sql = f"TRY({fn}({source}, {sql_string(path)}))"
            return Resolved(sql, spec, "map", json=as_json)
    return Resolved(f"({spec})", spec, "map", json=False)


def auto_detect(columns: Mapping[str, str], taken: Iterable[str] = ()) -> dict[str, str]:
    """``{field: column}`` for the canonical fields whose usual names appear among ``columns``."""
    used = set(taken)
    found: dict[str, str] = {}
    for field_name, names in ALIASES.items():
        for name in names:
            column = _find_column(name, columns)
            if column is not None and column not in used:
                found[field_name] = column
                used.add(column)
                break
    return found


def _find_column(name: str, columns: Mapping[str, str]) -> str | None:
    if name in columns:
        return name
    lowered = name.lower()
    for column in columns:
        if column.lower() == lowered:
            return column
    return None


def _as_json_text(column: str, columns: Mapping[str, str]) -> str:
    kind = columns.get(column, "VARCHAR").upper()
    if kind == "BLOB":
        return f"decode({quote(column)})"
    if kind in ("JSON", "VARCHAR"):
        return quote(column)
    return f"to_json({quote(column)})"
